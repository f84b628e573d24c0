"""Admin doors: managers act, operators look (buttons absent, forged POSTs refused with 403)."""

import pytest
from django.urls import reverse

from connections.models import Connection, Org
from tests.factories import ConnectionFactory, OrgFactory

Status = Connection.Status
pytestmark = pytest.mark.django_db


def transition_url(connection: Connection, action: str) -> str:
    return reverse("admin:connections_connection_transition", args=[connection.pk, action])


@pytest.mark.parametrize(
    ("start", "action", "end"),
    [
        (Status.ACTIVE, "suspend", Status.SUSPENDED),
        (Status.SUSPENDED, "resume", Status.ACTIVE),
        (Status.ACTIVE, "deactivate", Status.DEACTIVATED),
    ],
)
def test_manager_changes_status_and_history_shows_it(manager_client, start, action, end):
    connection = ConnectionFactory(status=start, suspension="admin" if start == Status.SUSPENDED else "")
    response = manager_client.post(transition_url(connection, action), {"confirmed": "yes"})
    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.status == end
    page = manager_client.get(reverse("admin:connections_connection_change", args=[connection.pk]))
    assert "Connection history (newest first)" in page.content.decode()
    assert connection.events.get().get_kind_display() in page.content.decode()


def test_illegal_transition_is_a_message_not_an_error(manager_client):
    connection = ConnectionFactory(status=Status.INVITED)
    response = manager_client.post(transition_url(connection, "resume"), follow=True)
    assert response.status_code == 200
    assert "only a Suspended connection can be resumed" in response.content.decode()


@pytest.mark.parametrize("action", ["accept", "suspend", "resume", "deactivate"])
def test_operator_forged_transition_is_403(operator_client, action):
    connection = ConnectionFactory(status=Status.ACTIVE)
    assert operator_client.post(transition_url(connection, action)).status_code == 403
    connection.refresh_from_db()
    assert connection.status == Status.ACTIVE and not connection.events.exists()


@pytest.mark.parametrize(("status", "action"), [(Status.INVITED, "accept"), (Status.SUSPENDED, "resume")])
def test_one_click_transitions_need_post(manager_client, status, action):
    connection = ConnectionFactory(status=status, suspension="admin" if status == Status.SUSPENDED else "")
    assert manager_client.get(transition_url(connection, action)).status_code == 405
    connection.refresh_from_db()
    assert connection.status == status and not connection.events.exists()


def test_deactivate_asks_first_saying_it_is_for_good_and_what_is_pending(manager_client):
    from replication.models import RecordQueueItem

    connection = ConnectionFactory(status=Status.ACTIVE)
    for n in range(3):
        RecordQueueItem.objects.create(
            connection=connection, direction="p2s", source_object="Account", source_id=f"001{n:015d}"
        )
    url = transition_url(connection, "deactivate")
    for ask in (manager_client.get(url), manager_client.post(url)):  # a POST without "confirmed" asks too
        assert ask.status_code == 200
        html = ask.content.decode()
        assert "for good" in html and "3 items pending" in html and 'name="reason"' in html
        assert 'name="confirmed" value="yes"' in html
    connection.refresh_from_db()
    assert connection.status == Status.ACTIVE and not connection.events.exists(), "asking changes nothing"

    done = manager_client.post(url, {"confirmed": "yes", "reason": "  Org retired after the merger  "})
    assert done.status_code == 302
    connection.refresh_from_db()
    assert connection.status == Status.DEACTIVATED
    event = connection.events.get()
    assert event.kind == "deactivated" and event.detail == "Org retired after the merger"


def test_suspend_asks_first_saying_changes_keep_queueing(manager_client):
    connection = ConnectionFactory(status=Status.ACTIVE)
    url = transition_url(connection, "suspend")
    html = manager_client.get(url).content.decode()
    assert "keep queueing" in html and "0 items pending" in html
    connection.refresh_from_db()
    assert connection.status == Status.ACTIVE
    manager_client.post(url, {"confirmed": "yes", "reason": "Release weekend"})
    connection.refresh_from_db()
    assert connection.status == Status.SUSPENDED
    assert connection.events.get(kind="admin_suspended").detail == "Release weekend"


def test_confirming_without_a_reason_works_and_a_long_reason_is_refused(manager_client):
    connection = ConnectionFactory(status=Status.ACTIVE)
    url = transition_url(connection, "suspend")
    refused = manager_client.post(url, {"confirmed": "yes", "reason": "x" * 501})
    assert refused.status_code == 200 and "under 500 characters" in refused.content.decode()
    connection.refresh_from_db()
    assert connection.status == Status.ACTIVE
    assert manager_client.post(url, {"confirmed": "yes"}).status_code == 302
    connection.refresh_from_db()
    assert connection.status == Status.SUSPENDED


def test_confirmation_of_a_transition_the_status_does_not_allow_offers_no_button(manager_client):
    connection = ConnectionFactory(status=Status.DEACTIVATED)
    html = manager_client.get(transition_url(connection, "deactivate")).content.decode()
    assert "is not possible now" in html and 'name="confirmed"' not in html


def test_operator_cannot_even_see_the_confirmation(operator_client):
    connection = ConnectionFactory(status=Status.ACTIVE)
    assert operator_client.get(transition_url(connection, "deactivate")).status_code == 403


def test_operator_sees_connections_without_buttons(operator_client):
    connection = ConnectionFactory(status=Status.ACTIVE)
    page = operator_client.get(reverse("admin:connections_connection_change", args=[connection.pk]))
    assert page.status_code == 200
    assert 'name="transition"' not in page.content.decode()
    assert operator_client.get(reverse("admin:connections_connection_add")).status_code == 403


def test_manager_sees_the_buttons_of_the_status(manager_client):
    connection = ConnectionFactory(status=Status.ACTIVE)
    html = manager_client.get(
        reverse("admin:connections_connection_change", args=[connection.pk])
    ).content.decode()
    assert 'value="suspend"' in html and 'value="deactivate"' in html and 'value="resume"' not in html


@pytest.mark.parametrize("url_name", ["admin:connections_org_test", "admin:connections_org_reconnect"])
def test_operator_cannot_test_or_reconnect_orgs(operator_client, url_name):
    org = OrgFactory()
    assert operator_client.post(reverse(url_name, args=[org.pk])).status_code == 403


def test_org_pages_never_show_secrets(manager_client):
    org = OrgFactory(access_token="00Dxx!visible-if-leaked")
    org.client_secret, org.password, org.refresh_token = "cs-leak", "pw-leak", "rt-leak"
    org.save()
    for url in (
        reverse("admin:connections_org_change", args=[org.pk]),
        reverse("admin:connections_org_changelist"),
    ):
        html = manager_client.get(url).content.decode()
        for secret in ("visible-if-leaked", "cs-leak", "pw-leak", "rt-leak", "v1:"):
            assert secret not in html


def test_operator_views_orgs_but_cannot_add(operator_client):
    OrgFactory()
    assert operator_client.get(reverse("admin:connections_org_changelist")).status_code == 200
    assert operator_client.get(reverse("admin:connections_org_add")).status_code == 403


def test_connect_form_says_which_field_the_method_needs(manager_client):
    response = manager_client.post(
        reverse("admin:connections_org_add"),
        {
            "label": "Prod",
            "environment": "production",
            "auth_method": "jwt_bearer",
            "client_id": "3MVG9x",
            "api_version": "62.0",
        },
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "is needed to sign in with “JWT bearer" in errors["username"][0]
    assert "Private key (PEM) is needed" in errors["private_key"][0]
    assert not Org.objects.exists()


def test_custom_login_url_must_be_https(manager_client):
    response = manager_client.post(
        reverse("admin:connections_org_add"),
        {
            "label": "Emu",
            "environment": "custom",
            "custom_login_url": "http://127.0.0.1:8700",
            "auth_method": "oauth_pkce",
            "client_id": "3MVG9x",
            "api_version": "62.0",
        },
    )
    assert "must start with https://" in response.context["adminform"].form.errors["custom_login_url"][0]
