"""User sync (Organization Sync's *Sync Users*).

Initial copy (connection status User Sync in Progress): every user of the primary with a
standard licence (`UserType = 'Standard'`: the Salesforce and Salesforce Platform licences) is
written to the secondary as `<username>.dr` — matched by that username when it already exists,
so a rerun never duplicates — and linked in `RecordLink`. Ongoing (Active): one composite call
per org and cycle reads the users changed since the `SystemModstamp` cursor with the org's
profiles and roles; linked users' active flag, profile and role follow both ways (the primary
also sends names, email and locale settings, and its new users); profiles map by Name, roles by
DeveloperName (else Name; a role missing in the target leaves the user without one). A profile
missing in the target is a Failed sync log entry naming it; the other users go on.

Changes travel as `RecordQueueItem`s (Bulk Sync Users, User Upsert) that this module claims and
settles within the cycle, before the record apply runs. Keyed hashes on the link (never values)
tell our own echo from a real change: `*_state_hash` is a side's active flag, profile and role;
`p2s_sent_hash` the primary's other fields as last sent.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from connections.client import COLLECTION_SIZE, MAX_COMPOSITE_COLLECTIONS, CollectionWrite
from connections.client_errors import RecordResult, SalesforceApiError
from connections.models import Connection, Org
from replication.engine import queue
from replication.engine.capture import INITIAL_LOOKBACK, OVERLAP, soql_datetime
from replication.engine.context import EngineContext
from replication.engine.hashing import state_hash
from replication.engine.runs import RunCounter, recorded_run
from replication.models import ChangeCursor, Direction, QueueAction, RecordLink, RecordQueueItem
from replication.owners import soql_string
from synclog.models import SyncRun
from synclog.services import log_attempt_failed, log_resolved

logger = logging.getLogger(__name__)
USER = "User"
DR_SUFFIX = ".dr"
P2S, S2P = Direction.PRIMARY_TO_SECONDARY, Direction.SECONDARY_TO_PRIMARY
DETAIL_FIELDS = (
    "FirstName",
    "LastName",
    "Email",
    "Alias",
    "TimeZoneSidKey",
    "LocaleSidKey",
    "EmailEncodingKey",
    "LanguageLocaleKey",
)
READ_FIELDS = (
    "Id",
    "Username",
    *DETAIL_FIELDS,
    "CommunityNickname",
    "IsActive",
    "UserType",
    "ProfileId",
    "Profile.Name",
    "UserRoleId",
    "UserRole.Name",
    "UserRole.DeveloperName",
    "SystemModstamp",
)
PENDING_READ_CHUNK = 300  # ids per query: keeps the GET under the 16 KB URI limit
USERNAME_CHUNK = 100  # usernames (≤ 80 characters) per query, also under the URI limit
CLAIM_LIMIT = 10_000  # user items settled per direction and cycle
PENDING_READ_CHUNKS = 2  # with users, profiles and roles: five queries, one composite call
WRITE_FAILURE_WAIT = timedelta(seconds=30)


class UserSyncError(Exception):
    """A user could not be written; `code` is what the sync log shows."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Directory:
    """An org's profiles (by Name) and roles (by DeveloperName and by Name)."""

    profiles: dict[str, str] = field(default_factory=dict)
    roles_by_developer_name: dict[str, str] = field(default_factory=dict)
    roles_by_name: dict[str, str] = field(default_factory=dict)
    role_keys: dict[str, str] = field(default_factory=dict)  # role id → how hashes name it

    @classmethod
    def of(cls, profiles: list[dict], roles: list[dict]) -> "Directory":
        return cls(
            {p["Name"]: p["Id"] for p in profiles},
            {r["DeveloperName"]: r["Id"] for r in roles if r.get("DeveloperName")},
            {r["Name"]: r["Id"] for r in roles},
            {r["Id"]: role_key(r) for r in roles},
        )

    def role_id(self, role: dict | None) -> str | None:
        if not role:
            return None
        return self.roles_by_developer_name.get(role.get("DeveloperName") or "") or self.roles_by_name.get(
            role.get("Name") or ""
        )


@dataclass
class OrgRead:
    """What one composite call read from one org."""

    changed: list[dict]
    directory: Directory
    by_id: dict[str, dict]  # every user read, changed or pending
    asked: set[str] = field(default_factory=set)  # pending users asked for by Id


@dataclass
class UserSyncReport:
    written: int = 0
    failed: int = 0
    skipped: int = 0


def profile_name(user: dict) -> str | None:
    return (user.get("Profile") or {}).get("Name")


def role_key(role: dict | None) -> str | None:
    return (role.get("DeveloperName") or role.get("Name")) if role else None


def state_digest(is_active: bool, profile: str | None, role: str | None) -> str:
    return state_hash({"IsActive": bool(is_active), "Profile": profile, "Role": role})


def user_state_digest(user: dict) -> str:
    return state_digest(user.get("IsActive"), profile_name(user), role_key(user.get("UserRole")))


def details_digest(user: dict) -> str:
    return state_hash({"Username": user["Username"], **{f: user.get(f) for f in DETAIL_FIELDS}})


def initial_copy_done(connection: Connection) -> bool:
    return ChangeCursor.objects.filter(connection=connection, direction=P2S, source_object=USER).exists()


class UserSync:
    """User sync of one connection; given a context (clients), never a request."""

    def __init__(self, ctx: EngineContext, connection: Connection) -> None:
        self.ctx, self.connection = ctx, connection
        self.orgs = {P2S: (connection.primary_org, connection.secondary_org)}
        self.orgs[S2P] = (connection.secondary_org, connection.primary_org)
        self.reads: dict[str, OrgRead] = {}
        self.send_state: dict[str, bool] = {}  # source id → write active flag, profile, role too
        self.report = UserSyncReport()

    # --- entry points ----------------------------------------------------------------------
    def run(self) -> UserSyncReport:
        """The initial copy if it has not finished yet, else one ongoing cycle — at most every
        ORGSYNC_USER_SYNC_INTERVAL_SECONDS unless users wait in the queue, so an idle cycle
        stays at one API call per org."""
        if not initial_copy_done(self.connection):
            return self.initial_copy()
        if not self._due() and not any(self._pending_ids(d) for d in (P2S, S2P)):
            return self.report
        return self.cycle()

    def _due(self) -> bool:
        interval = settings.ORGSYNC_USER_SYNC_INTERVAL_SECONDS
        if interval <= 0:
            return True
        # cache.add is atomic and shared by every worker: the first cycle after the interval wins.
        return cache.add(f"orgsync:user-sync-due:{self.connection.pk}", True, timeout=interval)

    def initial_copy(self) -> UserSyncReport:
        """Copy every standard-licence user of the primary (Bulk Sync Users)."""
        started = timezone.now()
        primary, secondary = self.connection.primary_org, self.connection.secondary_org
        self.reads[P2S] = self._read(primary, f"SELECT {_fields()} FROM User WHERE UserType = 'Standard'", [])
        self.reads[S2P] = self._read(secondary, None, [])
        users = self.reads[P2S].changed
        links = _links(self.connection, P2S, [u["Id"] for u in users])
        changes = {u["Id"]: QueueAction.BULK_SYNC_USERS for u in users if self._wanted(P2S, u, links)}
        queue.enqueue(self.connection, P2S, USER, changes)
        with recorded_run(self.connection, SyncRun.Kind.BULK, P2S) as counter:
            counter.processed = len(users)
            counter.skipped = self.report.skipped
            self._settle(P2S, counter)
        newest = _newest(users)
        self._save_cursor(P2S, newest or started - INITIAL_LOOKBACK)
        self._save_cursor(S2P, started - INITIAL_LOOKBACK)
        return self.report

    def cycle(self) -> UserSyncReport:
        """Read what changed in both orgs, queue it (User Upsert) and write it."""
        cursors = {d: self._cursor(d) for d in (P2S, S2P)}
        pending = {d: self._pending_ids(d) for d in (P2S, S2P)}
        for direction in (P2S, S2P):
            source = self.orgs[direction][0]
            since = soql_datetime(cursors[direction].modstamp - OVERLAP)
            soql = f"SELECT {_fields()} FROM User WHERE SystemModstamp > {since} ORDER BY SystemModstamp, Id"
            self.reads[direction] = self._read(source, soql, pending[direction])
        changes = {d: self._changes(d) for d in (P2S, S2P)}
        for linked_id in self._changed_on_both_sides(changes):
            changes[S2P].pop(linked_id)  # the primary wins a change of the same user in both orgs
        for direction in (P2S, S2P):
            queue.enqueue(self.connection, direction, USER, changes[direction])
        for direction in (P2S, S2P):
            newest = _newest(self.reads[direction].changed)
            if newest and newest > cursors[direction].modstamp:
                ChangeCursor.objects.filter(pk=cursors[direction].pk).update(modstamp=newest)
            if changes[direction] or pending[direction]:
                with recorded_run(self.connection, SyncRun.Kind.APPLY, direction) as counter:
                    counter.processed = len(changes[direction])
                    self._settle(direction, counter)
        return self.report

    # --- reading ---------------------------------------------------------------------------
    def _read(self, org: Org, users_soql: str | None, pending_ids: list[str]) -> OrgRead:
        """One composite call: the users asked for, the org's profiles and roles, and users
        waiting in the queue (by Id)."""
        queries = ["SELECT Id, Name FROM Profile", "SELECT Id, Name, DeveloperName FROM UserRole"]
        if users_soql:
            queries.append(users_soql)
        for start in range(0, len(pending_ids), PENDING_READ_CHUNK):
            ids = ",".join(f"'{i}'" for i in pending_ids[start : start + PENDING_READ_CHUNK])
            queries.append(f"SELECT {_fields()} FROM User WHERE Id IN ({ids})")
        client = self.ctx.client(org)
        results = []
        for answer in client.composite_queries(queries):
            results.append(client.answer_records(answer, what="user sync"))
        profiles, roles, *users = results
        changed = users[0] if users_soql else []
        by_id = {u["Id"]: u for batch in users for u in batch}
        return OrgRead(changed, Directory.of(profiles, roles), by_id, set(pending_ids))

    def _pending_ids(self, direction: str) -> list[str]:
        """Users queued earlier and ready again (a retry, an operator's Retry)."""
        limit = PENDING_READ_CHUNK * PENDING_READ_CHUNKS
        ready = queue.ready_items(self.connection, direction, users=True)
        return list(ready.values_list("source_id", flat=True)[:limit])

    # --- what changed ----------------------------------------------------------------------
    def _changes(self, direction: str) -> dict[str, str]:
        users = self.reads[direction].changed
        links = _links(self.connection, direction, [u["Id"] for u in users])
        return {u["Id"]: QueueAction.USER_UPSERT for u in users if self._wanted(direction, u, links)}

    def _wanted(self, direction: str, user: dict, links: dict[str, RecordLink]) -> bool:
        """Whether the user must be written, and whether with its active flag, profile and role.
        Unlinked: new standard users of the primary only. Linked: what differs from the hashes."""
        link = links.get(user["Id"])
        if link is None:
            wanted = direction == P2S and user.get("UserType") == "Standard"
            self.send_state[user["Id"]] = wanted
            return wanted
        state = link.primary_state_hash if direction == P2S else link.secondary_state_hash
        self.send_state[user["Id"]] = user_state_digest(user) != state
        details_changed = direction == P2S and details_digest(user) != link.p2s_sent_hash
        if self.send_state[user["Id"]] or details_changed:
            return True
        self.report.skipped += 1
        return False

    def _changed_on_both_sides(self, changes: dict[str, dict[str, str]]) -> set[str]:
        links = _links(self.connection, S2P, list(changes[S2P]))
        return {
            secondary_id
            for secondary_id, link in links.items()
            if link.primary_id in changes[P2S] and self.send_state.get(link.primary_id)
        }

    # --- writing ---------------------------------------------------------------------------
    def _settle(self, direction: str, counter: RunCounter) -> None:
        """Claim the direction's ready user items and write them; each ends done, Failed or
        (a write call that failed as a whole) back in the queue for later."""
        items = queue.claim(
            self.connection, direction, self.ctx.worker, limit=CLAIM_LIMIT, users=True, fence=self.ctx.fence
        )
        read = self.reads[direction]
        known = [i for i in items if i.source_id in read.by_id]
        for item in items:
            if item.source_id in read.asked and item.source_id not in read.by_id:
                self._failed(direction, item, counter, "NOT_FOUND", "The user no longer exists in its org.")
        # Beyond this cycle's read: later (not ready meanwhile, so the record apply leaves it).
        later = [i for i in items if i.source_id not in read.by_id and i.source_id not in read.asked]
        queue.release(later, delay=WRITE_FAILURE_WAIT)
        links = _links(self.connection, direction, [i.source_id for i in known])
        existing = self._existing_targets(direction, known, links)
        creates, updates = [], []
        for item in known:
            user = read.by_id[item.source_id]
            try:
                record = self._payload(direction, user, links.get(item.source_id), existing)
            except UserSyncError as exc:
                self._failed(direction, item, counter, exc.code, str(exc))
                continue
            (updates if "Id" in record else creates).append((item, user, record))
        self._write(direction, creates, "POST", counter)
        self._write(direction, updates, "PATCH", counter)

    def _existing_targets(
        self, direction: str, items: list[RecordQueueItem], links: dict[str, RecordLink]
    ) -> dict[str, str]:
        """Secondary users already named `<username>.dr` for unlinked primary users (one query,
        only when there are such users): they are linked, not created again."""
        if direction != P2S:
            return {}
        read = self.reads[direction]
        wanted = [read.by_id[i.source_id]["Username"] + DR_SUFFIX for i in items if i.source_id not in links]
        client = self.ctx.client(self.connection.secondary_org)
        found: dict[str, str] = {}
        for start in range(0, len(wanted), USERNAME_CHUNK):
            names = ",".join(soql_string(n) for n in wanted[start : start + USERNAME_CHUNK])
            for user in client.query_records(f"SELECT Id, Username FROM User WHERE Username IN ({names})"):
                found[user["Username"].lower()] = user["Id"]
        return found

    def _payload(self, direction: str, user: dict, link: RecordLink | None, existing: dict[str, str]) -> dict:
        source, target = self.orgs[direction]
        directory = self.reads[S2P if direction == P2S else P2S].directory
        record: dict = {"attributes": {"type": USER}}
        send_state = self.send_state.get(user["Id"], True) or link is None
        if send_state:
            profile = profile_name(user)
            if profile not in directory.profiles:
                raise UserSyncError(
                    "PROFILE_NOT_FOUND",
                    f"Profile “{profile}” does not exist in {target}, so this user was not synced. "
                    f"Create a profile named “{profile}” in {target}, then edit and save the user "
                    f"in {source} (or retry this entry) to send it again.",
                )
            record.update(
                IsActive=bool(user.get("IsActive")),
                ProfileId=directory.profiles[profile],
                UserRoleId=directory.role_id(user.get("UserRole")),
            )
        target_id = (link.secondary_id if direction == P2S else link.primary_id) if link else None
        if direction == S2P and target_id is None:
            raise UserSyncError(
                "USER_NOT_LINKED",
                f"This user of {source} is not linked to a user of {target}: only users copied from "
                "the primary org (or linked to one) are synced back.",
            )
        if direction == P2S:
            record.update(Username=user["Username"] + DR_SUFFIX, **{f: user.get(f) for f in DETAIL_FIELDS})
            target_id = target_id or existing.get(record["Username"].lower())
            if target_id is None:
                record["CommunityNickname"] = user.get("CommunityNickname")
        if target_id:
            record["Id"] = target_id
        return record

    def _write(self, direction: str, entries: list[tuple], method: str, counter: RunCounter) -> None:
        client = self.ctx.client(self.orgs[direction][1])
        chunks = [entries[s : s + COLLECTION_SIZE] for s in range(0, len(entries), COLLECTION_SIZE)]
        for start in range(0, len(chunks), MAX_COMPOSITE_COLLECTIONS):
            group = chunks[start : start + MAX_COMPOSITE_COLLECTIONS]
            writes = [CollectionWrite(method, "composite/sobjects", [e[2] for e in chunk]) for chunk in group]
            self.ctx.fence()
            try:
                answers = client.composite_collections(writes)
            except SalesforceApiError:
                queue.release([e[0] for chunk in group for e in chunk], delay=WRITE_FAILURE_WAIT)
                raise
            done = [
                item.source_id
                for chunk, results in zip(group, answers, strict=True)
                for (item, user, record), result in zip(chunk, results, strict=True)
                if self._outcome(direction, item, user, record, result, counter)
            ]
            log_resolved(connection=self.connection, direction=direction, source_ids=done)

    def _outcome(
        self, direction: str, item: RecordQueueItem, user: dict, record: dict, result: RecordResult, counter
    ) -> bool:
        """Link and finish a written user, or log its failure; True when written."""
        if not result.success:
            error = result.errors[0] if result.errors else None
            code = error.status_code if error else "UNKNOWN_ERROR"
            message = error.message if error else "the org gave no reason"
            fields = error.fields if error else ()
            self._failed(
                direction, item, counter, code, message, fields, retryable=bool(error and error.retryable)
            )
            return False
        self._link(direction, user, record, result.id or record.get("Id"))
        queue.complete(item)
        counter.succeeded += 1
        self.report.written += 1
        return True

    def _link(self, direction: str, user: dict, record: dict, target_id: str) -> None:
        primary_id, secondary_id = (user["Id"], target_id) if direction == P2S else (target_id, user["Id"])
        values: dict[str, object] = {
            "secondary_id": secondary_id,
            "primary_object": USER,
            "secondary_object": USER,
        }
        if "ProfileId" in record:  # both sides now hold this active flag, profile and role
            target_directory = self.reads[S2P if direction == P2S else P2S].directory
            role = target_directory.role_keys.get(record["UserRoleId"] or "")
            digest = state_digest(user.get("IsActive"), profile_name(user), role)
            values["secondary_state_hash"] = digest if direction == P2S else user_state_digest(user)
            values["primary_state_hash"] = user_state_digest(user) if direction == P2S else digest
        if direction == P2S:
            values["p2s_sent_hash"] = details_digest(user)
        RecordLink.objects.update_or_create(
            connection=self.connection, primary_id=primary_id, defaults=values
        )

    def _failed(
        self,
        direction: str,
        item: RecordQueueItem,
        counter: RunCounter,
        code: str,
        message: str,
        fields: tuple[str, ...] = (),
        *,
        retryable: bool = False,
    ) -> None:
        """A retryable error goes round again while attempts remain; anything else is Failed."""
        final = not retryable or item.attempts + 1 >= self.connection.max_retry_attempts
        log_attempt_failed(
            connection=self.connection,
            direction=direction,
            source_object=USER,
            source_id=item.source_id,
            action=item.action,
            code=code,
            message=message,
            fields=fields,
            attempt=item.attempts + 1,
            final=final,
            run=counter.run,
        )
        if final:
            queue.drop(item)
            counter.failed += 1
            self.report.failed += 1
        else:
            queue.schedule_retry(item, code=code, message=message)

    # --- cursors ---------------------------------------------------------------------------
    def _cursor(self, direction: str) -> ChangeCursor:
        cursor, _ = ChangeCursor.objects.get_or_create(
            connection=self.connection,
            direction=direction,
            source_object=USER,
            defaults={"modstamp": timezone.now() - INITIAL_LOOKBACK},
        )
        return cursor

    def _save_cursor(self, direction: str, modstamp: datetime) -> None:
        ChangeCursor.objects.update_or_create(
            connection=self.connection,
            direction=direction,
            source_object=USER,
            defaults={"modstamp": modstamp},
        )


def _fields() -> str:
    return ", ".join(READ_FIELDS)


def _links(connection: Connection, direction: str, source_ids: list[str]) -> dict[str, RecordLink]:
    key = "primary_id" if direction == P2S else "secondary_id"
    found: dict[str, RecordLink] = {}
    for start in range(0, len(source_ids), 500):
        chunk = source_ids[start : start + 500]
        for link in RecordLink.objects.filter(
            connection=connection, primary_object=USER, **{f"{key}__in": chunk}
        ):
            found[getattr(link, key)] = link
    return found


def _newest(users: list[dict]) -> datetime | None:
    stamps = [parse_datetime(u["SystemModstamp"].replace("+0000", "+00:00")) for u in users]
    return max(stamps) if stamps else None


def sync_users(ctx: EngineContext, connection: Connection) -> UserSyncReport:
    """The user part of a cycle: for a connection in User Sync in Progress, the initial copy and
    then Active (per-user failures are in the sync log; a failed read or write call leaves it in
    User Sync for the next cycle); for an Active one with Sync Users on, the initial copy if it
    never finished (the option was turned on later), else the ongoing sync."""
    from connections import services as connection_services

    report = UserSyncReport()
    if connection.sync_users and connection.status == Connection.Status.USER_SYNC:
        report = UserSync(ctx, connection).initial_copy()
    elif connection.sync_users and connection.status == Connection.Status.ACTIVE:
        report = UserSync(ctx, connection).run()
    if connection.status == Connection.Status.USER_SYNC:
        connection_services.connection_advance_setup(connection=connection)
        connection.refresh_from_db()
        logger.info("user sync of connection %s finished: now %s", connection.pk, connection.status)
    return report
