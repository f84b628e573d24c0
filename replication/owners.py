"""Who owns a replicated record in the target org: the owner strategies of a publication.

User Ids differ between orgs, so a record's OwnerId can't simply be copied. :class:`OwnerResolver`
turns source-org owner Ids into target-org User Ids by the publication's strategy:

- **Match by username** (Organization Sync): the user replicated into the secondary org has the
  primary username plus ``.dr``; primary → secondary looks for ``username.dr``, secondary →
  primary strips ``.dr``; the exact same username is the second choice. With no active match the
  record goes to the connection owner, as Org Sync does.
- **Fixed**: the one chosen target user.
- **Round robin** over the chosen target users, by a stable hash of the source record Id (see
  :meth:`OwnerResolver.target_owner`).
- **Pass through**: the same Id, when that user exists and is active in the target org.

The connection owner is a user of the primary org. When the target is the secondary org, the
fallback is the secondary user matching the connection owner by the ``.dr`` rule, and failing
that the secondary org's connected (integration) user; when the target is the primary org, it is
the connection owner, and failing that the primary org's connected user.

Users are read live with batched SOQL — at most one query per org for a whole batch of records
(per :data:`LOOKUP_CHUNK` names) — and cached for the resolver's lifetime; give each run its own
resolver so deactivations are noticed. Inactive users are never chosen. Every fallback adds a line
to :attr:`OwnerResolver.warnings` for the caller to log: it names users by Id only, never by
username or name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from connections.client import SalesforceClient
from replication.errors import ProblemsError
from replication.filters import id18
from replication.models import Direction, OwnerStrategy, PublishedObject

DR_SUFFIX = ".dr"
LOOKUP_CHUNK = 300  # Ids + usernames per SOQL query: ~300 x 80 chars stays far below SOQL's length limit
USER_FIELDS = "Id, Username, Name, IsActive"
CHOICES_LIMIT = 2000


class OwnerStrategyError(ProblemsError):
    """An owner strategy that can't be saved; ``messages`` has one line per problem, with the fix."""


@dataclass(frozen=True)
class OrgUser:
    id: str
    username: str
    name: str
    is_active: bool

    @classmethod
    def from_record(cls, record: Mapping) -> OrgUser:
        return cls(
            id=record["Id"],
            username=record.get("Username") or "",
            name=record.get("Name") or "",
            is_active=bool(record.get("IsActive")),
        )

    def __str__(self) -> str:
        return f"{self.name} ({self.username})" if self.name else self.username or self.id


def target_usernames(username: str, direction: str) -> list[str]:
    """Candidate target usernames for a source username, best first (Org Sync's ``.dr`` rule)."""
    if direction == Direction.PRIMARY_TO_SECONDARY:
        return [username + DR_SUFFIX, username]
    if username.lower().endswith(DR_SUFFIX):
        return [username[: -len(DR_SUFFIX)], username]
    return [username]


def soql_string(value: str) -> str:
    """A SOQL string literal (quoted, backslash-escaped)."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


class UserDirectory:
    """Users of one org read by Id and by username in batched queries, cached (misses too)."""

    def __init__(self, client: SalesforceClient) -> None:
        self.client = client
        self._by_id: dict[str, OrgUser] = {}
        self._by_username: dict[str, OrgUser] = {}
        self._asked_ids: set[str] = set()
        self._asked_usernames: set[str] = set()

    def load(self, *, ids: Iterable[str] = (), usernames: Iterable[str] = ()) -> None:
        """Read the users not asked for yet, in one query per :data:`LOOKUP_CHUNK` names."""
        new_ids = sorted({i for i in map(normalize_id, ids) if i and i not in self._asked_ids})
        new_names = {u.lower(): u for u in usernames if u and u.lower() not in self._asked_usernames}
        self._asked_ids.update(new_ids)
        self._asked_usernames.update(new_names)
        wanted = [("Id", i) for i in new_ids] + [("Username", u) for u in sorted(new_names.values())]
        for start in range(0, len(wanted), LOOKUP_CHUNK):
            self._query(wanted[start : start + LOOKUP_CHUNK])

    def _query(self, wanted: Sequence[tuple[str, str]]) -> None:
        clauses = []
        for field in ("Id", "Username"):
            values = [soql_string(v) for f, v in wanted if f == field]
            if values:
                clauses.append(f"{field} IN ({', '.join(values)})")
        soql = f"SELECT {USER_FIELDS} FROM User WHERE {' OR '.join(clauses)}"
        for record in self.client.query_records(soql):
            user = OrgUser.from_record(record)
            self._by_id[user.id] = user
            self._by_username[user.username.lower()] = user

    def by_id(self, user_id: str) -> OrgUser | None:
        key = normalize_id(user_id)
        if key and key not in self._asked_ids:
            self.load(ids=[key])
        return self._by_id.get(key or "")

    def by_username(self, username: str) -> OrgUser | None:
        if username and username.lower() not in self._asked_usernames:
            self.load(usernames=[username])
        return self._by_username.get(username.lower())

    def active(self, user_id: str) -> OrgUser | None:
        user = self.by_id(user_id)
        return user if user and user.is_active else None


def active_users(client: SalesforceClient, *, limit: int = CHOICES_LIMIT) -> list[OrgUser]:
    """Active standard users of an org, by name (the users records can be assigned to)."""
    soql = (
        f"SELECT {USER_FIELDS} FROM User WHERE IsActive = true AND UserType = 'Standard' "
        f"ORDER BY Name LIMIT {int(limit)}"
    )
    return [OrgUser.from_record(r) for r in client.query_records(soql)]


def normalize_id(value: str) -> str | None:
    """The 18-character form of a record Id, None if it isn't one."""
    return id18(value.strip()) if isinstance(value, str) else None


class OwnerResolver:
    """Target-org owner Ids for source-org owner Ids, by one publication's owner strategy.

    Not thread-safe (its clients aren't either); one per run and direction.
    """

    def __init__(
        self,
        *,
        strategy: str,
        user_ids: Sequence[str],
        direction: str,
        connection_owner_id: str,
        source: SalesforceClient,
        target: SalesforceClient,
    ) -> None:
        self.strategy = OwnerStrategy(strategy)
        self.user_ids = sorted({i for i in map(normalize_id, user_ids) if i})
        self.direction = Direction(direction)
        self.connection_owner_id = normalize_id(connection_owner_id or "") or ""
        self.source_users = UserDirectory(source)
        self.target_users = UserDirectory(target)
        self.warnings: list[str] = []
        self._fallback: str | None = None

    @classmethod
    def for_publication(
        cls, publication: PublishedObject, *, source: SalesforceClient, target: SalesforceClient
    ) -> OwnerResolver:
        return cls(
            strategy=publication.owner_strategy,
            user_ids=publication.owner_user_ids or [],
            direction=publication.direction,
            connection_owner_id=publication.connection.owner_user_id,
            source=source,
            target=target,
        )

    @property
    def target_is_primary(self) -> bool:
        return self.direction == Direction.SECONDARY_TO_PRIMARY

    # --- the answers ------------------------------------------------------------------------
    def resolve_many(self, source_owner_ids: Iterable[str]) -> dict[str, str]:
        """Target owner per source owner Id, with one query per org for the whole batch.

        Round robin spreads by source *record*, not owner: use :meth:`resolve_records` for it
        (here it spreads by the source owner Id instead).
        """
        owners = list(dict.fromkeys(source_owner_ids))
        self.prefetch(owners)
        return {owner: self.target_owner(owner) for owner in owners}

    def resolve_records(self, records: Iterable[Mapping]) -> dict[str, str]:
        """Target owner per source record Id, for records carrying ``Id`` and ``OwnerId``."""
        records = list(records)
        owners = {r.get("OwnerId") or "" for r in records}
        self.prefetch(owners)
        if self.strategy == OwnerStrategy.ROUND_ROBIN:  # decided per record
            return {r["Id"]: self.target_owner(r.get("OwnerId") or "", record_id=r["Id"]) for r in records}
        by_owner = {owner: self.target_owner(owner) for owner in owners}  # records share few owners
        return {r["Id"]: by_owner[r.get("OwnerId") or ""] for r in records}

    def target_owner(self, source_owner_id: str, *, record_id: str | None = None) -> str:
        """The target-org User Id owning a record whose source owner is ``source_owner_id``.

        Round robin picks ``sha256(record Id) mod n`` over the chosen active users, sorted by Id.
        A hash rather than a persisted counter: a retried or replayed record lands on the same
        owner, workers need no shared counter row to contend on, and nothing is written; the
        cost is an even spread only on average (not a strict 1, 2, 3 cycle), and a change of
        the user list re-deals records created afterwards.
        """
        self.prefetch([source_owner_id])
        if self.strategy == OwnerStrategy.MATCH_USERNAME:
            return self._matched(source_owner_id)
        if self.strategy == OwnerStrategy.PASS_THROUGH:
            return self._passed_through(source_owner_id)
        if self.strategy == OwnerStrategy.FIXED:
            return self._fixed()
        return self._round_robin(record_id or source_owner_id)

    def prefetch(self, source_owner_ids: Iterable[str]) -> None:
        """Read every user a batch may need: one query in the source org, then one in the target."""
        owners = [o for o in source_owner_ids if o]
        source_ids = list(owners) if self.strategy == OwnerStrategy.MATCH_USERNAME else []
        if not self.target_is_primary and self.connection_owner_id:
            source_ids.append(self.connection_owner_id)
        self.source_users.load(ids=source_ids)
        usernames = [
            name
            for owner in source_ids
            if (user := self.source_users.by_id(owner))
            for name in target_usernames(user.username, self.direction)
        ]
        target_ids = [*self.user_ids, self.target_users.client.org.user_id]
        if self.strategy == OwnerStrategy.PASS_THROUGH:
            target_ids += owners
        if self.target_is_primary and self.connection_owner_id:
            target_ids.append(self.connection_owner_id)
        self.target_users.load(ids=target_ids, usernames=usernames)

    # --- strategies -------------------------------------------------------------------------
    def _matched(self, source_owner_id: str) -> str:
        source_user = self.source_users.by_id(source_owner_id)
        if source_user is None:
            return self._fall_back(f"the source owner {source_owner_id} was not found in the source org")
        match = self._match_username(source_user.username)
        if match:
            return match.id
        # Ids only: these lines are logged (no usernames or names in logs).
        return self._fall_back(
            f"the source owner {source_user.id} has no active user with its username (or its "
            f"{DR_SUFFIX} form) in the target org"
        )

    def matching_users(self, source_user_ids: Iterable[str]) -> dict[str, str]:
        """Source user Id → the active target user with its username (the ``.dr`` rule), for
        the users that have one (audit fields: CreatedById, LastModifiedById). One query per org."""
        ids = [i for i in source_user_ids if i]
        self.source_users.load(ids=ids)
        users = {i: u for i in ids if (u := self.source_users.by_id(i))}
        self.target_users.load(
            usernames=[n for u in users.values() for n in target_usernames(u.username, self.direction)]
        )
        return {i: match.id for i, u in users.items() if (match := self._match_username(u.username))}

    def _match_username(self, username: str) -> OrgUser | None:
        for candidate in target_usernames(username, self.direction):
            user = self.target_users.by_username(candidate)
            if user and user.is_active:
                return user
        return None

    def _passed_through(self, source_owner_id: str) -> str:
        if self.target_users.active(source_owner_id):
            return normalize_id(source_owner_id) or source_owner_id
        state = "is inactive" if self.target_users.by_id(source_owner_id) else "does not exist"
        return self._fall_back(f"pass through: the owner {source_owner_id} {state} in the target org")

    def _fixed(self) -> str:
        chosen = self.user_ids[0] if self.user_ids else ""
        if chosen and self.target_users.active(chosen):
            return chosen
        return self._fall_back(f"fixed owner {chosen or '(none chosen)'} is not an active target user")

    def _round_robin(self, key: str) -> str:
        pool = [i for i in self.user_ids if self.target_users.active(i)]
        if not pool:
            return self._fall_back("round robin: none of the chosen users is active in the target org")
        normalized = normalize_id(key) or key
        digest = hashlib.sha256(normalized.encode()).digest()
        return pool[int.from_bytes(digest[:8], "big") % len(pool)]

    # --- the connection owner ---------------------------------------------------------------
    def _fall_back(self, why: str) -> str:
        owner = self.connection_owner_target()
        self._warn(f"{why}: the record goes to the connection owner's user {owner}.")
        return owner

    def connection_owner_target(self) -> str:
        """The target-org user standing in for the connection owner (cached)."""
        if self._fallback is None:
            self._fallback = self._find_connection_owner()
        return self._fallback

    def _find_connection_owner(self) -> str:
        connected = self.target_users.client.org.user_id
        owner_id = self.connection_owner_id
        if self.target_is_primary:
            found = self.target_users.active(owner_id) if owner_id else None
        else:
            source_owner = self.source_users.by_id(owner_id) if owner_id else None
            found = self._match_username(source_owner.username) if source_owner else None
        if found:
            return found.id
        self._warn(
            "the connection owner has no active user in the target org: "
            f"records fall back to its connected user {connected}."
        )
        return connected

    def _warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)
