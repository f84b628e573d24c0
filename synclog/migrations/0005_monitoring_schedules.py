from datetime import UTC, datetime, time, timedelta

from django.db import migrations

ALERTS = "synclog.tasks.alerts_send_due"
RETENTION = "synclog.tasks.sync_log_purge"


def next_night() -> datetime:
    """02:30 UTC tomorrow: quiet hours for most orgs."""
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(2, 30), tzinfo=UTC)


def create_schedules(apps, schema_editor):
    schedule = apps.get_model("django_q", "Schedule")
    schedule.objects.get_or_create(
        func=ALERTS,
        defaults={"name": "orgsync alerts", "schedule_type": "I", "minutes": 5, "repeats": -1},
    )
    schedule.objects.get_or_create(
        func=RETENTION,
        defaults={
            "name": "orgsync log retention",
            "schedule_type": "D",
            "repeats": -1,
            "next_run": next_night(),
        },
    )


def remove_schedules(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(func__in=[ALERTS, RETENTION]).delete()


class Migration(migrations.Migration):
    dependencies = [("synclog", "0004_retry_alerts_dashboard"), ("django_q", "0018_task_success_index")]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
