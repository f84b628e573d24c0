"""What the project itself keeps: the heartbeat of each worker cluster."""

import uuid

from django.db import models


class WorkerCluster(models.Model):
    """One `manage.py runworkers` process (a django-q2 cluster it supervises), as its heartbeat
    tells it. Kept in the database, not the broker, so a flushed Redis does not hide it."""

    cluster_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    workers = models.PositiveSmallIntegerField(default=0)
    task_timeout = models.PositiveIntegerField(default=600, help_text="Its django-q2 task timeout, seconds.")
    started_at = models.DateTimeField()
    heartbeat_at = models.DateTimeField()
    # The cluster (re)started at this moment: the start of the window in which progress is due.
    cluster_started_at = models.DateTimeField()
    progress_at = models.DateTimeField(null=True, blank=True, help_text="Last task started or finished.")
    tasks_started = models.PositiveBigIntegerField(default=0)
    tasks_finished = models.PositiveBigIntegerField(default=0)
    queued = models.PositiveIntegerField(default=0, help_text="Tasks waiting, at the last heartbeat.")
    engine_tick_at = models.DateTimeField(null=True, blank=True)
    engine_tick_queued_at = models.DateTimeField(null=True, blank=True)
    stalled_since = models.DateTimeField(null=True, blank=True)
    restarts = models.PositiveIntegerField(default=0)
    last_restart_reason = models.CharField(max_length=200, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.host}:{self.pid}"
