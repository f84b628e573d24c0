"""The credentials vault: AES-256-GCM round trip, tamper and context binding, keys, rotation."""

import base64

import pytest

from connections import vault
from connections.vault import SealContext, VaultError, VaultKeyError, open_sealed, seal

KEY_A = "ka:" + base64.b64encode(b"A" * 32).decode()
KEY_B = "kb:" + base64.b64encode(b"B" * 32).decode()
HERE = SealContext(model="connections.org", pk="6f1c", field="access_token")


@pytest.fixture
def keys(settings):
    settings.ORGSYNC_ENCRYPTION_KEYS = KEY_A
    return settings


def test_round_trip_and_fresh_nonce(keys):
    first, second = seal("00Dxx!secret", context=HERE), seal("00Dxx!secret", context=HERE)
    assert first != second, "each seal takes a fresh nonce"
    assert first.startswith("v1:ka:")
    assert "secret" not in first
    assert open_sealed(first, context=HERE) == "00Dxx!secret"
    nonce_and_data = base64.b64decode(first.split(":", 2)[2])
    assert len(nonce_and_data) == 12 + len("00Dxx!secret") + 16


def test_one_flipped_byte_does_not_open(keys):
    sealed = seal("refresh-me", context=HERE)
    raw = bytearray(base64.b64decode(sealed.split(":", 2)[2]))
    raw[-5] ^= 0x01
    tampered = "v1:ka:" + base64.b64encode(bytes(raw)).decode()
    with pytest.raises(VaultError, match="altered, or copied"):
        open_sealed(tampered, context=HERE)


@pytest.mark.parametrize(
    "elsewhere",
    [
        SealContext(model="connections.org", pk="other-row", field="access_token"),
        SealContext(model="connections.org", pk="6f1c", field="refresh_token"),
        SealContext(model="connections.connection", pk="6f1c", field="access_token"),
    ],
)
def test_ciphertext_moved_to_another_row_or_field_does_not_open(keys, elsewhere):
    sealed = seal("token", context=HERE)
    with pytest.raises(VaultError):
        open_sealed(sealed, context=elsewhere)


def test_the_first_key_seals_and_every_key_opens(settings):
    settings.ORGSYNC_ENCRYPTION_KEYS = KEY_A
    old = seal("kept", context=HERE)
    settings.ORGSYNC_ENCRYPTION_KEYS = f"{KEY_B},{KEY_A}"
    assert open_sealed(old, context=HERE) == "kept"
    assert seal("new", context=HERE).startswith("v1:kb:")


def test_a_value_sealed_with_a_removed_key_names_the_variable(settings):
    settings.ORGSYNC_ENCRYPTION_KEYS = KEY_A
    sealed = seal("kept", context=HERE)
    settings.ORGSYNC_ENCRYPTION_KEYS = KEY_B
    with pytest.raises(VaultKeyError, match="key 'ka', which is not in ORGSYNC_ENCRYPTION_KEYS"):
        open_sealed(sealed, context=HERE)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "ORGSYNC_ENCRYPTION_KEYS is not set"),
        ("no-colon", "entry 1 is not 'keyid:base64key'"),
        ("k1:!!!", "key 'k1' is not valid base64"),
        ("k1:" + base64.b64encode(b"short").decode(), "key 'k1' is 5 bytes; AES-256 needs 32"),
        (f"{KEY_A},{KEY_A}", "names key id 'ka' twice"),
    ],
)
def test_missing_or_malformed_keys_are_errors_naming_the_variable(settings, raw, message):
    settings.ORGSYNC_ENCRYPTION_KEYS = raw
    with pytest.raises(VaultKeyError, match=message):
        seal("x", context=HERE)


def test_keyring_repr_shows_no_key_material(keys):
    text = repr(vault.keyring())
    assert "ka" in text and base64.b64encode(b"A" * 32).decode() not in text


def test_garbage_is_not_a_sealed_value(keys):
    with pytest.raises(VaultError, match="not a sealed value"):
        open_sealed("plain-text-token", context=HERE)
