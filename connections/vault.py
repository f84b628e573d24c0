"""The credentials vault: AES-256-GCM seal/open for org secrets.

A sealed value is text `v1:<key id>:<base64(nonce ‖ ciphertext ‖ tag)>`. Each seal uses a fresh
96-bit nonce; the caller's *context* (the row's model, primary key and field) is bound in as
associated data, so a ciphertext copied to another row or field does not open. Keys come only
from the environment variable ORGSYNC_ENCRYPTION_KEYS (`kid:base64key,…`, 32-byte keys): the
first seals, every one opens, which is what makes rotation possible. Keys are parsed on first
use, not at import.
"""

import base64
import binascii
import os
import re
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

ENV_VAR = "ORGSYNC_ENCRYPTION_KEYS"
VERSION = "v1"
NONCE_BYTES = 12
_KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


class VaultError(Exception):
    """A sealed value cannot be opened or made; the message never contains the secret."""


class VaultKeyError(VaultError):
    """ORGSYNC_ENCRYPTION_KEYS is missing, malformed, or lacks the key a value was sealed with."""


@dataclass(frozen=True)
class SealContext:
    """Where a sealed value lives: bound into the ciphertext as associated data."""

    model: str  # "connections.org"
    pk: str
    field: str

    def as_bytes(self) -> bytes:
        return f"{self.model}|{self.pk}|{self.field}".encode()


@dataclass(frozen=True)
class Keyring:
    sealing_key_id: str
    keys: dict[str, AESGCM]

    def __repr__(self) -> str:  # never show key material
        return f"Keyring(sealing_key_id={self.sealing_key_id!r}, key_ids={sorted(self.keys)!r})"


def parse_keys(raw: str) -> Keyring:
    """Parse `kid:base64key[,kid:base64key…]`; errors name the variable and the bad entry's id."""
    entries = [entry.strip() for entry in raw.split(",") if entry.strip()]
    if not entries:
        raise VaultKeyError(f"{ENV_VAR} is not set: org credentials cannot be sealed or opened.")
    keys: dict[str, AESGCM] = {}
    for position, entry in enumerate(entries, start=1):
        key_id, _, encoded = entry.partition(":")
        if not _KEY_ID.match(key_id) or not encoded:
            raise VaultKeyError(
                f"{ENV_VAR} entry {position} is not 'keyid:base64key' (key ids: letters, digits, . _ -)."
            )
        try:
            material = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise VaultKeyError(f"{ENV_VAR} key {key_id!r} is not valid base64.") from None
        if len(material) != 32:
            raise VaultKeyError(
                f"{ENV_VAR} key {key_id!r} is {len(material)} bytes; AES-256 needs 32 "
                "(base64 of os.urandom(32))."
            )
        if key_id in keys:
            raise VaultKeyError(f"{ENV_VAR} names key id {key_id!r} twice.")
        keys[key_id] = AESGCM(material)
    return Keyring(sealing_key_id=entries[0].partition(":")[0], keys=keys)


@lru_cache(maxsize=1)
def keyring() -> Keyring:
    return parse_keys(getattr(settings, ENV_VAR, ""))


@receiver(setting_changed)
def _forget_keys(setting: str, **kwargs) -> None:
    if setting == ENV_VAR:
        keyring.cache_clear()


def seal(plaintext: str, *, context: SealContext) -> str:
    """Encrypt `plaintext` under the first key, bound to `context`."""
    ring = keyring()
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = ring.keys[ring.sealing_key_id].encrypt(nonce, plaintext.encode(), context.as_bytes())
    return f"{VERSION}:{ring.sealing_key_id}:{base64.b64encode(nonce + ciphertext).decode()}"


def key_id_of(sealed: str) -> str:
    return _split(sealed)[1]


def open_sealed(sealed: str, *, context: SealContext) -> str:
    """Decrypt a value made by `seal` for the same `context`; VaultError if it cannot be."""
    _, key_id, payload = _split(sealed)
    key = keyring().keys.get(key_id)
    if key is None:
        raise VaultKeyError(
            f"{context.field} was sealed with key {key_id!r}, which is not in {ENV_VAR}: "
            "add that key back (after the current one) to open it."
        )
    try:
        raw = base64.b64decode(payload, validate=True)
        plaintext = key.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.as_bytes())
    except (binascii.Error, InvalidTag, ValueError):
        raise VaultError(
            f"{context.field} of {context.model} {context.pk} does not open: it was altered, "
            "or copied from another row or field."
        ) from None
    return plaintext.decode()


def _split(sealed: str) -> tuple[str, str, str]:
    parts = sealed.split(":", 2)
    if len(parts) != 3 or parts[0] != VERSION:
        raise VaultError("not a sealed value (expected 'v1:<key id>:<data>').")
    return parts[0], parts[1], parts[2]
