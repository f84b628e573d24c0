"""Rebuild a connection's record links from the two orgs (`replication.services.links`).

Prints a table per object and direction, then the orphan and duplicate copies found (Ids only).
Exits 1 when there are orphans or duplicates: they are left in the orgs for someone to decide.
"""

from django.core.management.base import BaseCommand, CommandError
from rich import box
from rich.table import Table

from connections.client_errors import ConnectionsError
from replication.engine.lease import LeaseLost
from replication.management.commands.sync_once import find_connection
from replication.management.terminal import command_console
from replication.services.links import ConnectionBusy, ObjectReport, RebuildReport, links_rebuild

SHOWN = 20  # orphans and duplicates listed before "… and N more"


class Command(BaseCommand):
    help = (
        "Rebuild a connection's record links from the OrgSync_Source_Id__c of the records in both "
        "orgs. Reports orphan copies (origin gone) and duplicate copies; deletes no record. "
        "Exits 1 when orphans or duplicates were found."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("connection", help="connection name or id")
        parser.add_argument(
            "--dry-run", action="store_true", help="say what would be linked and removed; write nothing"
        )

    def handle(self, *args, connection: str, dry_run: bool = False, **options) -> None:
        found = find_connection(connection)
        if dry_run:
            self.stdout.write("Dry run: no link is written or removed.")
        progress = self._progress if options.get("verbosity", 1) > 1 else None
        try:
            report = links_rebuild(connection=found, dry_run=dry_run, progress=progress)
        except ConnectionBusy as exc:
            raise CommandError(str(exc)) from None
        except LeaseLost:
            raise CommandError(
                f"Another writer took “{found}” over mid-rebuild: links written so far stay; run it again."
            ) from None
        except ConnectionsError as exc:
            raise CommandError(
                f"Could not read the orgs of “{found}”: {exc}. Links written so far stay; run it again."
            ) from None
        console = command_console(self.stdout)
        console.print(summary_table(report))
        for row in report.objects:
            if row.skipped:
                self.stdout.write(f"{row.target_object} ({row.direction}) skipped: {row.skipped}.")
            if row.raced:
                self.stdout.write(
                    f"{row.target_object} ({row.direction}): {row.raced} pair(s) were linked otherwise "
                    "by another process meanwhile; run the rebuild again."
                )
        self._listing(
            "Orphan copies (their origin no longer exists; left in the orgs):",
            [f"{o.copy_id} (origin {o.origin_id})" for o in report.orphans],
        )
        self._listing(
            "Duplicate copies (the oldest copy of their origin is linked; these are not):",
            [f"{d.copy_id} (origin {d.origin_id}, linked copy {d.kept_id})" for d in report.duplicates],
        )
        if report.has_problems:
            raise CommandError(
                f"{_copies(len(report.orphans), 'orphan')} and "
                f"{_copies(len(report.duplicates), 'duplicate')} found in “{found}”: check them in the "
                "orgs, then delete or relink them by hand.",
                returncode=1,
            )
        self.stdout.write(f"{found}: links {'would be ' if dry_run else ''}rebuilt.")

    def _progress(self, row: ObjectReport) -> None:
        self.stdout.write(f"{row.target_object} ({row.direction}): {row.copies:,} copies read.")

    def _listing(self, title: str, lines: list[str]) -> None:
        if not lines:
            return
        self.stdout.write(title)
        for line in lines[:SHOWN]:
            self.stdout.write(f"  {line}")
        if len(lines) > SHOWN:
            self.stdout.write(f"  … and {len(lines) - SHOWN} more")


def summary_table(report: RebuildReport) -> Table:
    """One row per object and direction; a dry run says what *would* happen."""
    would = "would " if report.dry_run else ""
    title = f"Links of {report.connection}" + (" (dry run)" if report.dry_run else "")
    table = Table(title=title, box=box.SIMPLE_HEAD)
    table.add_column("object")
    table.add_column("direction")
    for heading in (
        "copies",
        f"{would}create",
        "kept",
        f"{would}repair",
        "orphans",
        "duplicates",
        f"stale {would}remove" if would else "stale removed",
    ):
        table.add_column(heading, justify="right")
    for row in report.objects:
        label = (
            row.source_object
            if row.source_object == row.target_object
            else f"{row.source_object} → {row.target_object}"
        )
        if row.skipped:
            table.add_row(label, row.direction, *(["—"] * 7))
            continue
        counts = (
            row.copies,
            row.created,
            row.kept,
            row.repaired,
            len(row.orphans),
            len(row.duplicates),
            row.stale_removed,
        )
        table.add_row(label, row.direction, *(f"{n:,}" for n in counts))
    return table


def _copies(n: int, kind: str) -> str:
    return f"{n:,} {kind} {'copy' if n == 1 else 'copies'}"
