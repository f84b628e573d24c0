"""Compare two connected orgs' metadata: `manage.py org_diff SOURCE DEST [--exclude-managed]
[--members] [--csv FILE] [--pdf FILE]`. Orgs are named by label or Salesforce org id."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django.utils import timezone

from connections.models import Org
from metadiff import services
from metadiff.models import DiffRun, OrgDifference
from metadiff.reports import diff_run_csv, diff_run_pdf


def find_org(name: str) -> Org:
    org = Org.objects.filter(Q(label=name) | Q(org_id=name)).first()
    if org is None:
        raise CommandError(f"No connected org is labelled or has the id {name!r}.")
    return org


class Command(BaseCommand):
    help = "Get the metadata differences between a source org and a destination org."

    def add_arguments(self, parser):
        parser.add_argument("source", help="source org (label or org id)")
        parser.add_argument("destination", help="destination org (label or org id)")
        parser.add_argument("--name", help="name of the org difference (default: SOURCE vs DEST)")
        parser.add_argument("--exclude-managed", action="store_true", help="exclude managed package changes")
        parser.add_argument("--members", action="store_true", help="generate member differences")
        parser.add_argument("--csv", type=Path, help="write the differences to this CSV file")
        parser.add_argument("--pdf", type=Path, help="write the differences to this PDF file")

    def handle(self, *args, **options):
        source, destination = find_org(options["source"]), find_org(options["destination"])
        name = options["name"] or f"{source.label} vs {destination.label}"
        settings = {"exclude_managed": options["exclude_managed"], "member_differences": options["members"]}
        difference = OrgDifference.objects.filter(name=name).first()
        if difference is None:
            difference = services.org_difference_create(
                name=name, source_org=source, destination_org=destination, **settings
            )
        elif (difference.source_org_id, difference.destination_org_id) != (source.pk, destination.pk):
            raise CommandError(f"The org difference {name!r} compares other orgs: pass another --name.")
        else:
            OrgDifference.objects.filter(pk=difference.pk).update(**settings)
            difference.refresh_from_db()
        run = services.diff_run_start(difference=difference, trigger=DiffRun.Trigger.COMMAND)
        run.refresh_from_db()
        if not run.finished:
            self.stdout.write(f"Run {run.pk} queued (task {run.task_id}); the workers will run it.")
            return
        if run.status == DiffRun.Status.FAILED:
            raise CommandError(f"Run {run.pk} failed: {run.error}")
        for line in self._summary(run):
            self.stdout.write(line)
        if options["csv"]:
            options["csv"].write_text(diff_run_csv(run=run))
            self.stdout.write(f"CSV written to {options['csv']}")
        if options["pdf"]:
            options["pdf"].write_bytes(diff_run_pdf(run=run))
            self.stdout.write(f"PDF written to {options['pdf']}")

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
