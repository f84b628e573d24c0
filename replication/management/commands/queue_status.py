"""The record queue at a glance: items per connection, direction, action and status."""

from django.core.management.base import BaseCommand
from django.db.models import Count, Min

from replication.models import Direction, QueueAction, QueueStatus, RecordQueueItem


def label(choices, value: str) -> str:
    """The admin's words for a stored value ("Primary → secondary" for "p2s")."""
    return dict(choices.choices).get(value, value)


class Command(BaseCommand):
    help = "Show the record queue: counts by connection, direction, action and status, and the oldest item."

    def handle(self, *args, **options) -> None:
        rows = (
            RecordQueueItem.objects.values("connection__name", "direction", "action", "status")
            .annotate(items=Count("id"), oldest=Min("enqueued_at"))
            .order_by("connection__name", "direction", "action", "status")
        )
        if not rows:
            self.stdout.write("The record queue is empty.")
            return
        self.stdout.write(
            f"{'connection':<30} {'direction':<19} {'action':<26} {'status':<26} {'items':>7}  oldest"
        )
        for row in rows:
            # The admin's labels, e.g. "Primary → secondary", "Connection Admin Suspended", "Retrying".
            self.stdout.write(
                f"{row['connection__name'][:30]:<30} {label(Direction, row['direction']):<19} "
                f"{label(QueueAction, row['action']):<26} {label(QueueStatus, row['status']):<26} "
                f"{row['items']:>7}  {row['oldest']:%Y-%m-%d %H:%M:%S}"
            )
