"""Publishing objects and fields of a connection's source org."""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Max

from connections.client import SalesforceClient
from connections.models import Connection, ConnectionEvent
from replication.errors import PublishError
from replication.mapping import field_support, object_publishable
from replication.mapping.support import orgsync_identity_reason
from replication.models import (
    EXTERNAL_ID_FIELD,
    Direction,
    PublishedField,
    PublishedObject,
    RecordLink,
    RecordQueueItem,
)

Kind = ConnectionEvent.Kind


def _record(connection: Connection, kind: str, actor: AbstractBaseUser | None, detail: str) -> None:
    ConnectionEvent.objects.create(connection=connection, kind=kind, actor=actor, detail=detail[:500])


def _source_entry(client: SalesforceClient, name: str) -> dict:
    entries = client.describe_global()["sobjects"]
    entry = next((e for e in entries if e["name"].lower() == name.lower()), None)
    if entry is None:
        raise PublishError(f"{client.org} has no object named “{name}” (check the API name, e.g. Account).")
    support = object_publishable(entry)
    if not support.supported:
        raise PublishError(support.reason)
    return entry


def publication_publish(
    *, connection: Connection, direction: str, source_object: str, actor: AbstractBaseUser | None
) -> PublishedObject:
    """Publish an object of the source org with all its supported fields.

    Unsupported fields are kept, unpublished, with the reason; lookups to objects this
    direction does not publish are not published either, and say why.
    """
    if connection.direction == Connection.Direction.ONE_WAY and direction != Direction.PRIMARY_TO_SECONDARY:
        raise PublishError(f"{connection} is one-way: only the primary org publishes.")
    probe = PublishedObject(connection=connection, direction=direction)
    client = SalesforceClient(probe.source_org)
    entry = _source_entry(client, source_object)
    describe = client.describe(entry["name"])
    with transaction.atomic():
        publication = _upsert_publication(connection, direction, entry["name"])
        published = set(
            connection.published_objects.filter(direction=direction, is_published=True).values_list(
                "source_object", flat=True
            )
        )
        for field in describe["fields"]:
            _publish_field(publication, field, published)
        _record(
            connection,
            Kind.OBJECT_PUBLISHED,
            actor,
            f"{entry['name']} ({publication.get_direction_display()})",
        )
    return publication


def _upsert_publication(connection: Connection, direction: str, name: str) -> PublishedObject:
    publication = PublishedObject.objects.filter(
        connection=connection, direction=direction, source_object=name
    ).first()
    if publication is None:
        last = connection.published_objects.filter(direction=direction).aggregate(m=Max("sort_order"))["m"]
        publication = PublishedObject(
            connection=connection, direction=direction, source_object=name, sort_order=(last or 0) + 10
        )
    publication.is_published = True
    publication.save()
    return publication


def _publish_field(
    publication: PublishedObject, field: dict, published_objects: set[str], *, publish_new: bool = True
) -> None:
    support = field_support(field, object_name=publication.source_object)
    reason = "" if support.supported else support.reason
    if support.supported and field["type"] == "reference":
        unpublished = [o for o in field.get("referenceTo") or () if o not in published_objects]
        if unpublished and field["name"] != "OwnerId" and publication.source_object not in unpublished:
            reason = (
                f"Lookup to {', '.join(unpublished)}, which this direction does not publish: "
                f"publish {unpublished[0]} first, then this field."
            )
    existing = publication.fields.filter(source_field=field["name"]).first()
    if existing is None:
        PublishedField.objects.create(
            published_object=publication,
            source_field=field["name"],
            is_published=publish_new and not reason,
            unsupported_reason=reason,
        )
    elif existing.unsupported_reason != reason:
        existing.unsupported_reason = reason
        existing.is_published = existing.is_published and not reason
        existing.save()


def _kept_for(publication: PublishedObject) -> tuple[list[str], str]:
    """Links are shared by both directions of a connection. The objects on the other side whose
    links with this publication's source object the opposite direction still syncs (it publishes
    them, subscribed as this source object), and that direction's name."""
    connection = publication.connection
    if not connection.is_two_way:
        return [], ""
    other = (
        Direction.SECONDARY_TO_PRIMARY
        if publication.direction == Direction.PRIMARY_TO_SECONDARY
        else Direction.PRIMARY_TO_SECONDARY
    )
    users = PublishedObject.objects.filter(
        connection=connection,
        direction=other,
        is_published=True,
        subscription__target_object=publication.source_object,
    ).values_list("source_object", flat=True)
    return list(users), Direction(other).label


@dataclass(frozen=True)
class DisconnectPreview:
    """What stopping one direction of one object does to its links and queue, in counts."""

    disconnected: int  # links dropped
    kept: int  # links kept because the other direction still syncs the same pair of objects
    other_direction: str  # that direction's name ("" on a one-way connection, or none kept)
    queued: int  # pending queue items of this direction dropped

    def text(self) -> str:
        """The history line's words (and the confirmation page's), e.g. "3 linked record(s)
        disconnected, 2 linked record(s) kept for the Secondary → primary direction"."""
        if not self.other_direction:
            return f"{self.disconnected} linked record(s) disconnected"
        kept_text = f"{self.kept} linked record(s) kept for the {self.other_direction} direction"
        if self.disconnected:
            return f"{self.disconnected} linked record(s) disconnected, {kept_text}"
        return kept_text


def _disconnect_sets(publication: PublishedObject):
    """The links to drop, the links to keep, the other direction's name (when it keeps any
    object pair) and the queue items to drop: the one rule both the preview and the work use."""
    connection = publication.connection
    mine, theirs = (
        ("primary_object", "secondary_object")
        if publication.direction == Direction.PRIMARY_TO_SECONDARY
        else ("secondary_object", "primary_object")
    )
    links = RecordLink.objects.filter(connection=connection, **{mine: publication.source_object})
    kept_objects, other = _kept_for(publication)
    kept = links.filter(**{f"{theirs}__in": kept_objects})
    dropped = links.exclude(**{f"{theirs}__in": kept_objects})
    queue = RecordQueueItem.objects.filter(
        connection=connection, direction=publication.direction, source_object=publication.source_object
    )
    return dropped, kept, (other if kept_objects else ""), queue


def publication_disconnect_preview(*, publication: PublishedObject) -> DisconnectPreview:
    """What :func:`publication_disconnect` would do now, counted; changes nothing."""
    dropped, kept, other, queue = _disconnect_sets(publication)
    return DisconnectPreview(dropped.count(), kept.count(), other, queue.count())


def publication_disconnect(*, publication: PublishedObject) -> str:
    """Stop one direction of one object: drop its pending queue items, and the links of its
    records unless the opposite direction of a two-way connection still syncs the same pair of
    objects (that direction would otherwise meet its records with no link and copy them back).
    Returns what happened to the links, for the history line."""
    dropped, kept, other, queue = _disconnect_sets(publication)
    kept_count = kept.count()
    disconnected, _ = dropped.delete()
    queued, _ = queue.delete()
    return DisconnectPreview(disconnected, kept_count, other, queued).text()


def with_reason(detail: str, reason: str) -> str:
    """A history line with the admin's reason, if one was given (the line stays within 500)."""
    reason = " ".join((reason or "").split())
    return f"{detail}; reason: {reason}" if reason else detail


@transaction.atomic
def publication_unpublish(
    *, publication: PublishedObject, actor: AbstractBaseUser | None, reason: str = ""
) -> PublishedObject:
    """Stop publishing an object. As in Organization Sync, its records are disconnected: their
    pending queue items in this direction are dropped and their links too (the records stay in
    both orgs) — except, on a two-way connection, links the other direction still needs because
    it publishes the same pair of objects back: those are kept, so that direction goes on
    updating the linked records instead of copying them back as new ones."""
    publication.is_published = False
    publication.save(update_fields=["is_published", "updated_at"])
    links = publication_disconnect(publication=publication)
    _record(
        publication.connection,
        Kind.OBJECT_UNPUBLISHED,
        actor,
        with_reason(f"{publication.source_object}: unpublished; {links}", reason),
    )
    return publication


@transaction.atomic
def publication_delete(
    *, publication: PublishedObject, actor: AbstractBaseUser | None, reason: str = ""
) -> None:
    """Delete a publication (and its subscription): disconnects its records as unpublishing does."""
    links = publication_disconnect(publication=publication)
    connection, name = publication.connection, publication.source_object
    label = publication.get_direction_display()
    publication.delete()
    detail = with_reason(f"{name} ({label}): publication deleted; {links}", reason)
    _record(connection, Kind.OBJECT_UNPUBLISHED, actor, detail)


@transaction.atomic
def field_set_published(
    *, field: PublishedField, published: bool, actor: AbstractBaseUser | None
) -> PublishedField:
    """Publish or unpublish one field. Unpublishing stops its sync; records stay linked."""
    reason = field.unsupported_reason
    if not reason and field.source_field.lower() == EXTERNAL_ID_FIELD.lower():
        reason = orgsync_identity_reason(field.source_field)  # a row published before it was refused
    if published and reason:
        raise PublishError(f"{field.source_field} cannot be published: {reason}")
    if field.is_published == published:
        return field
    field.is_published = published
    field.save(update_fields=["is_published"])
    kind = Kind.FIELD_PUBLISHED if published else Kind.FIELD_UNPUBLISHED
    _record(
        field.published_object.connection,
        kind,
        actor,
        f"{field.published_object.source_object}.{field.source_field}",
    )
    return field


@dataclass(frozen=True)
class FieldRefresh:
    """What re-reading the source object's describe found."""

    new: list[str]  # publishable fields the publication did not know: offered, not yet published
    new_unsupported: list[str]  # new fields that can't be published (kept with the reason)
    gone: list[str]  # fields the publication knows that the source object no longer has


def publication_refresh_fields(*, publication: PublishedObject) -> FieldRefresh:
    """Re-read the source object's describe: add the fields created since it was published
    (unpublished, so the admin chooses which to publish) and refresh every field's reason.
    Publishes nothing, so it records no history."""
    describe = SalesforceClient(publication.source_org).describe(publication.source_object)
    published_objects = set(
        publication.connection.published_objects.filter(
            direction=publication.direction, is_published=True
        ).values_list("source_object", flat=True)
    )
    known = set(publication.fields.values_list("source_field", flat=True))
    new, new_unsupported = [], []
    with transaction.atomic():
        for field in describe["fields"]:
            _publish_field(publication, field, published_objects, publish_new=False)
            if field["name"] not in known:
                row = publication.fields.get(source_field=field["name"])
                (new_unsupported if row.unsupported_reason else new).append(field["name"])
    names = {f["name"] for f in describe["fields"]}
    return FieldRefresh(new, new_unsupported, sorted(known - names))
