"""Publish/subscribe configuration of a connection (Org Sync / S2S vocabulary).

A *publication* is one object of one org that a connection sends to the other org, in one
direction; its *subscription* says which object of the other org receives it and how fields map.
Two-way connections have a publication per direction.
"""

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
