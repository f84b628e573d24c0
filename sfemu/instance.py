"""An sfemu instance: a "pod" holding many orgs in one SQLite database."""

from __future__ import annotations

import random
import re
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sfemu import ids
from sfemu.faults import Faults
from sfemu.org import DEFAULT_OPTIONS, Org
from sfemu.query_pages import ensure_index
from sfemu.store import Store
from sfemu.timeutil import Clock, format_datetime

DEFAULT_SESSION_SECONDS = 7200  # Salesforce's default session timeout (2 hours)
PROFILES = (
    ("System Administrator", True, True),
    ("Standard User", False, False),
    ("Read Only", False, False),
)
INSTANCE_NAMES = {
    "4S": "USA554",
    "5e": "EU45",
    "7e": "USA602",
    "3h": "USA604",
    "55": "NA112",
    "8c": "USA660",
    "5J": "USA566",
    "Dn": "USA232",
    "Hu": "USA794",
    "1U": "NA174",
    "6g": "USA444",
    "2w": "EU46",
    "0b": "USA204",
    "8V": "EU44",
    "Rn": "USA870",
}


@dataclass(frozen=True)
class OrgCredentials:
    """What :meth:`Instance.create_org` hands back (the password is not stored in clear)."""

    org_id: str
    name: str
    username: str
    password: str
    security_token: str
    admin_user_id: str


@dataclass(frozen=True)
class LoginResult:
    """Outcome of :meth:`Instance.authenticate`; ``error`` None means success."""

    org: Org | None
    user: dict | None
    error: str | None  # "INVALID_LOGIN" | "INACTIVE_USER"
    password_expired: bool = False


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug or "org"


class Instance:
    """Orgs, users and data of one emulator process (``data_dir`` None = temporary)."""

    def __init__(
        self, data_dir: Path | None = None, *, clock: Clock | None = None, seed: int | None = None
    ) -> None:
        self.store = Store(data_dir)
        self.data_dir = None if data_dir is None else Path(data_dir)
        self.clock = clock or Clock()
        self.rng = random.Random(seed)
        self.faults = Faults(self.store, self.clock)
        ensure_index(self.store)  # SystemModstamp windows ordered by (SystemModstamp, Id)
        self._lock = threading.RLock()
        self._orgs: dict[str, Org] = {}
        self._refresh()

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Instance:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- settings ------------------------------------------------------------------------

    @property
    def session_timeout_seconds(self) -> int:
        return int(self.store.meta_get("session_timeout_seconds") or DEFAULT_SESSION_SECONDS)

    @session_timeout_seconds.setter
    def session_timeout_seconds(self, value: int) -> None:
        self.store.meta_set("session_timeout_seconds", str(int(value)))

    # --- orgs ----------------------------------------------------------------------------

    def _refresh(self) -> None:
        """Pick up orgs another process (the CLI, a second server) committed to the data dir.

        An org is created in one transaction, so what is committed is complete. Call with
        ``self._lock`` held (or from ``__init__``).
        """
        for org_id, name, data in self.store.list_orgs():
            if org_id not in self._orgs:
                self._orgs[org_id] = Org(self, org_id, name, data)

    def orgs(self) -> list[Org]:
        with self._lock:
            self._refresh()
            return list(self._orgs.values())

    def org(self, org_id: str) -> Org:
        """The org with this 15/18-char id; KeyError when unknown (also on disk)."""
        canonical = ids.normalize(org_id)
        if canonical is None:
            raise KeyError(org_id)
        with self._lock:
            if canonical not in self._orgs:
                self._refresh()
            if canonical not in self._orgs:
                raise KeyError(org_id)
            return self._orgs[canonical]

    def org_by_name(self, name: str) -> Org:
        with self._lock:
            for attempt in range(2):
                for org in self._orgs.values():
                    if org.name.lower() == name.lower():
                        return org
                if attempt == 0:
                    self._refresh()
        raise KeyError(name)

    def create_org(
        self,
        name: str,
        *,
        edition: str = "Developer Edition",
        sandbox: bool = False,
        options: dict[str, Any] | None = None,
    ) -> OrgCredentials:
        """A new org with its Organization row, profiles, a role and an admin user; `options`
        (see `sfemu.org.DEFAULT_OPTIONS`) are set from the start.

        One write transaction: another process sharing the data dir sees the whole org or none
        of it, and two processes creating the same name cannot both succeed.
        """
        try:
            # the write lock first, then ours: nothing holds ``_lock`` while waiting to write
            with self.store.write(), self._lock:
                self._refresh()  # inside the write transaction: sees every committed org
                if any(o.name.lower() == name.lower() for o in self._orgs.values()):
                    raise ValueError(f"an org named {name!r} already exists")
                org_id = ""
                try:
                    pod = ids.random_pod(self.rng)
                    seq = self.store.allocate_sequence(pod, "00D", 1, ids.sequence_start(self.rng))
                    org_id = ids.make_id("00D", pod, seq)
                    slug = slugify(name)
                    data = {
                        "edition": edition,
                        "sandbox": sandbox,
                        "pod": pod,
                        "instance_name": ("CS" if sandbox else "") + INSTANCE_NAMES.get(pod, "USA100"),
                        "created": format_datetime(self.clock.now()),
                        "domain": f"{slug}.sfemu.org",
                        "options": _known_options(options or {}),
                        "next_custom_prefix": self.rng.randrange(0, 40),
                    }
                    self.store.insert_org(org_id, name, data)
                    org = Org(self, org_id, name, data)
                    self._orgs[org_id] = org
                    creds = _setup_org(org, slug)
                except BaseException:
                    self._orgs.pop(org_id, None)
                    raise
        except sqlite3.IntegrityError:
            raise ValueError(f"an org named {name!r} already exists") from None
        return OrgCredentials(
            org_id, name, creds.username, creds.password, creds.security_token, creds.user_id
        )

    # --- users ---------------------------------------------------------------------------

    def find_user(self, username: str) -> tuple[Org, dict] | None:
        """(org, User row) for a username (case-insensitive, unique across orgs)."""
        found = self.store.find_keys(None, "User", "Username", username.lower())
        if not found:
            return None
        rec = self.store.get_record(found[0])
        if rec is None:
            return None
        org = self.org(rec[0])
        return org, org.user(found[0])

    def authenticate(self, username: str, secret: str, *, require_token: bool | None = None) -> LoginResult:
        """Check a username + password[+security token] like the login endpoints do.

        ``error`` None means success. The bare password is accepted only when the org's
        ``require_security_token`` option is off, or with ``require_token=False`` (the
        browser login page, which never asks for the token).
        """
        hit = self.find_user(username)
        if hit is None:
            return LoginResult(None, None, "INVALID_LOGIN")
        org, user = hit
        if not org.verify_password(user["Id"], secret, require_token=require_token):
            return LoginResult(org, user, "INVALID_LOGIN")
        if not user.get("IsActive"):
            return LoginResult(org, user, "INACTIVE_USER")
        return LoginResult(org, user, None, org.password_expired(user["Id"]))

    login = authenticate


def _setup_org(org: Org, slug: str):
    admin_id = org.new_ids(org.schema.require("User"), 1)[0]
    org._data["admin_user_id"] = admin_id
    org._save()
    with org.store.write():
        profiles = {}
        for pname, modify_all, view_all in PROFILES:
            profiles[pname] = org._system_insert(
                "Profile",
                {
                    "Name": pname,
                    "PermissionsApiEnabled": True,
                    "PermissionsModifyAllData": modify_all,
                    "PermissionsViewAllData": view_all,
                    "PermissionsViewSetup": view_all,
                    "UserType": "Standard",
                },
                user_id=admin_id,
            )
        role = org._system_insert(
            "UserRole", {"Name": "CEO", "DeveloperName": "CEO", "RollupDescription": "CEO"}, user_id=admin_id
        )
        org._system_insert("Organization", _organization_row(org), record_id=org.org_id, user_id=admin_id)
        username = f"admin@{slug}.sfemu.org"
        org._system_insert(
            "User",
            {
                "Username": username,
                "LastName": "User",
                "FirstName": "Admin",
                "Email": username,
                "Alias": "admin",
                "CommunityNickname": f"admin.{slug}"[:40],
                "IsActive": True,
                "TimeZoneSidKey": "America/Los_Angeles",
                "LocaleSidKey": "en_US",
                "EmailEncodingKey": "UTF-8",
                "LanguageLocaleKey": "en_US",
                "ProfileId": profiles["System Administrator"],
                "UserRoleId": role,
                "UserType": "Standard",
                "ReceivesInfoEmails": True,
                "ReceivesAdminInfoEmails": True,
            },
            record_id=admin_id,
            user_id=admin_id,
        )
        return org._issue_credentials(admin_id, username)


def _organization_row(org: Org) -> dict:
    return {
        "Name": org.name,
        "Country": "US",
        "PrimaryContact": "Admin User",
        "DefaultLocaleSidKey": "en_US",
        "TimeZoneSidKey": "America/Los_Angeles",
        "LanguageLocaleKey": "en_US",
        "ReceivesInfoEmails": True,
        "ReceivesAdminInfoEmails": True,
        "PreferencesConsentManagementEnabled": True,
        "PreferencesLightningLoginEnabled": True,
        "FiscalYearStartMonth": 1,
        "DefaultAccountAccess": "Edit",
        "DefaultContactAccess": "ControlledByParent",
        "DefaultOpportunityAccess": "Edit",
        "DefaultLeadAccess": "ReadEditTransfer",
        "DefaultCaseAccess": "ReadEditTransfer",
        "DefaultCalendarAccess": "HideDetailsInsert",
        "DefaultPricebookAccess": "ReadSelect",
        "DefaultCampaignAccess": "All",
        "UiSkin": "Theme3",
        "SignupCountryIsoCode": "US",
        "NumKnowledgeService": 2,
        "OrganizationType": org.edition,
        "InstanceName": org.instance_name,
        "IsSandbox": org.is_sandbox,
        "WebToCaseDefaultOrigin": "Web",
        "MonthlyPageViewsUsed": 0,
        "MonthlyPageViewsEntitlement": 0,
        "IsReadOnly": False,
    }


def _known_options(options: dict[str, Any]) -> dict[str, Any]:
    unknown = set(options) - set(DEFAULT_OPTIONS)
    if unknown:
        raise ValueError(f"unknown org options: {', '.join(sorted(unknown))}")
    return dict(options)
