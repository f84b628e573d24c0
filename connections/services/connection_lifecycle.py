"""Services for connections: create, accept, suspend, resume, deactivate, change options.

Each records a ConnectionEvent in the same transaction. Status follows Organization Sync:
Invited → (accept) → Metadata Sync in Progress → User Sync in Progress → Active, each middle
step only when its option is on; Active ⇄ Suspended (by an admin, or automatically while an org
is unavailable); anything but Deactivated → Deactivated, which is final.
"""

from collections.abc import Callable

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from connections.errors import ConnectionsError, IllegalTransition, InvalidConnection
from connections.models import Connection, ConnectionEvent, Org
from connections.signals import connection_paused_or_resumed

Status = Connection.Status
Kind = ConnectionEvent.Kind

OPTION_FIELDS = (
    "conflict_policy",
    "direction",
    "sync_users",
    "sync_metadata",
    "sync_feeds_and_audit_fields",
    "max_retry_attempts",
)
# The Salesforce user who owns it (S2S) and the console user who gets its notices.
OWNER_FIELDS = ("owner_user_id", "owner_username", "owner")


def _record(connection: Connection, kind: str, actor: AbstractBaseUser | None, detail: str = "") -> None:
    ConnectionEvent.objects.create(connection=connection, kind=kind, actor=actor, detail=detail[:500])


def connection_validate_orgs(*, primary: Org, secondary: Org) -> None:
    """Org Sync links two different orgs of the same type (both production or both sandbox)."""
    if primary.pk == secondary.pk or (primary.org_id and primary.org_id == secondary.org_id):
        raise InvalidConnection(
            f"“{secondary.label}” is the primary org too: choose a different org as the secondary "
            "org (a connection links two different orgs).",
            field="secondary_org",
        )
    for field, org in (("primary_org", primary), ("secondary_org", secondary)):
        if not org.is_connected:
            raise InvalidConnection(f"Org “{org.label}” is not connected yet: connect it first.", field=field)
    if bool(primary.is_sandbox) != bool(secondary.is_sandbox):
        kinds = {True: "a sandbox", False: "a production org"}
        raise InvalidConnection(
            f"“{primary.label}” is {kinds[bool(primary.is_sandbox)]} but “{secondary.label}” is "
            f"{kinds[bool(secondary.is_sandbox)]}: both orgs of a connection must be of the same type.",
            field="secondary_org",
        )


@transaction.atomic
def connection_create(*, actor: AbstractBaseUser | None, **fields) -> Connection:
    """Create a connection in status Invited (fields: the Connection model's editable fields)."""
    connection = Connection(**fields)
    connection_validate_orgs(primary=connection.primary_org, secondary=connection.secondary_org)
    connection.full_clean()
    connection.save()
    _record(connection, Kind.CREATED, actor, f"{connection.primary_org} → {connection.secondary_org}")
    return connection


def connection_accept(
    *,
    connection: Connection,
    actor: AbstractBaseUser | None,
    check_org: Callable[[Org], object] | None = None,
) -> Connection:
    """Accept an invitation once both orgs answer (`check_org` raises if one does not; default:
    a /limits call); the first status is the first setup step whose option is on."""
    check = check_org or _org_answers
    for org in (connection.primary_org, connection.secondary_org):
        try:
            check(org)
        except ConnectionsError as exc:
            raise InvalidConnection(f"Cannot accept: {org} does not answer ({exc}).") from exc
    return _accept(connection=connection, actor=actor)


def _org_answers(org: Org) -> None:
    from connections.services.orgs import org_test_connection

    org_test_connection(org=org)


@transaction.atomic
def _accept(*, connection: Connection, actor: AbstractBaseUser | None) -> Connection:
    connection = Connection.objects.select_for_update().get(pk=connection.pk)
    if connection.status != Status.INVITED:
        raise IllegalTransition(
            f"Cannot accept connection “{connection.name}”: it is {connection.get_status_display()}; "
            "only an Invited connection can be accepted."
        )
    connection.status = _first_status_after_accept(connection)
    connection.accepted_at = timezone.now()
    connection.save(update_fields=["status", "accepted_at", "updated_at"])
    _record(connection, Kind.ACCEPTED, actor, f"status now {connection.get_status_display()}")
    if connection.status == Status.METADATA_SYNC:
        from django_q.tasks import async_task  # by name: metadiff builds on connections, not back

        pk = connection.pk
        transaction.on_commit(lambda: async_task("metadiff.tasks.connection_metadata_sync", pk, "accept"))
    return connection


def _first_status_after_accept(connection: Connection) -> str:
    if connection.sync_metadata:
        return Status.METADATA_SYNC
    if connection.sync_users:
        return Status.USER_SYNC
    return Status.ACTIVE


@transaction.atomic
def connection_advance_setup(*, connection: Connection) -> Connection:
    """Metadata sync or user sync finished: move to the next setup step, or to Active."""
    connection = Connection.objects.select_for_update().get(pk=connection.pk)
    following = {
        Status.METADATA_SYNC: Status.USER_SYNC if connection.sync_users else Status.ACTIVE,
        Status.USER_SYNC: Status.ACTIVE,
    }
    if connection.status not in following:
        raise IllegalTransition(
            f"Connection “{connection.name}” is {connection.get_status_display()}, not in a setup step."
        )
    connection.status = following[connection.status]
    connection.save(update_fields=["status", "updated_at"])
    _record(connection, Kind.STATUS_CHANGED, None, f"status now {connection.get_status_display()}")
    return connection


@transaction.atomic
def connection_suspend(
    *,
    connection: Connection,
    actor: AbstractBaseUser | None,
    automatic: bool = False,
    reason: str = "",
) -> Connection:
    """Suspend syncing; changes keep queueing. Automatic suspension is for an unavailable org."""
    connection = Connection.objects.select_for_update().get(pk=connection.pk)
    if connection.status != Status.ACTIVE:
        raise IllegalTransition(
            f"Cannot suspend connection “{connection.name}”: it is {connection.get_status_display()}; "
            "only an Active connection can be suspended."
        )
    connection.status = Status.SUSPENDED
    connection.suspension = Connection.Suspension.AUTOMATIC if automatic else Connection.Suspension.ADMIN
    connection.save(update_fields=["status", "suspension", "updated_at"])
    kind = Kind.SUSPENDED if automatic else Kind.ADMIN_SUSPENDED
    event = ConnectionEvent.objects.create(connection=connection, kind=kind, actor=actor, detail=reason[:500])
    connection_paused_or_resumed.send(sender=Connection, event=event)  # the record queue marks it
    return connection


@transaction.atomic
def connection_resume(
    *, connection: Connection, actor: AbstractBaseUser | None, automatic: bool = False
) -> Connection:
    """Resume a suspended connection; queued changes are then sent."""
    connection = Connection.objects.select_for_update().get(pk=connection.pk)
    if connection.status != Status.SUSPENDED:
        raise IllegalTransition(
            f"Cannot resume connection “{connection.name}”: it is {connection.get_status_display()}; "
            "only a Suspended connection can be resumed."
        )
    if automatic and connection.suspension == Connection.Suspension.ADMIN:
        raise IllegalTransition(
            f"Connection “{connection.name}” was suspended by an admin; only an admin resumes it."
        )
    connection.status = Status.ACTIVE
    connection.suspension = Connection.Suspension.NONE
    connection.save(update_fields=["status", "suspension", "updated_at"])
    kind = Kind.RESUMED if automatic else Kind.ADMIN_RESUMED
    event = ConnectionEvent.objects.create(connection=connection, kind=kind, actor=actor)
    connection_paused_or_resumed.send(sender=Connection, event=event)
    return connection


@transaction.atomic
def connection_deactivate(
    *, connection: Connection, actor: AbstractBaseUser | None, reason: str = ""
) -> Connection:
    """End the connection for good: nothing more is synced over it. `reason` goes into the
    history event's detail."""
    connection = Connection.objects.select_for_update().get(pk=connection.pk)
    if connection.status == Status.DEACTIVATED:
        raise IllegalTransition(f"Connection “{connection.name}” is already Deactivated.")
    connection.status = Status.DEACTIVATED
    connection.suspension = Connection.Suspension.NONE
    connection.save(update_fields=["status", "suspension", "updated_at"])
    _record(connection, Kind.DEACTIVATED, actor, reason)
    return connection


@transaction.atomic
def connection_update(*, connection: Connection, actor: AbstractBaseUser | None, **changes) -> Connection:
    """Change options or the owners; one history line per changed value (never a secret)."""
    connection = Connection.objects.select_for_update().get(pk=connection.pk)
    if connection.status == Status.DEACTIVATED:
        raise IllegalTransition(f"Connection “{connection.name}” is Deactivated and cannot change.")
    unknown = set(changes) - {*OPTION_FIELDS, *OWNER_FIELDS, "name"}
    if unknown:
        raise InvalidConnection(f"These cannot be changed here: {', '.join(sorted(unknown))}.")
    before = {name: getattr(connection, name) for name in changes}
    for name, value in changes.items():
        setattr(connection, name, value)
    connection.full_clean()
    connection.save()
    for name, old in before.items():
        new = getattr(connection, name)
        if old == new or name == "owner_user_id":
            continue
        kind = Kind.OWNER_CHANGED if name in OWNER_FIELDS else Kind.OPTION_CHANGED
        label = Connection._meta.get_field(name).verbose_name
        _record(connection, kind, actor, f"{label}: {old} → {new}")
    return connection
