"""What happened: connection history (and, with later work, the sync log and run summaries)."""

from django.conf import settings
from django.db import models


class ConnectionEvent(models.Model):
    """One line of a connection's history, with who did it (none for automatic events)."""

    class Kind(models.TextChoices):
        CREATED = "created", "Connection Created"
        ACCEPTED = "accepted", "Connection Accepted"
        STATUS_CHANGED = "status_changed", "Status Changed"
        ADMIN_SUSPENDED = "admin_suspended", "Connection Admin Suspended"
        ADMIN_RESUMED = "admin_resumed", "Connection Admin Resumed"
        SUSPENDED = "suspended", "Connection Suspended"
        RESUMED = "resumed", "Connection Resumed"
        OPTION_CHANGED = "option_changed", "Option Changed"
        OWNER_CHANGED = "owner_changed", "Owner Changed"
        DEACTIVATED = "deactivated", "Connection Deactivate"
        OBJECT_PUBLISHED = "object_published", "Object Published"
        OBJECT_UNPUBLISHED = "object_unpublished", "Object Unpublished"
        FIELD_PUBLISHED = "field_published", "Field Published"
        FIELD_UNPUBLISHED = "field_unpublished", "Field Unpublished"
        OBJECT_SUBSCRIBED = "object_subscribed", "Object Subscribed"
        MAPPING_CHANGED = "mapping_changed", "Field Mapping Changed"
        FILTER_CHANGED = "filter_changed", "Filter Changed"

    connection = models.ForeignKey("connections.Connection", on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=24, choices=Kind)
    detail = models.CharField(max_length=500, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        get_latest_by = "at"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M:%S}"

    @property
    def actor_display(self) -> str:
        return self.actor.get_username() if self.actor else "orgsync (automatic)"
