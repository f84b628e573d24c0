"""Model-based test of the two-way engine (Hypothesis stateful testing) over two sfemu orgs.

Random sequences of what users, operators and the infrastructure do to a two-way connection
(Account and Contact published both ways, Sync Feeds on): create, update, delete, undelete and
reparent in either org; post (text and link posts), comment on a post, attach a file (a new file,
a file post, a new version of a file, a legacy attachment) in either org; suspend and resume;
time passing; sync cycles, also two at once (a "Sync now" during a cycle, or a second cluster
taking over a stalled cycle's expired lease); crashes at random points of capture and apply (an
exception the engine does not catch, as a killed worker stops). Then the connection settles and
the two orgs must agree (`oracle.compare_orgs`): every record has exactly one copy, with the same
values and lookups pointing at each other's copies; nothing is stuck in the queue; whatever could
not sync has a Failed log entry saying why. And under every pair the two orgs hold the same feed
and files (`feeds_of`): posts (type, body, link, created date) each with the same comments (body,
created date), the same files (title, checksum, size of the latest version) and attachments (name,
body length).

`make test` runs a bounded search (ORGSYNC_MODEL_EXAMPLES, default 12 sequences of up to 18 steps,
about two minutes). A long search: ORGSYNC_MODEL_EXAMPLES=500 ORGSYNC_MODEL_STEPS=40. The seed is
printed; ORGSYNC_MODEL_SEED=<seed> replays a run, and a failure prints the shrunk steps. It also
prints how many feed and file steps did something and what the final feed check compared.
Half the sequences start with an Account holding a post, a comment, a file post and an attachment
in each org (ORGSYNC_MODEL_FEED_START=1 or 0: all or none), and crashes and takeovers also strike
right after a feed child's write, before its link (`feeds.written`).
"""

import base64
import contextlib
import io
import os
import random
from collections import defaultdict
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from hypothesis import HealthCheck, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from connections import services as connection_services
from connections.models import Connection
from replication import services
from replication.engine.context import EngineContext
from replication.engine.cycle import sync_once
from replication.models import (
    EXTERNAL_ID_FIELD,
    Direction,
    EngineSchedule,
    QueueStatus,
    ReconcileRun,
    RecordQueueItem,
)
from replication.reconcile.runner import ReconcileRunner
from replication.services.reconcile import reconcile_start
from synclog.models import SyncLog
from tests.replication.conftest import linked_orgs
from tests.replication.oracle import compare_orgs, key

P2S, S2P = Direction.PRIMARY_TO_SECONDARY, Direction.SECONDARY_TO_PRIMARY
COMPARED = {"Account": ["Name", "Phone"], "Contact": ["LastName", "Title", "AccountId"]}
UNIQUE = {"Account": ["Name"], "Contact": ["LastName"]}
POINTS = [
    "capture.read",
    "capture.queued",
    "apply.planned",
    "apply.before_write",
    "apply.written",
    "apply.recorded",
    "feeds.written",  # a post, comment, share, file or attachment written, not yet linked
]
# ORGSYNC_MODEL_FEED_START=1 (or 0) starts every sequence with (or without) a feed in each org.
FEED_START = {"1": st.just(True), "0": st.just(False)}.get(
    os.environ.get("ORGSYNC_MODEL_FEED_START", ""), st.booleans()
)
SIDES = ["primary", "secondary"]
SETTLE_CYCLES = 12
MADE = defaultdict(int)  # feed and file steps that did something, over the run (printed at the end)
JUDGED = defaultdict(int)  # what the feed check compared, over the run (printed at the end)
FEED_CHILDREN = ["FeedItem", "FeedComment", "ContentDocument", "ContentDocumentLink", "Attachment"]


class InjectedCrash(BaseException):
    """Stops a cycle the way SIGKILL does: nothing in the engine handles it."""


def expire_lease() -> None:
    """What the passing of ORGSYNC_LEASE_SECONDS does for a stalled or killed cycle's lease."""
    EngineSchedule.objects.update(lease_until=timezone.now() - timedelta(seconds=1))


def feeds_of(handle, parents: list[str]) -> dict[str, dict[str, list[tuple]]]:
    """What each of `parents` holds under it in one org, without Ids (so an origin and its copy
    compare equal): posts each with its comments, files' latest versions, attachments."""

    def query(soql: str) -> list[dict]:
        return handle.org.query(soql, api_version="62.0").records

    held: dict[str, dict[str, list[tuple]]] = defaultdict(lambda: defaultdict(list))
    ids = ",".join(f"'{p}'" for p in parents) or "''"
    comments = defaultdict(list)
    for c in query(f"SELECT FeedItemId, CommentBody, CreatedDate FROM FeedComment WHERE ParentId IN ({ids})"):
        comments[key(c["FeedItemId"])].append((c["CommentBody"], c["CreatedDate"]))
    for p in query(
        f"SELECT Id, ParentId, Type, Body, LinkUrl, CreatedDate FROM FeedItem WHERE ParentId IN ({ids})"
    ):
        held[key(p["ParentId"])]["posts"].append(
            (p["Type"], p["Body"], p["LinkUrl"], p["CreatedDate"], sorted(comments[key(p["Id"])]))
        )
    shares = query(
        f"SELECT ContentDocumentId, LinkedEntityId FROM ContentDocumentLink WHERE LinkedEntityId IN ({ids})"
    )
    docs = ",".join(f"'{s['ContentDocumentId']}'" for s in shares) or "''"
    latest = {
        key(v["ContentDocumentId"]): (v["Title"], v["Checksum"], v["ContentSize"])
        for v in query(
            "SELECT ContentDocumentId, Title, Checksum, ContentSize FROM ContentVersion "
            f"WHERE IsLatest = true AND ContentDocumentId IN ({docs})"
        )
    }
    for share in shares:
        held[key(share["LinkedEntityId"])]["files"].append(latest[key(share["ContentDocumentId"])])
    for a in query(f"SELECT ParentId, Name, BodyLength FROM Attachment WHERE ParentId IN ({ids})"):
        held[key(a["ParentId"])]["attachments"].append((a["Name"], a["BodyLength"]))
    return {parent: {kind: sorted(rows) for kind, rows in kinds.items()} for parent, kinds in held.items()}


class TwoWayModel(RuleBasedStateMachine):
    sfemu_server = None  # set by the test

    def __init__(self) -> None:
        super().__init__()
        self.linked = linked_orgs(self.sfemu_server, two_way=True)
        Connection.objects.filter(pk=self.linked.connection.pk).update(sync_feeds_and_audit_fields=True)
        self.linked.connection.refresh_from_db()
        for handle in (self.linked.primary, self.linked.secondary):
            handle.org.set_option("audit_fields_on_create", True)  # created dates travel
        for sobject in ("Account", "Contact"):  # parents first
            for direction in (P2S, S2P):
                publication = services.publication_publish(
                    connection=self.linked.connection, direction=direction, source_object=sobject, actor=None
                )
                services.subscription_subscribe(publication=publication, actor=None)
        self.counter = 0
        self.suspended = False
        self.crashed = False  # the last cycle died: its claims wait for the next lease holder
        self.deleted: dict[str, list[str]] = {"primary": [], "secondary": []}

    @initialize(feed_start=FEED_START)
    def start(self, feed_start: bool) -> None:
        """Half the sequences (or as ORGSYNC_MODEL_FEED_START says) start with an Account holding
        a post, a comment, a file post and an attachment in each org, so the crash and takeover
        steps meet the feed step's writes from the first cycle."""
        for side in SIDES if feed_start else ():
            self.create_account(side, 0)
            self.post(side, "Account", 0, link=False)
            self.comment(side, 0)
            self.attach_file(side, "Account", 0, "file post", 100)
            self.attach_file(side, "Account", 0, "attachment", 100)

    # --- helpers -------------------------------------------------------------------------------
    def handle(self, side: str):
        return getattr(self.linked, side)

    def token(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.counter}"

    def alive(self, side: str, sobject: str) -> list[str]:
        rows = self.handle(side).org.query(f"SELECT Id FROM {sobject}", api_version="62.0").records
        return sorted(r["Id"] for r in rows)

    def pick(self, side: str, sobject: str, index: int) -> str | None:
        ids = self.alive(side, sobject)
        return ids[index % len(ids)] if ids else None

    @property
    def connection(self) -> Connection:
        return Connection.objects.get(pk=self.linked.connection.pk)

    def cycle(self, ctx: EngineContext | None = None):
        report = sync_once(self.linked.connection, ctx=ctx)
        self.crashed = self.crashed and report.coalesced
        return report

    # --- what users do in either org -----------------------------------------------------------
    @rule(side=st.sampled_from(SIDES), phone=st.integers(0, 99))
    def create_account(self, side, phone):
        handle = self.handle(side)
        handle.org.create("Account", {"Name": self.token("A"), "Phone": str(phone)}, user_id=handle.user_id)

    @rule(side=st.sampled_from(SIDES), parent=st.integers(0, 50), title=st.sampled_from(["", "CEO", "CTO"]))
    def create_contact(self, side, parent, title):
        handle = self.handle(side)
        values = {"LastName": self.token("C"), "Title": title or None}
        account = self.pick(side, "Account", parent)
        if account:
            values["AccountId"] = account
        handle.org.create("Contact", values, user_id=handle.user_id)

    @rule(side=st.sampled_from(SIDES), index=st.integers(0, 50), phone=st.integers(100, 199))
    def update_account(self, side, index, phone):
        record = self.pick(side, "Account", index)
        if record:
            handle = self.handle(side)
            handle.org.update("Account", record, {"Phone": str(phone)}, user_id=handle.user_id)

    @rule(side=st.sampled_from(SIDES), index=st.integers(0, 50), title=st.sampled_from(["VP", "CFO", ""]))
    def update_contact(self, side, index, title):
        record = self.pick(side, "Contact", index)
        if record:
            handle = self.handle(side)
            handle.org.update("Contact", record, {"Title": title or None}, user_id=handle.user_id)

    @rule(side=st.sampled_from(SIDES), index=st.integers(0, 50), parent=st.integers(0, 50))
    def reparent_contact(self, side, index, parent):
        record, account = self.pick(side, "Contact", index), self.pick(side, "Account", parent)
        if record and account:
            handle = self.handle(side)
            handle.org.update("Contact", record, {"AccountId": account}, user_id=handle.user_id)

    @rule(
        side=st.sampled_from(SIDES), sobject=st.sampled_from(["Account", "Contact"]), index=st.integers(0, 50)
    )
    def delete(self, side, sobject, index):
        record = self.pick(side, sobject, index)
        if record:
            handle = self.handle(side)
            handle.org.delete(record, user_id=handle.user_id)
            self.deleted[side].append(record)

    @rule(side=st.sampled_from(SIDES), index=st.integers(0, 50))
    def undelete(self, side, index):
        if self.deleted[side]:
            record = self.deleted[side].pop(index % len(self.deleted[side]))
            handle = self.handle(side)
            # It may be back already (undeleted with its parent) or purged: then nothing happens.
            with contextlib.suppress(Exception):
                handle.org.undelete(record, user_id=handle.user_id)

    # --- posts, comments and files in either org ----------------------------------------------
    @rule(
        side=st.sampled_from(SIDES),
        sobject=st.sampled_from(["Account", "Contact"]),
        index=st.integers(0, 50),
        link=st.booleans(),
    )
    def post(self, side, sobject, index, link):
        parent = self.pick(side, sobject, index)
        if parent:
            handle, text = self.handle(side), self.token("post")
            values = {"LinkUrl": f"https://example.com/{text}"} if link else {"Body": text}
            handle.org.create("FeedItem", {"ParentId": parent, **values}, user_id=handle.user_id)
            MADE["post"] += 1

    @rule(side=st.sampled_from(SIDES), index=st.integers(0, 50))
    def comment(self, side, index):
        post = self.pick(side, "FeedItem", index)
        if post:
            handle = self.handle(side)
            values = {"FeedItemId": post, "CommentBody": self.token("comment")}
            handle.org.create("FeedComment", values, user_id=handle.user_id)
            MADE["comment"] += 1

    @rule(
        side=st.sampled_from(SIDES),
        sobject=st.sampled_from(["Account", "Contact"]),
        index=st.integers(0, 50),
        kind=st.sampled_from(["file", "file post", "new version", "attachment"]),
        size=st.integers(1, 4096),
    )
    def attach_file(self, side, sobject, index, kind, size):
        parent = self.pick(side, sobject, index)
        if not parent:
            return
        handle, name = self.handle(side), self.token("file")
        body = (name.encode() * (size // len(name) + 1))[:size]  # each file's own bytes
        if kind == "attachment":
            values = {"ParentId": parent, "Name": f"{name}.txt", "Body": base64.b64encode(body).decode()}
            handle.org.create("Attachment", values, user_id=handle.user_id)
            MADE[kind] += 1
            return
        values = {"PathOnClient": f"{name}.txt", "FirstPublishLocationId": parent}
        if kind == "new version":
            shares = handle.org.query(
                f"SELECT ContentDocumentId FROM ContentDocumentLink WHERE LinkedEntityId = '{parent}'",
                api_version="62.0",
            ).records
            if not shares:
                return
            values = {"PathOnClient": f"{name}.txt", "ContentDocumentId": shares[0]["ContentDocumentId"]}
        version = handle.org.create(
            "ContentVersion", values, user_id=handle.user_id, files={"VersionData": io.BytesIO(body)}
        )
        if kind == "file post":
            values = {"ParentId": parent, "Body": name, "RelatedRecordId": version}
            handle.org.create("FeedItem", values, user_id=handle.user_id)
        MADE[kind] += 1

    # --- what operators do ---------------------------------------------------------------------
    @precondition(lambda self: not self.suspended)
    @rule()
    def suspend(self):
        connection_services.connection_suspend(connection=self.connection, actor=None)
        self.suspended = True

    @precondition(lambda self: self.suspended)
    @rule()
    def resume(self):
        connection_services.connection_resume(connection=self.connection, actor=None)
        self.suspended = False
        # Not `crashed = False`: resuming takes no lease, so a dead cycle's claims still wait for
        # the next lease holder (a cycle, suspended or not, puts them back).

    @rule()
    def time_passes(self):
        """The orgs' clock moves past the engine's 5 s late-commit overlaps (as between polls)."""
        self.sfemu_server.clock.advance(seconds=6)

    # --- cycles, concurrent cycles and crashes -------------------------------------------------
    @rule()
    def sync_cycle(self):
        assert not self.cycle().coalesced

    @rule(point=st.sampled_from(POINTS))
    def sync_now_during_a_cycle(self, point):
        """A "Sync now" (or the other cluster's tick) while a cycle runs: coalesced, never beside it."""
        seen = []

        def hook(reached: str) -> None:
            if reached == point and not seen:
                seen.append(self.cycle())

        self.cycle(EngineContext(worker="first", on_checkpoint=hook))
        assert all(report.coalesced for report in seen)

    @rule(point=st.sampled_from(POINTS))
    def cycle_taken_over(self, point):
        """A cycle stalls at `point` past its lease; another cluster takes the connection and runs
        a whole cycle; the stalled one must stop before its next write."""
        taken = []

        def hook(reached: str) -> None:
            if reached == point and not taken:
                expire_lease()
                taken.append(self.cycle(EngineContext(worker="second")))

        self.cycle(EngineContext(worker="stalled", on_checkpoint=hook))

    @rule(point=st.sampled_from(POINTS))
    def crash(self, point):
        def hook(reached: str) -> None:
            if reached == point:
                raise InjectedCrash(point)

        try:
            self.cycle(EngineContext(worker="doomed", on_checkpoint=hook))
        except InjectedCrash:
            self.crashed = True
            expire_lease()

    @invariant()
    def nothing_claimed_outside_a_cycle(self):
        """Between steps no cycle runs: items stay claimed only after a crash, until the next
        cycle takes the lapsed lease and puts them back."""
        claimed = RecordQueueItem.objects.filter(
            connection=self.linked.connection, status=QueueStatus.IN_PROGRESS
        )
        assert self.crashed or not claimed.exists(), "items left claimed by a cycle that ended"

    # --- settle and judge ----------------------------------------------------------------------
    def same_feeds_and_files(self):
        """Under every origin and its copy, both orgs hold the same posts, comments, files and
        attachments, field by field (nothing over the size limit here: each must have gone)."""
        records = {side: {} for side in SIDES}  # Id → its marker (the origin's Id, or "")
        for side in SIDES:
            for sobject in COMPARED:
                rows = (
                    self.handle(side)
                    .org.query(f"SELECT Id, {EXTERNAL_ID_FIELD} FROM {sobject}", api_version="62.0")
                    .records
                )
                records[side].update({r["Id"]: key(r[EXTERNAL_ID_FIELD]) for r in rows})
        pairs = []  # (primary Id, secondary Id)
        for side, other in (SIDES, SIDES[::-1]):
            copies = {marker: i for i, marker in records[other].items() if marker}
            for origin, marker in records[side].items():
                if not marker and key(origin) in copies:
                    pair = (origin, copies[key(origin)])
                    pairs.append(pair if side == "primary" else pair[::-1])
        held = [feeds_of(self.handle(side), list(records[side])) for side in SIDES]
        failed = list(
            SyncLog.objects.filter(
                connection=self.linked.connection, source_object__in=FEED_CHILDREN
            ).values_list("source_object", "source_id", "error_code", "message")
        )
        differ = []
        for primary_id, secondary_id in pairs:
            ours, theirs = held[0].get(key(primary_id), {}), held[1].get(key(secondary_id), {})
            if ours != theirs:
                differ.append((primary_id, secondary_id, ours, theirs))
        JUDGED["pairs"] += len(pairs)
        for kinds in held[0].values():
            for kind, rows in kinds.items():
                JUDGED[kind] += len(rows)
                if kind == "posts":
                    JUDGED["comments"] += sum(len(row[-1]) for row in rows)
        assert not differ, (
            f"feeds or files differ under {len(differ)} pair(s): {differ[:3]}; failed: {failed[:5]}"
        )
        assert not failed, failed[:5]

    def teardown(self):
        connection = self.connection
        if connection.status == Connection.Status.SUSPENDED:
            connection_services.connection_resume(connection=connection, actor=None)
        expire_lease()
        for _ in range(SETTLE_CYCLES):
            # Time passes: retries and waiting children are due.
            RecordQueueItem.objects.filter(connection=connection, status=QueueStatus.RETRYING).update(
                next_retry_at=timezone.now()
            )
            report = self.cycle()
            assert not report.coalesced
            if report.written == 0 and not RecordQueueItem.objects.filter(connection=connection).exists():
                break
        verdict = compare_orgs(self.linked, COMPARED, unique=UNIQUE)
        assert verdict.ok, verdict.report()
        self.same_feeds_and_files()
        # Reconcile, judged by the same oracle: where the orgs agree, it finds nothing.
        connection.refresh_from_db()
        with override_settings(ORGSYNC_RECONCILE_SETTLE_SECONDS=0):  # settled: judge every record
            run = ReconcileRunner(reconcile_start(connection=connection, run_in_worker=False)).run()
        assert run.status == ReconcileRun.Status.COMPLETED, run.error
        if not verdict.explained:
            samples = [
                (d.kind, d.source_object, d.source_id, d.target_id, d.fields, d.detail)
                for d in run.found.all()
            ]
            assert run.differences == 0, (run.counts, samples[:10])


EXAMPLES = int(os.environ.get("ORGSYNC_MODEL_EXAMPLES", "12"))


@pytest.mark.timeout(max(300, EXAMPLES * 40))
def test_two_way_engine_model(sfemu_server, db):
    run_seed = int(os.environ.get("ORGSYNC_MODEL_SEED") or random.randrange(2**32))
    print(f"\nmodel-based two-way test: seed {run_seed} (replay with ORGSYNC_MODEL_SEED={run_seed})")
    TwoWayModel.sfemu_server = sfemu_server
    MADE.clear()
    JUDGED.clear()
    machine = seed(run_seed)(TwoWayModel)
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=int(os.environ.get("ORGSYNC_MODEL_STEPS", "18")),
            deadline=None,
            database=None,
            print_blob=True,
            suppress_health_check=list(HealthCheck),
        ),
    )
    print(
        "feed and file steps made (the initial ones included): "
        + ", ".join(f"{k} {v}" for k, v in MADE.items())
    )
    print(
        "feeds and files compared (pairs; what they held in the primary): "
        + ", ".join(f"{k} {v}" for k, v in JUDGED.items())
    )
