"""What happened: the sync log, run summaries and the alerts sent (the connection history is
`connections.ConnectionEvent`)."""

from django.conf import settings
from django.db import models


class SyncLog(models.Model):
    """One record that failed to sync (the Organization Sync Log): Retrying while attempts
    remain, Failed when given up, Resolved when a later attempt succeeded. Never field values."""

    class Status(models.TextChoices):
        RETRYING = "retrying", "Retrying"
        FAILED = "failed", "Failed"
        RESOLVED = "resolved", "Resolved"

    connection = models.ForeignKey(
        "connections.Connection", on_delete=models.CASCADE, related_name="sync_logs"
    )
    run = models.ForeignKey("SyncRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="logs")
    direction = models.CharField(max_length=3)
    source_object = models.CharField(max_length=80)
    source_id = models.CharField(max_length=18)
    target_id = models.CharField(max_length=18, blank=True)
    action = models.CharField(max_length=30)
    status = models.CharField(max_length=10, choices=Status)
    error_code = models.CharField(max_length=80, blank=True)
    message = models.CharField(max_length=1000, blank=True)
    fields = models.CharField(max_length=500, blank=True, help_text="Field API names the error names.")
    attempt = models.PositiveSmallIntegerField(default=1)
    retried_at = models.DateTimeField(
        null=True, blank=True, help_text="When an operator last sent this Failed record again."
    )
    retried_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [models.Index(fields=["connection", "status"], name="synclog_by_status")]
        permissions = [("retry_failed", "Retry failed items")]

    def __str__(self) -> str:
        return f"{self.get_status_display()} {self.source_object} {self.source_id}"


class SyncRun(models.Model):
    """One capture, apply, feeds-and-files or bulk run with its counts; always finalized, even
    when it dies."""

    class Kind(models.TextChoices):
        CAPTURE = "capture", "Capture"
        APPLY = "apply", "Apply"
        BULK = "bulk", "Bulk sync"
        FEEDS = "feeds", "Feeds and files"

    class Outcome(models.TextChoices):
        RUNNING = "running", "Running"
        FINISHED = "finished", "Finished"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        INTERRUPTED = "interrupted", "Interrupted"

    connection = models.ForeignKey("connections.Connection", on_delete=models.CASCADE, related_name="runs")
    kind = models.CharField(max_length=10, choices=Kind)
    direction = models.CharField(max_length=3, blank=True)
    started_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    processed = models.PositiveIntegerField(default=0)
    succeeded = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    filtered_out = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0, help_text="Echoes of our own writes, dropped.")
    api_calls = models.PositiveIntegerField(default=0)
    files = models.PositiveIntegerField(
        default=0, help_text="File and attachment bodies sent (Sync Feeds): one call each way per file."
    )
    file_bytes = models.PositiveBigIntegerField("file bytes", default=0, help_text="Bytes of the files sent.")
    outcome = models.CharField(max_length=12, choices=Outcome, default=Outcome.RUNNING)
    error = models.CharField(max_length=1000, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.started_at:%Y-%m-%d %H:%M:%S} {self.get_outcome_display()}"

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class Dashboard(SyncRun):
    """No table of its own: gives the monitoring dashboard its place on the admin index
    (/admin/synclog/dashboard/), the way django-q2 puts proxy models there."""

    class Meta:
        proxy = True
        verbose_name = verbose_name_plural = "dashboard"


class AlertSent(models.Model):
    """An alert that went out, so the same one is not sent twice for one window."""

    class Kind(models.TextChoices):
        FAILURES = "failures", "Failures over the threshold"
        SUSPENDED = "suspended", "Connection suspended automatically"
        QUEUE_WHILE_SUSPENDED = "queue_suspended", "Queue size while suspended"
        STALLED_CONNECTION = "stalled", "Connection stalled"
        STALLED_CLUSTER = "stalled_cluster", "Worker cluster stalled"
        RESTARTED_CLUSTER = "cluster_restart", "Worker cluster restarted"
        LOST_CLUSTER = "lost_cluster", "Worker cluster lost"
        RECONCILE_DRIFT = "reconcile_drift", "Scheduled reconcile found drift"
        OWNER_NOTICE = "owner_notice", "Connection owner told of an event"
        OWNER_FAILURES = "owner_failures", "Connection owner told of failed records"

    # None for an alert about a worker cluster (its key names the cluster's row).
    connection = models.ForeignKey(
        "connections.Connection", on_delete=models.CASCADE, related_name="+", null=True, blank=True
    )
    kind = models.CharField(max_length=16, choices=Kind)
    key = models.CharField(max_length=40, blank=True, help_text="What the alert was about, e.g. an event id.")
    recipients = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-sent_at", "-id"]
        indexes = [models.Index(fields=["connection", "kind", "sent_at"], name="synclog_alert_last")]

    def __str__(self) -> str:
        about = self.connection_id if self.connection_id is not None else f"cluster {self.key}"
        return f"{self.get_kind_display()} ({about}) at {self.sent_at:%Y-%m-%d %H:%M}"
