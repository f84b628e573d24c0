"""Passwords and security tokens of emulated users (stored hashed, never in clear)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from typing import Any

ITERATIONS = 10_000
TOKEN_LENGTH = 25
_PASSWORD_ALPHABET = string.ascii_letters + string.digits
_TOKEN_ALPHABET = string.ascii_letters + string.digits


def new_password() -> str:
    """A random password that satisfies Salesforce's default policy (letters + digits)."""
    while True:
        pw = "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(16))
        if any(c.isdigit() for c in pw) and any(c.isalpha() for c in pw):
            return pw


def new_token() -> str:
    return "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(TOKEN_LENGTH))


def _hash(secret: str, salt: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", secret.encode(), salt.encode(), ITERATIONS).hex()


def hashed(secret: str) -> dict[str, str]:
    salt = secrets.token_hex(8)
    return {"salt": salt, "hash": _hash(secret, salt)}


def matches(secret: str, stored: dict[str, str] | None) -> bool:
    if not stored:
        return False
    return hmac.compare_digest(_hash(secret, stored["salt"]), stored["hash"])


def credentials(password: str, token: str) -> dict[str, Any]:
    return {"password": hashed(password), "token": hashed(token), "expired": False}


def verify(secret: str, creds: dict[str, Any] | None, *, require_token: bool) -> bool:
    """``secret`` is the password followed by the security token (or, when the org does not
    require a token, the bare password)."""
    if not creds:
        return False
    if (
        len(secret) > TOKEN_LENGTH
        and matches(secret[:-TOKEN_LENGTH], creds["password"])
        and matches(secret[-TOKEN_LENGTH:], creds["token"])
    ):
        return True
    return not require_token and matches(secret, creds["password"])
