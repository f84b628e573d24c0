"""The connection form checks the owner and the audit-field option live against the orgs."""

import pytest

from connections.forms import ConnectionForm
from tests.connections.emu import connect_by_password

pytestmark = pytest.mark.django_db


def form_for(primary, secondary, **data) -> ConnectionForm:
    fields = {
        "name": "Prod to DR",
        "primary_org": primary.pk,
        "secondary_org": secondary.pk,
        "conflict_policy": "primary_wins",
        "direction": "one_way",
        "max_retry_attempts": 5,
        **data,
    }
    return ConnectionForm(data=fields)


@pytest.fixture
def orgs(sfemu_server):
    primary, secondary = sfemu_server.create_org(), sfemu_server.create_org()
    return (
        primary,
        secondary,
        connect_by_password(sfemu_server, primary),
        connect_by_password(sfemu_server, secondary),
    )


def test_owner_must_be_an_active_user_of_the_primary_org(orgs):
    primary_handle, secondary_handle, primary, secondary = orgs
    form = form_for(primary, secondary, owner_username=secondary_handle.username)
    assert not form.is_valid()
    assert "must be an active user of the primary org" in form.errors["owner_username"][0]
    form = form_for(primary, secondary, owner_username=primary_handle.username)
    assert form.is_valid(), form.errors
    assert form.instance.owner_user_id == primary_handle.user_id


def test_audit_fields_need_the_org_permission(orgs):
    primary_handle, secondary_handle, primary, secondary = orgs
    form = form_for(
        primary, secondary, owner_username=primary_handle.username, sync_feeds_and_audit_fields=True
    )
    assert not form.is_valid()
    assert "Set Audit Fields upon Record Creation" in form.errors["sync_feeds_and_audit_fields"][0]
    secondary_handle.org.set_option("audit_fields_on_create", True)
    form = form_for(
        primary, secondary, owner_username=primary_handle.username, sync_feeds_and_audit_fields=True
    )
    assert form.is_valid(), form.errors
