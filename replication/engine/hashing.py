"""Keyed hashes of record values: how the engine recognises its own echo without storing values."""

import json
from decimal import Decimal, InvalidOperation

from django.utils.crypto import salted_hmac

SALT = "orgsync.replication.state-hash"


def _normal(value: object) -> object:
    """One spelling per value: 100, 100.0 and "100.0" in a number field hash alike."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        try:
            return format(Decimal(str(value)).normalize(), "f")
        except InvalidOperation:
            return str(value)
    if isinstance(value, str) and value == "":
        return None  # Salesforce stores '' as null
    return value


def state_hash(values: dict[str, object]) -> str:
    """HMAC-SHA256 (keyed with SECRET_KEY) of field → value, order-independent."""
    canonical = json.dumps({k: _normal(v) for k, v in sorted(values.items())}, sort_keys=True, default=str)
    return salted_hmac(SALT, canonical, algorithm="sha256").hexdigest()
