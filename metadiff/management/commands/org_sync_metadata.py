"""Deploy a run's differences to its destination org: `manage.py org_sync_metadata DIFF_ID
[--validate-only] [--test-level LEVEL] [--tests A,B]`.

DIFF_ID is a run of the Org Synchronization History (`org_diff` prints it). Every component
only in the source or different is added or updated; components only in the destination are
deleted with `--delete`. Without `--yes` it prints what it would deploy and stops.
"""

from django.core.management.base import BaseCommand, CommandError

from connections.errors import ConnectionsError
from metadiff import services
from metadiff.errors import MetadiffError
from metadiff.models import Deployment, DiffRun


class Command(BaseCommand):
    help = "Synchronize a destination org with the differences of a run."

    def add_arguments(self, parser):
        parser.add_argument("run_id", type=int, help="id of a finished differences run")
        parser.add_argument(
            "--validate-only", action="store_true", help="checkOnly: validate, change nothing"
        )
        parser.add_argument(
            "--test-level", choices=Deployment.TestLevel.values, default=Deployment.TestLevel.NO_TEST_RUN
        )
        parser.add_argument("--tests", default="", help="test classes for RunSpecifiedTests, comma-separated")
        parser.add_argument(
            "--delete", action="store_true", help="also delete what is only in the destination"
        )
        parser.add_argument("--yes", action="store_true", help="deploy (without it: only show the plan)")

    def handle(self, *args, **options):
        run = DiffRun.objects.filter(pk=options["run_id"]).first()
        if run is None:
            raise CommandError(f"No differences run {options['run_id']}.")
        if run.status != DiffRun.Status.SUCCEEDED:
            raise CommandError(
                f"Run {run.pk} has not finished successfully ({run.get_status_display()}): nothing to deploy."
            )
        rows = list(run.components.all())
        additions = [(c.type, c.full_name) for c in rows if c.can_add]
        deletions = [(c.type, c.full_name) for c in rows if c.can_delete] if options["delete"] else []
        for type_name, name in additions:
            self.stdout.write(f"add/update  {type_name} {name}")
        for type_name, name in deletions:
            self.stdout.write(f"delete      {type_name} {name}")
        if not options["yes"] and not options["validate_only"]:
            self.stdout.write("Nothing deployed: pass --yes to deploy (or --validate-only to validate).")
            return
        try:
            deployment = services.deployment_start(
                run=run,
                additions=additions,
                deletions=deletions,
                validate_only=options["validate_only"],
                test_level=options["test_level"],
                run_tests=options["tests"].split(","),
            )
        except (MetadiffError, ConnectionsError) as exc:
            raise CommandError(" ".join(str(exc).split())) from None
        deployment.refresh_from_db()
        self.stdout.write(deployment.log.rstrip())
        if deployment.status == Deployment.Status.FAILED:
            raise CommandError(f"Deployment {deployment.pk} failed.")
        self.stdout.write(f"Deployment {deployment.pk}: {deployment.get_status_display()}")
