"""Identity lives in the orgs: a record orgsync wrote carries its origin's Id in
OrgSync_Source_Id__c, so the pair (origin, copy) can always be read back from the orgs.

`RecordLink` is a cache of those pairs. This module is the one place that writes a pair into it
from what the orgs say: the engine, when it meets a copy with no link (a crash between a write
and its link), and `rebuild_links`, for a whole connection.
"""

from dataclasses import dataclass
from enum import StrEnum

from django.db import IntegrityError, transaction
from django.db.models import Q

from connections.models import Connection
from replication.models import RecordLink


class PairOutcome(StrEnum):
    CREATED = "created"  # no link existed for either record
    KEPT = "kept"  # the link was already there
    REPAIRED = "repaired"  # a link of one of the two records pointed elsewhere and was moved
    DUPLICATE = "duplicate"  # the origin is linked to another live copy: this one is a duplicate


@dataclass(frozen=True)
class Pair:
    """Two records that are the same record: one in the primary org, one in the secondary."""

    primary_object: str
    primary_id: str
    secondary_object: str
    secondary_id: str


def link_pair(connection: Connection, pair: Pair, *, replace: bool = False) -> tuple[PairOutcome, RecordLink]:
    """Create the link of `pair`, or keep it if it is there.

    When either record is already linked to a third record, the orgs disagree with the cache:
    with `replace` (the caller verified that the other record of the old link is gone, or it is
    rebuilding from the orgs) the old link is moved onto the pair; without it the pair is reported
    as a DUPLICATE and nothing changes. The hashes of a new or moved link start empty: the next
    capture reads both records afresh."""
    links = RecordLink.objects.filter(connection=connection)
    by_primary = links.filter(primary_id=pair.primary_id).first()
    by_secondary = links.filter(secondary_id=pair.secondary_id).first()
    if by_primary and by_primary == by_secondary:
        return PairOutcome.KEPT, by_primary
    if (by_primary or by_secondary) and not replace:
        return PairOutcome.DUPLICATE, by_primary or by_secondary
    with transaction.atomic():
        stale = [link.pk for link in (by_primary, by_secondary) if link]
        RecordLink.objects.filter(pk__in=stale).delete()
        try:
            with transaction.atomic():
                link = RecordLink.objects.create(
                    connection=connection,
                    primary_object=pair.primary_object,
                    primary_id=pair.primary_id,
                    secondary_object=pair.secondary_object,
                    secondary_id=pair.secondary_id,
                )
        except IntegrityError:  # a link written meanwhile by another process: read it back
            link = links.filter(Q(primary_id=pair.primary_id) | Q(secondary_id=pair.secondary_id)).first()
            return (
                PairOutcome.KEPT if link and link.primary_id == pair.primary_id else PairOutcome.DUPLICATE,
                link,
            )
    return (PairOutcome.REPAIRED if stale else PairOutcome.CREATED), link
