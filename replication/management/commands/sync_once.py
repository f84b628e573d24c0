"""One capture + apply cycle, now, for one connection or every active one."""

from django.core.management.base import BaseCommand, CommandError

from connections.models import Connection
from replication.engine.cycle import CAPTURING, sync_once


class Command(BaseCommand):
    help = "Run one sync cycle (capture every direction, then apply the queue) and print what it did."

    def add_arguments(self, parser) -> None:
        parser.add_argument("connection", nargs="?", help="connection name or id (default: every active one)")

    def handle(self, *args, connection: str | None = None, **options) -> None:
        connections = (
            [find_connection(connection)]
            if connection
            else list(Connection.objects.filter(status__in=CAPTURING))
        )
        if not connections:
            raise CommandError("No active connection to sync.")
        for item in connections:
            report = sync_once(item)
            if report.coalesced:
                self.stdout.write(f"{item}: {BUSY}; the next cycle starts as soon as it ends.")
                continue
            captured = sum(report.captured.values())
            applied = sum(report.applied.values())
            self.stdout.write(
                f"{item}: captured {captured} change(s), applied {applied} queue item(s), "
                f"{report.api_calls} API call(s)"
                + (" — the connection is suspended: changes wait in the queue" if report.suspended else "")
            )


BUSY = "a sync cycle of this connection is running in a worker"


def find_connection(name_or_id: str) -> Connection:
    query = (
        Connection.objects.filter(pk=int(name_or_id))
        if name_or_id.isdigit()
        else Connection.objects.filter(name=name_or_id)
    )
    found = query.first()
    if found is None:
        names = ", ".join(Connection.objects.values_list("name", flat=True)) or "none"
        raise CommandError(f"No connection named or numbered “{name_or_id}”. Connections: {names}.")
    return found
