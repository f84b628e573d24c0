"""Publish/subscribe configuration of a connection (Org Sync / S2S vocabulary).

A *publication* is one object of one org that a connection sends to the other org, in one
direction; its *subscription* says which object of the other org receives it and how fields map.
Two-way connections have a publication per direction.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from connections.models import Connection

EXTERNAL_ID_FIELD = "OrgSync_Source_Id__c"


class Direction(models.TextChoices):
    PRIMARY_TO_SECONDARY = "p2s", "Primary → secondary"
    SECONDARY_TO_PRIMARY = "s2p", "Secondary → primary"


class OwnerStrategy(models.TextChoices):
    MATCH_USERNAME = "match_username", "Match by username (.dr suffix), else the connection owner"
    FIXED = "fixed", "Fixed owner"
    ROUND_ROBIN = "round_robin", "Round robin over chosen users"
    PASS_THROUGH = "pass_through", "Pass through (same owner Id)"


class PublishedObject(models.Model):
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="published_objects")
    direction = models.CharField(max_length=3, choices=Direction, default=Direction.PRIMARY_TO_SECONDARY)
    source_object = models.CharField(max_length=80, help_text="API name in the source org, e.g. Account.")
    is_published = models.BooleanField(default=True)
    sync_created = models.BooleanField("sync created records", default=True)
    sync_updated = models.BooleanField("sync updated records", default=True)
    sync_deleted = models.BooleanField("sync deleted and undeleted records", default=True)
    sort_order = models.PositiveSmallIntegerField(
        default=0, help_text="Parents before children: lower numbers are applied first."
    )
    filter_conditions = models.JSONField(
        default=list, blank=True, help_text="Only records matching every condition are synced."
    )
    owner_strategy = models.CharField(
        max_length=20, choices=OwnerStrategy, default=OwnerStrategy.MATCH_USERNAME
    )
    owner_user_ids = models.JSONField(
        default=list, blank=True, help_text="Target-org user Ids: one for Fixed, several for Round robin."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["connection", "direction", "sort_order", "source_object"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "direction", "source_object"], name="replication_one_publication"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source_object} ({self.get_direction_display()}, {self.connection})"

    @property
    def source_org(self):
        c = self.connection
        return c.primary_org if self.direction == Direction.PRIMARY_TO_SECONDARY else c.secondary_org

    @property
    def target_org(self):
        c = self.connection
        return c.secondary_org if self.direction == Direction.PRIMARY_TO_SECONDARY else c.primary_org


class PublishedField(models.Model):
    published_object = models.ForeignKey(PublishedObject, on_delete=models.CASCADE, related_name="fields")
    source_field = models.CharField(max_length=80)
    is_published = models.BooleanField(default=True)
    unsupported_reason = models.CharField(
        max_length=300, blank=True, help_text="Why the field cannot be published (shown greyed out)."
    )

    class Meta:
        ordering = ["published_object", "source_field"]
        constraints = [
            models.UniqueConstraint(fields=["published_object", "source_field"], name="replication_one_field")
        ]

    def __str__(self) -> str:
        return self.source_field


class SubscribedObject(models.Model):
    published_object = models.OneToOneField(
        PublishedObject, on_delete=models.CASCADE, related_name="subscription"
    )
    target_object = models.CharField(max_length=80, help_text="API name in the target org.")
    auto_accept = models.BooleanField(
        default=True,
        help_text="Off: incoming records wait in Pending acceptance until an admin accepts them.",
    )
    external_id_ready = models.BooleanField(
        default=False, help_text=f"{EXTERNAL_ID_FIELD} exists on the target object."
    )
    analyzed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["published_object"]

    def __str__(self) -> str:
        return f"{self.published_object.source_object} → {self.target_object}"


class SubscribedField(models.Model):
    subscribed_object = models.ForeignKey(SubscribedObject, on_delete=models.CASCADE, related_name="fields")
    source_field = models.CharField(max_length=80)
    target_field = models.CharField(max_length=80, blank=True, help_text="Blank: not synced.")

    class Meta:
        ordering = ["subscribed_object", "source_field"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscribed_object", "source_field"], name="replication_one_mapping_per_field"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source_field} → {self.target_field or '(not mapped)'}"


class RecordLink(models.Model):
    """Two records, one in each org of a connection, that are the same record (S2S's
    PartnerNetworkRecordConnection). The external-id field in each target holds the source Id,
    so links can be rebuilt from the orgs themselves.

    Keyed hashes (never the values) decide what is worth writing:
    `*_state_hash` is what that side holds in the fields the other direction writes into it, as
    last read or written by orgsync — a payload hashing the same would change nothing there (the
    echo of our own write); `*_sent_hash` is the last payload a direction computed from its
    source — the same again means the source did not change (a re-read), so nothing is sent.
    """

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="record_links")
    primary_object = models.CharField(max_length=80)
    primary_id = models.CharField(max_length=18)
    secondary_object = models.CharField(max_length=80)
    secondary_id = models.CharField(max_length=18)
    primary_state_hash = models.CharField(max_length=64, blank=True)
    secondary_state_hash = models.CharField(max_length=64, blank=True)
    p2s_sent_hash = models.CharField(max_length=64, blank=True)
    s2p_sent_hash = models.CharField(max_length=64, blank=True)
    is_deleted = models.BooleanField(default=False, help_text="Deleted on both sides (undelete restores).")
    created_at = models.DateTimeField(auto_now_add=True)
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "primary_id"], name="replication_link_primary"),
            models.UniqueConstraint(fields=["connection", "secondary_id"], name="replication_link_secondary"),
        ]

    def __str__(self) -> str:
        return f"{self.primary_object} {self.primary_id} ⇄ {self.secondary_id}"


class PendingChildCopy(models.Model):
    """A feed child (post, comment, file share, file or attachment) a Sync Feeds step is about to
    copy. The orgs have no identity field on these objects, so this row is written before the
    copy and deleted in the transaction that links it: one left behind means a worker died in
    between, and the next step looks for the copy in the target before writing it again."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="+")
    direction = models.CharField(max_length=3, choices=Direction.choices)
    source_object = models.CharField(max_length=80)
    source_id = models.CharField(max_length=18)
    parent_id = models.CharField(max_length=18, help_text="The source record the child belongs to.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "direction", "source_id"], name="replication_pending_child_copy"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source_object} {self.source_id} ({self.get_direction_display()})"


class QueueAction(models.TextChoices):
    """The Organization Sync record queue's Action values orgsync uses."""

    GENERIC_INSERT = "generic_insert", "Generic Insert"
    GENERIC_UPDATE = "generic_update", "Generic Update"
    REPLICATION_DELETE = "replication_delete", "Replication Delete"
    REPLICATION_UNDELETE = "replication_undelete", "Replication Undelete"
    BULK_SYNC = "bulk_sync", "Bulk Sync"
    BULK_SYNC_USERS = "bulk_sync_users", "Bulk Sync Users"
    USER_UPSERT = "user_upsert", "User Upsert"
    CONNECTION_ADMIN_SUSPENDED = "connection_admin_suspended", "Connection Admin Suspended"
    CONNECTION_ADMIN_RESUMED = "connection_admin_resumed", "Connection Admin Resumed"
    CONNECTION_SUSPENDED = "connection_suspended", "Connection Suspended"
    CONNECTION_RESUMED = "connection_resumed", "Connection Resumed"


class QueueStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    IN_PROGRESS = "in_progress", "In Progress"
    RETRYING = "retrying", "Retrying"
    PENDING_ACCEPTANCE = "pending", "Pending acceptance"
    CONFLICT = "conflict", "Held: changed in both orgs"


class RecordQueueItem(models.Model):
    """One pending change of one record in one direction (the Organization Sync Record Queue).

    Later changes of the same record collapse into it (`version` goes up), because apply reads
    the record's latest state; apply removes the item only if its version did not move meanwhile.
    """

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="queue_items")
    direction = models.CharField(max_length=3, choices=Direction)
    source_object = models.CharField(max_length=80)
    source_id = models.CharField(max_length=18)
    action = models.CharField(max_length=30, choices=QueueAction)
    status = models.CharField(max_length=12, choices=QueueStatus, default=QueueStatus.QUEUED)
    version = models.PositiveIntegerField(default=1)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_retry_at = models.DateTimeField("next retry date", null=True, blank=True, db_index=True)
    enqueued_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    claimed_by = models.CharField(max_length=64, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_expires_at = models.DateTimeField(null=True, blank=True)
    last_error_code = models.CharField(max_length=80, blank=True)
    last_error_message = models.CharField(max_length=500, blank=True)
    accepted = models.BooleanField(
        default=False, help_text="An admin accepted this new record (subscriptions without Auto-Accept)."
    )

    class Meta:
        ordering = ["enqueued_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "direction", "source_id"], name="replication_one_pending_item"
            )
        ]
        indexes = [models.Index(fields=["connection", "direction", "status"], name="replication_queue_claim")]
        permissions = [("retry_recordqueueitem", "Retry queued records now")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.source_object} {self.source_id}"


class ChangeCursor(models.Model):
    """How far capture has read one object of one org for one direction: the position
    (`modstamp`, `position_id`) of the last record captured and the org's time of the last query
    (`server_time`); `replication.engine.capture` explains the window they make."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="cursors")
    direction = models.CharField(max_length=3, choices=Direction)
    source_object = models.CharField(max_length=80)
    modstamp = models.DateTimeField(
        null=True, blank=True, help_text="Position: SystemModstamp of the last record captured."
    )
    position_id = models.CharField(
        max_length=18, blank=True, default="", help_text="Position: Id of the last record captured."
    )
    server_time = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The org's time of the last capture query (empty: the next one re-reads 5 s).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "direction", "source_object"], name="replication_one_cursor"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source_object} ({self.direction}) at {self.modstamp}"


class EngineSchedule(models.Model):
    """When a connection's next sync cycle is due, and who writes to its orgs now: the
    connection's lease (`replication.engine.lease`). `lease_token` grows by one on every
    acquisition, so a writer that lost the lease can tell before its next write (fencing)."""

    connection = models.OneToOneField(Connection, on_delete=models.CASCADE, related_name="engine_schedule")
    next_cycle_at = models.DateTimeField(db_index=True)
    idle_cycles = models.PositiveIntegerField(default=0)
    lease_holder = models.CharField(max_length=80, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_token = models.PositiveBigIntegerField(default=0)
    cycle_requested_at = models.DateTimeField(
        null=True, blank=True, help_text='A "Sync now" (or forward) that arrived while a cycle ran.'
    )
    failed_cycles = models.PositiveIntegerField(
        default=0, help_text="Cycles in a row that ended in an exception (0 after one that did not)."
    )
    last_cycle_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    def __str__(self) -> str:
        return f"{self.connection} next at {self.next_cycle_at:%H:%M:%S}"


class RejectedRecord(models.Model):
    """A new record an admin rejected (subscriptions without Auto-Accept): it is not offered again."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="rejected_records")
    direction = models.CharField(max_length=3, choices=Direction)
    source_object = models.CharField(max_length=80)
    source_id = models.CharField(max_length=18)
    rejected_at = models.DateTimeField(auto_now_add=True)
    rejected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "direction", "source_id"], name="replication_one_rejection"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source_object} {self.source_id} (rejected)"


class BulkSync(models.Model):
    """One bulk sync of a connection in one direction (Org Sync's *Bulk Sync*): copies the records
    of the chosen published objects that are not linked yet, object by object, parents first.

    Progress is checkpointed per object (see :class:`BulkSyncObject`), so an interrupted run —
    SIGTERM, SIGKILL, a worker crash, an org outage — resumes where it stopped.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        INTERRUPTED = "interrupted", "Interrupted (resumes)"
        COMPLETED = "completed", "Completed"
        COMPLETED_WITH_FAILURES = "completed_failures", "Completed with failures"
        CANCELLED = "cancelled", "Cancelled"
        FAILED = "failed", "Failed"

    ACTIVE = (Status.QUEUED, Status.RUNNING, Status.INTERRUPTED)

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="bulk_syncs")
    direction = models.CharField(max_length=3, choices=Direction, default=Direction.PRIMARY_TO_SECONDARY)
    since = models.DateTimeField(
        "cutoff date", null=True, blank=True, help_text="Records created or modified on or after this date."
    )
    limit = models.PositiveIntegerField(
        "number of entities", null=True, blank=True, help_text="The most recently modified N per object."
    )
    dry_run = models.BooleanField(default=False, help_text="Count what would be copied; write nothing.")
    status = models.CharField(max_length=20, choices=Status, default=Status.QUEUED)
    cancel_requested = models.BooleanField(default=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    run = models.ForeignKey(
        "synclog.SyncRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lease_holder = models.CharField(max_length=80, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection"],
                condition=models.Q(status__in=["queued", "running", "interrupted"]),
                name="replication_one_active_bulk_sync",
            )
        ]

    def __str__(self) -> str:
        kind = "Dry run" if self.dry_run else "Bulk sync"
        return f"{kind} #{self.pk} of {self.connection} ({self.get_status_display()})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE


class BulkSyncObject(models.Model):
    """One object of a bulk sync: its counts and its checkpoint.

    The checkpoint is the Bulk API query job, the locator of the next result page not yet
    written and, for the page being written, `page_checkpoint`: how many of its rows are in ingest
    jobs, the counts then, and the ingest jobs in flight. A resumed run reads those jobs' results
    back instead of sending their records again, then goes on with the page's next row.
    """

    class Path(models.TextChoices):
        BULK = "bulk", "Bulk API 2.0"
        REST = "rest", "REST collections"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    bulk_sync = models.ForeignKey(BulkSync, on_delete=models.CASCADE, related_name="sync_objects")
    position = models.PositiveSmallIntegerField(default=0)
    source_object = models.CharField(max_length=80)
    target_object = models.CharField(max_length=80)
    path = models.CharField(max_length=4, choices=Path, blank=True)
    status = models.CharField(max_length=10, choices=Status, default=Status.PENDING)
    total = models.PositiveIntegerField(null=True, blank=True, help_text="Records in scope in the source.")
    processed = models.PositiveIntegerField(default=0)
    inserted = models.PositiveIntegerField(default=0)
    linked = models.PositiveIntegerField(
        default=0, help_text="Already in the target with this source Id: linked, not copied."
    )
    skipped = models.PositiveIntegerField(default=0, help_text="Already linked, or filtered out.")
    failed = models.PositiveIntegerField(default=0)
    held_back = models.PositiveIntegerField(default=0, help_text="Children of records that failed.")
    queued = models.PositiveIntegerField(
        default=0, help_text="Parent outside this sync: handed to the record queue, which sends it first."
    )
    query_job_id = models.CharField(max_length=40, blank=True)
    next_locator = models.CharField(max_length=200, blank=True)
    page_checkpoint = models.JSONField(
        default=dict,
        blank=True,
        help_text="The page being written: its rows in ingest jobs (`rows`), the counts then "
        "(`counts`), the ingest jobs in flight (`jobs`) and the one being uploaded (`uploading`).",
    )
    files = models.PositiveIntegerField(
        default=0, help_text="Files and attachments of its records sent (Sync Feeds)."
    )
    file_bytes = models.PositiveBigIntegerField("file bytes", default=0, help_text="Bytes of those files.")
    api_calls = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=1000, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["bulk_sync", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["bulk_sync", "source_object"], name="replication_bulk_object_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source_object} → {self.target_object}"


class DifferenceKind(models.TextChoices):
    """What reconcile finds wrong between two orgs (docs/reconcile.md explains each)."""

    MISSING = "missing", "Missing in the target"
    ORPHAN = "orphan", "Orphan copy"
    DUPLICATE = "duplicate", "Duplicate copy"
    DRIFT = "drift", "Field drift"
    BROKEN_LOOKUP = "broken_lookup", "Broken lookup"
    BROKEN_LINK = "broken_link", "Broken link"


class ReconcileRun(models.Model):
    """One reconcile of a connection: both orgs compared for every published object and
    direction (or the chosen ones), with counts by object and class and, with `repair`, what was
    handed to the record queue. Only Ids and field names are kept, never field values."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="reconcile_runs")
    direction = models.CharField(max_length=3, choices=Direction, blank=True, help_text="Blank: both.")
    source_object = models.CharField(max_length=80, blank=True, help_text="Blank: every published object.")
    repair = models.BooleanField(default=False, help_text="Hand what differs to the record queue.")
    dry_run = models.BooleanField(default=False, help_text="Say what repair would do; change nothing.")
    delete_extra = models.BooleanField(
        "delete duplicates and orphans",
        default=False,
        help_text="With repair: delete duplicate and orphan copies (otherwise they are only reported).",
    )
    scheduled = models.BooleanField(default=False, help_text="Started by the connection's schedule.")
    status = models.CharField(max_length=10, choices=Status, default=Status.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    phase = models.CharField(max_length=200, blank=True, help_text="What the run is doing now.")
    records_total = models.PositiveIntegerField(default=0, help_text="Records to read, both orgs.")
    records_read = models.PositiveIntegerField(default=0)
    pairs_compared = models.PositiveIntegerField(default=0)
    differences = models.PositiveIntegerField(default=0)
    in_flight = models.PositiveIntegerField(
        default=0,
        help_text="Records changed within the settle window or waiting in the queue: the engine has "
        "them in hand, so they were not judged.",
    )
    counts = models.JSONField(
        default=dict, blank=True, help_text="Differences per object and class: {object: {class: n}}."
    )
    repairs = models.JSONField(
        default=dict, blank=True, help_text="Repair actions taken (or planned): {action: n}."
    )
    api_calls = models.PositiveIntegerField(default=0)
    lease_holder = models.CharField(max_length=80, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection"],
                condition=models.Q(status__in=["queued", "running"]),
                name="replication_one_active_reconcile",
            )
        ]

    def __str__(self) -> str:
        return f"Reconcile #{self.pk} of {self.connection} ({self.get_status_display()})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE


class ReconcileDifference(models.Model):
    """One difference a reconcile found (a capped sample per object and class; the run's
    `counts` are exact). Ids and field names only."""

    run = models.ForeignKey(ReconcileRun, on_delete=models.CASCADE, related_name="found")
    direction = models.CharField(max_length=3, choices=Direction)
    source_object = models.CharField(max_length=80)
    target_object = models.CharField(max_length=80)
    kind = models.CharField(max_length=14, choices=DifferenceKind)
    source_id = models.CharField(max_length=18, blank=True)
    target_id = models.CharField(max_length=18, blank=True)
    fields = models.CharField(max_length=1000, blank=True, help_text="The fields that differ.")
    changed_last = models.CharField(
        max_length=9, blank=True, help_text="Drift: the org whose record changed last (primary/secondary)."
    )
    detail = models.CharField(max_length=300, blank=True)
    repair = models.CharField(max_length=200, blank=True, help_text="What repair did, or would do.")

    class Meta:
        ordering = ["run", "id"]
        indexes = [models.Index(fields=["run", "kind"], name="replication_difference_kind")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.source_object} {self.source_id or self.target_id}"


class ReconcileSchedule(models.Model):
    """A connection's scheduled reconcile (off until an admin turns it on; nightly by default)."""

    connection = models.OneToOneField(Connection, on_delete=models.CASCADE, related_name="reconcile_schedule")
    enabled = models.BooleanField(default=False)
    every_hours = models.PositiveSmallIntegerField(
        default=24,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 7)],
        help_text="Hours between two reconciles (24: nightly).",
    )
    hour = models.PositiveSmallIntegerField(
        default=2,
        validators=[MaxValueValidator(23)],
        help_text="Hour of the day (UTC, 0 to 23) of the first run, and of every run when nightly.",
    )
    repair = models.BooleanField(default=False, help_text="Repair what differs (deletes nothing).")
    alert_threshold = models.PositiveIntegerField(
        default=1,
        help_text="Email the admins when a scheduled reconcile finds at least this many differences.",
    )
    next_run_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Reconcile schedule of {self.connection}"
