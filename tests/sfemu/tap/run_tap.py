"""Run the unmodified tap-salesforce against sfemu (``.venv-tap/bin/python run_tap.py <tap args>``).

The tap logs in at ``https://login.salesforce.com`` (hard-coded); this wrapper sends that host to
the sfemu URL in ``SFEMU_URL`` (``REQUESTS_CA_BUNDLE`` trusts the sfemu CA) and shortens the
tap's 20 s Bulk batch polling sleep, then calls ``tap_salesforce.main`` with the given arguments.
"""

import os
import sys

import requests
import tap_salesforce
import tap_salesforce.salesforce.bulk as tap_bulk

SFEMU_URL = os.environ["SFEMU_URL"].rstrip("/")
LOGIN_HOSTS = ("https://login.salesforce.com", "https://test.salesforce.com")
_request = requests.Session.request


def _to_sfemu(self, method, url, *args, **kwargs):
    for host in LOGIN_HOSTS:
        if url.startswith(host + "/"):
            url = SFEMU_URL + url[len(host) :]
    return _request(self, method, url, *args, **kwargs)


requests.Session.request = _to_sfemu
tap_bulk.BATCH_STATUS_POLLING_SLEEP = 0.2

if __name__ == "__main__":
    sys.argv = ["tap-salesforce", *sys.argv[1:]]
    tap_salesforce.main()
