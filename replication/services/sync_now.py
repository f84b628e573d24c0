"""Sync now: the next cycle of a connection, as soon as a worker can run it."""

from connections.models import Connection
from replication.engine.cycle import CAPTURING
from replication.engine.lease import request_cycle
from replication.errors import ReplicationError


def connection_sync_now(*, connection: Connection) -> None:
    """A flag on the connection's schedule, not a broker task: the engine tick that runs in every
    worker cluster starts the cycle within a second (after the running one, if a cycle runs),
    and a flushed broker cannot lose the request."""
    if connection.status not in CAPTURING:
        raise ReplicationError(
            f"Connection “{connection}” is {connection.get_status_display()}: only an Active or "
            "Suspended connection syncs. Accept or resume it first."
        )
    request_cycle(connection)
