import datetime

from django.db import migrations
from django.utils import timezone

TASK = "metadiff.tasks.daily_connection_metadata_sync"


def create_schedule(apps, schema_editor):
    """Once a day at 03:00 (server time): Org Sync's daily metadata sync of active connections."""
    now = timezone.localtime()
    first = now.replace(hour=3, minute=0, second=0, microsecond=0)
    if first <= now:
        first += datetime.timedelta(days=1)
    apps.get_model("django_q", "Schedule").objects.get_or_create(
        func=TASK,
        defaults={
            "name": "orgsync daily connection metadata sync",
            "schedule_type": "D",
            "repeats": -1,
            "next_run": first,
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(func=TASK).delete()


class Migration(migrations.Migration):
    dependencies = [("metadiff", "0002_connection_metadata_sync"), ("django_q", "0018_task_success_index")]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
