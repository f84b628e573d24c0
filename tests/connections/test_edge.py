"""The edge: a token answer's instance and identity URLs are checked before any credential goes
there (https only; a Salesforce domain or the host of the org's own login URL).

The org's login host is played by a small local HTTPS server that answers the token request with
what each test says and records every request; a second, plain-HTTP one stands for a host the
token must never reach.
"""

import pytest
from django.urls import reverse

from connections import oauth, services
from connections.client import SalesforceClient
from connections.client_errors import AuthenticationError
from connections.errors import ConnectionsError
from connections.models import Org
from orgsync.roles import ADMINISTRATORS
from tests.connections.emu import key_and_certificate
from tests.connections.recorder import Recorder, start_recorder
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
TOKEN_PATH = "/services/oauth2/token"
ORG_ID, USER_ID = "00D5e00000AbCdEAAV", "0055e00000XyZaBAAV"


@pytest.fixture(scope="module")
def login_host(tmp_path_factory):
    recorder = start_recorder(tls_dir=tmp_path_factory.mktemp("recorder-tls"))
    yield recorder
    recorder.stop()


@pytest.fixture(scope="module")
def elsewhere():
    recorder = start_recorder()
    yield recorder
    recorder.stop()


@pytest.fixture(autouse=True)
def _reset(login_host, elsewhere):
    for recorder in (login_host, elsewhere):
        recorder.requests.clear()
        recorder.token_answer, recorder.userinfo, recorder.data_status = {}, {}, 404


def answer_with(login_host: Recorder, instance_url: str, identity_url: str = "") -> None:
    login_host.token_answer = {
        "access_token": f"{ORG_ID}!AQtoken-that-must-not-leak",
        "instance_url": instance_url,
        "id": identity_url or f"{login_host.url()}/id/{ORG_ID}/{USER_ID}",
        "token_type": "Bearer",
        "refresh_token": "5Aep-refresh",
    }


def org_on(login_host: Recorder, method: str = Org.AuthMethod.CLIENT_CREDENTIALS) -> Org:
    org = Org(
        label="Edge",
        environment=Org.Environment.CUSTOM,
        custom_login_url=login_host.url(),
        auth_method=method,
        client_id="3MVG9edge",
        username="integration@edge.test",
        ca_bundle=login_host.ca_pem,
    )
    org.client_secret, org.password, org.refresh_token = "secret", "pw", "5Aep-stored"
    org.private_key = key_and_certificate()[0]
    return org


def credentials_sent_beyond_the_token_request(*recorders: Recorder) -> list:
    return [seen for r in recorders for seen in r.authorized() if seen.path != TOKEN_PATH]


def unsafe_answers(login_host: Recorder, elsewhere: Recorder) -> dict[str, tuple[str, str]]:
    return {
        "http instance": (elsewhere.url(), ""),
        "foreign instance host": (login_host.url("localhost"), ""),
        "foreign identity host": (login_host.url(), f"{login_host.url('localhost')}/id/{ORG_ID}/{USER_ID}"),
        "http identity": (login_host.url(), f"{elsewhere.url()}/id/{ORG_ID}/{USER_ID}"),
    }


@pytest.mark.parametrize(
    "case", ["http instance", "foreign instance host", "foreign identity host", "http identity"]
)
def test_connecting_sends_no_credential_to_an_unsafe_instance_or_identity_url(login_host, elsewhere, case):
    answer_with(login_host, *unsafe_answers(login_host, elsewhere)[case])
    with pytest.raises(oauth.UnsafeOrgUrl, match="orgsync sent no credentials there") as error:
        services.org_connect(org=org_on(login_host))
    assert ("not https" in str(error.value)) == case.startswith("http ")
    assert [seen.path for seen in login_host.requests] == [TOKEN_PATH], "only the token request"
    assert elsewhere.requests == []
    assert not Org.objects.exists()


@pytest.mark.parametrize(
    "grant",
    [
        oauth.password_grant,
        oauth.client_credentials_grant,
        oauth.jwt_bearer_grant,
        oauth.refresh_grant,
        lambda org: oauth.exchange_code(
            org, code="c0de", redirect_uri="https://console.test/cb", pkce=oauth.Pkce.new()
        ),
    ],
    ids=["password", "client_credentials", "jwt_bearer", "refresh", "pkce_code"],
)
def test_every_grant_checks_the_answer(login_host, elsewhere, grant):
    answer_with(login_host, elsewhere.url())
    with pytest.raises(oauth.UnsafeOrgUrl, match="is not https"):
        grant(org_on(login_host))


def test_a_refresh_pointing_elsewhere_is_an_authentication_error_and_sends_nothing(login_host, elsewhere):
    org = org_on(login_host, Org.AuthMethod.PASSWORD)
    org.instance_url, org.access_token, org.org_id = login_host.url(), "00Dold!expired", ORG_ID
    org.save()
    login_host.data_status = 401  # the session expired: the client refreshes once
    answer_with(login_host, elsewhere.url())
    with pytest.raises(AuthenticationError, match="sent no credentials"):
        SalesforceClient(org).limits()
    assert elsewhere.requests == []
    assert Org.objects.get(pk=org.pk).instance_url == login_host.url(), "the unsafe URL is not stored"


def test_a_stored_instance_url_elsewhere_gets_no_token(login_host, elsewhere):
    org = org_on(login_host, Org.AuthMethod.PASSWORD)
    org.instance_url, org.access_token, org.org_id = elsewhere.url(), "00Dx!stored", ORG_ID
    org.save()
    with pytest.raises(AuthenticationError, match=r"stored instance URL .* is not https"):
        SalesforceClient(org).limits()
    assert elsewhere.requests == []


def test_the_admin_shows_the_refusal_and_no_org_is_saved(client, login_host, elsewhere):
    client.force_login(UserFactory(groups=[ADMINISTRATORS]))
    answer_with(login_host, login_host.url("localhost"))
    response = client.post(
        reverse("admin:connections_org_add"),
        {
            "label": "Edge",
            "environment": "custom",
            "custom_login_url": login_host.url(),
            "auth_method": "client_credentials",
            "client_id": "3MVG9edge",
            "client_secret": "secret",
            "ca_bundle": login_host.ca_pem,
            "api_version": "62.0",
        },
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.non_field_errors()
    assert any("is on localhost, which is neither a Salesforce domain" in e for e in errors)
    assert credentials_sent_beyond_the_token_request(login_host, elsewhere) == []
    assert not Org.objects.exists()


def test_an_identity_answer_without_organization_id_is_a_clear_error(login_host):
    answer_with(login_host, login_host.url())  # same host as the login URL: allowed (sfemu's case)
    login_host.userinfo = {"user_id": USER_ID, "preferred_username": "integration@edge.test"}
    with pytest.raises(ConnectionsError, match=r"identity answer .* lacks organization_id"):
        services.org_connect(org=org_on(login_host))
    assert [seen.path for seen in login_host.authorized()] == [TOKEN_PATH, "/services/oauth2/userinfo"]
    assert not Org.objects.exists()


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://acme.my.salesforce.com", True),
        ("https://acme--uat.sandbox.my.salesforce.com", True),
        ("https://na139.salesforce.com", True),
        ("https://acme.lightning.force.com", True),
        ("https://acme.my.salesforce-setup.com", True),
        ("https://acme.cloudforce.com", True),
        ("https://acme.database.com", True),
        ("https://login.acme.example", True),  # the host of this org's custom login URL
        ("http://acme.my.salesforce.com", False),
        ("https://evilsalesforce.com", False),
        ("https://salesforce.com.evil.example", False),
        ("https://acme.my.salesforce.com@evil.example", False),
        ("https://evil.example/acme.my.salesforce.com", False),
        ("https://other.acme.example", False),
        ("javascript:alert(1)", False),
        ("", False),
    ],
)
def test_allowed_hosts(url, allowed):
    org = Org(environment=Org.Environment.CUSTOM, custom_login_url="https://login.acme.example")
    if allowed:
        oauth.check_org_url(org, url, what="instance URL")
    else:
        with pytest.raises(oauth.UnsafeOrgUrl):
            oauth.check_org_url(org, url, what="instance URL")


def test_production_orgs_allow_salesforce_domains_only():
    org = Org(environment=Org.Environment.PRODUCTION)
    oauth.check_org_url(org, "https://acme.my.salesforce.com", what="instance URL")
    with pytest.raises(oauth.UnsafeOrgUrl, match=r"\*\.force\.com.*login\.salesforce\.com"):
        oauth.check_org_url(org, "https://127.0.0.1:8700", what="instance URL")
