"""manage.py send_alerts: mail the alerts that are due now (also scheduled every 5 minutes)."""

from django.core.management.base import BaseCommand

from synclog.alerts import alerts_send_due


class Command(BaseCommand):
    help = "Email failures over the threshold, automatic suspensions and queue sizes while suspended."

    def handle(self, *args, **options) -> None:
        sent = alerts_send_due()
        for alert in sent:
            self.stdout.write(f"sent: {alert.subject}")
        self.stdout.write(f"{len(sent)} alert(s) sent.")
