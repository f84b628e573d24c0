"""Org Differences (what to compare), their runs (the Org Synchronization History), the component
differences a run found, the deployments made from a run (the Deployment History), and the
metadata sync of replication connections."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from connections.models import Connection, Org
from metadiff.compare import STATE_LABELS, State

MAX_BATCH = 10_000  # files one retrieve may hold


class OrgDifference(models.Model):
    """A named comparison of a source org with a destination org (ARM's "Org Differences")."""

    name = models.CharField(max_length=120, unique=True)
    source_org = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="+")
    destination_org = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="+")
    exclude_managed = models.BooleanField(
        "exclude baseline managed package changes",
        default=False,
        help_text="Leave out components of installed packages, and permissions on them.",
    )
    member_differences = models.BooleanField(
        "generate member differences",
        default=True,
        help_text="Also list what differs inside each component (fields, picklist values, permissions…).",
    )
    profile_batch_size = models.PositiveIntegerField(
        "batch size for profile components",
        default=500,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_BATCH)],
    )
    batch_size = models.PositiveIntegerField(
        "batch size for other components",
        default=2000,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_BATCH)],
    )
    schedule = models.OneToOneField(
        "django_q.Schedule", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("name",)
        verbose_name = "org difference"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.source_org_id and self.source_org_id == self.destination_org_id:
            raise ValidationError({"destination_org": "Choose an org other than the source org."})


class DiffRun(models.Model):
    """One run of Get Differences: a row of the Org Synchronization History."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Successful"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        MANUAL = "manual", "Manual"
        SCHEDULE = "schedule", "Schedule"
        COMMAND = "command", "Command"
        CONNECTION = "connection", "Connection metadata sync"

    difference = models.ForeignKey(OrgDifference, on_delete=models.CASCADE, related_name="runs")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=12, choices=Trigger.choices, default=Trigger.MANUAL)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # settings as they were for this run (the difference may be edited later)
    exclude_managed = models.BooleanField(default=False)
    member_differences = models.BooleanField(default=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done.")
    progress_message = models.CharField(max_length=200, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    types = models.JSONField(default=dict, blank=True, help_text="Metadata types of the source org.")
    api_version = models.CharField(max_length=8, blank=True)
    log = models.TextField(blank=True)
    error = models.TextField(blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(
        default=timezone.now, help_text="When its task was last queued (services.lost_work_requeue)."
    )
    started_at = models.DateTimeField(null=True, blank=True)
    progress_at = models.DateTimeField(
        null=True, blank=True, help_text="Its last progress or log line while running."
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-pk")
        verbose_name = "org synchronization"
        verbose_name_plural = "org synchronization history"
        indexes = [models.Index(fields=("status", "queued_at"), name="metadiff_run_waiting")]

    def __str__(self) -> str:
        return f"{self.difference.name} #{self.pk}"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)


class ComponentDifference(models.Model):
    """One component of either org and its state in one run."""

    run = models.ForeignKey(DiffRun, on_delete=models.CASCADE, related_name="components")
    type = models.CharField(max_length=80)
    full_name = models.CharField(max_length=255)
    state = models.CharField(max_length=20, choices=[(s.value, label) for s, label in STATE_LABELS.items()])
    managed = models.BooleanField(default=False)
    namespace = models.CharField(max_length=40, blank=True)
    members = models.JSONField(default=list, blank=True)  # [{"member", "state", "changes"}]
    source_body = models.JSONField(null=True, blank=True)  # what a deployment sends
    source_content = models.TextField(blank=True)  # Apex source (types with a -meta.xml file)

    class Meta:
        ordering = ("type", "full_name")
        constraints = [
            models.UniqueConstraint(fields=("run", "type", "full_name"), name="metadiff_component_once")
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.full_name}"

    @property
    def state_label(self) -> str:
        return STATE_LABELS[State(self.state)]

    @property
    def can_add(self) -> bool:
        return self.state in (State.ONLY_SOURCE, State.DIFFERENT) and not self.managed

    @property
    def can_delete(self) -> bool:
        return self.state == State.ONLY_DESTINATION and not self.managed


class Deployment(models.Model):
    """A synchronization deployment built from a run (the Deployment History)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        IN_PROGRESS = "in_progress", "In progress"
        SUCCEEDED = "succeeded", "Succeeded"
        SUCCEEDED_PARTIAL = "succeeded_partial", "Succeeded partially"
        FAILED = "failed", "Failed"

    class TestLevel(models.TextChoices):
        NO_TEST_RUN = "NoTestRun", "No test run"
        RUN_SPECIFIED_TESTS = "RunSpecifiedTests", "Run specified tests"
        RUN_LOCAL_TESTS = "RunLocalTests", "Run local tests"
        RUN_ALL_TESTS_IN_ORG = "RunAllTestsInOrg", "Run all tests in org"

    run = models.ForeignKey(DiffRun, on_delete=models.CASCADE, related_name="deployments")
    additions = models.JSONField(default=list, blank=True)  # [[type, full name], …]
    deletions = models.JSONField(default=list, blank=True)
    validate_only = models.BooleanField("validate deployment", default=False)
    test_level = models.CharField(max_length=20, choices=TestLevel.choices, default=TestLevel.NO_TEST_RUN)
    run_tests = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    async_id = models.CharField(max_length=18, blank=True)
    components_total = models.PositiveIntegerField(default=0)
    components_deployed = models.PositiveIntegerField(default=0)
    tests_total = models.PositiveIntegerField(default=0)
    component_errors = models.JSONField(default=list, blank=True)  # [{"type", "name", "problem"}]
    test_failures = models.JSONField(default=list, blank=True)  # [{"class", "method", "message"}]
    coverage_warnings = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    log = models.TextField(blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    task_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(
        default=timezone.now, help_text="When its task was last queued (services.lost_work_requeue)."
    )
    started_at = models.DateTimeField(null=True, blank=True, help_text="When a worker took it up.")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-pk")
        verbose_name = "deployment"
        verbose_name_plural = "deployment history"
        indexes = [models.Index(fields=("status", "queued_at"), name="metadiff_deployment_waiting")]

    def __str__(self) -> str:
        kind = "Validation" if self.validate_only else "Deployment"
        return f"{kind} #{self.pk} of {self.run.difference.name}"


class ConnectionMetadataSync(models.Model):
    """The metadata sync of a replication connection (Org Sync's *Sync Metadata*): the outcome of
    its last run and the metadata gaps left that would break record sync (metadiff.gaps).

    Each run is also a row of the Org Synchronization History (`last_run`, under `difference`)
    and, when something was deployed, of the Deployment History (`last_deployment`)."""

    Status = DiffRun.Status

    class Trigger(models.TextChoices):
        ACCEPT = "accept", "Connection accepted"
        DAILY = "daily", "Daily metadata sync"
        MANUAL = "manual", "Run by an admin"

    connection = models.OneToOneField(Connection, on_delete=models.CASCADE, related_name="metadata_sync")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=12, choices=Trigger.choices, default=Trigger.ACCEPT)
    difference = models.ForeignKey(
        OrgDifference, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_run = models.ForeignKey(DiffRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    last_deployment = models.ForeignKey(
        Deployment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    deployed = models.JSONField(default=list, blank=True)  # [[type, full name], …] of the last run
    gaps = models.JSONField(default=list, blank=True)  # MetadataGap.as_dict() of the last run
    error = models.TextField(blank=True)
    log = models.TextField(blank=True)
    queued_at = models.DateTimeField(
        default=timezone.now, help_text="When its task was last queued (services.lost_work_requeue)."
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("connection__name",)
        verbose_name = "connection metadata sync"

    def __str__(self) -> str:
        return f"Metadata sync of {self.connection}"
