"""Two-way conflicts: a record changed in both orgs since it was last synced.

Found twice: after both directions were captured and before anything is applied
(`resolve_conflicts`), and by apply itself, which reads each target just before it overwrites it
(`decide_stale_target`: the target changed after the capture). Decided by the connection's
policy — primary wins (default), latest SystemModstamp wins, or hold both changes for review —
and every conflict is written to the sync log.
"""

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from connections.models import Connection
from replication.engine import queue
from replication.models import Direction, QueueAction, QueueStatus, RecordLink, RecordQueueItem
from synclog.models import SyncLog

P2S, S2P = Direction.PRIMARY_TO_SECONDARY, Direction.SECONDARY_TO_PRIMARY
Policy = Connection.ConflictPolicy


def _modstamp(record: dict | None):
    value = (record or {}).get("SystemModstamp") or ""
    return parse_datetime(value.replace("+0000", "+00:00")) if value else None


def resolve_conflicts(connection: Connection, changed: dict[str, set[str]], fresh: dict[str, dict]) -> int:
    """`changed[direction]` holds source ids changed by users in that direction's source org."""
    if not changed.get(P2S) or not changed.get(S2P):
        return 0
    links = RecordLink.objects.filter(
        connection=connection, primary_id__in=changed[P2S], secondary_id__in=changed[S2P]
    )
    count = 0
    for link in links:
        winner = _winner(connection.conflict_policy, fresh.get(link.primary_id), fresh.get(link.secondary_id))
        _apply_decision(connection, link, winner)
        count += 1
    return count


def decide_stale_target(
    connection: Connection, direction: str, link: RecordLink, source: dict | None, target: dict | None
) -> bool:
    """The target of an update changed since orgsync last read or wrote it: decide by policy.
    True when this direction's write goes ahead; otherwise its change is dropped (the other
    org's change then travels the other way) or both are held."""
    primary, secondary = (source, target) if direction == P2S else (target, source)
    winner = _winner(connection.conflict_policy, primary, secondary)
    _apply_decision(connection, link, winner)
    # The other direction may hold a copy of the target read before it changed: moving
    # synced_at makes it read the record again (cycle._forget_rewritten).
    RecordLink.objects.filter(pk=link.pk).update(synced_at=timezone.now())
    if winner is not None and winner != direction:
        other = link.secondary_id if direction == P2S else link.primary_id
        other_object = link.secondary_object if direction == P2S else link.primary_object
        queue.enqueue(connection, winner, other_object, {other: QueueAction.GENERIC_UPDATE})
    return winner == direction


def _winner(policy: str, primary: dict | None, secondary: dict | None) -> str | None:
    if policy == Policy.HOLD:
        return None
    if policy == Policy.LATEST_WINS:
        p, s = _modstamp(primary), _modstamp(secondary)
        if p and s and s > p:
            return S2P
    return P2S


def _apply_decision(connection: Connection, link: RecordLink, winner: str | None) -> None:
    items = RecordQueueItem.objects.filter(connection=connection)
    primary_item = items.filter(direction=P2S, source_id=link.primary_id)
    secondary_item = items.filter(direction=S2P, source_id=link.secondary_id)
    if winner is None:
        (primary_item | secondary_item).update(
            status=QueueStatus.CONFLICT, claimed_by="", claim_expires_at=None
        )
        message = "Changed in both orgs since the last sync: both changes are held for review."
        status = SyncLog.Status.FAILED
    else:
        (secondary_item if winner == P2S else primary_item).delete()
        side = "primary" if winner == P2S else "secondary"
        message = (
            f"Changed in both orgs since the last sync: the {side} org's change won (connection policy)."
        )
        status = SyncLog.Status.RESOLVED
    SyncLog.objects.create(
        connection=connection,
        direction=winner or P2S,
        source_object=link.primary_object,
        source_id=link.primary_id,
        target_id=link.secondary_id,
        action="conflict",
        status=status,
        error_code="SYNC_CONFLICT",
        message=message,
    )
