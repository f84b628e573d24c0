"""Every mistake on the connections pages is a message or a field error naming the fix, never a
500: unreadable stored credentials, odd secrets, orgs connected twice, connections between orgs
that cannot be linked, bad URLs and bad CA certificates."""

import base64
import re

import pytest
from django.test import Client
from django.urls import reverse

from connections import services
from connections.client import SalesforceClient
from connections.client_errors import AuthenticationError
from connections.errors import CREDENTIALS_UNREADABLE, ConnectionsError
from connections.forms import ConnectionForm
from connections.models import Org
from orgsync.roles import ADMINISTRATORS
from replication import services as replication_services
from tests.connections.emu import approve_in_browser, connect_by_client_credentials, connect_by_password
from tests.factories import OrgFactory, UserFactory

pytestmark = pytest.mark.django_db
OLD = "old:" + base64.b64encode(b"o" * 32).decode()
NEW = "new:" + base64.b64encode(b"n" * 32).decode()


@pytest.fixture
def manager():
    client = Client(raise_request_exception=False)  # a 500 shows as a status, not as an exception
    client.force_login(UserFactory(groups=[ADMINISTRATORS]))
    return client


def tamper(org: Org, *columns: str) -> None:
    for column in columns:
        sealed = getattr(org, column)
        flipped = "A" if sealed[-5] != "A" else "B"
        Org.objects.filter(pk=org.pk).update(**{column: sealed[:-5] + flipped + sealed[-4:]})


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


# --- stored credentials that do not open ------------------------------------------------------


@pytest.fixture(params=["tampered", "key rotated away"])
def unreadable(request, sfemu_server, settings):
    """A published, subscribed connection whose orgs' stored credentials no longer open."""
    settings.ORGSYNC_ENCRYPTION_KEYS = OLD
    primary, secondary = sfemu_server.create_org(), sfemu_server.create_org()
    connection = services.connection_create(
        actor=None,
        name="Unreadable",
        primary_org=connect_by_password(sfemu_server, primary),
        secondary_org=connect_by_password(sfemu_server, secondary),
    )
    connection = services.connection_accept(connection=connection, actor=None)
    publication = replication_services.publication_publish(
        connection=connection, direction="p2s", source_object="Account", actor=None
    )
    subscription = replication_services.subscription_subscribe(publication=publication, actor=None)
    columns = ("access_token_sealed", "client_secret_sealed", "password_sealed", "refresh_token_sealed")
    if request.param == "tampered":
        for org in (connection.primary_org, connection.secondary_org):
            tamper(Org.objects.get(pk=org.pk), *[c for c in columns if getattr(org, c)])
    else:
        settings.ORGSYNC_ENCRYPTION_KEYS = NEW
    return connection, publication, subscription


def test_unreadable_credentials_are_an_authentication_error_of_the_client(unreadable):
    connection, _, _ = unreadable
    with pytest.raises(AuthenticationError) as error:
        SalesforceClient(Org.objects.get(pk=connection.primary_org.pk))
    assert str(error.value) == CREDENTIALS_UNREADABLE


def test_pages_showing_the_orgs_render_and_actions_say_reconnect(manager, unreadable):
    connection, publication, subscription = unreadable
    org = connection.primary_org
    for url in (
        reverse("admin:connections_org_change", args=[org.pk]),
        reverse("admin:connections_org_changelist"),
        reverse("admin:connections_connection_change", args=[connection.pk]),
        reverse("admin:replication_publishedobject_change", args=[publication.pk]),
        reverse("admin:replication_subscribedobject_change", args=[subscription.pk]),
        reverse("admin:replication_subscription_analyze", args=[subscription.pk]),
    ):
        assert manager.get(url, follow=True).status_code == 200, url
    for url_name in ("admin:connections_org_test", "admin:connections_org_reconnect"):
        response = manager.post(reverse(url_name, args=[org.pk]), follow=True)
        assert response.status_code == 200, url_name
        assert any(CREDENTIALS_UNREADABLE in m for m in messages_of(response)), url_name


def test_saving_the_org_asks_to_enter_the_unreadable_secret_again(manager, unreadable):
    org = unreadable[0].primary_org
    response = manager.post(
        reverse("admin:connections_org_change", args=[org.pk]),
        {
            "label": org.label,
            "environment": org.environment,
            "custom_login_url": org.custom_login_url,
            "auth_method": org.auth_method,
            "client_id": org.client_id,
            "username": org.username,
            "ca_bundle": org.ca_bundle,
            "api_version": org.api_version,
        },
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "stored consumer secret can't be read" in errors["client_secret"][0]
    assert "enter it again" in errors["password"][0]


# --- secrets and URLs on the org form -----------------------------------------------------------


def org_form_data(**fields) -> dict:
    return {
        "label": "Odd",
        "environment": "custom",
        "custom_login_url": "https://127.0.0.1:9",
        "auth_method": "client_credentials",
        "client_id": "3MVG9odd",
        "client_secret": "s3cret",
        "api_version": "62.0",
        **fields,
    }


def test_a_non_latin1_secret_is_a_field_error_on_add_and_change(manager):
    response = manager.post(reverse("admin:connections_org_add"), org_form_data(client_secret="sécret€"))
    assert response.status_code == 200
    assert "ASCII" in response.context["adminform"].form.errors["client_secret"][0]
    org = OrgFactory(auth_method="client_credentials")
    response = manager.post(
        reverse("admin:connections_org_change", args=[org.pk]),
        org_form_data(label=org.label, client_secret="秘密"),
    )
    assert response.status_code == 200
    assert (
        "copy it again from the connected app"
        in response.context["adminform"].form.errors["client_secret"][0]
    )


def test_a_non_latin1_secret_reaching_the_token_request_is_refused_not_crashed(sfemu_server, sfemu_org):
    app = sfemu_server.create_app(sfemu_org, run_as_user_id=sfemu_org.user_id)
    org = Org(
        label="Odd secret",
        environment=Org.Environment.CUSTOM,
        custom_login_url=sfemu_server.url,
        auth_method=Org.AuthMethod.CLIENT_CREDENTIALS,
        client_id=app.client_id,
        ca_bundle=sfemu_server.ca_path.read_text(),
    )
    org.client_secret = app.client_secret + "€"
    with pytest.raises(ConnectionsError, match="invalid_client"):
        services.org_connect(org=org)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8700", "not a url"])
def test_a_bad_custom_url_gets_one_error(manager, url):
    response = manager.post(reverse("admin:connections_org_add"), org_form_data(custom_login_url=url))
    errors = response.context["adminform"].form.errors["custom_login_url"]
    assert len(errors) == 1 and "needed" not in errors[0]


def test_garbage_in_the_ca_field_says_it_is_not_a_pem_certificate(manager):
    response = manager.post(
        reverse("admin:connections_org_add"), org_form_data(ca_bundle="-----BEGIN CERT-----\nhello")
    )
    form = response.context["adminform"].form
    assert "not a PEM certificate" in form.errors["ca_bundle"][0]
    assert not form.non_field_errors(), "no sign-in was tried with it"


def test_a_garbage_ca_file_says_it_is_not_a_pem_certificate(manager):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("ca.pem", b"\x00\x01 not pem at all")
    response = manager.post(reverse("admin:connections_org_add"), org_form_data(ca_bundle_file=upload))
    assert "not a PEM certificate" in response.context["adminform"].form.errors["ca_bundle_file"][0]


# --- the same org connected twice -----------------------------------------------------------


def test_connecting_an_org_already_connected_says_which_one(manager, sfemu_server, sfemu_org):
    first = connect_by_password(sfemu_server, sfemu_org)
    with pytest.raises(
        ConnectionsError, match=re.escape(f"already connected as “{first.label}”: use Reconnect")
    ):
        connect_by_client_credentials(sfemu_server, sfemu_org)
    app = sfemu_server.create_app(sfemu_org, run_as_user_id=sfemu_org.user_id)
    response = manager.post(
        reverse("admin:connections_org_add"),
        org_form_data(
            label="Twin",
            custom_login_url=sfemu_server.url,
            client_id=app.client_id,
            client_secret=app.client_secret,
            ca_bundle=sfemu_server.ca_path.read_text(),
        ),
    )
    assert response.status_code == 200
    assert any("use Reconnect on it" in e for e in response.context["adminform"].form.non_field_errors())
    assert list(Org.objects.values_list("label", flat=True)) == [first.label]


def test_pkce_callback_for_an_org_already_connected_is_a_message(manager, sfemu_server, sfemu_org):
    first = connect_by_password(sfemu_server, sfemu_org)
    callback = "http://testserver" + reverse("admin:connections_org_oauth_callback")
    app = sfemu_server.create_app(sfemu_org, callback_urls=[callback], require_secret=False)
    twin = Org.objects.create(
        label="Twin",
        environment=Org.Environment.CUSTOM,
        custom_login_url=sfemu_server.url,
        auth_method=Org.AuthMethod.OAUTH_PKCE,
        client_id=app.client_id,
        ca_bundle=sfemu_server.ca_path.read_text(),
    )
    start = manager.post(reverse("admin:connections_org_reconnect", args=[twin.pk]))
    answer = approve_in_browser(sfemu_server, sfemu_org, start["Location"])
    response = manager.get(reverse("admin:connections_org_oauth_callback"), answer, follow=True)
    assert response.status_code == 200
    assert any(f"already connected as “{first.label}”" in m for m in messages_of(response))
    assert Org.objects.get(pk=twin.pk).org_id == ""


# --- the connection form ----------------------------------------------------------------------


def connection_form(primary: Org, secondary: Org) -> ConnectionForm:
    return ConnectionForm(
        data={
            "name": "P to S",
            "primary_org": primary.pk,
            "secondary_org": secondary.pk,
            "conflict_policy": "primary_wins",
            "direction": "one_way",
            "max_retry_attempts": 5,
        }
    )


def test_an_org_not_connected_yet_is_an_error_on_its_field():
    connected, without_token = OrgFactory(), OrgFactory(access_token="")
    form = connection_form(connected, without_token)
    assert not form.is_valid()
    assert form.errors["secondary_org"] == [
        f"Org “{without_token.label}” is not connected yet: connect it first."
    ]
    form = connection_form(without_token, connected)
    assert not form.is_valid() and "not connected yet" in form.errors["primary_org"][0]


def test_the_same_org_on_both_sides_is_a_plain_field_error():
    org = OrgFactory()
    form = connection_form(org, org)
    assert not form.is_valid()
    assert "choose a different org as the secondary org" in form.errors["secondary_org"][0]
    assert "Constraint" not in str(form.errors)


def test_an_org_left_without_org_id_by_a_failed_sign_in_is_not_offered():
    connected, half_made = OrgFactory(), OrgFactory(org_id="", access_token="")
    form = ConnectionForm()
    choices = {str(value) for value, _ in form.fields["primary_org"].choices if value}
    assert choices == {str(connected.pk)}
    assert "secondary_org" in connection_form(connected, half_made).errors


def test_adding_a_connection_to_an_unconnected_org_in_the_admin_is_no_500(manager):
    connected, without_token = OrgFactory(), OrgFactory(access_token="")
    response = manager.post(
        reverse("admin:connections_connection_add"),
        {
            "name": "P to S",
            "primary_org": connected.pk,
            "secondary_org": without_token.pk,
            "conflict_policy": "primary_wins",
            "direction": "one_way",
            "max_retry_attempts": 5,
        },
    )
    assert response.status_code == 200
    assert (
        "is not connected yet: connect it first"
        in response.context["adminform"].form.errors["secondary_org"][0]
    )
