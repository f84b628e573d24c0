"""Users of an org: creation, activation, passwords and security tokens.

Mixed into :class:`sfemu.org.Org`. Only hashes of passwords and tokens are stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from sfemu.errors import SalesforceError, not_found
from sfemu.schema import security


@dataclass(frozen=True)
class UserCredentials:
    """What a new user logs in with (shown once; only hashes are stored)."""

    user_id: str
    username: str
    password: str
    security_token: str


class UsersMixin:
    """User management of an org."""

    def add_user(
        self,
        *,
        last_name: str,
        first_name: str | None = None,
        username: str | None = None,
        email: str | None = None,
        profile: str = "Standard User",
        role: str | None = None,
        active: bool = True,
        alias: str | None = None,
        extra: dict | None = None,
        created_by: str | None = None,
    ) -> UserCredentials:
        """Create a user with a password and security token (returned once)."""
        slug = "".join(c for c in (first_name or "") + last_name if c.isalnum()).lower()
        domain = self._data["domain"]
        username = username or f"{slug}@{domain}"
        values = {
            "Username": username,
            "LastName": last_name,
            "FirstName": first_name,
            "Email": email or username,
            "Alias": alias or (slug[:8] or "user"),
            "CommunityNickname": f"{slug or 'user'}{self.instance.rng.randrange(10**6)}",
            "IsActive": active,
            "TimeZoneSidKey": "America/Los_Angeles",
            "LocaleSidKey": "en_US",
            "EmailEncodingKey": "UTF-8",
            "LanguageLocaleKey": "en_US",
            "ProfileId": self.profile_id(profile),
            "UserRoleId": self.role_id(role) if role else None,
            **(extra or {}),
        }
        with self.store.write():
            user_id = self.create("User", values, user_id=created_by or self.admin_user_id)
            return self._issue_credentials(user_id, username)

    def _issue_credentials(self, user_id: str, username: str) -> UserCredentials:
        password, token = security.new_password(), security.new_token()
        self.store.put_credentials(user_id, self.org_id, security.credentials(password, token))
        return UserCredentials(user_id, username, password, token)

    def reset_password(self, user_id: str) -> UserCredentials:
        user = self.user(user_id)
        return self._issue_credentials(user["Id"], user["Username"])

    def set_password_expired(self, user_id: str, expired: bool = True) -> None:
        creds = self.store.get_credentials(user_id) or {}
        creds["expired"] = expired
        self.store.put_credentials(user_id, self.org_id, creds)

    def password_expired(self, user_id: str) -> bool:
        return bool((self.store.get_credentials(user_id) or {}).get("expired"))

    def verify_password(self, user_id: str, secret: str, *, require_token: bool | None = None) -> bool:
        """Password + security token (or the bare password when the org does not require a
        token, or with ``require_token=False``)."""
        if require_token is None:
            require_token = self.options["require_security_token"]
        return security.verify(secret, self.store.get_credentials(user_id), require_token=require_token)

    def set_user_active(self, user_id: str, active: bool) -> None:
        self.update("User", user_id, {"IsActive": active}, user_id=self.admin_user_id)

    def user(self, user_id: str) -> dict:
        """Full User row (wire values)."""
        obj = self.schema.require("User")
        rec = self.store.get_record(self.normalize_id(user_id, obj))
        if rec is None or rec[0] != self.org_id or rec[1] != "User":
            raise not_found()
        return self.shaper(obj).full(rec[3])

    def profile_id(self, name: str) -> str:
        found = self.store.find_by_value(self.org_id, "Profile", "Name", name)
        if not found:
            raise SalesforceError("INVALID_CROSS_REFERENCE_KEY", f"no profile named {name}")
        return found[0]

    def role_id(self, name: str) -> str:
        found = self.store.find_by_value(self.org_id, "UserRole", "Name", name)
        if not found:
            raise SalesforceError("INVALID_CROSS_REFERENCE_KEY", f"no role named {name}")
        return found[0]
