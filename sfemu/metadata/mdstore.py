"""Per-org storage of metadata components that are not part of the record schema (Apex,
layouts, profile and permission-set settings, roles' extras, installed packages, …).

Entries are kept in the instance database next to the custom object/field definitions
(``schema_defs`` rows of kind ``md:<Type>``), so they survive restarts and take part in the
store's transactions: a deploy that rolls back leaves no trace.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sfemu import ids
from sfemu.timeutil import format_datetime

if TYPE_CHECKING:
    from sfemu.org import Org

# Key prefixes of component ids (what listMetadata reports as ``id``).
ID_PREFIXES = {
    "ApexClass": "01p",
    "ApexTrigger": "01q",
    "Layout": "00h",
    "PermissionSet": "0PS",
    "Profile": "00e",
    "Role": "00E",
    "CustomObject": "01I",
    "ValidationRule": "03d",
    "InstalledPackage": "0A3",
    "CustomField": "00N",
}
KIND = "md:{}"


def new_id(org: Org, prefix: str) -> str:
    first = org.store.allocate_sequence(org.pod, prefix, 1, ids.sequence_start(org.instance.rng))
    return ids.make_id(prefix, org.pod, first)


class MetadataStore:
    """Stored components of one org, by type and (case-insensitive) full name."""

    def __init__(self, org: Org) -> None:
        self.org = org

    def entries(self, type_name: str) -> list[dict[str, Any]]:
        return self.org.store.list_defs(self.org.org_id, KIND.format(type_name))

    def get(self, type_name: str, full_name: str) -> dict[str, Any] | None:
        wanted = full_name.lower()
        return next((e for e in self.entries(type_name) if e["fullName"].lower() == wanted), None)

    def put(
        self,
        type_name: str,
        full_name: str,
        body: dict[str, Any],
        *,
        content: str | None = None,
        namespace: str | None = None,
        user_id: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Create or replace a component; keeps its id and creation stamp when it exists."""
        org = self.org
        old = self.get(type_name, full_name)
        stamp = format_datetime(org.now())
        user = user_id or org.admin_user_id
        entry = {
            "type": type_name,
            "fullName": old["fullName"] if old else full_name,
            "id": old["id"] if old else new_id(org, ID_PREFIXES.get(type_name, "0Xx")),
            "created": old["created"] if old else stamp,
            "created_by": old["created_by"] if old else user,
            "modified": stamp,
            "modified_by": user,
            "namespace": namespace if namespace is not None else (old or {}).get("namespace"),
            "body": body,
            "content": content,
            **(extra or {}),
        }
        org.store.put_def(org.org_id, KIND.format(type_name), "", entry["fullName"].lower(), entry)
        return entry

    def delete(self, type_name: str, full_name: str) -> bool:
        old = self.get(type_name, full_name)
        if old is None:
            return False
        self.org.store.delete_def(self.org.org_id, KIND.format(type_name), "", old["fullName"].lower())
        return True
