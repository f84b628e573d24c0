"""The HTTP session every call to an org goes through: TLS trust, timeouts, bounded retries.

Only `connections` builds sessions (the OAuth grants and SalesforceClient use this module).
Certificate checks are never switched off: an org behind a private CA (sfemu, a TLS-inspecting
proxy) brings its own CA bundle, which is added to — never replaces — the check.
"""

import hashlib
from pathlib import Path

import certifi
import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

CLIENT_NAME = "orgsync"
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 120.0
# Connection failures and 502/503/504 are retried here, a few times with backoff; anything else
# (and a read timeout, where the org may have acted) goes up to the engine's record-level retries.
HTTP_RETRY = Retry(
    total=3,
    connect=3,
    read=0,
    other=0,  # a certificate that does not verify will not verify on a second try
    status=3,
    status_forcelist=(502, 503, 504),
    allowed_methods=None,
    backoff_factor=0.5,
    respect_retry_after_header=False,  # a long Retry-After (maintenance) must not block a worker
    raise_on_status=False,
)


class OrgSession(requests.Session):
    """A requests session with default timeouts (requests has none), whose own trust store
    wins over REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE (requests otherwise lets the environment
    override `session.verify`)."""

    def request(self, method, url, **kwargs):  # type: ignore[override]
        kwargs.setdefault("timeout", (CONNECT_TIMEOUT, READ_TIMEOUT))
        kwargs.setdefault("verify", self.verify)
        return super().request(method, url, **kwargs)


def trust_store(ca_bundle: str) -> str:
    """Path of the CA file to check the org's certificate with: the public CAs (certifi),
    plus the org's own CA certificates when it has some."""
    if not ca_bundle.strip():
        return certifi.where()
    folder = Path(settings.VAR_DIR) / "trust"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha256(ca_bundle.encode()).hexdigest()[:32]}.pem"
    if not path.exists():
        partial = path.with_suffix(".tmp")
        partial.write_text(f"{ca_bundle.strip()}\n{Path(certifi.where()).read_text()}")
        partial.replace(path)
    return str(path)


def build_session(*, ca_bundle: str = "") -> OrgSession:
    session = OrgSession()
    session.verify = trust_store(ca_bundle)
    session.headers["Sforce-Call-Options"] = f"client={CLIENT_NAME}"
    session.headers["User-Agent"] = f"{CLIENT_NAME} ({requests.utils.default_user_agent()})"
    adapter = HTTPAdapter(max_retries=HTTP_RETRY, pool_maxsize=8)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
