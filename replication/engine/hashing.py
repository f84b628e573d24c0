"""Keyed hashes of record values: how the engine recognises its own echo without storing values."""

import hashlib
import hmac
import json
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from django.conf import settings

SALT = "orgsync.replication.state-hash"


def _normal(value: object) -> object:
    """One spelling per value: 100, 100.0 and "100.0" in a number field hash alike."""
    if type(value) is str:  # most values: the fast path first
        return value or None  # Salesforce stores '' as null
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        try:
            return format(Decimal(str(value)).normalize(), "f")
        except InvalidOperation:
            return str(value)
    if isinstance(value, str) and value == "":
        return None
    return value


def state_hash(values: dict[str, object]) -> str:
    """HMAC-SHA256 (keyed with SECRET_KEY) of field → value, order-independent."""
    canonical = json.dumps({k: _normal(v) for k, v in values.items()}, sort_keys=True, default=str)
    return hmac.digest(_key(settings.SECRET_KEY), canonical.encode(), "sha256").hex()


@lru_cache(maxsize=4)
def _key(secret: str) -> bytes:
    """Django's `salted_hmac` key for SALT (derived once, not per record: same hashes)."""
    return hashlib.sha256(f"{SALT}{secret}".encode()).digest()
