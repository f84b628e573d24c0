"""manage.py purge_sync_log [--days N] [--dry-run]: the retention job (scheduled nightly)."""

from django.core.management.base import BaseCommand, CommandError

from synclog.conf import app_settings
from synclog.services import sync_log_purge


class Command(BaseCommand):
    help = "Remove sync log entries, then run summaries, older than ORGSYNC_LOG_RETENTION_DAYS."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--days", type=int, help="Override the retention (days).")
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument("--dry-run", action="store_true", help="Count, remove nothing.")

    def handle(self, *args, days=None, batch_size=1000, dry_run=False, **options) -> None:
        try:
            result = sync_log_purge(
                older_than_days=days or app_settings.RETENTION_DAYS, batch_size=batch_size, dry_run=dry_run
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        verb = "Would remove" if dry_run else "Removed"
        self.stdout.write(
            f"{verb} {result.entries} log entries, {result.runs} runs and {result.alerts} alert records "
            f"older than {result.cutoff:%Y-%m-%d %H:%M} UTC."
        )
