"""The record queue at a glance: items per connection, direction, action and status."""

from django.core.management.base import BaseCommand
from django.db.models import Count, Min

from replication.models import QueueAction, RecordQueueItem


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
        self.stdout.write(f"{'connection':<30} {'dir':<4} {'action':<26} {'status':<12} {'items':>7}  oldest")
        for row in rows:
            action = QueueAction(row["action"]).label  # e.g. "Connection Admin Suspended"
            self.stdout.write(
                f"{row['connection__name'][:30]:<30} {row['direction']:<4} {action:<26} "
                f"{row['status']:<12} {row['items']:>7}  {row['oldest']:%Y-%m-%d %H:%M:%S}"
            )
