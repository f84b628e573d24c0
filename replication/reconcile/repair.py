"""What repair does with each difference, and doing it.

Repair goes through the record queue, so the conflict policy, retries and the sync log apply:
missing → an insert is queued; drift and broken lookups → the link's hashes are cleared and an
update is queued from the side the connection's policy picks; a broken link → the link is dropped
and the live origin queued again, or the copy of a gone origin queued for deletion (when the
object syncs deletes). Duplicate and orphan copies are deleted only when asked for
(`delete_extra`), one collection call per 200; otherwise they are reported.

Decisions are made while comparing (`decide`) and written to the scratch store; the actions run
at the end (`Repairer.execute`) under the connection's lease, so no sync cycle moves a link or a
queue item meanwhile.
"""

from collections import Counter
from dataclasses import dataclass

from connections.models import Connection
from replication.engine import queue
from replication.engine.context import EngineContext
from replication.engine.identity import Pair, link_pair
from replication.engine.plans import opposite
from replication.models import DifferenceKind, Direction, PublishedObject, QueueAction, RecordLink
from replication.reconcile.compare import Difference
from replication.reconcile.store import Store

Kind = DifferenceKind
P2S = Direction.PRIMARY_TO_SECONDARY
Policy = Connection.ConflictPolicy
DELETE_CHUNK = 200

INSERT = "queue an insert"
UPDATE_FROM = "queue an update from the {org} org"
HELD = "left for review (the conflict policy holds both changes)"
RELINK_INSERT = "drop the link, queue an insert"
DROP_LINK = "drop the link"
DELETE_COPY = "queue a delete of the copy (its origin is gone)"
NO_DELETES = "reported (deletes of this object are not synced)"
DELETE_EXTRA = "delete the copy"
REPORT_EXTRA = "reported (choose “delete duplicates and orphans” to delete it)"

TODO = """CREATE TABLE IF NOT EXISTS todo (
    seq INTEGER PRIMARY KEY, action TEXT, direction TEXT, source_object TEXT, target_object TEXT,
    source_id TEXT, target_id TEXT, link_id INT)"""


@dataclass(frozen=True)
class Step:
    """One action on one record: `direction` is the queue (or org side) it acts in."""

    action: str
    direction: str
    source_object: str
    target_object: str
    source_id: str
    target_id: str
    link_id: int | None


def side(direction: str, of: str) -> str:
    """'primary' or 'secondary': the org of a direction's 'source' or 'target'."""
    source_is_primary = direction == P2S
    return "primary" if (of == "source") == source_is_primary else "secondary"


class Repairer:
    def __init__(self, connection: Connection, store: Store, *, delete_extra: bool) -> None:
        self.connection = connection
        self.store = store
        self.delete_extra = delete_extra
        self.planned: Counter = Counter()
        self.store.query(TODO)
        self._deletes_synced = {
            (p.direction, p.source_object): p.sync_deleted
            for p in PublishedObject.objects.filter(connection=connection, is_published=True)
        }

    # --- deciding --------------------------------------------------------------------------
    def decide(self, diff: Difference) -> str:
        """The action for `diff` (its label), remembered for `execute`."""
        step = self._step(diff)
        self.planned[step.action] += 1
        if step.direction:
            self.store.insert(
                "todo",
                [
                    (
                        None,
                        step.action,
                        step.direction,
                        step.source_object,
                        step.target_object,
                        step.source_id,
                        step.target_id,
                        step.link_id,
                    )
                ],
            )
        return step.action

    def _step(self, diff: Difference) -> Step:
        here = (
            diff.direction,
            diff.source_object,
            diff.target_object,
            diff.source_id,
            diff.target_id,
            diff.link_id,
        )
        back = (
            opposite(diff.direction),
            diff.target_object,
            diff.source_object,
            diff.target_id,
            diff.source_id,
            diff.link_id,
        )
        if diff.kind == Kind.MISSING:
            return Step(INSERT, *here)
        if diff.kind in (Kind.DRIFT, Kind.BROKEN_LOOKUP):
            winner = self._winner(diff)
            if winner is None:
                return Step(HELD, "", *here[1:])
            label = UPDATE_FROM.format(
                org=side(diff.direction, "source" if winner == diff.direction else "target")
            )
            return Step(label, *(here if winner == diff.direction else back))
        if diff.kind == Kind.BROKEN_LINK:
            return self._broken_link(diff, here, back)
        return Step(
            DELETE_EXTRA if self.delete_extra else REPORT_EXTRA,
            diff.direction if self.delete_extra else "",
            *here[1:],
        )

    def _winner(self, diff: Difference) -> str | None:
        """The direction whose source wins: the connection's conflict policy on a two-way
        connection, the source on a one-way one."""
        if not self.connection.is_two_way:
            return diff.direction
        policy = self.connection.conflict_policy
        if policy == Policy.HOLD:
            return None
        if policy == Policy.LATEST_WINS:
            latest = side(diff.direction, diff.changed_last or "source")
            return P2S if latest == "primary" else opposite(P2S)
        return P2S

    def _broken_link(self, diff: Difference, here: tuple, back: tuple) -> Step:
        source_live = not diff.detail.endswith(("the source record is gone", "both records are gone"))
        target_live = not diff.detail.endswith(("the target record is gone", "both records are gone"))
        if not source_live and not target_live:
            return Step(DROP_LINK, *here)
        if source_live and not diff.source_is_copy:
            return Step(RELINK_INSERT, *here)  # the origin is alive: copy it again
        if target_live and not diff.target_is_copy:
            return Step(RELINK_INSERT, *back)
        # The live record is a copy whose origin is gone: the origin's direction deletes it.
        gone = back if source_live else here
        if not self._deletes_synced.get((gone[0], gone[1]), False):
            return Step(NO_DELETES, "", *here[1:])
        return Step(DELETE_COPY, *gone)

    # --- doing -----------------------------------------------------------------------------
    def execute(self, ctx: EngineContext) -> Counter:
        """Run every remembered step (under the caller's connection lease). Returns the count
        per action actually taken."""
        done: Counter = Counter()
        rows = self.store.query(
            "SELECT action, direction, source_object, target_object, source_id, target_id, link_id"
            " FROM todo ORDER BY seq"
        )
        batch: list[Step] = []
        for row in rows:
            batch.append(Step(*row))
            if len(batch) == 500:
                self._execute_batch(ctx, batch, done)
                batch = []
        self._execute_batch(ctx, batch, done)
        return done

    def _execute_batch(self, ctx: EngineContext, steps: list[Step], done: Counter) -> None:
        if not steps:
            return
        ctx.fence()
        enqueue: dict[tuple[str, str], dict[str, str]] = {}
        deletes: dict[str, list[str]] = {}
        for step in steps:
            if step.action in (RELINK_INSERT, DROP_LINK) and step.link_id:
                RecordLink.objects.filter(pk=step.link_id, connection=self.connection).delete()
            if step.action == DROP_LINK:
                done[step.action] += 1
                continue
            if step.action == DELETE_EXTRA:
                deletes.setdefault(step.direction, []).append(step.target_id)
                continue
            if step.action.startswith("queue an update"):
                self._clear_hashes(step)
            action = {
                INSERT: QueueAction.GENERIC_INSERT,
                RELINK_INSERT: QueueAction.GENERIC_INSERT,
                DELETE_COPY: QueueAction.REPLICATION_DELETE,
            }.get(step.action, QueueAction.GENERIC_UPDATE)
            enqueue.setdefault((step.direction, step.source_object), {})[step.source_id] = action
            done[step.action] += 1
        for (direction, source_object), changes in enqueue.items():
            queue.enqueue(self.connection, direction, source_object, changes)
        for direction, ids in deletes.items():
            self._delete(ctx, direction, ids, done)

    def _clear_hashes(self, step: Step) -> None:
        """An update that would otherwise be skipped as "nothing changed": forget what the
        link says was sent and what the target holds, so apply writes (and a two-way apply
        still reads the target first). A pair with no link is linked first."""
        link_id = step.link_id
        if link_id is None:
            forward = step.direction == P2S
            pair = (
                Pair(step.source_object, step.source_id, step.target_object, step.target_id)
                if forward
                else Pair(step.target_object, step.target_id, step.source_object, step.source_id)
            )
            _, link = link_pair(self.connection, pair)
            link_id = link.pk if link else None
        forward = step.direction == P2S
        RecordLink.objects.filter(pk=link_id).update(
            **{
                "p2s_sent_hash" if forward else "s2p_sent_hash": "",
                "secondary_state_hash" if forward else "primary_state_hash": "",
            }
        )

    def _delete(self, ctx: EngineContext, direction: str, ids: list[str], done: Counter) -> None:
        org = self.connection.secondary_org if direction == P2S else self.connection.primary_org
        client = ctx.client(org)
        for start in range(0, len(ids), DELETE_CHUNK):
            ctx.fence()
            for result in client.delete(ids[start : start + DELETE_CHUNK]):
                done[DELETE_EXTRA if result.success else "delete failed"] += 1
