"""Run a bulk sync in the foreground: a progress bar per object, then a summary table.

Exits non-zero when a record failed or was held back, or the run did not complete. SIGTERM
(and Ctrl-C) leave the run Interrupted, resumable with `--resume` (or by the engine tick).
"""

from datetime import datetime, time

from django.core.management.base import BaseCommand, CommandError, OutputWrapper
from django.db.models import Q
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from connections.models import Connection
from replication.bulksync.runner import BulkSyncRunner
from replication.bulksync.scope import BulkSyncError
from replication.management.commands.sync_once import find_connection
from replication.management.terminal import command_console, sigterm_exits
from replication.models import BulkSync, BulkSyncObject, Direction
from replication.services.bulk_sync import bulk_sync_start

Status = BulkSync.Status


class Command(BaseCommand):
    help = (
        "Copy the records of a connection's published objects that are not linked yet (Org Sync's "
        "Bulk Sync), in the foreground. Exits 1 when a record failed or was held back."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("connection", help="connection name or id")
        parser.add_argument("--objects", help="comma-separated published objects (default: all)")
        scope = parser.add_mutually_exclusive_group()
        scope.add_argument(
            "--since", metavar="YYYY-MM-DD", help="cutoff date, within the past year (default: a year ago)"
        )
        scope.add_argument(
            "--limit",
            type=int,
            metavar="N",
            help="number of entities: the N most recently modified per object",
        )
        parser.add_argument("--direction", choices=list(Direction.values), help="p2s (default) or s2p")
        parser.add_argument(
            "--dry-run", action="store_true", help="count what would be copied; write nothing"
        )
        parser.add_argument(
            "--resume", action="store_true", help="go on with this connection's interrupted bulk sync"
        )

    def handle(self, *args, **options) -> None:
        connection = find_connection(options["connection"])
        bulk = self._resume(connection, options) if options["resume"] else self._start(connection, options)
        console = command_console(self.stdout)
        objects = list(bulk.sync_objects.all())
        display = (
            _Bars(console, objects, bulk.dry_run)
            if console.is_terminal
            else _Lines(self.stdout, bulk.dry_run)
        )
        self.stdout.write(f"{'Resuming' if options['resume'] else 'Starting'} {bulk}.")
        try:
            with sigterm_exits(), display:
                bulk = BulkSyncRunner(bulk, progress=display).run()
        except (KeyboardInterrupt, SystemExit):
            self.stderr.write(_interrupted(bulk, connection, "stopped by a signal"))
            raise
        console.print(summary_table(bulk))
        self._verdict(bulk, connection)

    # --- which run ----------------------------------------------------------------------------
    def _start(self, connection: Connection, options: dict) -> BulkSync:
        unfinished = connection.bulk_syncs.filter(status__in=BulkSync.ACTIVE).first()
        if unfinished is not None:
            if _lease_free(unfinished):
                raise CommandError(
                    f"{unfinished} is not finished. Add --resume to go on with it, or cancel it in the "
                    "admin (Replication → Bulk syncs)."
                )
            raise CommandError(_held(unfinished))
        try:
            return bulk_sync_start(
                connection=connection,
                actor=None,
                direction=options["direction"] or Direction.PRIMARY_TO_SECONDARY,
                objects=_names(options["objects"]),
                since=_cutoff(options["since"]),
                limit=options["limit"],
                dry_run=options["dry_run"],
                run_in_worker=False,
            )
        except BulkSyncError as exc:
            raise CommandError("\n".join(exc.messages)) from None

    def _resume(self, connection: Connection, options: dict) -> BulkSync:
        given = [f"--{n.replace('_', '-')}" for n in ("objects", "since", "limit", "direction") if options[n]]
        if options["dry_run"]:
            given.append("--dry-run")
        if given:
            raise CommandError(
                f"--resume goes on with the unfinished run as it was started: leave out {', '.join(given)}."
            )
        unfinished = connection.bulk_syncs.filter(status__in=BulkSync.ACTIVE).first()
        if unfinished is None:
            raise CommandError(f"“{connection}” has no unfinished bulk sync to resume.")
        if not _lease_free(unfinished):
            raise CommandError(_held(unfinished))
        return unfinished

    # --- the outcome --------------------------------------------------------------------------
    def _verdict(self, bulk: BulkSync, connection: Connection) -> None:
        if bulk.status == Status.COMPLETED:
            self.stdout.write(f"{bulk}: done.")
            return
        if bulk.status == Status.COMPLETED_WITH_FAILURES:
            objects = list(bulk.sync_objects.all())
            failed = sum(o.failed for o in objects)
            held = sum(o.held_back for o in objects)
            broken = [
                f"{o.source_object} ({o.error})" for o in objects if o.status == BulkSyncObject.Status.FAILED
            ]
            lines = [f"{bulk}: {failed} record(s) failed, {held} held back (children of failed records)."]
            if broken:
                lines.append(f"Objects that could not be copied: {'; '.join(broken)}.")
            lines.append(
                "Each failure is in the sync log with its fix (Sync log, filtered by this connection); "
                "fix them, then run the bulk sync again: what is copied already is skipped."
            )
            raise CommandError("\n".join(lines))
        if bulk.status in BulkSync.ACTIVE:
            raise CommandError(_interrupted(bulk, connection, bulk.error or "taken over by a worker"))
        raise CommandError(f"{bulk}" + (f": {bulk.error}" if bulk.error else "."))


def summary_table(bulk: BulkSync) -> Table:
    """One row per object, in apply order; dry runs say what *would* happen. With Sync Feeds on,
    the files and attachments each object's records brought, and their bytes."""
    would = "would " if bulk.dry_run else ""
    feeds = bulk.connection.sync_feeds_and_audit_fields
    table = Table(title=f"{bulk}", box=box.SIMPLE_HEAD)
    table.add_column("object")
    table.add_column("path")
    for heading in (
        "total",
        f"{would}insert",
        f"{would}link",
        "skipped",
        "failed",
        "held back",
        f"{would}queue",
        *(("files", "bytes") if feeds else ()),
        "API calls",
    ):
        table.add_column(heading, justify="right")
    for obj in bulk.sync_objects.all():
        counts = (
            obj.inserted,
            obj.linked,
            obj.skipped,
            obj.failed,
            obj.held_back,
            obj.queued,
            *((obj.files, obj.file_bytes) if feeds else ()),
            obj.api_calls,
        )
        table.add_row(
            obj.source_object,
            obj.path or "—",
            "—" if obj.total is None else f"{obj.total:,}",
            *(f"{n:,}" for n in counts),
        )
    return table


# --- progress ---------------------------------------------------------------------------------
class _Bars:
    """rich progress bars, one per object (a terminal)."""

    def __init__(self, console: Console, objects: list[BulkSyncObject], dry_run: bool) -> None:
        self.dry_run = dry_run
        self.progress = Progress(
            TextColumn("{task.description:<20}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[counts]}"),
            TimeRemainingColumn(),
            console=console,
        )
        self.tasks = {
            o.pk: self.progress.add_task(o.source_object, total=o.total, completed=o.processed, counts="")
            for o in objects
        }

    def __enter__(self) -> "_Bars":
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def __call__(self, obj: BulkSyncObject) -> None:
        done = obj.status == BulkSyncObject.Status.DONE
        total = max(obj.total or 0, obj.processed) if done else obj.total
        self.progress.update(
            self.tasks[obj.pk],
            total=total,
            completed=total if done else obj.processed,
            counts=_counts(obj, self.dry_run),
        )


class _Lines:
    """Plain progress lines (stdout is not a terminal: a log, a pipe, cron)."""

    def __init__(self, stdout: OutputWrapper, dry_run: bool) -> None:
        self.stdout = stdout
        self.dry_run = dry_run

    def __enter__(self) -> "_Lines":
        return self

    def __exit__(self, *exc) -> None:
        pass

    def __call__(self, obj: BulkSyncObject) -> None:
        total = "?" if obj.total is None else f"{obj.total:,}"
        self.stdout.write(
            f"{obj.source_object}: {obj.processed:,} / {total} processed; {_counts(obj, self.dry_run)} "
            f"({obj.get_status_display().lower()})"
        )


def _counts(obj: BulkSyncObject, dry_run: bool) -> str:
    insert, link = ("would insert", "would link") if dry_run else ("inserted", "linked")
    files = f", files {obj.files:,} ({filesizeformat(obj.file_bytes)})" if obj.files else ""
    return (
        f"{insert} {obj.inserted:,}, {link} {obj.linked:,}, skipped {obj.skipped:,}, "
        f"failed {obj.failed:,}, held back {obj.held_back:,}{files}"
    )


# --- helpers ----------------------------------------------------------------------------------
def _lease_free(bulk: BulkSync) -> bool:
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=timezone.now())
    return BulkSync.objects.filter(free, pk=bulk.pk).exists()


def _held(bulk: BulkSync) -> str:
    until = timezone.localtime(bulk.lease_until)
    return (
        f"{bulk} is being run by {bulk.lease_holder or 'a worker'}: wait for it or cancel it in the admin. "
        f"(If that process died, its lease lapses at {until:%H:%M:%S} and --resume works then.)"
    )


def _interrupted(bulk: BulkSync, connection: Connection, why: str) -> str:
    return (
        f"Bulk sync #{bulk.pk} is interrupted ({why}); nothing copied is lost. Resume it with "
        f"`manage.py bulk_sync {connection.pk} --resume` (a running worker cluster also resumes it "
        "within a minute)."
    )


def _names(objects: str | None) -> list[str] | None:
    names = [n.strip() for n in (objects or "").split(",") if n.strip()]
    return names or None


def _cutoff(since: str | None) -> datetime | None:
    if not since:
        return None
    try:
        day = datetime.strptime(since, "%Y-%m-%d").date()
    except ValueError:
        raise CommandError(f"--since {since}: give a date as YYYY-MM-DD.") from None
    return timezone.make_aware(datetime.combine(day, time.min))
