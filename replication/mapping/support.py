"""Which objects and fields can be published (Organization Sync's "Unsupported Fields")."""

from __future__ import annotations

from dataclasses import dataclass

from replication.mapping.fields import AUDIT_FIELDS, COMPOUND_NAME_OBJECTS, Field, is_orgsync_identity


@dataclass(frozen=True)
class Support:
    """Whether a field or object can be published; ``reason`` tells an admin why not."""

    supported: bool
    reason: str = ""
    code: str = ""


SUPPORTED = Support(True)

# Objects Salesforce marks replicateable that orgsync still leaves alone: users are matched by
# the owner strategy, the rest is setup metadata (metadiff's job) or not record data at all.
SETUP_OBJECTS = frozenset(
    {
        "User",
        "Profile",
        "UserRole",
        "RecordType",
        "Organization",
        "Group",
        "GroupMember",
        "PermissionSet",
        "PermissionSetAssignment",
        "PermissionSetGroup",
        "BusinessHours",
        "Holiday",
        "CronTrigger",
        "AsyncApexJob",
        "ApexClass",
        "ApexTrigger",
        "ApexPage",
        "StaticResource",
        "EmailTemplate",
        "Folder",
        "Network",
        "Site",
    }
)
_SUFFIX_KINDS = (
    ("__mdt", "custom metadata type (deploy it with metadiff)"),
    ("__Share", "sharing object"),
    ("__History", "field history object"),
    ("__Feed", "feed object"),
    ("__ChangeEvent", "change event object"),
    ("__e", "platform event"),
    ("__x", "external object (its data lives outside Salesforce)"),
    ("__b", "big object"),
)
_STANDARD_SUFFIX_KINDS = (
    ("Share", "sharing object"),
    ("History", "field history object"),
    ("Feed", "feed object"),
    ("ChangeEvent", "change event object"),
)


def field_support(field: Field, *, object_name: str) -> Support:
    """Whether ``field`` of ``object_name`` can be published, following Organization Sync."""
    name = field.get("name", "")
    for check in _FIELD_CHECKS:
        result = check(field, name, object_name)
        if result is not None:
            return result
    return SUPPORTED


def orgsync_identity_reason(name: str) -> str:
    """Why OrgSync_Source_Id__c is never published nor mapped: orgsync writes it itself (the
    upsert key of every insert, on both sides of a two-way connection); a direction syncing it as
    a field would overwrite the other direction's origin markers."""
    return (
        f"{name} is orgsync's own record identity: it holds the origin Id of the records orgsync "
        "copied; never synced as a field."
    )


def _identity(field: Field, name: str, object_name: str) -> Support | None:
    if name == "Id":
        return Support(
            False,
            "Record IDs differ in every org: orgsync links records through their source Id, "
            "stored in the target's OrgSync_Source_Id__c external ID.",
            "record_id",
        )
    if is_orgsync_identity(field):
        return Support(False, orgsync_identity_reason(name), "orgsync_identity")
    if name == "IsDeleted":
        return Support(False, "Deletions are synced as delete operations, not as a field.", "is_deleted")
    if name in AUDIT_FIELDS:
        return Support(
            False,
            f"{name} is an audit field: audit fields are synced by the connection's Sync Feeds and "
            "Audit Fields option (when a record is first copied), not published.",
            "audit_field",
        )
    return None


def _stored_differently(field: Field, name: str, object_name: str) -> Support | None:
    if field.get("encrypted") or field.get("type") == "encryptedstring":
        return Support(False, f"{name} is encrypted: encrypted fields aren't synced.", "encrypted")
    if field.get("type") == "textarea" and field.get("htmlFormatted"):
        return Support(False, f"{name} is a rich text area: rich text fields aren't synced.", "rich_text")
    return None


def _calculated(field: Field, name: str, object_name: str) -> Support | None:
    if not field.get("calculated"):
        return None
    if field.get("calculatedFormula"):
        return Support(
            False,
            f"{name} is a formula, calculated by each org: publish the fields it uses and create "
            "the same formula in the target org.",
            "formula",
        )
    return Support(
        False,
        f"{name} is a roll-up summary, calculated from child records: publish the child object "
        "and create the same roll-up summary in the target org.",
        "rollup_summary",
    )


def _auto_number(field: Field, name: str, object_name: str) -> Support | None:
    if not field.get("autoNumber"):
        return None
    return Support(
        False,
        f"{name} is an auto-number: each org numbers its own records. To keep the number, map it "
        "to a custom text field (30 characters or more) in the target org.",
        "auto_number",
    )


def _compound(field: Field, name: str, object_name: str) -> Support | None:
    ftype = field.get("type")
    if ftype == "address":
        return Support(
            False,
            f"{name} is a compound address: publish its parts (street, city, state, postal code, "
            "country) instead.",
            "compound_address",
        )
    if ftype == "location" or name.endswith(("__Latitude__s", "__Longitude__s")):
        return Support(
            False, f"{name} is a geolocation field: geolocation fields aren't synced.", "geolocation"
        )
    if name == "Name" and object_name in COMPOUND_NAME_OBJECTS:
        return Support(
            False,
            f"Name on {object_name} is built by Salesforce from FirstName and LastName: publish "
            "Salutation, FirstName and LastName instead.",
            "compound_name",
        )
    return None


def _system(field: Field, name: str, object_name: str) -> Support | None:
    if field.get("createable") or field.get("updateable"):
        return None
    return Support(
        False,
        f"{name} is a system field Salesforce sets itself; it can't be written in the target org.",
        "read_only",
    )


_FIELD_CHECKS = (_identity, _stored_differently, _calculated, _auto_number, _compound, _system)


def object_publishable(global_entry: dict) -> Support:
    """Whether an object (an entry of ``GET /sobjects``) can be published."""
    name = global_entry.get("name", "")
    if not global_entry.get("queryable", False):
        return Support(False, f"{name} can't be queried through the API.", "not_queryable")
    if not global_entry.get("replicateable", False):
        return Support(
            False, f"Salesforce doesn't allow replicating {name} (not replicateable).", "not_replicateable"
        )
    if global_entry.get("customSetting"):
        return Support(
            False, f"{name} is a custom setting: deploy its data with the org's metadata.", "custom_setting"
        )
    kind = _special_kind(name, bool(global_entry.get("custom")))
    if kind:
        return Support(False, f"{name} is a {kind}, not record data orgsync replicates.", "special_object")
    if name in SETUP_OBJECTS:
        return Support(
            False,
            f"{name} is a setup object orgsync doesn't replicate: owners are resolved by the owner "
            "strategy, and setup metadata is compared and deployed with metadiff.",
            "setup_object",
        )
    if not global_entry.get("createable", False):
        return Support(
            False,
            f"{name} records can't be created through the API, so no org can subscribe to it.",
            "not_createable",
        )
    return SUPPORTED


def _special_kind(name: str, custom: bool) -> str | None:
    for suffix, kind in _SUFFIX_KINDS:
        if name.endswith(suffix):
            return kind
    if not custom:
        for suffix, kind in _STANDARD_SUFFIX_KINDS:
            if name.endswith(suffix) and name != suffix:
                return kind
    return None
