"""Compare a connection's two orgs and (with --repair) hand what differs to the record queue.

Exits 0 when the orgs agree (or a repair was queued), 1 when differences were found and not
repaired, or the run failed. --json prints the run as JSON (counts, repairs, the sample).
"""

import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from replication.management.commands.sync_once import find_connection
from replication.management.terminal import command_console, sigterm_exits
from replication.models import DifferenceKind, Direction, ReconcileRun
from replication.reconcile.runner import ReconcileRunner
from replication.services.reconcile import ReconcileError, reconcile_start

Status = ReconcileRun.Status


class Command(BaseCommand):
    help = (
        "Prove that a connection's two orgs agree on every published object, and with --repair put "
        "them back in step through the record queue. Exits 1 when differences remain."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("connection", help="connection name or id")
        parser.add_argument("--object", default="", help="one published source object (default: all)")
        parser.add_argument("--direction", choices=list(Direction.values), help="p2s or s2p (default: both)")
        parser.add_argument("--repair", action="store_true", help="queue what differs for the engine to sync")
        parser.add_argument(
            "--dry-run", action="store_true", help="say what --repair would do; change nothing"
        )
        parser.add_argument(
            "--delete-extra",
            action="store_true",
            help="with --repair: delete duplicate and orphan copies (otherwise only reported)",
        )
        parser.add_argument("--json", action="store_true", help="print the run as JSON")

    def handle(self, *args, **options) -> None:
        connection = find_connection(options["connection"])
        try:
            run = reconcile_start(
                connection=connection,
                direction=options["direction"] or "",
                source_object=options["object"],
                repair=options["repair"],
                dry_run=options["dry_run"],
                delete_extra=options["delete_extra"],
                run_in_worker=False,
            )
        except ReconcileError as exc:
            raise CommandError("\n".join(exc.messages)) from None
        console = command_console(self.stdout)
        with sigterm_exits(), _progress(console, quiet=options["json"]) as show:
            run = ReconcileRunner(run, progress=show).run()
        if options["json"]:
            self.stdout.write(json.dumps(as_json(run), indent=2))
        else:
            console.print(summary_table(run))
        self._verdict(run)

    def _verdict(self, run: ReconcileRun) -> None:
        if run.status != Status.COMPLETED:
            raise CommandError(f"{run}: {run.error or 'did not finish'}")
        if not run.differences and run.in_flight:
            self.stdout.write(
                f"{run}: no differences among the records judged, but {run.in_flight:,} were in flight "
                f"(queued, or changed in the last {settings.ORGSYNC_RECONCILE_SETTLE_SECONDS} s) and "
                "not judged: run it again once the engine has caught up."
            )
            return
        if not run.differences:
            self.stdout.write(f"{run}: the orgs agree ({run.pairs_compared:,} pairs compared).")
            return
        if run.repair and not run.dry_run:
            done = ", ".join(f"{label}: {n:,}" for label, n in run.repairs.items())
            self.stdout.write(f"{run}: {run.differences:,} difference(s); repair: {done}.")
            return
        raise CommandError(
            f"{run}: {run.differences:,} difference(s). See them in the admin (Replication → Reconcile "
            "runs), or run again with --repair (--dry-run first to see what it would do)."
        )


class _progress:
    """A rich bar of records read (a terminal), or nothing (logs, --json)."""

    def __init__(self, console: Console, *, quiet: bool) -> None:
        self.bar = (
            None
            if quiet or not console.is_terminal
            else Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=console,
            )
        )
        self.task = None

    def __enter__(self):
        if self.bar is not None:
            self.bar.start()
            self.task = self.bar.add_task("reading", total=None)
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()

    def __call__(self, run: ReconcileRun) -> None:
        if self.bar is not None:
            self.bar.update(
                self.task,
                description=run.phase[:60],
                completed=run.records_read,
                total=run.records_total or None,
            )


def summary_table(run: ReconcileRun) -> Table:
    """Differences per object and class, then the repairs."""
    table = Table(title=str(run), box=box.SIMPLE_HEAD)
    table.add_column("object")
    kinds = list(DifferenceKind)
    for kind in kinds:
        table.add_column(kind.label, justify="right")
    for name, found in run.counts.items():
        table.add_row(name, *(f"{found.get(kind.value, 0):,}" for kind in kinds))
    table.caption = (
        f"{run.records_read:,} records read, {run.pairs_compared:,} pairs compared, "
        f"{run.in_flight:,} in flight (not judged), {run.api_calls:,} API calls"
        + "".join(f"; {'would ' if run.dry_run else ''}{label}: {n:,}" for label, n in run.repairs.items())
    )
    return table


def as_json(run: ReconcileRun) -> dict:
    return {
        "id": run.pk,
        "connection": str(run.connection),
        "status": run.status,
        "error": run.error,
        "records_read": run.records_read,
        "pairs_compared": run.pairs_compared,
        "in_flight": run.in_flight,
        "differences": run.differences,
        "counts": run.counts,
        "repair": run.repair,
        "dry_run": run.dry_run,
        "repairs": run.repairs,
        "api_calls": run.api_calls,
        "sample": [
            {
                "kind": d.kind,
                "direction": d.direction,
                "source_object": d.source_object,
                "source_id": d.source_id,
                "target_id": d.target_id,
                "fields": [f for f in d.fields.split(", ") if f],
                "changed_last": d.changed_last,
                "detail": d.detail,
                "repair": d.repair,
            }
            for d in run.found.all()
        ],
    }
