"""Pre-flight one record of a published object: the exact payload, written nowhere."""

from django.core.management.base import BaseCommand, CommandError

from connections.client_errors import SalesforceApiError
from replication.errors import ReplicationError
from replication.management.commands.sync_once import find_connection
from replication.models import Direction, PublishedObject
from replication.services import publication_preflight


class Command(BaseCommand):
    help = (
        "Show what one record (the latest changed, or --id) would become in the target org. Writes nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("connection", help="connection name or id")
        parser.add_argument("object", help="published source object, e.g. Account")
        parser.add_argument("--id", default="", help="the source record Id (default: the latest changed)")
        parser.add_argument(
            "--direction", choices=[d.value for d in Direction], default=Direction.PRIMARY_TO_SECONDARY
        )

    def handle(self, *args, connection: str, object: str, id: str, direction: str, **options) -> None:
        found = find_connection(connection)
        publication = PublishedObject.objects.filter(
            connection=found, direction=direction, source_object__iexact=object
        ).first()
        if publication is None:
            raise CommandError(f"{object} is not published on {found} ({direction}).")
        try:
            result = publication_preflight(publication=publication, record_id=id)
        except (ReplicationError, SalesforceApiError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{publication.source_object} {result.source_id}: {result.operation}")
        for name, value in result.payload.items():
            self.stdout.write(f"  {name} = {value!r}")
        for warning in result.warnings:
            self.stdout.write(self.style.WARNING(f"warning: {warning}"))
        for finding in result.findings:
            style = self.style.ERROR if finding.level == "error" else self.style.WARNING
            self.stdout.write(style(f"{finding.level}: {finding.message}"))
