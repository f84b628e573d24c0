"""Regression: a crash right after a write, then a cycle taken over right after it recorded.

Found by the model test (`test_model_two_way.py`, ORGSYNC_MODEL_FEED_START=1, seed 3450339260):
`crash(point="apply.written")` then `cycle_taken_over(point="apply.recorded")` left a queue item
In Progress while no cycle ran. The stalled cycle, resuming after another cluster had taken its
lease and run a whole cycle, started its next apply round: it claimed an item that cycle had
left Queued (here: the update the other direction queued when it linked the crashed cycle's
copy), and only then met a fence, which stopped it. A cycle that lost its lease puts nothing
back (the new holder owns the claims), so the item stayed In Progress until some later cycle
took the lease. Claims are fenced now (`queue.claim(fence=…)`): the lease is renewed in the
claim's own transaction, so a cycle that lost its lease claims nothing.

Judged as the integrity tests are: both orgs read and compared field by field
(`oracle.compare_orgs`), never by counting errors.
"""

from datetime import timedelta

from django.utils import timezone

from connections.models import Connection
from replication.engine.context import EngineContext
from replication.engine.cycle import sync_once
from replication.models import Direction, EngineSchedule, QueueStatus, RecordQueueItem
from replication.services.forward import records_forward
from tests.replication.oracle import compare_orgs

COMPARED = {"Account": ["Name", "Phone"]}


class InjectedCrash(BaseException):
    """Stops a cycle the way SIGKILL does: nothing in the engine handles it."""


def expire_lease() -> None:
    """What the passing of ORGSYNC_LEASE_SECONDS does for a stalled or killed cycle's lease."""
    EngineSchedule.objects.update(lease_until=timezone.now() - timedelta(seconds=1))


def claimed(connection: Connection) -> list[tuple[str, str, str]]:
    """Items In Progress: (direction, source id, claim token)."""
    items = RecordQueueItem.objects.filter(connection=connection, status=QueueStatus.IN_PROGRESS)
    return list(items.values_list("direction", "source_id", "claimed_by"))


def crash_after_the_write(connection: Connection) -> None:
    """A worker dies right after its write reached the target org: no link saved, its claims
    stay, its lease lapses."""

    def hook(point: str) -> None:
        if point == "apply.written":
            raise InjectedCrash(point)

    try:
        sync_once(connection, ctx=EngineContext(worker="doomed", on_checkpoint=hook))
    except InjectedCrash:
        expire_lease()
    else:
        raise AssertionError("the doomed cycle never reached apply.written")


def taken_over_after_recording(connection: Connection, meanwhile=lambda: None):
    """A cycle stalls right after it recorded an answer, past its lease; another cluster takes
    the connection and runs a whole cycle; `meanwhile` runs while it is still stalled. Returns
    (the stalled cycle's report, the other cluster's report)."""
    taken = []

    def hook(point: str) -> None:
        if point == "apply.recorded" and not taken:
            expire_lease()
            taken.append(sync_once(connection, ctx=EngineContext(worker="second")))
            meanwhile()

    stalled = sync_once(connection, ctx=EngineContext(worker="stalled", on_checkpoint=hook))
    assert taken, "the stalled cycle never reached apply.recorded"
    assert not taken[0].coalesced and not taken[0].lease_lost, "the second cluster ran a whole cycle"
    return stalled, taken[0]


def settle_and_compare(linked, *, pairs: int, cycles: int = 4) -> None:
    """Cycles until settled, then every origin has one copy with the same Name and Phone, and
    nothing is stuck in the queue (`pairs` pairs compared: an empty comparison never passes)."""
    for _ in range(cycles):
        report = sync_once(linked.connection)
        assert not report.coalesced and not report.lease_lost
    verdict = compare_orgs(linked, COMPARED)
    assert verdict.ok, verdict.report()
    assert verdict.compared == {"Account": pairs}, verdict.report()


def test_the_model_sequence_leaves_nothing_claimed(both_ways):
    """The model's shrunk sequence, without its unrelated steps: Sync Feeds and Audit Fields on
    (so replaying the crashed upsert fails: the copy exists and its CreatedDate cannot be
    updated), a record in each org, the crash, the takeover."""
    connection = both_ways.connection
    Connection.objects.filter(pk=connection.pk).update(sync_feeds_and_audit_fields=True)
    for handle in (both_ways.primary, both_ways.secondary):
        handle.org.set_option("audit_fields_on_create", True)
    both_ways.primary.org.create("Account", {"Name": "A-1", "Phone": "1"}, user_id=both_ways.primary.user_id)
    both_ways.secondary.org.create(
        "Account", {"Name": "A-2", "Phone": "2"}, user_id=both_ways.secondary.user_id
    )

    crash_after_the_write(connection)
    stalled, _ = taken_over_after_recording(connection)

    assert stalled.lease_lost, "the stalled cycle stopped at its next fence"
    assert claimed(connection) == [], "no cycle runs, yet an item is left claimed"
    settle_and_compare(both_ways, pairs=2)


def test_a_cycle_that_lost_its_lease_claims_nothing(both_ways, sfemu_server):
    """The same window, whatever left the item Queued: here an operator forwards a record that
    synced long ago while the stalled cycle is still stalled (forwarding takes no lease)."""
    connection = both_ways.connection
    earlier = both_ways.primary.org.create(
        "Account", {"Name": "A-0", "Phone": "0"}, user_id=both_ways.primary.user_id
    )
    settle_and_compare(both_ways, pairs=1, cycles=2)
    sfemu_server.clock.advance(seconds=6)  # past the late-commit overlap: no capture reads it again
    both_ways.primary.org.create("Account", {"Name": "A-1", "Phone": "1"}, user_id=both_ways.primary.user_id)
    crash_after_the_write(connection)

    def forward() -> None:
        records_forward(
            connection=connection,
            source_object="Account",
            record_ids=[earlier],
            direction=Direction.PRIMARY_TO_SECONDARY,
        )

    stalled, _ = taken_over_after_recording(connection, meanwhile=forward)

    assert stalled.lease_lost, "the stalled cycle stopped at its next fence"
    assert claimed(connection) == [], "no cycle runs, yet an item is left claimed"
    forwarded = RecordQueueItem.objects.get(connection=connection, source_id=earlier)
    assert forwarded.status == QueueStatus.QUEUED, "the forwarded record waits for the next lease holder"
    settle_and_compare(both_ways, pairs=2)
    assert not RecordQueueItem.objects.filter(connection=connection).exists()
