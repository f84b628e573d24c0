"""Forward to connection: send chosen records now, with their related child records if asked."""

from django.contrib.auth.models import AbstractBaseUser

from connections.client import SalesforceClient
from connections.models import Connection
from replication.engine import queue
from replication.errors import ReplicationError
from replication.models import Direction, PublishedObject, QueueAction, RecordLink

ID_CHUNK = 300


def records_forward(
    *,
    connection: Connection,
    source_object: str,
    record_ids: list[str],
    direction: str = Direction.PRIMARY_TO_SECONDARY,
    with_related: bool = False,
    actor: AbstractBaseUser | None = None,
) -> dict[str, int]:
    """Queue the records (and, with `with_related`, their children in published objects) for
    the next cycle; returns how many were queued per object. Parents go first when applied."""
    publication = PublishedObject.objects.filter(
        connection=connection, direction=direction, source_object__iexact=source_object, is_published=True
    ).first()
    if publication is None or not hasattr(publication, "subscription"):
        raise ReplicationError(
            f"{source_object} is not published and subscribed on {connection} ({direction})."
        )
    queued = {publication.source_object: _queue(connection, direction, publication.source_object, record_ids)}
    if with_related:
        for child_object, field in _published_children(publication):
            child_ids = _child_ids(publication, child_object, field, record_ids)
            if child_ids:
                queued[child_object] = _queue(connection, direction, child_object, child_ids)
    return queued


def _queue(connection: Connection, direction: str, source_object: str, ids: list[str]) -> int:
    side = "primary_id" if direction == Direction.PRIMARY_TO_SECONDARY else "secondary_id"
    linked = set(
        RecordLink.objects.filter(connection=connection, **{f"{side}__in": ids}).values_list(side, flat=True)
    )
    changes = {i: QueueAction.GENERIC_UPDATE if i in linked else QueueAction.GENERIC_INSERT for i in ids}
    queue.enqueue(connection, direction, source_object, changes)
    return len(changes)


def _published_children(publication: PublishedObject) -> list[tuple[str, str]]:
    """(child object, lookup field) for published objects of this direction that look up to it."""
    others = {
        p.source_object
        for p in PublishedObject.objects.filter(
            connection=publication.connection, direction=publication.direction, is_published=True
        ).exclude(pk=publication.pk)
    }
    describe = SalesforceClient(publication.source_org).describe(publication.source_object)
    return [
        (rel["childSObject"], rel["field"])
        for rel in describe.get("childRelationships", [])
        if rel["childSObject"] in others
    ]


def _child_ids(
    publication: PublishedObject, child_object: str, field: str, parent_ids: list[str]
) -> list[str]:
    client = SalesforceClient(publication.source_org)
    ids: list[str] = []
    for start in range(0, len(parent_ids), ID_CHUNK):
        quoted = ",".join(f"'{i}'" for i in parent_ids[start : start + ID_CHUNK])
        ids += [
            r["Id"]
            for r in client.query_records(f"SELECT Id FROM {child_object} WHERE {field} IN ({quoted})")
        ]
    return ids
