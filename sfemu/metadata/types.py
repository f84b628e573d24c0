"""The metadata types sfemu serves (``describeMetadata``) and where their files live."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TypeInfo:
    """One ``DescribeMetadataObject``; child types live inside their parent's file."""

    name: str
    directory: str
    suffix: str | None
    meta_file: bool = False
    children: tuple[str, ...] = ()
    parent: str | None = None
    tag: str | None = None  # element holding the child in the parent's file ("fields")


TYPES: dict[str, TypeInfo] = {
    t.name: t
    for t in (
        TypeInfo("ApexClass", "classes", "cls", meta_file=True),
        TypeInfo("ApexTrigger", "triggers", "trigger", meta_file=True),
        TypeInfo(
            "CustomObject",
            "objects",
            "object",
            children=("CustomField", "RecordType", "ValidationRule"),
        ),
        TypeInfo("CustomField", "objects", "object", parent="CustomObject", tag="fields"),
        TypeInfo("RecordType", "objects", "object", parent="CustomObject", tag="recordTypes"),
        TypeInfo("ValidationRule", "objects", "object", parent="CustomObject", tag="validationRules"),
        TypeInfo("InstalledPackage", "installedPackages", "installedPackage"),
        TypeInfo("Layout", "layouts", "layout"),
        TypeInfo("PermissionSet", "permissionsets", "permissionset"),
        TypeInfo("Profile", "profiles", "profile"),
        TypeInfo("Role", "roles", "role"),
    )
}
# Order in which a deploy applies components (parents before what refers to them).
DEPLOY_ORDER = (
    "InstalledPackage",
    "CustomObject",
    "CustomField",
    "RecordType",
    "ValidationRule",
    "ApexClass",
    "ApexTrigger",
    "Layout",
    "Role",
    "PermissionSet",
    "Profile",
)
TOP_LEVEL = tuple(t for t in TYPES.values() if t.parent is None)
BY_DIRECTORY: dict[str, TypeInfo] = {t.directory: t for t in TOP_LEVEL}


def describe_entries() -> list[TypeInfo]:
    """Top-level types as ``describeMetadata`` lists them (by xmlName)."""
    return sorted(TOP_LEVEL, key=lambda t: t.name)


def file_name(type_name: str, full_name: str) -> str:
    """Path of a component's file in a package (``objects/Account.object`` for a field)."""
    info = TYPES[type_name]
    if info.parent:
        return f"{info.directory}/{full_name.split('.', 1)[0]}.{info.suffix}"
    return f"{info.directory}/{full_name}.{info.suffix}"
