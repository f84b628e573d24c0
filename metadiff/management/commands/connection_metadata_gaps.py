"""`manage.py connection_metadata_gaps CONNECTION`: the metadata differences of a connection's
published objects that would break record sync, each with its fix; exit status 1 when there are
any (for scripts)."""

import sys

from django.core.management.base import BaseCommand, CommandError

from connections.errors import ConnectionsError
from metadiff.errors import MetadiffError
from metadiff.gaps import connection_metadata_gaps
from replication.errors import ReplicationError
from replication.management.commands.sync_once import find_connection


class Command(BaseCommand):
    help = (
        "Print the metadata gaps of a connection (fields missing or narrower in the target org, "
        "picklist values missing); exit 1 when there are any."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("connection", help="connection name or id")

    def handle(self, *args, connection: str, **options) -> None:
        found = find_connection(connection)
        try:
            gaps = connection_metadata_gaps(found)
        except (ConnectionsError, MetadiffError, ReplicationError) as exc:
            raise CommandError(f"{found}: {' '.join(str(exc).split())}") from None
        if not gaps:
            self.stdout.write(f"{found}: no metadata gaps: the published fields match.")
            return
        self.stdout.write(f"{found}: {len(gaps)} metadata gap(s) would break record sync:")
        for gap in gaps:
            self.stdout.write(f"  {gap.text()}")
        sys.exit(1)
