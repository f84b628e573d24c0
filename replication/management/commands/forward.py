"""Forward records to a connection now (Org Sync's "Forward to connection")."""

import re

from django.core.management.base import BaseCommand, CommandError

from connections.client_errors import SalesforceApiError
from replication.engine.cycle import sync_once
from replication.errors import ReplicationError
from replication.management.commands.sync_once import BUSY, find_connection
from replication.models import Direction
from replication.services.forward import records_forward

RECORD_ID = re.compile(r"^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$")


class Command(BaseCommand):
    help = "Queue records (and with --with-related their published children) and run one sync cycle."

    def add_arguments(self, parser) -> None:
        parser.add_argument("connection", help="connection name or id")
        parser.add_argument("object", help="source object, e.g. Account")
        parser.add_argument("ids", nargs="+", help="source record Ids")
        parser.add_argument(
            "--with-related", action="store_true", help="also forward published child records"
        )
        parser.add_argument(
            "--direction", choices=[d.value for d in Direction], default=Direction.PRIMARY_TO_SECONDARY
        )
        parser.add_argument(
            "--no-sync", action="store_true", help="only queue; the engine sends them in its next cycle"
        )

    def handle(self, *args, connection, object, ids, with_related, direction, no_sync, **options) -> None:
        bad = [i for i in ids if not RECORD_ID.match(i)]
        if bad:
            raise CommandError(f"Not record Ids: {', '.join(bad)} (15 or 18 letters and digits).")
        found = find_connection(connection)
        try:
            queued = records_forward(
                connection=found,
                source_object=object,
                record_ids=ids,
                direction=direction,
                with_related=with_related,
            )
            summary = ", ".join(f"{n} {name}" for name, n in queued.items())
            self.stdout.write(f"Queued {summary} for {found}.")
            if not no_sync:
                report = sync_once(found)
                sent = f"Sent: {report.written} record(s) written or failed, {report.api_calls} API call(s)."
                self.stdout.write(f"{BUSY}: they go with its next cycle." if report.coalesced else sent)
        except (ReplicationError, SalesforceApiError) as exc:
            raise CommandError(str(exc)) from exc
