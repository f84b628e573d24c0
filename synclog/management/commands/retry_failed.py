"""manage.py retry_failed [--connection NAME|ID] [--object Account] [--since-hours N] [--dry-run]"""

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from connections.models import Connection
from synclog.models import SyncLog
from synclog.services import sync_log_retry


class Command(BaseCommand):
    help = "Send the records of Failed sync log entries back to the record queue (Retry All)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--connection", help="Connection name or id (default: every connection).")
        parser.add_argument("--object", help="Only this source object, e.g. Account.")
        parser.add_argument("--error-code", help="Only entries with this error code.")
        parser.add_argument("--dry-run", action="store_true", help="Say how many, retry none.")

    def handle(self, *args, connection=None, object=None, error_code=None, dry_run=False, **options) -> None:
        entries = SyncLog.objects.filter(status=SyncLog.Status.FAILED)
        if connection:
            found = Connection.objects.filter(
                Q(name=connection) | Q(pk=int(connection) if connection.isdigit() else None)
            ).first()
            if found is None:
                raise CommandError(f"No connection named or numbered {connection!r}.")
            entries = entries.filter(connection=found)
        if object:
            entries = entries.filter(source_object=object)
        if error_code:
            entries = entries.filter(error_code=error_code)
        if dry_run:
            records = entries.values("connection_id", "direction", "source_id").distinct().count()
            self.stdout.write(f"Would retry {records} record(s); run again without --dry-run.")
            return
        result = sync_log_retry(entries=entries)
        self.stdout.write(
            f"Retried {result.retried} record(s); {result.already_retrying} were being retried already. "
            "The next sync cycle sends them."
        )
