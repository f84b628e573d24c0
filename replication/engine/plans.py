"""What to read and write for each subscribed publication of a connection and direction."""

from dataclasses import dataclass, field

from connections.models import Connection
from replication.filters import Condition, filter_fields
from replication.models import EXTERNAL_ID_FIELD, Direction, OwnerStrategy, PublishedObject

OWNER_FIELD = "OwnerId"
AUDIT_FIELDS = ("CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById")
AUDIT_USER_FIELDS = ("CreatedById", "LastModifiedById")
SYSTEM_FIELDS = ("Id", "SystemModstamp", "IsDeleted")
# Fixed and round robin assign an owner when a record is created; later updates leave it alone.
ASSIGN_ON_INSERT_ONLY = {OwnerStrategy.FIXED, OwnerStrategy.ROUND_ROBIN}


@dataclass(frozen=True)
class FieldMap:
    source: str
    target: str
    references: tuple[str, ...] = ()  # objects a lookup points to (source side)


@dataclass
class ObjectPlan:
    publication: PublishedObject
    target_object: str
    fields: list[FieldMap]
    conditions: list[Condition]
    capture_only_fields: list[str] = field(default_factory=list)
    reverse_fields: list[str] = field(default_factory=list)  # what the other direction writes here
    # Sync Feeds and Audit Fields: copied when a record is created in the target, never after.
    audit_fields: list[str] = field(default_factory=list)
    # Two-way: the target fields every update writes. Their keyed hash is the target's state as
    # last read or written (`RecordLink.*_state_hash`), what apply checks before overwriting.
    state_fields: list[str] = field(default_factory=list)
    # Two-way connection: source records carry OrgSync_Source_Id__c; one that is set is our copy.
    identity: bool = False
    # Two-way: the other direction syncs deletes, so a target deleted there travels back as a delete.
    reverse_deletes: bool = False

    @property
    def source_object(self) -> str:
        return self.publication.source_object

    @property
    def direction(self) -> str:
        return self.publication.direction

    def capture_fields(self) -> list[str]:
        names = [
            *SYSTEM_FIELDS,
            *(m.source for m in self.fields),
            *self.capture_only_fields,
            *self.reverse_fields,
            *self.audit_fields,
            *([EXTERNAL_ID_FIELD] if self.identity else []),
        ]
        return list(dict.fromkeys(names))


def opposite(direction: str) -> str:
    return (
        Direction.SECONDARY_TO_PRIMARY
        if direction == Direction.PRIMARY_TO_SECONDARY
        else Direction.PRIMARY_TO_SECONDARY
    )


def publications(connection: Connection, direction: str):
    return (
        PublishedObject.objects.filter(
            connection=connection, direction=direction, is_published=True, subscription__isnull=False
        )
        .select_related("subscription", "connection__primary_org", "connection__secondary_org")
        .order_by("sort_order", "source_object")
    )


def build_plans(connection: Connection, direction: str, describe) -> list[ObjectPlan]:
    """Plans in apply order (parents first). `describe(org, sobject)` returns a describe dict."""
    reverse = (
        {p.subscription.target_object: p for p in publications(connection, opposite(direction))}
        if connection.is_two_way
        else {}
    )
    plans = []
    for publication in publications(connection, direction):
        subscription = publication.subscription
        published = set(publication.fields.filter(is_published=True).values_list("source_field", flat=True))
        source = describe(publication.source_org, publication.source_object)
        by_name = {f["name"]: f for f in source["fields"]}
        maps = [
            FieldMap(
                s, t, tuple(by_name[s].get("referenceTo") or ()) if by_name[s]["type"] == "reference" else ()
            )
            for s, t in subscription.fields.exclude(target_field="").values_list(
                "source_field", "target_field"
            )
            if s in published and s in by_name and EXTERNAL_ID_FIELD not in (s, t)
        ]
        conditions = [Condition(**c) for c in publication.filter_conditions]
        plan = ObjectPlan(publication, subscription.target_object, maps, conditions)
        plan.capture_only_fields = filter_fields(conditions, source)
        back = reverse.get(publication.source_object)
        if back is not None and back.source_object == subscription.target_object:
            # Two-way on this object pair: the other direction writes into our source.
            back_maps = [
                FieldMap(s, t)
                for s, t in back.subscription.fields.exclude(target_field="").values_list(
                    "source_field", "target_field"
                )
                if t in by_name
            ]
            plan.reverse_fields = written_on_update(back, back_maps)
            plan.reverse_deletes = back.sync_deleted
            plan.state_fields = written_on_update(publication, maps)
        # On a two-way connection a record carrying an origin Id is ours, whatever is published
        # the other way now (the other direction may have been unpublished after writing it).
        plan.identity = connection.is_two_way and EXTERNAL_ID_FIELD in by_name
        if connection.sync_feeds_and_audit_fields:
            plan.audit_fields = _audit_fields(
                describe(publication.target_org, subscription.target_object), by_name
            )
        plans.append(plan)
    return plans


def written_on_update(publication: PublishedObject, maps: list[FieldMap]) -> list[str]:
    """The target fields a publication's updates write: its published, mapped fields, without
    orgsync's own OrgSync_Source_Id__c, and without the owner where the owner strategy assigns
    one only on create. Both directions compute it the same way, so one direction's keyed hash
    of what it wrote equals the other's hash of what it reads back."""
    published = set(publication.fields.filter(is_published=True).values_list("source_field", flat=True))
    keep_owner = publication.owner_strategy not in ASSIGN_ON_INSERT_ONLY
    return [
        m.target
        for m in maps
        if m.source in published
        and EXTERNAL_ID_FIELD not in (m.source, m.target)
        and (keep_owner or m.source != OWNER_FIELD)
    ]


def _audit_fields(target: dict, source_fields: dict[str, dict]) -> list[str]:
    """The audit fields the target org lets us set on create (its "Set Audit Fields upon Record
    Creation" permission makes them createable)."""
    createable = {f["name"] for f in target["fields"] if f.get("createable")}
    return [name for name in AUDIT_FIELDS if name in createable and name in source_fields]
