"""Org customisation: custom objects and fields, validation rules, record types.

Mixed into :class:`sfemu.org.Org`; definitions are persisted per org and replayed on restart.
"""

from __future__ import annotations

from typing import Any

from sfemu import ids
from sfemu.errors import SalesforceError
from sfemu.schema import custom
from sfemu.schema import rules as vrules
from sfemu.schema.dml import Writer
from sfemu.schema.spec import FieldSpec, ObjectSpec


class CustomizeMixin:
    """Schema changes an admin makes in Setup."""

    def add_custom_object(
        self,
        name: str,
        *,
        label: str | None = None,
        plural_label: str | None = None,
        name_field_label: str | None = None,
        auto_number_format: str | None = None,
        allow_activities: bool = True,
        description: str | None = None,
    ) -> str:
        """Create ``name`` (ending in ``__c``); returns its key prefix (``a0X``…)."""
        custom.check_api_name(name)
        with self._lock:
            if self.schema.get(name):
                raise SalesforceError("DUPLICATE_DEVELOPER_NAME", f"An object named {name} already exists")
            prefix = self._next_custom_prefix()
            name_field: dict[str, Any] = {"label": name_field_label}
            if auto_number_format:
                name_field.update(type="autonumber", format=auto_number_format)
            defn = {
                "name": name,
                "label": label,
                "plural_label": plural_label,
                "key_prefix": prefix,
                "name_field": name_field,
                "allow_activities": allow_activities,
                "description": description,
            }
            custom.object_spec(defn, [])
            self.store.put_def(self.org_id, "object", name, name, defn)
            self._invalidate()
            return prefix

    def _next_custom_prefix(self) -> str:
        used = {o.key_prefix for o in self.schema.objects()}
        index = self._data.get("next_custom_prefix", 0)
        while ids.custom_prefix(index) in used:
            index += 1
        self._data["next_custom_prefix"] = index + 1
        return ids.custom_prefix(index)

    def add_custom_field(self, sobject: str, name: str, type: str, **options: Any) -> FieldSpec:
        """Add a custom field (see :mod:`sfemu.schema.custom` for types and options)."""
        with self._lock:
            obj = self.schema.require(sobject)
            if self.schema.field(obj.name, name):
                raise SalesforceError(
                    "DUPLICATE_DEVELOPER_NAME", f"A field named {name} already exists on {obj.name}"
                )
            defn = {"object": obj.name, "name": name, "type": type, **options}
            spec = custom.field_spec(defn)
            if spec.type == "reference":
                target = self.schema.require(spec.reference_to[0])
                defn["reference_to"] = target.name
            self.store.put_def(self.org_id, "field", obj.name, name, defn)
            self._invalidate()
            if spec.auto_number:
                self._backfill_auto_number(self.schema.require(obj.name), spec.name)
            return self.schema.require_field(self.schema.require(obj.name), name)

    def delete_custom_field(self, sobject: str, name: str) -> None:
        obj = self.schema.require(sobject)
        spec = self.schema.require_field(obj, name)
        if not spec.custom:
            raise SalesforceError("INVALID_FIELD", f"{name} is not a custom field")
        self.store.delete_def(self.org_id, "field", obj.name, spec.name)
        self._invalidate()

    def _backfill_auto_number(self, obj: ObjectSpec, field: str) -> None:
        writer = Writer(self, system=True)
        with self.store.write():
            for row in list(self.store.iter_records(self.org_id, obj.name, include_deleted=True)):
                row.pop(field, None)
                writer._assign_auto_numbers(obj, row)
                self.store.replace_record(row["Id"], bool(row.get("IsDeleted")), row["SystemModstamp"], row)

    def add_validation_rule(
        self,
        sobject: str,
        name: str,
        *,
        message: str,
        field: str | None = None,
        condition: str | None = None,
        value: Any = None,
        formula: str | None = None,
        error_field: str | None = None,
        active: bool = True,
    ) -> None:
        """A validation rule: the save fails when the condition (or formula) is true."""
        obj = self.schema.require(sobject)
        rule = {
            "object": obj.name,
            "name": name,
            "message": message,
            "field": field,
            "condition": condition,
            "value": value,
            "formula": formula,
            "error_field": error_field,
            "active": active,
        }
        vrules.check_definition(rule)
        with self._lock:
            rules = [r for r in self._data.get("rules", []) if r["name"] != name]
            self._data["rules"] = [*rules, rule]
            self._save()

    def add_record_type(
        self,
        sobject: str,
        name: str,
        developer_name: str | None = None,
        *,
        default: bool = False,
        active: bool = True,
        description: str | None = None,
    ) -> str:
        obj = self.schema.require(sobject)
        values = {
            "Name": name,
            "DeveloperName": developer_name or name.replace(" ", "_"),
            "SobjectType": obj.name,
            "IsActive": active,
            "Description": description,
        }
        rid = self._system_insert("RecordType", values)
        if default:
            self._data.setdefault("default_record_types", {})[obj.name] = rid
            self._save()
        self._invalidate()
        return rid

    def _system_insert(
        self, sobject: str, values: dict, *, record_id: str | None = None, user_id: str | None = None
    ) -> str:
        """Insert bypassing create rights (org setup, record types, seed data)."""
        obj = self.schema.require(sobject)
        writer = Writer(self, system=True)
        with self.store.write():
            return writer.insert(
                obj, values, user_id or self._data.get("admin_user_id", ""), record_id=record_id
            )
