"""Compare two connected orgs' metadata: `manage.py org_diff SOURCE DEST [--exclude-managed]
[--members] [--csv FILE] [--pdf FILE] [--no-wait]`. Orgs are named by label or Salesforce org id.

The workers run the comparison; the command waits for it, printing its progress, then prints the
differences and writes the reports. With `--no-wait` it only queues the run (and writes no
report); `manage.py org_diff --run ID --csv FILE --pdf FILE` writes the reports of a finished run.
"""

import time
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django.utils import timezone

from connections.models import Org
from metadiff import services
from metadiff.models import DiffRun, OrgDifference
from metadiff.reports import diff_run_csv, diff_run_pdf

POLL_SECONDS = 2.0
# A run still queued after this long: say the workers may not be running.
QUEUED_HINT_SECONDS = 30.0


def find_org(name: str) -> Org:
    org = Org.objects.filter(Q(label=name) | Q(org_id=name)).first()
    if org is None:
        labels = ", ".join(Org.objects.order_by("label").values_list("label", flat=True)) or "none"
        raise CommandError(f"No connected org is labelled or has the id {name!r}. Orgs: {labels}.")
    return org


def one_line(error: ValidationError) -> str:
    return " ".join(error.messages)


def pause(seconds: float) -> None:
    time.sleep(seconds)


class Command(BaseCommand):
    help = (
        "Get the metadata differences between a source org and a destination org: waits for the "
        "workers to run the comparison, then prints it and writes the --csv/--pdf reports."
    )

    def add_arguments(self, parser):
        parser.add_argument("source", nargs="?", help="source org (label or org id)")
        parser.add_argument("destination", nargs="?", help="destination org (label or org id)")
        parser.add_argument("--name", help="name of the org difference (default: SOURCE vs DEST)")
        parser.add_argument("--exclude-managed", action="store_true", help="exclude managed package changes")
        parser.add_argument("--members", action="store_true", help="generate member differences")
        parser.add_argument("--csv", type=Path, help="write the differences to this CSV file")
        parser.add_argument("--pdf", type=Path, help="write the differences to this PDF file")
        parser.add_argument(
            "--no-wait",
            action="store_true",
            help="only queue the run; print its id and write no report (get them later with --run)",
        )
        parser.add_argument(
            "--timeout",
            type=float,
            default=3600,
            help="seconds to wait for the run (default 3600); it goes on in the workers after that",
        )
        parser.add_argument(
            "--run",
            type=int,
            metavar="RUN_ID",
            help="no new run: print and write the reports of this finished run instead",
        )

    def handle(self, *args, **options):
        self._check_report_paths(options)
        if options["run"] is not None:
            if options["source"] or options["destination"]:
                raise CommandError("Pass either SOURCE and DESTINATION or --run RUN_ID, not both.")
            run = DiffRun.objects.filter(pk=options["run"]).first()
            if run is None:
                raise CommandError(f"No differences run {options['run']}.")
            if not run.finished:
                raise CommandError(f"Run {run.pk} has not finished yet ({run.get_status_display()}).")
        else:
            if not (options["source"] and options["destination"]):
                raise CommandError("Name the SOURCE and DESTINATION orgs (or pass --run RUN_ID).")
            run = self._start(options)
            if not run.finished:
                if options["no_wait"]:
                    self._queued(run, options)
                    return
                run = self._wait(run, options)
        if run.status == DiffRun.Status.FAILED:
            raise CommandError(f"Run {run.pk} failed: {' '.join(run.error.split())}")
        for line in self._summary(run):
            self.stdout.write(line)
        self._write_reports(run, options)

    # --- steps ------------------------------------------------------------------------------
    @staticmethod
    def _check_report_paths(options) -> None:
        """Refuse a report path that can't be written before anything runs."""
        for option in ("csv", "pdf"):
            path = options[option]
            if path is None:
                continue
            if path.is_dir():
                raise CommandError(f"--{option} {path} is a directory: name a file.")
            if not path.parent.is_dir():
                raise CommandError(f"--{option} {path}: the directory {path.parent} does not exist.")

    def _start(self, options) -> DiffRun:
        source, destination = find_org(options["source"]), find_org(options["destination"])
        if source.pk == destination.pk:
            raise CommandError(
                f"The source and destination are the same org ({source.label}): name two orgs."
            )
        name = options["name"] or f"{source.label} vs {destination.label}"
        settings = {"exclude_managed": options["exclude_managed"], "member_differences": options["members"]}
        difference = OrgDifference.objects.filter(name=name).first()
        try:
            if difference is None:
                difference = services.org_difference_create(
                    name=name, source_org=source, destination_org=destination, **settings
                )
            elif (difference.source_org_id, difference.destination_org_id) != (source.pk, destination.pk):
                raise CommandError(f"The org difference {name!r} compares other orgs: pass another --name.")
            else:
                OrgDifference.objects.filter(pk=difference.pk).update(**settings)
                difference.refresh_from_db()
        except ValidationError as exc:
            raise CommandError(one_line(exc)) from None
        run = services.diff_run_start(difference=difference, trigger=DiffRun.Trigger.COMMAND)
        run.refresh_from_db()
        return run

    def _queued(self, run: DiffRun, options) -> None:
        self.stdout.write(f"Run {run.pk} queued (task {run.task_id}); the workers will run it.")
        self.stdout.write(f"Not waiting for it: {self._later(run, options)}")

    def _later(self, run: DiffRun, options) -> str:
        """How to get the reports of a run once it has finished."""
        reports = [f"--{o} {options[o]}" for o in ("csv", "pdf") if options[o]]
        if not reports:
            return f"when it has finished, `manage.py org_diff --run {run.pk}` prints its differences."
        return (
            "the reports were not written. When the run has finished, write them with "
            f"`manage.py org_diff --run {run.pk} {' '.join(reports)}` "
            "(or download them from the run in the admin, Org Synchronization History)."
        )

    def _wait(self, run: DiffRun, options) -> DiffRun:
        self.stdout.write(f"Run {run.pk} queued (task {run.task_id}); waiting for the workers to run it.")
        started = time.monotonic()
        shown, hinted = None, False
        try:
            while not run.finished:
                progress = (run.status, run.progress, run.progress_message)
                if progress != shown:
                    self.stdout.write(
                        f"Run {run.pk}: {run.get_status_display()}, {run.progress} % {run.progress_message}"
                    )
                    shown = progress
                waited = time.monotonic() - started
                if run.status == DiffRun.Status.QUEUED and waited >= QUEUED_HINT_SECONDS and not hinted:
                    self.stdout.write(
                        f"Run {run.pk} is still queued after {waited:.0f} s: are the workers running "
                        "(`manage.py runworkers`, or `make run`)?"
                    )
                    hinted = True
                if waited >= options["timeout"]:
                    raise CommandError(
                        f"Run {run.pk} has not finished after {options['timeout']:g} s "
                        f"({run.get_status_display()}, {run.progress} %); it goes on in the workers: "
                        + self._later(run, options)
                    )
                pause(min(POLL_SECONDS, max(options["timeout"] - waited, 0)))
                run.refresh_from_db()
        except KeyboardInterrupt:
            raise CommandError(
                f"Stopped waiting; run {run.pk} goes on in the workers: {self._later(run, options)}"
            ) from None
        return run

    def _write_reports(self, run: DiffRun, options) -> None:
        try:
            if options["csv"]:
                options["csv"].write_text(diff_run_csv(run=run))
                self.stdout.write(f"CSV written to {options['csv']}")
            if options["pdf"]:
                options["pdf"].write_bytes(diff_run_pdf(run=run))
                self.stdout.write(f"PDF written to {options['pdf']}")
        except OSError as exc:
            raise CommandError(
                f"Could not write the report: {exc.strerror or exc} ({exc.filename})."
            ) from None

    @staticmethod
    def _summary(run: DiffRun):
        finished = timezone.localtime(run.finished_at)
        yield f"Run {run.pk} of {run.difference.name} finished {finished:%Y-%m-%d %H:%M}"
        yield "  ".join(f"{k.replace('_', ' ')}: {v}" for k, v in run.counts.items())
        for row in run.components.exclude(state="identical"):
            yield f"{row.state_label:<20} {row.type:<16} {row.full_name}"
            for member in row.members:
                changes = "; ".join(member["changes"])
                yield f"{'':<20}   {member['member']}: {member['state'].replace('_', ' ')}" + (
                    f" ({changes})" if changes else ""
                )
