"""Run a django-q2 worker cluster under orgsync's watchdog (use this, not `qcluster`)."""

from django.core.management.base import BaseCommand

from orgsync.workers import SupervisedCluster


class Command(BaseCommand):
    help = (
        "Run a worker cluster that records its heartbeat, restarts itself when it stalls, "
        "re-queues lost work and stops within 10 s of SIGTERM."
    )

    def handle(self, *args, **options) -> None:
        raise SystemExit(SupervisedCluster().run())
