"""Copies of feed children that a dead worker wrote but never linked are found, not written twice.

Posts, comments, file shares, files and attachments carry no `OrgSync_Source_Id__c` (Salesforce
allows no custom fields on most of them), so an upsert cannot make their writes idempotent as it
does for records. Instead the step writes a `PendingChildCopy` row for each child before it
copies it (`announce`) and deletes it in the transaction that saves the child's link
(`FeedSync.save`). A row that is still there on a later step means the worker died between the
two: the copy may or may not exist in the target. For those children only (nothing is read
otherwise), `find_copies` reads the target's children of the copies' parents, one query per
200 parents, and takes an unlinked record holding exactly the values the step would write (for
a file, its name, title and checksum) as the copy: it is linked, and the rest are written as
usual.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db.models import Q

from replication.models import PendingChildCopy, RecordLink

if TYPE_CHECKING:
    from replication.engine.feeds import FeedSync

# The fields a copy is recognised by, and (first) the field holding its parent in the target.
FINGERPRINTS = {
    "FeedItem": ("ParentId", "Type", "Body", "Title", "LinkUrl", "RelatedRecordId"),
    "FeedComment": ("FeedItemId", "CommentBody", "RelatedRecordId"),
    "ContentDocumentLink": ("LinkedEntityId", "ContentDocumentId"),
    "Attachment": ("ParentId", "Name", "BodyLength"),
    # a new file has no parent yet: it is looked up by its checksum
    "ContentVersion": ("Checksum", "PathOnClient", "Title"),
}
VERSION_COPIES = (
    "SELECT Id, ContentDocumentId, {fields} FROM ContentVersion WHERE IsLatest = true AND {key} IN ({{}})"
)


def announce(step: FeedSync, source_object: str, children: Iterable[tuple[str, str]]) -> None:
    """Before the copies are written: the children in flight, as (source Id, its parent's
    source Id)."""
    PendingChildCopy.objects.bulk_create(
        [
            PendingChildCopy(
                connection=step.connection,
                direction=step.direction,
                source_object=source_object,
                source_id=source_id,
                parent_id=parent_id,
            )
            for source_id, parent_id in children
        ],
        ignore_conflicts=True,
    )


def settle(step: FeedSync, source_ids: Iterable[str]) -> None:
    """The children are linked, or were refused: no longer in flight (inside the links' save)."""
    PendingChildCopy.objects.filter(
        connection=step.connection, direction=step.direction, source_id__in=list(source_ids)
    ).delete()


def in_flight(step: FeedSync, source_ids: Iterable[str]) -> set[str]:
    """Those of `source_ids` a dead worker may have copied already."""
    return set(
        PendingChildCopy.objects.filter(
            connection=step.connection, direction=step.direction, source_id__in=list(source_ids)
        ).values_list("source_id", flat=True)
    )


def parents_in_flight(connection_id: int, direction: str) -> set[str]:
    """The source parents of the children a dead worker of `direction` left in flight."""
    return set(
        PendingChildCopy.objects.filter(connection_id=connection_id, direction=direction).values_list(
            "parent_id", flat=True
        )
    )


def forget_parents(connection_id: int, direction: str, parent_ids: Iterable[str]) -> None:
    """After the step looked at these parents again: a child still listed is gone from its
    source (nothing is left to copy or to link)."""
    PendingChildCopy.objects.filter(
        connection_id=connection_id, direction=direction, parent_id__in=list(parent_ids)
    ).delete()


def parent_of(source: dict) -> str:
    """The record a post, comment, share or attachment belongs to, in its org."""
    return source.get("LinkedEntityId") or source.get("ParentId") or ""


def find_copies(step: FeedSync, sobject: str, wanted: dict[str, dict]) -> dict[str, dict]:
    """Source Id → the target record that is its unlinked copy, for `wanted` (source Id → the
    values its copy holds, by `FINGERPRINTS[sobject]`). Each target record answers once."""
    fields = FINGERPRINTS[sobject]
    key = fields[0]
    template = (
        VERSION_COPIES.format(fields=", ".join(fields), key=key)
        if sobject == "ContentVersion"
        else f"SELECT Id, {', '.join(fields)} FROM {sobject} WHERE {key} IN ({{}})"
    )
    candidates = step.query_in(step.target, template, {v[key] for v in wanted.values() if v.get(key)})
    taken = _linked(
        step, [c["Id"] for c in candidates] + [c.get("ContentDocumentId", "") for c in candidates]
    )
    found: dict[str, dict] = {}
    for source_id, values in wanted.items():
        for candidate in candidates:
            if candidate["Id"] in taken or candidate.get("ContentDocumentId") in taken:
                continue
            if all(_same(candidate.get(name), values.get(name)) for name in fields):
                found[source_id] = candidate
                taken.add(candidate["Id"])
                break
    return found


def _linked(step: FeedSync, target_ids: list[str]) -> set[str]:
    """The target Ids that already belong to a link of the connection (in either role)."""
    ids = [i for i in target_ids if i]
    rows = RecordLink.objects.filter(connection=step.connection).filter(
        Q(primary_id__in=ids) | Q(secondary_id__in=ids)
    )
    return {i for pair in rows.values_list("primary_id", "secondary_id") for i in pair} & set(ids)


def _same(found: object, expected: object) -> bool:
    """Values compare as the org stores them: empty is empty, numbers as numbers."""
    if found in (None, "") or expected in (None, ""):
        return found in (None, "") and expected in (None, "")
    return str(found) == str(expected)
