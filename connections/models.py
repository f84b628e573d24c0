"""Connected orgs and the replication connections between them."""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from connections.sealed_fields import SealedSecret

LOGIN_URLS = {
    "production": "https://login.salesforce.com",
    "sandbox": "https://test.salesforce.com",
}
DEFAULT_API_VERSION = "62.0"


def sealed_column() -> models.TextField:
    return models.TextField(blank=True, default="", editable=False)


class Org(models.Model):
    """A Salesforce org orgsync can talk to, with its credentials sealed by the vault."""

    class Environment(models.TextChoices):
        PRODUCTION = "production", "Production (login.salesforce.com)"
        SANDBOX = "sandbox", "Sandbox (test.salesforce.com)"
        CUSTOM = "custom", "Custom login URL (My Domain, or an sfemu URL)"

    class AuthMethod(models.TextChoices):
        OAUTH_PKCE = "oauth_pkce", "OAuth 2.0 web-server flow with PKCE (recommended)"
        JWT_BEARER = "jwt_bearer", "JWT bearer: integration user with a certificate"
        CLIENT_CREDENTIALS = "client_credentials", "Client credentials: External Client App"
        PASSWORD = "password", "Username + password + security token (weakest)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    label = models.CharField(max_length=120, unique=True, help_text="Your name for this org.")
    environment = models.CharField(max_length=20, choices=Environment, default=Environment.PRODUCTION)
    custom_login_url = models.URLField(
        blank=True, help_text="Only for a custom login URL: https://yourdomain.my.salesforce.com"
    )
    auth_method = models.CharField(max_length=20, choices=AuthMethod, default=AuthMethod.OAUTH_PKCE)
    client_id = models.CharField(
        "consumer key", max_length=255, help_text="Of the connected app or External Client App."
    )
    username = models.CharField(
        max_length=255, blank=True, help_text="Integration user (JWT bearer, username + password)."
    )
    ca_bundle = models.TextField(
        "trusted CA certificates",
        blank=True,
        help_text="PEM. Only for an org behind a private CA (sfemu, a TLS-inspecting proxy). "
        "Certificates are always checked.",
    )

    # What the org said about itself when connected.
    org_id = models.CharField("org id", max_length=18, blank=True)
    org_name = models.CharField(max_length=255, blank=True)
    edition = models.CharField(max_length=100, blank=True)
    is_sandbox = models.BooleanField(null=True)
    instance_url = models.URLField(blank=True)
    api_version = models.CharField(max_length=8, default=DEFAULT_API_VERSION)
    user_id = models.CharField("connected user id", max_length=18, blank=True)
    user_username = models.CharField("connected user", max_length=255, blank=True)
    connected_at = models.DateTimeField(null=True, blank=True)

    api_requests_used = models.PositiveIntegerField(null=True, blank=True)
    api_requests_max = models.PositiveIntegerField(null=True, blank=True)
    api_usage_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    access_token_sealed = sealed_column()
    refresh_token_sealed = sealed_column()
    password_sealed = sealed_column()
    security_token_sealed = sealed_column()
    client_secret_sealed = sealed_column()
    private_key_sealed = sealed_column()

    access_token = SealedSecret()
    refresh_token = SealedSecret()
    password = SealedSecret()
    security_token = SealedSecret()
    client_secret = SealedSecret()
    private_key = SealedSecret()

    class Meta:
        ordering = ["label"]
        constraints = [
            models.UniqueConstraint(
                fields=["org_id"], condition=~Q(org_id=""), name="connections_org_unique_org_id"
            )
        ]

    def __str__(self) -> str:
        return self.label

    def __repr__(self) -> str:
        return f"<Org {self.label!r} {self.org_id or 'not connected'}>"

    @property
    def login_url(self) -> str:
        if self.environment == self.Environment.CUSTOM:
            return self.custom_login_url.rstrip("/")
        return LOGIN_URLS[self.environment]

    @property
    def is_connected(self) -> bool:
        return bool(self.org_id and self.access_token_sealed)


class Connection(models.Model):
    """A replication connection (Org Sync): primary org → secondary org, or both ways."""

    class Status(models.TextChoices):
        INVITED = "invited", "Invited"
        METADATA_SYNC = "metadata_sync", "Metadata Sync in Progress"
        USER_SYNC = "user_sync", "User Sync in Progress"
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"
        DEACTIVATED = "deactivated", "Deactivated"

    class Direction(models.TextChoices):
        ONE_WAY = "one_way", "One-way: primary → secondary"
        TWO_WAY = "two_way", "Two-way"

    class ConflictPolicy(models.TextChoices):
        PRIMARY_WINS = "primary_wins", "Primary org wins"
        LATEST_WINS = "latest_wins", "Latest change wins (SystemModstamp)"
        HOLD = "hold", "Hold for review"

    class Suspension(models.TextChoices):
        NONE = "", "Not suspended"
        ADMIN = "admin", "Suspended by an admin"
        AUTOMATIC = "automatic", "Suspended automatically: an org is unavailable"

    name = models.CharField(max_length=120, unique=True)
    primary_org = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="primary_connections")
    secondary_org = models.ForeignKey(Org, on_delete=models.PROTECT, related_name="secondary_connections")
    owner_user_id = models.CharField("connection owner (user id)", max_length=18, blank=True)
    owner_username = models.CharField("connection owner", max_length=255, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="console owner",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Console user who is mailed this connection's notices: the invitation's outcome, "
        "suspensions and resumptions, records that failed. Default: whoever creates it.",
    )
    direction = models.CharField(max_length=10, choices=Direction, default=Direction.ONE_WAY)
    sync_users = models.BooleanField(default=False)
    sync_metadata = models.BooleanField(default=False)
    sync_feeds_and_audit_fields = models.BooleanField(
        "sync feeds and audit fields",
        default=False,
        help_text="Needs the org permission “Set Audit Fields upon Record Creation” in the secondary org.",
    )
    conflict_policy = models.CharField(
        max_length=15,
        choices=ConflictPolicy,
        default=ConflictPolicy.PRIMARY_WINS,
        help_text="Two-way: what happens to a record changed in both orgs since it was last synced.",
    )
    max_retry_attempts = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(0), MaxValueValidator(10)]
    )
    poll_interval_seconds = models.PositiveIntegerField(
        "poll interval (seconds)",
        default=10,
        validators=[MinValueValidator(5), MaxValueValidator(3600)],
        help_text="How often changes are looked for; the engine waits longer while nothing changes.",
    )
    status = models.CharField(max_length=20, choices=Status, default=Status.INVITED)
    suspension = models.CharField(max_length=10, choices=Suspension, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        permissions = [("manage_connections", "Manage Connections")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(primary_org=models.F("secondary_org")),
                name="connections_connection_two_different_orgs",
            ),
            models.CheckConstraint(
                condition=Q(max_retry_attempts__lte=10), name="connections_connection_retry_0_10"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_two_way(self) -> bool:
        return self.direction == self.Direction.TWO_WAY


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
        METADATA_SYNC = "metadata_sync", "Metadata Sync"
        RECONCILE_REPAIRED = "reconcile_repaired", "Reconcile Repair"
        INVITATION_SENT = "invitation_sent", "Invitation Sent"
        INVITATION_RESENT = "invitation_resent", "Invitation Resent"
        INVITATION_REVOKED = "invitation_revoked", "Invitation Revoked"
        INVITATION_EXPIRED = "invitation_expired", "Invitation Expired"
        INVITATION_SIGNED_IN = "invitation_signed_in", "Invitation: Partner Signed In"
        INVITATION_ACCEPTED = "invitation_accepted", "Invitation Accepted"
        INVITATION_DECLINED = "invitation_declined", "Invitation Declined"

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="events")
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


class PartnerInvitation(models.Model):
    """Salesforce to Salesforce's invitation: a partner contact is asked by email to connect
    their own org as the connection's secondary org (a placeholder Org until they sign in)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        EXPIRED = "expired", "Expired"
        REVOKED = "revoked", "Revoked"

    connection = models.OneToOneField(Connection, on_delete=models.CASCADE, related_name="invitation")
    contact_name = models.CharField("partner contact name", max_length=120)
    contact_email = models.EmailField("partner contact email")
    status = models.CharField(max_length=10, choices=Status, default=Status.PENDING)
    # Part of every link; a new one on each (re)send, so only the newest link works.
    nonce = models.CharField(max_length=32, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    decline_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Invitation of {self.contact_name} <{self.contact_email}> to {self.connection}"
