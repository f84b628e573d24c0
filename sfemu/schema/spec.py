"""Declarative field and object specifications.

Standard objects are tables of :class:`FieldSpec` built with the small constructors below;
custom objects and fields are built from the same dataclasses at runtime. Describe JSON,
write validation and the SOQL view are all derived from these specs.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

NUMBER_TYPES = frozenset({"double", "currency", "percent", "int", "long"})
TEXT_TYPES = frozenset(
    {
        "string",
        "textarea",
        "email",
        "phone",
        "url",
        "picklist",
        "multipicklist",
        "combobox",
        "encryptedstring",
    }
)
SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "int": "xsd:int",
    "long": "xsd:long",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
    "time": "xsd:time",
    "base64": "xsd:base64Binary",
    "address": "urn:address",
    "location": "urn:location",
    "anyType": "xsd:anyType",
}


@dataclass(frozen=True)
class PicklistValue:
    """One picklist entry (describe ``picklistValues`` item)."""

    value: str
    label: str | None = None
    active: bool = True
    default: bool = False

    def as_describe(self) -> dict:
        return {
            "active": self.active,
            "defaultValue": self.default,
            "label": self.label if self.label is not None else self.value,
            "validFor": None,
            "value": self.value,
        }


@dataclass(frozen=True)
class FieldSpec:
    """One field. ``None`` for a derived flag means "what Salesforce does for this type"."""

    name: str
    type: str
    label: str
    length: int = 0
    precision: int = 0
    scale: int = 0
    digits: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    defaulted_on_create: bool = False
    default_value: Any = None
    default_formula: str | None = None
    picklist: tuple[PicklistValue, ...] = ()
    restricted_picklist: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    relationship_order: int | None = None
    child_relationship: str | None = None  # name of the parent's child relationship
    cascade_delete: bool = False
    restricted_delete: bool = False
    write_requires_master_read: bool = False
    compound_field_name: str | None = None
    name_field: bool = False
    name_pointing: bool = False
    polymorphic: bool = False
    external_id: bool = False
    unique: bool = False
    case_sensitive: bool = False
    id_lookup: bool = False
    custom: bool = False
    formula: str | None = None
    formula_type: str | None = None
    auto_number: bool = False
    auto_number_format: str | None = None
    auto_number_start: int = 1
    html_formatted: bool = False
    encrypted: bool = False
    mask: str | None = None
    mask_type: str | None = None
    extra_type_info: str | None = None
    filterable: bool | None = None
    sortable: bool | None = None
    groupable: bool | None = None
    aggregatable: bool | None = None
    permissionable: bool | None = None
    search_prefilterable: bool | None = None
    query_by_distance: bool = False
    inline_help_text: str | None = None
    soap_type: str | None = None
    role: str | None = None  # server-managed meaning: id, deleted, audit, modstamp, owner, ...
    deprecated: bool = False

    @property
    def calculated(self) -> bool:
        return self.formula is not None

    @property
    def lower(self) -> str:
        return self.name.lower()

    @property
    def value_type(self) -> str:
        """The type values are checked against (a formula's result type)."""
        return self.formula_type or self.type

    def with_(self, **changes: Any) -> FieldSpec:
        return replace(self, **changes)


@dataclass
class ObjectSpec:
    """One sObject type: flags of the global describe plus its fields, in describe order."""

    name: str
    label: str
    label_plural: str
    key_prefix: str | None
    fields: list[FieldSpec]
    custom: bool = False
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    undeletable: bool = True
    queryable: bool = True
    retrieveable: bool = True
    replicateable: bool = True
    searchable: bool = True
    triggerable: bool = True
    layoutable: bool = True
    mergeable: bool = False
    mru_enabled: bool = True
    feed_enabled: bool = False
    deep_cloneable: bool = False
    compact_layoutable: bool = True
    search_layoutable: bool = True
    activateable: bool = False
    supported_scopes: tuple[tuple[str, str], ...] = (
        ("everything", "All {plural}"),
        ("mine", "My {plural}"),
    )
    extra_urls: tuple[tuple[str, str], ...] = ()
    describe_urls: str = "full"  # full | setup | minimal
    network_scope_field: str | None = None
    description: str | None = None
    extra: dict = field(default_factory=dict)

    def field(self, name: str) -> FieldSpec | None:
        lower = name.lower()
        for f in self.fields:
            if f.lower == lower:
                return f
        return None


# --- constructors used by the standard object tables -------------------------------------


def pick(*values: str, default: str | None = None) -> tuple[PicklistValue, ...]:
    """Picklist values in order; ``default`` marks the default one."""
    return tuple(PicklistValue(v, default=(v == default)) for v in values)


def f_id(label: str) -> FieldSpec:
    return FieldSpec(
        "Id",
        "id",
        label,
        length=18,
        nillable=False,
        createable=False,
        updateable=False,
        defaulted_on_create=True,
        id_lookup=True,
        role="id",
    )


def f_deleted() -> FieldSpec:
    return FieldSpec(
        "IsDeleted",
        "boolean",
        "Deleted",
        nillable=False,
        createable=False,
        updateable=False,
        defaulted_on_create=True,
        default_value=False,
        role="deleted",
    )


def f_text(name: str, label: str, length: int, **kw: Any) -> FieldSpec:
    return FieldSpec(name, "string", label, length=length, **kw)


def f_textarea(name: str, label: str, length: int = 32000, **kw: Any) -> FieldSpec:
    kw.setdefault("extra_type_info", "plaintextarea")
    return FieldSpec(name, "textarea", label, length=length, **kw)


def f_pick(name: str, label: str, values: tuple[PicklistValue, ...], **kw: Any) -> FieldSpec:
    kw.setdefault("length", 40)
    return FieldSpec(name, "picklist", label, picklist=values, **kw)


def f_ref(name: str, label: str, to: str | tuple[str, ...], rel: str | None, **kw: Any) -> FieldSpec:
    targets = (to,) if isinstance(to, str) else tuple(to)
    kw.setdefault("polymorphic", len(targets) > 1)
    return FieldSpec(name, "reference", label, length=18, reference_to=targets, relationship_name=rel, **kw)


def f_bool(name: str, label: str, default: bool = False, **kw: Any) -> FieldSpec:
    kw.setdefault("nillable", False)
    kw.setdefault("defaulted_on_create", True)
    return FieldSpec(name, "boolean", label, default_value=default, **kw)


def f_num(
    name: str, label: str, type_: str = "double", precision: int = 18, scale: int = 0, **kw: Any
) -> FieldSpec:
    return FieldSpec(name, type_, label, precision=precision, scale=scale, **kw)


def f_int(name: str, label: str, digits: int = 9, **kw: Any) -> FieldSpec:
    return FieldSpec(name, "int", label, digits=digits, **kw)


def f_date(name: str, label: str, **kw: Any) -> FieldSpec:
    return FieldSpec(name, "date", label, **kw)


def f_datetime(name: str, label: str, **kw: Any) -> FieldSpec:
    return FieldSpec(name, "datetime", label, **kw)


def f_phone(name: str, label: str, **kw: Any) -> FieldSpec:
    kw.setdefault("length", 40)
    return FieldSpec(name, "phone", label, **kw)


def f_email(name: str, label: str, **kw: Any) -> FieldSpec:
    kw.setdefault("length", 80)
    return FieldSpec(name, "email", label, **kw)


def f_url(name: str, label: str, **kw: Any) -> FieldSpec:
    kw.setdefault("length", 255)
    return FieldSpec(name, "url", label, **kw)


def readonly(spec: FieldSpec) -> FieldSpec:
    return spec.with_(createable=False, updateable=False)


def owner(label: str = "Owner ID", to: tuple[str, ...] = ("User",)) -> FieldSpec:
    return f_ref(
        "OwnerId",
        label,
        to,
        "Owner",
        nillable=False,
        defaulted_on_create=True,
        role="owner",
        polymorphic=len(to) > 1,
    )


GEOCODE = pick(
    "Address",
    "NearAddress",
    "Block",
    "Street",
    "ExtendedZip",
    "Zip",
    "Neighborhood",
    "City",
    "County",
    "State",
    "Unknown",
)


def address(
    prefix: str,
    label: str,
    state_label: str = "State/Province",
    zip_label: str = "Zip/Postal Code",
    restricted_geo: bool = True,
) -> list[FieldSpec]:
    """The parts of a compound address plus the compound field itself."""
    compound = f"{prefix}Address"
    lp = f"{label} " if label else ""
    kw = {"compound_field_name": compound}
    return [
        f_textarea(f"{prefix}Street", f"{lp}Street", 255, **kw),
        f_text(f"{prefix}City", f"{lp}City", 40, **kw),
        f_text(f"{prefix}State", f"{lp}{state_label}", 80, **kw),
        f_text(f"{prefix}PostalCode", f"{lp}{zip_label}", 20, **kw),
        f_text(f"{prefix}Country", f"{lp}Country", 80, **kw),
        f_num(f"{prefix}Latitude", f"{lp}Latitude", precision=18, scale=15, **kw),
        f_num(f"{prefix}Longitude", f"{lp}Longitude", precision=18, scale=15, **kw),
        f_pick(
            f"{prefix}GeocodeAccuracy",
            f"{lp}Geocode Accuracy",
            GEOCODE,
            restricted_picklist=restricted_geo,
            **kw,
        ),
        FieldSpec(
            compound,
            "address",
            f"{lp}Address",
            createable=False,
            updateable=False,
            query_by_distance=True,
            role="address",
        ),
    ]


def audit_fields() -> list[FieldSpec]:
    """CreatedDate … SystemModstamp, in describe order."""
    common = {
        "nillable": False,
        "createable": False,
        "updateable": False,
        "defaulted_on_create": True,
    }
    return [
        f_datetime("CreatedDate", "Created Date", role="created_date", **common),
        f_ref("CreatedById", "Created By ID", "User", "CreatedBy", role="created_by", **common),
        f_datetime("LastModifiedDate", "Last Modified Date", role="modified_date", **common),
        f_ref(
            "LastModifiedById",
            "Last Modified By ID",
            "User",
            "LastModifiedBy",
            role="modified_by",
            **common,
        ),
        f_datetime("SystemModstamp", "System Modstamp", role="modstamp", **common),
    ]


def viewed_fields() -> list[FieldSpec]:
    return [
        readonly(f_datetime("LastViewedDate", "Last Viewed Date")),
        readonly(f_datetime("LastReferencedDate", "Last Referenced Date")),
    ]


def master_record(obj: str) -> FieldSpec:
    return readonly(f_ref("MasterRecordId", "Master Record ID", obj, "MasterRecord"))


def record_type_field() -> FieldSpec:
    return f_ref(
        "RecordTypeId",
        "Record Type ID",
        "RecordType",
        "RecordType",
        permissionable=False,
        search_prefilterable=False,
        role="record_type",
    )


INDUSTRY = pick(
    "Agriculture",
    "Apparel",
    "Banking",
    "Biotechnology",
    "Chemicals",
    "Communications",
    "Construction",
    "Consulting",
    "Education",
    "Electronics",
    "Energy",
    "Engineering",
    "Entertainment",
    "Environmental",
    "Finance",
    "Food & Beverage",
    "Government",
    "Healthcare",
    "Hospitality",
    "Insurance",
    "Machinery",
    "Manufacturing",
    "Media",
    "Not For Profit",
    "Recreation",
    "Retail",
    "Shipping",
    "Technology",
    "Telecommunications",
    "Transportation",
    "Utilities",
    "Other",
)
LEAD_SOURCE = pick("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")
RATING = pick("Hot", "Warm", "Cold")
SALUTATION = pick("Mr.", "Ms.", "Mrs.", "Dr.", "Prof.")
CLEAN_STATUS = pick(
    "Matched",
    "Different",
    "Acknowledged",
    "NotFound",
    "Inactive",
    "Pending",
    "SelectMatch",
    "Skipped",
)
