"""Connecting orgs and SalesforceClient against sfemu over real HTTPS."""

import pytest

from connections import services
from connections.client import SalesforceClient, api_calls
from connections.client_errors import AuthenticationError, PermanentError, RetryableError
from connections.models import Org
from connections.oauth import OAuthError
from tests.connections.emu import CONNECTORS, approve_in_browser, connect_by_password, unsaved_org

pytestmark = pytest.mark.django_db
METHODS = list(CONNECTORS)


@pytest.mark.parametrize("method", METHODS)
def test_connecting_reads_what_the_org_is(sfemu_server, sfemu_org, method):
    org = CONNECTORS[method](sfemu_server, sfemu_org)
    org = Org.objects.get(pk=org.pk)
    assert org.org_id == sfemu_org.org_id
    assert org.user_id == sfemu_org.user_id and org.user_username == sfemu_org.username
    assert org.org_name and org.edition == "Developer Edition" and org.is_sandbox is False
    assert org.instance_url == sfemu_server.url
    assert org.is_connected and org.connected_at is not None


def test_pkce_connection_stores_a_refresh_token(sfemu_server, sfemu_org):
    org = CONNECTORS[Org.AuthMethod.OAUTH_PKCE](sfemu_server, sfemu_org)
    assert Org.objects.get(pk=org.pk).refresh_token


@pytest.mark.parametrize("method", METHODS)
def test_expired_session_is_refreshed_once_and_sealed(sfemu_server, sfemu_org, method):
    org = CONNECTORS[method](sfemu_server, sfemu_org)
    old_token = org.access_token
    client = SalesforceClient(org)
    sfemu_org.expire_sessions()
    assert client.limits()["DailyApiRequests"]["Max"] > 0
    stored = Org.objects.get(pk=org.pk)
    assert stored.access_token != old_token and stored.access_token_sealed.startswith("v1:")
    assert client.calls["limits"] == 2, "the failed call and its single repeat"


def test_refresh_that_fails_is_an_authentication_error(sfemu_server, sfemu_org):
    org = connect_by_password(sfemu_server, sfemu_org)
    org.password = "no-longer-the-password"
    org.save()
    sfemu_org.expire_sessions()
    with pytest.raises(AuthenticationError, match="invalid_grant"):
        SalesforceClient(org).limits()


def test_test_connection_records_api_usage(sfemu_server, sfemu_org):
    org = connect_by_password(sfemu_server, sfemu_org)
    usage = services.org_test_connection(org=org)
    assert usage.max > 0 and 0 < usage.used <= usage.max
    stored = Org.objects.get(pk=org.pk)
    assert (stored.api_requests_used, stored.api_requests_max) == (usage.used, usage.max)


def test_calls_are_counted_per_org(sfemu_server, sfemu_org):
    org = connect_by_password(sfemu_server, sfemu_org)
    before = api_calls(org)
    client = SalesforceClient(org)
    client.describe("Account")
    client.query_page("SELECT Id FROM Account LIMIT 1")
    after = api_calls(org)
    assert after["describe"] - before["describe"] == 1 and after["query"] - before["query"] == 1


def test_salesforce_refusals_are_permanent_errors_with_code_and_fields(sfemu_server, sfemu_org):
    client = SalesforceClient(connect_by_password(sfemu_server, sfemu_org))
    with pytest.raises(PermanentError) as malformed:
        client.query_page("SELEC Id FROM Account")
    assert malformed.value.error_code == "MALFORMED_QUERY" and malformed.value.status == 400
    with pytest.raises(PermanentError) as missing:
        client.get("Account", "001000000000000AAA")
    assert missing.value.error_code == "NOT_FOUND" and missing.value.status == 404


def test_collection_results_keep_per_record_errors(sfemu_server, sfemu_org):
    client = SalesforceClient(connect_by_password(sfemu_server, sfemu_org))
    results = client.create(
        [
            {"attributes": {"type": "Account"}, "Name": "Fine"},
            {"attributes": {"type": "Account"}},
        ]
    )
    assert results[0].success and results[0].id.startswith("001")
    assert not results[1].success and results[1].id is None
    assert results[1].errors[0].status_code == "REQUIRED_FIELD_MISSING"
    assert results[1].errors[0].fields == ("Name",)
    assert not results[1].errors[0].retryable


def test_unreachable_org_is_retryable(sfemu_server, sfemu_org):
    org = connect_by_password(sfemu_server, sfemu_org)
    org.instance_url = "https://127.0.0.1:9"
    with pytest.raises(RetryableError) as error:
        SalesforceClient(org).limits()
    assert error.value.error_code == "UNREACHABLE"


def test_untrusted_certificate_is_refused_never_ignored(sfemu_server, sfemu_org):
    app = sfemu_server.create_app(sfemu_org)
    org = unsaved_org(
        sfemu_server, sfemu_org, Org.AuthMethod.PASSWORD, client_id=app.client_id, username=sfemu_org.username
    )
    org.ca_bundle = ""
    org.client_secret, org.password = app.client_secret, sfemu_org.login_password
    with pytest.raises(OAuthError, match="not trusted"):
        services.org_connect(org=org)
    assert not Org.objects.exists()


def test_wrong_password_says_what_to_check(sfemu_server, sfemu_org):
    app = sfemu_server.create_app(sfemu_org)
    org = unsaved_org(
        sfemu_server, sfemu_org, Org.AuthMethod.PASSWORD, client_id=app.client_id, username=sfemu_org.username
    )
    org.client_secret, org.password = app.client_secret, "wrong"
    with pytest.raises(OAuthError, match=r"invalid_grant.*Check the username, password and security token"):
        services.org_connect(org=org)


def test_denied_consent_comes_back_as_access_denied(sfemu_server, sfemu_org):
    from tests.connections.emu import CALLBACK

    app = sfemu_server.create_app(sfemu_org, callback_urls=[CALLBACK], require_secret=False)
    org = unsaved_org(sfemu_server, sfemu_org, Org.AuthMethod.OAUTH_PKCE, client_id=app.client_id)
    org.save()
    session: dict = {}
    url = services.org_start_oauth(org=org, session=session, redirect_uri=CALLBACK)
    answer = approve_in_browser(sfemu_server, sfemu_org, url, action="deny")
    with pytest.raises(OAuthError, match=r"access_denied.*click Allow"):
        services.org_finish_oauth(session=session, state=answer["state"], error=answer["error"])


def test_oauth_state_is_single_use_and_bound_to_the_session(sfemu_server, sfemu_org):
    from connections.errors import ConnectionsError
    from tests.connections.emu import CALLBACK

    app = sfemu_server.create_app(sfemu_org, callback_urls=[CALLBACK], require_secret=False)
    org = unsaved_org(sfemu_server, sfemu_org, Org.AuthMethod.OAUTH_PKCE, client_id=app.client_id)
    org.save()
    session: dict = {}
    url = services.org_start_oauth(org=org, session=session, redirect_uri=CALLBACK)
    answer = approve_in_browser(sfemu_server, sfemu_org, url)
    with pytest.raises(ConnectionsError, match="does not belong"):
        services.org_finish_oauth(session={}, state=answer["state"], code=answer["code"])
    services.org_finish_oauth(session=session, state=answer["state"], code=answer["code"])
    with pytest.raises(ConnectionsError, match="already used"):
        services.org_finish_oauth(session=session, state=answer["state"], code=answer["code"])


def test_daily_api_limit_used_up_is_retryable(sfemu_server, sfemu_org):
    client = SalesforceClient(connect_by_password(sfemu_server, sfemu_org))
    used, _ = sfemu_org.org.api_usage()
    sfemu_org.org.set_option("api_daily_limit", used)
    with pytest.raises(RetryableError) as error:
        client.query_page("SELECT Id FROM Account")
    assert error.value.error_code == "REQUEST_LIMIT_EXCEEDED" and error.value.status == 403


@pytest.mark.parametrize("allowed", [True, False])
def test_audit_fields_option_is_checked_against_the_secondary_org(sfemu_server, allowed):
    from connections.directory import allows_audit_fields

    handle = sfemu_server.create_org()
    handle.org.set_option("audit_fields_on_create", allowed)
    assert allows_audit_fields(connect_by_password(sfemu_server, handle)) is allowed
