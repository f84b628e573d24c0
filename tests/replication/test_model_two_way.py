"""Model-based test of the two-way engine (Hypothesis stateful testing) over two sfemu orgs.

Random sequences of what users, operators and the infrastructure do to a two-way connection
(Account and Contact published both ways): create, update, delete, undelete and reparent in
either org; suspend and resume; sync cycles, also two at once (a "Sync now" during a cycle, or a
second cluster taking over a stalled cycle's expired lease); crashes at random points of capture
and apply (an exception the engine does not catch, as a killed worker stops). Then the
connection settles and the two orgs must agree (`oracle.compare_orgs`): every record has exactly
one copy, with the same values and lookups pointing at each other's copies; nothing is stuck in
the queue; whatever could not sync has a Failed log entry saying why.

`make test` runs a bounded search (ORGSYNC_MODEL_EXAMPLES, default 12 sequences of up to 18 steps,
about two minutes). A long search: ORGSYNC_MODEL_EXAMPLES=500 ORGSYNC_MODEL_STEPS=40. The seed is
printed; ORGSYNC_MODEL_SEED=<seed> replays a run, and a failure prints the shrunk steps.
"""

import contextlib
import os
import random
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from hypothesis import HealthCheck, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
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
from replication.models import Direction, EngineSchedule, QueueStatus, ReconcileRun, RecordQueueItem
from replication.reconcile.runner import ReconcileRunner
from replication.services.reconcile import reconcile_start
from tests.replication.conftest import linked_orgs
from tests.replication.oracle import compare_orgs

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
]
SIDES = ["primary", "secondary"]
SETTLE_CYCLES = 12


class InjectedCrash(BaseException):
    """Stops a cycle the way SIGKILL does: nothing in the engine handles it."""


def expire_lease() -> None:
    """What the passing of ORGSYNC_LEASE_SECONDS does for a stalled or killed cycle's lease."""
    EngineSchedule.objects.update(lease_until=timezone.now() - timedelta(seconds=1))


class TwoWayModel(RuleBasedStateMachine):
    sfemu_server = None  # set by the test

    def __init__(self) -> None:
        super().__init__()
        self.linked = linked_orgs(self.sfemu_server, two_way=True)
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
        self.crashed = False  # the last cycle died: its claims wait for the next lease holder

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
