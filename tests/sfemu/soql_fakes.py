"""A small in-memory DataSource for the SOQL tests (no domain layer involved)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sfemu.ids import make_id
from sfemu.soql.source import FieldInfo, ObjectInfo

NOW = datetime(2024, 3, 15, 10, 30, 0, tzinfo=UTC)  # a Friday


def f(name: str, type_: str = "string", *refs: str, rel: str | None = None, **kw) -> FieldInfo:
    return FieldInfo(name, type_, tuple(refs), rel, **kw)


def obj(name: str, fields: list[FieldInfo], children: dict[str, tuple[str, str]] | None = None):
    common = [
        f("Id", "id"),
        f("IsDeleted", "boolean"),
        f("CreatedDate", "datetime"),
        f("SystemModstamp", "datetime"),
    ]
    mapping = {fi.name.lower(): fi for fi in [*common, *fields]}
    kids = {k.lower(): v for k, v in (children or {}).items()}
    return ObjectInfo(name, mapping, kids)


SCHEMA = [
    obj(
        "Account",
        [
            f("Name"),
            f("Industry", "picklist"),
            f("AnnualRevenue", "currency"),
            f("NumberOfEmployees", "int"),
            f("Description", "textarea", filterable=False, sortable=False),
            f("OwnerId", "reference", "User", rel="Owner"),
            f("ParentId", "reference", "Account", rel="Parent"),
            f("Active__c", "boolean"),
            f("Regions__c", "multipicklist"),
            f("Founded__c", "date"),
        ],
        {
            "Contacts": ("Contact", "AccountId"),
            "Opportunities": ("Opportunity", "AccountId"),
            "ChildAccounts": ("Account", "ParentId"),
            "Widgets__r": ("Widget__c", "Account__c"),
        },
    ),
    obj(
        "Contact",
        [
            f("FirstName"),
            f("LastName"),
            f("Email", "email"),
            f("AccountId", "reference", "Account", rel="Account"),
            f("OwnerId", "reference", "User", rel="Owner"),
            f("Birthdate", "date"),
            f("float_field__c", "double"),
        ],
        {"Opportunities": ("Opportunity", "ContactId")},
    ),
    obj(
        "Opportunity",
        [
            f("Name"),
            f("StageName", "picklist"),
            f("Amount", "currency"),
            f("CloseDate", "date"),
            f("AccountId", "reference", "Account", rel="Account"),
            f("ContactId", "reference", "Contact", rel="Contact"),
        ],
    ),
    obj("User", [f("Username"), f("Name"), f("Alias"), f("IsActive", "boolean")]),
    obj("Group", [f("Name"), f("Type", "picklist")]),
    obj(
        "Case",
        [
            f("Subject"),
            f("OwnerId", "reference", "Group", "User", rel="Owner"),
            f("AccountId", "reference", "Account", rel="Account"),
        ],
    ),
    obj("Widget__c", [f("Name"), f("Account__c", "reference", "Account", rel="Account__r")]),
]

_PREFIXES = {
    "Account": "001",
    "Contact": "003",
    "Opportunity": "006",
    "User": "005",
    "Group": "00G",
    "Case": "500",
    "Widget__c": "a0B",
}


def new_id(sobject: str, n: int) -> str:
    return make_id(_PREFIXES[sobject], "4S", 1000 + n)


class FakeSource:
    """Rows per object in insertion order; ``IsDeleted`` rows only for queryAll."""

    def __init__(self, now: datetime = NOW) -> None:
        self.schema = {o.name.lower(): o for o in SCHEMA}
        self.data: dict[str, list[dict]] = {o.name: [] for o in SCHEMA}
        self.by_id: dict[str, tuple[str, dict]] = {}
        self._now = now
        self._count = 0

    def add(self, sobject: str, **values) -> str:
        self._count += 1
        record_id = values.pop("Id", None) or new_id(sobject, self._count)
        row = {
            "Id": record_id,
            "IsDeleted": False,
            "CreatedDate": "2024-01-01T00:00:00.000+0000",
            "SystemModstamp": "2024-01-01T00:00:00.000+0000",
        }
        row.update(values)
        self.data[sobject].append(row)
        self.by_id[record_id] = (sobject, row)
        return record_id

    # DataSource protocol
    def object_info(self, name: str) -> ObjectInfo | None:
        return self.schema.get(name.lower())

    def rows(self, sobject: str, *, include_deleted: bool) -> Iterable[dict]:
        rows = self.data[sobject]
        return rows if include_deleted else [r for r in rows if not r["IsDeleted"]]

    def row_by_id(self, record_id: str) -> tuple[str, dict] | None:
        return self.by_id.get(record_id)

    def now(self) -> datetime:
        return self._now
