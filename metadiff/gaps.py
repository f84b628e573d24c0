"""The metadata differences of a connection that would break record sync ("metadata gaps").

For each published object, in each direction it is published, the source object's published
fields are compared with their target fields through both orgs' REST describe: a target field
that is missing, narrower (length, digits, decimal places), of an incompatible type, or lacking
picklist values the source has, is a gap; everything else — identical fields, and fields the
target has in addition — is not. Type rules are replication's (S2S's data type matching), so a
gap here is exactly what would make a record fail or lose data.

A published field without a mapping is compared with the target field of the same API name:
that is what auto-mapping picks once the metadata matches.
"""

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum

from connections.client import SalesforceClient
from connections.models import Connection, Org
from replication.mapping import check_mapping
from replication.mapping import fields as f
from replication.mapping.fields import Field, FieldIndex
from replication.models import EXTERNAL_ID_FIELD, Direction, PublishedObject, SubscribedObject
from replication.services.subscription import mapped_objects


class GapKind(StrEnum):
    MISSING_OBJECT = "missing_object"
    MISSING_FIELD = "missing_field"
    NARROWER = "narrower"
    INCOMPATIBLE_TYPE = "incompatible_type"
    MISSING_PICKLIST_VALUES = "missing_picklist_values"


GAP_LABELS = {
    GapKind.MISSING_OBJECT: "Object missing",
    GapKind.MISSING_FIELD: "Field missing",
    GapKind.NARROWER: "Narrower field",
    GapKind.INCOMPATIBLE_TYPE: "Incompatible type",
    GapKind.MISSING_PICKLIST_VALUES: "Picklist values missing",
}
_KIND_OF_CODE = {
    "TEXT_TOO_SHORT": GapKind.NARROWER,
    "NUMBER_TOO_LARGE": GapKind.NARROWER,
    "SCALE_TRUNCATED": GapKind.NARROWER,
}  # every other check_mapping finding is an incompatible type


@dataclass(frozen=True)
class MetadataGap:
    """One difference that would break record sync, with what to do about it."""

    direction: str  # replication Direction value
    target_org: str  # "primary" or "secondary": the org to fix
    object: str  # the target object
    field: str  # the target field ("" when the whole object is missing)
    source_field: str
    kind: GapKind
    detail: str
    fix: str

    @property
    def kind_label(self) -> str:
        return GAP_LABELS[self.kind]

    def as_dict(self) -> dict[str, str]:
        return {**asdict(self), "kind": self.kind.value}

    def text(self) -> str:
        where = f"{self.object}.{self.field}" if self.field else self.object
        return f"{where} ({self.target_org} org): {self.kind_label}: {self.detail} Fix: {self.fix}"


class _Describer:
    """REST describes through each org's SalesforceClient, one call per org and object."""

    def __init__(self) -> None:
        self.clients: dict[object, SalesforceClient] = {}
        self.names: dict[object, dict[str, str]] = {}
        self.describes: dict[tuple[object, str], dict] = {}

    def describe(self, org: Org, sobject: str) -> dict | None:
        """The object's describe, or None when the org has no such object."""
        if org.pk not in self.clients:
            self.clients[org.pk] = SalesforceClient(org)
        client = self.clients[org.pk]
        if org.pk not in self.names:
            self.names[org.pk] = {e["name"].lower(): e["name"] for e in client.describe_global()["sobjects"]}
        name = self.names[org.pk].get(sobject.lower())
        if name is None:
            return None
        if (org.pk, name) not in self.describes:
            self.describes[(org.pk, name)] = client.describe(name)
        return self.describes[(org.pk, name)]


def connection_metadata_gaps(connection: Connection) -> list[MetadataGap]:
    """Every gap of the connection's published objects, in each direction they are published."""
    describer = _Describer()
    objects = mapped_objects(connection)
    gaps: list[MetadataGap] = []
    publications = (
        PublishedObject.objects.filter(connection=connection, is_published=True)
        .select_related("connection__primary_org", "connection__secondary_org")
        .order_by("direction", "sort_order", "source_object")
    )
    for publication in publications:
        gaps += _publication_gaps(publication, describer, objects)
    return gaps


def target_object(publication: PublishedObject) -> str:
    """The object a publication writes into: its subscription's, else the same name."""
    subscription = SubscribedObject.objects.filter(published_object=publication).first()
    return subscription.target_object if subscription else publication.source_object


def _publication_gaps(
    publication: PublishedObject, describer: _Describer, objects: Mapping[str, str]
) -> list[MetadataGap]:
    target_name = target_object(publication)
    side = "secondary" if publication.direction == Direction.PRIMARY_TO_SECONDARY else "primary"
    source = describer.describe(publication.source_org, publication.source_object)
    target = describer.describe(publication.target_org, target_name)
    gap = _GapMaker(publication.direction, side, target_name)
    if source is None:
        return []  # the source object is gone: nothing to sync, nothing to fix in the target
    if target is None:
        return [gap.missing_object(publication.source_object)]
    sources, targets = FieldIndex(source["fields"]), FieldIndex(target["fields"])
    out: list[MetadataGap] = []
    for source_name, target_field in _field_pairs(publication):
        source_field = sources.get(source_name)
        if source_field is not None:
            out += gap.field_gaps(source_field, targets.get(target_field), target_field, objects)
    return out


def _field_pairs(publication: PublishedObject) -> Iterable[tuple[str, str]]:
    """(source field, target field) of each published field."""
    subscription = SubscribedObject.objects.filter(published_object=publication).first()
    mapped = (
        dict(subscription.fields.exclude(target_field="").values_list("source_field", "target_field"))
        if subscription
        else {}
    )
    published = publication.fields.filter(is_published=True).values_list("source_field", flat=True)
    for name in published:
        if name != EXTERNAL_ID_FIELD:
            yield name, mapped.get(name, name)


class _GapMaker:
    """Gaps of one publication: where they are and what to do about them."""

    def __init__(self, direction: str, side: str, target_object: str) -> None:
        self.direction, self.side, self.object = direction, side, target_object

    def _gap(self, kind: GapKind, field: str, source_field: str, detail: str, fix: str) -> MetadataGap:
        return MetadataGap(self.direction, self.side, self.object, field, source_field, kind, detail, fix)

    def missing_object(self, source_object: str) -> MetadataGap:
        return self._gap(
            GapKind.MISSING_OBJECT,
            "",
            "",
            f"The {self.side} org has no object {self.object} to receive {source_object} records.",
            f"Add object {self.object} to the {self.side} org.",
        )

    def field_gaps(
        self, source: Field, target: Field | None, target_name: str, objects: Mapping[str, str]
    ) -> list[MetadataGap]:
        s = source["name"]
        if target is None:
            return [
                self._gap(
                    GapKind.MISSING_FIELD,
                    target_name,
                    s,
                    f"{self.object} has no field {target_name} in the {self.side} org to receive {s}.",
                    f"Add field {target_name} ({describe_type(source)}) to {self.object} "
                    f"in the {self.side} org.",
                )
            ]
        findings = check_mapping(source, target, target_object_mapped=objects)
        if not findings:
            return self._picklist_gaps(source, target)
        kinds = {_KIND_OF_CODE.get(x.code, GapKind.INCOMPATIBLE_TYPE) for x in findings}
        kind = GapKind.INCOMPATIBLE_TYPE if GapKind.INCOMPATIBLE_TYPE in kinds else GapKind.NARROWER
        detail = " ".join(x.message.split(": ")[0] + "." for x in findings)
        return [self._gap(kind, target["name"], s, detail, self._fix(kind, source, target))]

    def _fix(self, kind: GapKind, source: Field, target: Field) -> str:
        t, where = target["name"], f"in the {self.side} org"
        if kind == GapKind.INCOMPATIBLE_TYPE:
            change = f"Change {self.object}.{t} to {describe_type(source)} {where}"
            return f"{change}, or map {source['name']} to another field."
        if f.kind(target) == "number":
            scale = max(f.scale(source), f.scale(target))
            precision = max(f.integer_digits(source), f.integer_digits(target)) + scale
            return f"Set {self.object}.{t} to precision {precision}, scale {scale} {where}."
        return f"Widen {self.object}.{t} to {needed_length(source)} {where}."

    def _picklist_gaps(self, source: Field, target: Field) -> list[MetadataGap]:
        if f.kind(source) not in ("picklist", "multipicklist") or f.kind(target) != f.kind(source):
            return []
        have = {v.lower() for v in f.active_values(target)}
        missing = [v for v in f.active_values(source) if v.lower() not in have]
        if not missing:
            return []
        listed = ", ".join(f"'{v}'" for v in missing)
        effect = (
            "it is restricted, so records with them are rejected"
            if target.get("restrictedPicklist")
            else "records with them are saved, but the values are not in the picklist"
        )
        return [
            self._gap(
                GapKind.MISSING_PICKLIST_VALUES,
                target["name"],
                source["name"],
                f"{self.object}.{target['name']} lacks {listed}: {effect}.",
                f"Add {listed} to {self.object}.{target['name']} in the {self.side} org.",
            )
        ]


def needed_length(source: Field) -> int:
    """The text length a target needs to hold every value of `source` (as check_mapping asks)."""
    needs = {"id": 18, "reference": 80, "autonumber": max(30, f.length(source))}
    if f.kind(source) in needs:
        return needs[f.kind(source)]
    if f.kind(source) in ("picklist", "multipicklist"):
        return max((len(v) for v in f.active_values(source)), default=f.length(source))
    return f.length(source)


def describe_type(field: Field) -> str:
    """How Setup writes a field's type: Text(80), Number(16, 2), Picklist, Lookup(Account)…"""
    name = f.type_name(field).capitalize()
    if f.kind(field) == "text":
        return f"{name}({f.length(field)})"
    if f.kind(field) == "number" and field.get("type") in ("int", "long"):
        return f"{name}({f.integer_digits(field)}, 0)"
    if f.kind(field) == "number":
        return f"{name}({f.integer_digits(field) + f.scale(field)}, {f.scale(field)})"
    if field.get("type") == "reference":
        return f"{name}({', '.join(field.get('referenceTo') or [])})"
    return name
