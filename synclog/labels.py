"""The words the console uses for a sync log entry's codes: the record queue's own labels, so
the log, the queue and the CSV exports say the same thing."""

from replication.models import Direction, QueueAction


def direction_label(direction: str) -> str:
    """ "Primary → secondary" for "p2s": the words the record queue uses (`Direction`)."""
    return dict(Direction.choices).get(direction, direction) or "—"


def action_label(action: str) -> str:
    """ "Generic Insert" for "generic_insert" (the queue's `QueueAction`); "Conflict" for the
    conflict policy's entries."""
    return dict(QueueAction.choices).get(action) or action.replace("_", " ").capitalize()
