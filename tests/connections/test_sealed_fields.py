"""Org secrets live only sealed in the database; rotation re-seals them under the new key."""

import base64

import pytest
from django.core.management import CommandError, call_command
from django.db import connection as db

from connections.errors import CREDENTIALS_UNREADABLE, CredentialsUnreadable
from connections.models import Org
from connections.vault import key_id_of
from tests.factories import OrgFactory

OLD = "old:" + base64.b64encode(b"o" * 32).decode()
NEW = "new:" + base64.b64encode(b"n" * 32).decode()
pytestmark = pytest.mark.django_db


def stored_row(org: Org) -> dict:
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT * FROM connections_org WHERE id = %s", [org.pk.hex if db.vendor == "sqlite" else org.pk]
        )
        columns = [c[0] for c in cursor.description]
        return dict(zip(columns, cursor.fetchone(), strict=True))


def test_secrets_are_stored_only_as_ciphertext():
    org = OrgFactory(access_token="00Dxx!plain-access-token")
    org.refresh_token = "plain-refresh-token"
    org.save()
    row = stored_row(org)
    dump = repr(row)
    assert "plain-access-token" not in dump and "plain-refresh-token" not in dump
    assert row["access_token_sealed"].startswith("v1:")
    reloaded = Org.objects.get(pk=org.pk)
    assert reloaded.access_token == "00Dxx!plain-access-token"
    assert reloaded.refresh_token == "plain-refresh-token"
    assert "plain" not in repr(reloaded) and "plain" not in str(reloaded)


def test_a_secret_copied_to_another_org_does_not_open():
    victim, thief = OrgFactory(), OrgFactory()
    Org.objects.filter(pk=thief.pk).update(access_token_sealed=victim.access_token_sealed)
    with pytest.raises(CredentialsUnreadable, match="reconnect the org") as error:
        _ = Org.objects.get(pk=thief.pk).access_token
    assert "access_token" in error.value.detail and "copied from another row" in error.value.detail


def test_a_secret_copied_to_another_field_does_not_open():
    org = OrgFactory()
    Org.objects.filter(pk=org.pk).update(refresh_token_sealed=org.access_token_sealed)
    with pytest.raises(CredentialsUnreadable):
        _ = Org.objects.get(pk=org.pk).refresh_token


def test_empty_secret_is_stored_empty():
    org = OrgFactory(access_token="")
    assert org.access_token_sealed == "" and org.access_token == ""


def test_rotation_reseals_under_the_first_key(settings):
    settings.ORGSYNC_ENCRYPTION_KEYS = OLD
    org = OrgFactory(access_token="tok-1")
    org.client_secret = "secret-1"
    org.save()
    settings.ORGSYNC_ENCRYPTION_KEYS = f"{NEW},{OLD}"
    call_command("rotate_encryption_keys")
    org = Org.objects.get(pk=org.pk)
    assert key_id_of(org.access_token_sealed) == "new" and key_id_of(org.client_secret_sealed) == "new"
    settings.ORGSYNC_ENCRYPTION_KEYS = NEW
    assert (org.access_token, org.client_secret) == ("tok-1", "secret-1"), "old key no longer needed"


def test_rotation_without_the_old_key_fails_naming_the_variable(settings):
    settings.ORGSYNC_ENCRYPTION_KEYS = OLD
    OrgFactory()
    settings.ORGSYNC_ENCRYPTION_KEYS = NEW
    with pytest.raises(CommandError, match="not in ORGSYNC_ENCRYPTION_KEYS"):
        call_command("rotate_encryption_keys")


def test_a_secret_whose_key_was_rotated_away_reads_as_unreadable_credentials(settings):
    settings.ORGSYNC_ENCRYPTION_KEYS = OLD
    org = OrgFactory()
    settings.ORGSYNC_ENCRYPTION_KEYS = NEW
    with pytest.raises(CredentialsUnreadable) as error:
        _ = Org.objects.get(pk=org.pk).access_token
    assert str(error.value) == CREDENTIALS_UNREADABLE
    assert "'old'" in error.value.detail and "ORGSYNC_ENCRYPTION_KEYS" in error.value.detail
