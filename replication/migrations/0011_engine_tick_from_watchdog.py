"""The engine tick is queued by every worker cluster's watchdog (`orgsync.work`), no longer by a
django-q2 schedule: one tick per live cluster, started again as soon as one ends or is lost."""

from django.db import migrations

TASK = "replication.tasks.engine_tick"


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(func=TASK).delete()


def create_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.get_or_create(
        func=TASK, defaults={"name": "orgsync engine", "schedule_type": "I", "minutes": 1, "repeats": -1}
    )


class Migration(migrations.Migration):
    dependencies = [("replication", "0010_engine_failed_cycles"), ("django_q", "0018_task_success_index")]

    operations = [migrations.RunPython(remove_schedule, create_schedule)]
