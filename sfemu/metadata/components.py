"""The component model: each metadata type read from, and written to, the org's real state.

Custom objects, fields, record types and validation rules *are* the org's schema (what REST
describe reports and DML enforces); roles are ``UserRole`` rows and profiles ``Profile`` rows
with their permission settings kept beside them; Apex, layouts, permission sets and installed
packages live in the per-org :class:`~sfemu.metadata.mdstore.MetadataStore`.

Every handler offers ``names`` (listMetadata), ``read`` (the component as an XML dict, ``fullName``
included; None when absent), ``apply`` (create or update, raising :class:`ComponentError`) and
``delete`` (destructive changes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sfemu import tooling
from sfemu.errors import SalesforceError
from sfemu.metadata import apex
from sfemu.metadata.mdstore import MetadataStore, new_id
from sfemu.metadata.xmlio import as_list, flag
from sfemu.schema import custom
from sfemu.schema import formula as formulas
from sfemu.schema.dml import Writer

if TYPE_CHECKING:
    from sfemu.org import Org
    from sfemu.schema.spec import FieldSpec, ObjectSpec

EPOCH = "1970-01-01T00:00:00.000Z"
_SUFFIXES = frozenset({"c", "r", "e", "b", "x", "mdt", "kav", "ka", "share", "history", "feed"})
# Profile names as the Metadata API spells them.
STANDARD_PROFILES = {
    "System Administrator": "Admin",
    "Standard User": "Standard",
    "Read Only": "ReadOnly",
    "Contract Manager": "ContractManager",
    "Marketing User": "MarketingProfile",
    "Solution Manager": "SolutionManager",
    "Minimum Access - Salesforce": "Minimum Access - Salesforce",
}
PROFILE_LISTS = {
    "fieldPermissions": ("field",),
    "objectPermissions": ("object",),
    "userPermissions": ("name",),
    "classAccesses": ("apexClass",),
    "layoutAssignments": ("layout", "recordType"),
    "recordTypeVisibilities": ("recordType",),
    "tabVisibilities": ("tab",),
    "applicationVisibilities": ("application",),
    "customPermissions": ("name",),
    "pageAccesses": ("apexPage",),
}
MD_FIELD_TYPES = {
    "text": "Text",
    "string": "Text",
    "textarea": "TextArea",
    "longtextarea": "LongTextArea",
    "richtextarea": "Html",
    "number": "Number",
    "double": "Number",
    "int": "Number",
    "currency": "Currency",
    "percent": "Percent",
    "checkbox": "Checkbox",
    "boolean": "Checkbox",
    "date": "Date",
    "datetime": "DateTime",
    "time": "Time",
    "email": "Email",
    "phone": "Phone",
    "url": "Url",
    "picklist": "Picklist",
    "multipicklist": "MultiselectPicklist",
    "lookup": "Lookup",
    "reference": "Lookup",
    "masterdetail": "MasterDetail",
    "autonumber": "AutoNumber",
    "encryptedtext": "EncryptedText",
    "encryptedstring": "EncryptedText",
}
_DECLARATIVE = {
    "eq": "=",
    "ne": "<>",
    "lt": "<",
    "le": "<=",
    "gt": ">",
    "ge": ">=",
}
SUPPORTED_FUNCTIONS = frozenset(
    [
        "IF",
        "AND",
        "OR",
        "NOT",
        "ISBLANK",
        "ISNULL",
        "BLANKVALUE",
        "NULLVALUE",
        "LEN",
        "UPPER",
        "LOWER",
        "TEXT",
        "VALUE",
        "ROUND",
        "ABS",
        "BEGINS",
        "CONTAINS",
        "ISPICKVAL",
        "TODAY",
        "NOW",
    ]
)


class ComponentError(Exception):
    """A component failure of a deploy (``problem`` as Salesforce words it)."""

    def __init__(self, problem: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.line = line
        self.column = column


@dataclass
class Listed:
    """One ``FileProperties`` entry."""

    type: str
    full_name: str
    file_name: str
    id: str
    created: str
    created_by: str
    modified: str
    modified_by: str
    namespace: str | None = None
    managed: bool = False


def namespace_of(org: Org, name: str) -> str | None:
    """The namespace prefix of an API name (``acme__Score__c``, ``acme__Util``), when an
    installed package owns it."""
    parts = name.split(".")[-1].split("__")
    if len(parts) < 2 or (len(parts) == 2 and parts[1].lower() in _SUFFIXES):
        return None
    wanted = parts[0].lower()
    return next((ns for ns in installed_namespaces(org) if ns.lower() == wanted), None)


def installed_namespaces(org: Org) -> list[str]:
    return [e["fullName"] for e in MetadataStore(org).entries("InstalledPackage")]


def _check_managed(org: Org, type_name: str, full_name: str, comp_id: str) -> None:
    if namespace_of(org, full_name):
        raise ComponentError(
            f"Cannot modify managed object: entity={type_name}, component={comp_id[:15]}, "
            "field=FullName, state=installed"
        )


def _split(full_name: str, type_name: str) -> tuple[str, str]:
    if "." not in full_name:
        raise ComponentError(f"Invalid fullName for {type_name}: {full_name} (expected Object.Name)")
    obj, name = full_name.split(".", 1)
    return obj, name


def _require_object(org: Org, name: str) -> ObjectSpec:
    obj = org.schema.get(name)
    if obj is None:
        raise ComponentError(f"Cannot find entity: {name}")
    return obj


def _stamp(value: str | None) -> str:
    """``2024-01-31T12:00:00.000+0000`` → ``2024-01-31T12:00:00.000Z`` (xsd:dateTime)."""
    if not value:
        return EPOCH
    return value.replace("+0000", "Z")


# --- CustomObject -------------------------------------------------------------------------


def _object_defs(org: Org) -> dict[str, dict[str, Any]]:
    return {d["name"].lower(): d for d in org.store.list_defs(org.org_id, "object")}


def _object_id(org: Org, defn: dict[str, Any]) -> str:
    if not defn.get("md_id"):
        defn["md_id"] = new_id(org, "01I")
        org.store.put_def(org.org_id, "object", defn["name"], defn["name"], defn)
    return defn["md_id"]


class CustomObjects:
    type = "CustomObject"

    def names(self, org: Org) -> list[Listed]:
        defs = _object_defs(org)
        out = []
        for obj in org.schema.objects():
            defn = defs.get(obj.name.lower())
            if defn is None:
                out.append(
                    Listed(self.type, obj.name, f"objects/{obj.name}.object", "", EPOCH, "", EPOCH, "")
                )
                continue
            created = _stamp(defn.get("created_date"))
            by = defn.get("created_by") or org.admin_user_id
            ns = namespace_of(org, obj.name)
            out.append(
                Listed(
                    self.type,
                    obj.name,
                    f"objects/{obj.name}.object",
                    _object_id(org, defn),
                    created,
                    by,
                    created,
                    by,
                    ns,
                    bool(ns),
                )
            )
        return out

    def read(self, org: Org, full_name: str, *, children: bool = True) -> dict[str, Any] | None:
        obj = org.schema.get(full_name)
        if obj is None:
            return None
        body: dict[str, Any] = {"fullName": obj.name}
        if obj.custom:
            defn = _object_defs(org).get(obj.name.lower(), {})
            name_field = obj.field("Name")
            nf: dict[str, Any] = {"label": name_field.label if name_field else f"{obj.label} Name"}
            if name_field is not None and name_field.auto_number:
                nf.update(displayFormat=name_field.auto_number_format, type="AutoNumber")
            else:
                nf["type"] = "Text"
            detail = any(f.custom and f.relationship_order is not None for f in obj.fields)
            body.update(
                deploymentStatus="Deployed",
                description=obj.description,
                enableActivities=bool(obj.extra.get("allow_activities", True)),
                enableFeeds=False,
                enableHistory=False,
                enableReports=_flag(defn.get("md_extra", {}).get("enableReports", False)),
                enableSearch=True,
                label=obj.label,
                nameField=nf,
                pluralLabel=obj.label_plural,
                sharingModel="ControlledByParent" if detail else "ReadWrite",
                visibility="Public",
            )
        else:
            body.update(enableFeeds=obj.feed_enabled, sharingModel="ReadWrite")
        if children:
            prefix = obj.name + "."
            fields = [FIELDS.read(org, prefix + f.name) for f in obj.fields if f.custom]
            rts = [
                RECORD_TYPES.read(org, prefix + r.developer_name)
                for r in org.schema.record_types_of(obj.name)
            ]
            rules = [RULES.read(org, n.full_name) for n in RULES.names(org) if n.full_name.startswith(prefix)]
            body["fields"] = [short(f) for f in fields if f]
            body["recordTypes"] = [short(r) for r in rts if r]
            body["validationRules"] = [short(r) for r in rules if r]
        return {k: v for k, v in body.items() if v is not None and v != []}

    def apply(self, org: Org, full_name: str, body: dict[str, Any], user_id: str) -> tuple[bool, str]:
        """(created, id); children in the body are applied too."""
        obj = org.schema.get(full_name)
        created = obj is None
        if obj is None:
            try:
                custom.check_api_name(full_name)
            except SalesforceError:
                raise ComponentError(f"Cannot create a new standard object: {full_name}") from None
            label = body.get("label")
            if not label:
                raise ComponentError("Must specify a non-empty label for the CustomObject")
            if not body.get("pluralLabel"):
                raise ComponentError("Must specify a non-empty plural label for the CustomObject")
            nf = body.get("nameField") if isinstance(body.get("nameField"), dict) else {}
            auto = str(nf.get("type") or "Text") == "AutoNumber"
            try:
                org.add_custom_object(
                    full_name,
                    label=str(label),
                    plural_label=str(body["pluralLabel"]),
                    name_field_label=nf.get("label") or None,
                    auto_number_format=(nf.get("displayFormat") or "{0}") if auto else None,
                    allow_activities=flag(body.get("enableActivities"), False),
                    description=body.get("description") or None,
                )
            except SalesforceError as exc:
                raise ComponentError(exc.message) from None
            defn = _object_defs(org)[full_name.lower()]
            defn.update(
                created_date=_now(org),
                created_by=user_id,
                md_extra={"enableReports": body.get("enableReports")},
            )
            org.store.put_def(org.org_id, "object", defn["name"], defn["name"], defn)
            org._invalidate()
        elif obj.custom:
            defn = _object_defs(org)[obj.name.lower()]
            _check_managed(org, self.type, obj.name, _object_id(org, defn))
            changed = False
            for key, attr in (
                ("label", "label"),
                ("pluralLabel", "plural_label"),
                ("description", "description"),
            ):
                if body.get(key) is not None and defn.get(attr) != body[key]:
                    defn[attr] = body[key]
                    changed = True
            if changed:
                org.store.put_def(org.org_id, "object", defn["name"], defn["name"], defn)
                org._invalidate()
        obj = org.schema.require(full_name)
        for child, handler in (("fields", FIELDS), ("recordTypes", RECORD_TYPES), ("validationRules", RULES)):
            for item in as_list(body.get(child)):
                if isinstance(item, dict) and item.get("fullName"):
                    handler.apply(org, f"{obj.name}.{item['fullName']}", item, user_id)
        defn = _object_defs(org).get(obj.name.lower())
        return created, (_object_id(org, defn) if defn else "")

    def delete(self, org: Org, full_name: str) -> None:
        obj = org.schema.get(full_name)
        if obj is None or not obj.custom:
            raise ComponentError(f"No CustomObject named {full_name} found")
        if org.store.count_records(org.org_id, obj.name).get(obj.name):
            raise ComponentError(f"Cannot delete {obj.name}: it has records")
        for fdef in org.store.list_defs(org.org_id, "field"):
            if fdef["object"].lower() == obj.name.lower():
                org.store.delete_def(org.org_id, "field", fdef["object"], fdef["name"])
        org.store.delete_def(org.org_id, "object", obj.name, obj.name)
        org._invalidate()


def short(body: dict[str, Any]) -> dict[str, Any]:
    """A child component as it appears inside its object's file (``fullName`` without object)."""
    return {**body, "fullName": str(body["fullName"]).split(".", 1)[-1]}


def _now(org: Org) -> str:
    from sfemu.timeutil import format_datetime

    return format_datetime(org.now())


# --- CustomField --------------------------------------------------------------------------


def _field_def(org: Org, obj: str, name: str) -> dict[str, Any] | None:
    for fdef in tooling.field_definitions(org):
        if fdef["object"].lower() == obj.lower() and fdef["name"].lower() == name.lower():
            return fdef
    return None


class CustomFields:
    type = "CustomField"

    def names(self, org: Org) -> list[Listed]:
        out = []
        for fdef in tooling.field_definitions(org):
            created = _stamp(fdef.get("created_date"))
            by = fdef.get("created_by") or org.admin_user_id
            full = f"{fdef['object']}.{fdef['name']}"
            ns = namespace_of(org, fdef["name"])
            out.append(
                Listed(
                    self.type,
                    full,
                    f"objects/{fdef['object']}.object",
                    fdef["tooling_id"],
                    created,
                    by,
                    _stamp(fdef.get("modified_date")) if fdef.get("modified_date") else created,
                    fdef.get("modified_by") or by,
                    ns,
                    bool(ns),
                )
            )
        return out

    def read(self, org: Org, full_name: str) -> dict[str, Any] | None:
        if "." not in full_name:
            return None
        obj_name, name = full_name.split(".", 1)
        obj = org.schema.get(obj_name)
        fdef = _field_def(org, obj_name, name) if obj else None
        spec = obj.field(name) if obj else None
        if obj is None or fdef is None or spec is None:
            return None
        return field_body(f"{obj.name}.{spec.name}", fdef, spec)

    def apply(self, org: Org, full_name: str, body: dict[str, Any], user_id: str) -> tuple[bool, str]:
        obj_name, name = _split(full_name, self.type)
        obj = _require_object(org, obj_name)
        try:
            custom.check_api_name(name)
        except SalesforceError:
            raise ComponentError(
                f"The Field Name is invalid: {name}. Custom field names end in __c, begin with a letter "
                "and use only alphanumeric characters and single underscores."
            ) from None
        metadata = {**body, "fullName": f"{obj.name}.{name}"}
        try:
            kind, options = tooling.field_options(org, metadata)
        except SalesforceError as exc:
            raise ComponentError(exc.message) from None
        existing = _field_def(org, obj.name, name)
        stamp = _now(org)
        if existing is None:
            if obj.field(name) is not None:
                raise ComponentError(f"There is already a field named {name} on {obj.label}.")
            field_id = tooling.new_field_id(org)
            try:
                org.add_custom_field(
                    obj.name,
                    name,
                    kind,
                    **options,
                    tooling_id=field_id,
                    created_date=stamp,
                    created_by=user_id,
                    md_body=body,
                )
            except SalesforceError as exc:
                raise ComponentError(exc.message) from None
            return True, field_id
        _check_managed(org, self.type, full_name, existing["tooling_id"])
        old_kind = str(existing["type"]).lower()
        if (old_kind in ("lookup", "masterdetail", "reference")) != (kind in ("lookup", "masterdetail")):
            raise ComponentError(f"Cannot change type due to existing data: {obj.name}.{name}")
        keep = {k: existing[k] for k in ("tooling_id", "created_date", "created_by") if k in existing}
        defn = {
            "object": obj.name,
            "name": existing["name"],
            "type": kind,
            **options,
            **keep,
            "modified_date": stamp,
            "modified_by": user_id,
            "md_body": body,
        }
        try:
            spec = custom.field_spec(defn)
        except SalesforceError as exc:
            raise ComponentError(exc.message) from None
        if spec.type == "reference":
            defn["reference_to"] = org.schema.require(spec.reference_to[0]).name
        org.store.put_def(org.org_id, "field", obj.name, existing["name"], defn)
        org._invalidate()
        return False, existing["tooling_id"]

    def delete(self, org: Org, full_name: str) -> None:
        obj_name, name = _split(full_name, self.type)
        fdef = _field_def(org, obj_name, name)
        if fdef is None:
            raise ComponentError(f"No CustomField named {full_name} found")
        org.store.delete_def(org.org_id, "field", fdef["object"], fdef["name"])
        org._invalidate()


def field_body(full_name: str, fdef: dict[str, Any], spec: FieldSpec) -> dict[str, Any]:
    """A custom field as the Metadata API writes it."""
    kind = str(fdef["type"]).lower()
    md_type = MD_FIELD_TYPES.get(
        str(fdef.get("formula_type") or "text").lower() if kind == "formula" else kind
    )
    body: dict[str, Any] = {
        "fullName": full_name,
        "label": spec.label,
        "type": md_type or "Text",
        "description": fdef.get("description"),
        "inlineHelpText": spec.inline_help_text,
        "trackTrending": False,
    }
    if kind == "formula":
        body.update(formula=spec.formula, formulaTreatBlanksAs="BlankAsZero")
        if spec.type in ("double", "currency", "percent"):
            body.update(precision=spec.precision, scale=spec.scale)
    elif md_type == "Checkbox":
        body["defaultValue"] = "true" if spec.default_value else "false"
    elif md_type in ("Lookup", "MasterDetail"):
        rel = fdef.get("child_relationship") or (spec.relationship_name or "").removesuffix("__r")
        body.update(referenceTo=spec.reference_to[0], relationshipLabel=rel, relationshipName=rel)
        if md_type == "Lookup":
            body.update(deleteConstraint=fdef.get("delete_constraint") or "SetNull", required=False)
        else:
            body.update(
                relationshipOrder=spec.relationship_order or 0,
                reparentableMasterDetail=bool(fdef.get("reparentable", False)),
                writeRequiresMasterRead=False,
            )
    elif md_type in ("Picklist", "MultiselectPicklist"):
        values = [
            {"fullName": v.value, "default": v.default, "label": v.label or v.value} for v in spec.picklist
        ]
        body["required"] = not spec.nillable
        body["valueSet"] = {
            "restricted": True if spec.restricted_picklist else None,
            "valueSetDefinition": {"sorted": False, "value": values},
        }
        if md_type == "MultiselectPicklist":
            body["visibleLines"] = 4
    elif md_type == "AutoNumber":
        body.update(displayFormat=spec.auto_number_format, externalId=spec.external_id)
    else:
        body["required"] = not spec.nillable
        if md_type in ("Text", "TextArea", "LongTextArea", "Html", "EncryptedText"):
            if md_type != "TextArea":
                body["length"] = spec.length
            if md_type in ("LongTextArea", "Html"):
                body["visibleLines"] = 3 if md_type == "LongTextArea" else 25
        if md_type in ("Number", "Currency", "Percent"):
            body.update(precision=spec.precision or spec.digits or 18, scale=spec.scale)
        if md_type in ("Text", "Number", "Email"):
            body.update(externalId=spec.external_id, unique=spec.unique)
            if spec.unique and md_type == "Text":
                body["caseSensitive"] = spec.case_sensitive
        if md_type == "EncryptedText":
            body.update(maskChar="asterisk" if spec.mask == "*" else "X", maskType=spec.mask_type or "all")
    extras = fdef.get("md_body") or {}
    for key, value in extras.items():
        if key not in body:
            body[key] = value
    return {k: v for k, v in body.items() if v is not None}


# --- ValidationRule -----------------------------------------------------------------------


def declarative_formula(rule: dict[str, Any]) -> str:
    """A formula equivalent to a declarative sfemu rule."""
    if rule.get("formula"):
        return str(rule["formula"])
    field, cond, value = rule.get("field") or "", rule.get("condition"), rule.get("value")
    literal = f'"{value}"' if isinstance(value, str) else ("TRUE" if value is True else str(value))
    if value is False:
        literal = "FALSE"
    if cond == "blank":
        return f"ISBLANK({field})"
    if cond == "not_blank":
        return f"NOT(ISBLANK({field}))"
    if cond == "changed":
        return f"ISCHANGED({field})"
    if cond in ("matches", "not_matches"):
        text = f'REGEX({field}, "{value}")'
        return text if cond == "matches" else f"NOT({text})"
    if cond == "longer_than":
        return f"LEN({field}) > {value}"
    return f"{field} {_DECLARATIVE.get(str(cond), '=')} {literal}"


def _functions(node: Any) -> set[str]:
    found: set[str] = set()
    if getattr(node, "kind", None) == "call":
        found.add(str(node.value).upper())
    for arg in getattr(node, "args", ()) or ():
        found |= _functions(arg)
    return found


class ValidationRules:
    type = "ValidationRule"

    def _org_rules(self, org: Org) -> dict[str, dict[str, Any]]:
        return {f"{r['object']}.{r['name']}".lower(): r for r in org._data.get("rules", [])}

    def names(self, org: Org) -> list[Listed]:
        store = MetadataStore(org)
        out: dict[str, Listed] = {}
        for key, rule in self._org_rules(org).items():
            full = f"{rule['object']}.{rule['name']}"
            out[key] = Listed(self.type, full, f"objects/{rule['object']}.object", "", EPOCH, "", EPOCH, "")
        for entry in store.entries(self.type):
            obj = entry["fullName"].split(".", 1)[0]
            out[entry["fullName"].lower()] = Listed(
                self.type,
                entry["fullName"],
                f"objects/{obj}.object",
                entry["id"],
                _stamp(entry["created"]),
                entry["created_by"],
                _stamp(entry["modified"]),
                entry["modified_by"],
                entry.get("namespace"),
                bool(entry.get("namespace")),
            )
        for listed in out.values():
            if not listed.id:
                entry = store.put(self.type, listed.full_name, {}, extra={"derived": True})
                listed.id = entry["id"]
                listed.created = listed.modified = _stamp(entry["created"])
                listed.created_by = listed.modified_by = entry["created_by"]
        return sorted(out.values(), key=lambda x: x.full_name.lower())

    def read(self, org: Org, full_name: str) -> dict[str, Any] | None:
        entry = MetadataStore(org).get(self.type, full_name)
        rule = self._org_rules(org).get(full_name.lower())
        if entry is not None and entry["body"]:
            return {**entry["body"], "fullName": entry["fullName"]}
        if rule is None:
            return None
        return {
            "fullName": f"{rule['object']}.{rule['name']}",
            "active": bool(rule.get("active", True)),
            "description": rule.get("description"),
            "errorConditionFormula": declarative_formula(rule),
            "errorDisplayField": rule.get("error_field"),
            "errorMessage": rule["message"],
        }

    def apply(self, org: Org, full_name: str, body: dict[str, Any], user_id: str) -> tuple[bool, str]:
        obj_name, name = _split(full_name, self.type)
        obj = _require_object(org, obj_name)
        full = f"{obj.name}.{name}"
        store = MetadataStore(org)
        old = store.get(self.type, full)
        existed = (old is not None and bool(old.get("body"))) or full.lower() in self._org_rules(org)
        if old is not None:
            _check_managed(org, self.type, full, old["id"])
        text = str(body.get("errorConditionFormula") or "").strip()
        message = body.get("errorMessage")
        if not text:
            raise ComponentError("Error Condition Formula: You must enter a value")
        if not message:
            raise ComponentError("Error Message: You must enter a value")
        try:
            node = formulas.parse(text)
        except SalesforceError:
            raise ComponentError(
                f"Error Condition Formula: Syntax error. Check the formula: {text}"
            ) from None
        display = body.get("errorDisplayField") or None
        if display and obj.field(str(display)) is None:
            raise ComponentError(f"Error Location: field {display} does not exist on {obj.name}")
        rules = [
            r for r in org._data.get("rules", []) if f"{r['object']}.{r['name']}".lower() != full.lower()
        ]
        org._data["rules"] = rules
        org._save()
        if not (_functions(node) - SUPPORTED_FUNCTIONS):
            org.add_validation_rule(
                obj.name,
                name,
                message=str(message),
                formula=text,
                error_field=str(display) if display else None,
                active=flag(body.get("active"), False),
            )
        entry = store.put(
            self.type, full, {**body, "fullName": full}, user_id=user_id, extra={"derived": False}
        )
        return not existed, entry["id"]

    def delete(self, org: Org, full_name: str) -> None:
        store = MetadataStore(org)
        found = store.delete(self.type, full_name)
        rules = org._data.get("rules", [])
        kept = [r for r in rules if f"{r['object']}.{r['name']}".lower() != full_name.lower()]
        if len(kept) == len(rules) and not found:
            raise ComponentError(f"No ValidationRule named {full_name} found")
        org._data["rules"] = kept
        org._save()


# --- RecordType ---------------------------------------------------------------------------


class RecordTypes:
    type = "RecordType"

    def names(self, org: Org) -> list[Listed]:
        out = []
        for obj in org.schema.objects():
            for rt in org.schema.record_types_of(obj.name):
                full = f"{obj.name}.{rt.developer_name}"
                row = org.store.get_record(rt.id)
                data = row[3] if row else {}
                out.append(
                    Listed(
                        self.type,
                        full,
                        f"objects/{obj.name}.object",
                        rt.id,
                        _stamp(data.get("CreatedDate")),
                        data.get("CreatedById", ""),
                        _stamp(data.get("LastModifiedDate")),
                        data.get("LastModifiedById", ""),
                    )
                )
        return out

    def _find(self, org: Org, full_name: str) -> Any:
        if "." not in full_name:
            return None
        obj_name, dev = full_name.split(".", 1)
        return next(
            (r for r in org.schema.record_types_of(obj_name) if r.developer_name.lower() == dev.lower()), None
        )

    def read(self, org: Org, full_name: str) -> dict[str, Any] | None:
        rt = self._find(org, full_name)
        if rt is None:
            return None
        extra = MetadataStore(org).get(self.type, f"{rt.sobject}.{rt.developer_name}")
        body = {**(extra["body"] if extra else {})}
        body.update(
            fullName=f"{rt.sobject}.{rt.developer_name}",
            active=rt.active,
            description=rt.description,
            label=rt.name,
        )
        return {k: v for k, v in body.items() if v is not None}

    def apply(self, org: Org, full_name: str, body: dict[str, Any], user_id: str) -> tuple[bool, str]:
        obj_name, dev = _split(full_name, self.type)
        obj = _require_object(org, obj_name)
        label = body.get("label")
        if not label:
            raise ComponentError("Record Type Label: You must enter a value")
        rt = self._find(org, f"{obj.name}.{dev}")
        values = {
            "Name": str(label),
            "IsActive": flag(body.get("active")),
            "Description": body.get("description"),
        }
        if rt is None:
            rid = org.add_record_type(
                obj.name, str(label), dev, active=values["IsActive"], description=values["Description"]
            )
            created = True
        else:
            Writer(org, system=True).update(org.schema.require("RecordType"), rt.id, values, user_id)
            org._invalidate()
            rid, created = rt.id, False
        extras = {k: v for k, v in body.items() if k not in ("fullName", "label", "active", "description")}
        MetadataStore(org).put(self.type, f"{obj.name}.{dev}", extras, user_id=user_id)
        return created, rid

    def delete(self, org: Org, full_name: str) -> None:
        raise ComponentError("Cannot delete record type through API")


# --- Apex ---------------------------------------------------------------------------------


class Apex:
    """ApexClass / ApexTrigger: source text plus the ``-meta.xml`` body."""

    def __init__(self, type_name: str) -> None:
        self.type = type_name

    def names(self, org: Org) -> list[Listed]:
        folder, suffix = ("classes", "cls") if self.type == "ApexClass" else ("triggers", "trigger")
        return [
            Listed(
                self.type,
                e["fullName"],
                f"{folder}/{e['fullName']}.{suffix}",
                e["id"],
                _stamp(e["created"]),
                e["created_by"],
                _stamp(e["modified"]),
                e["modified_by"],
                e.get("namespace"),
                bool(e.get("namespace")),
            )
            for e in MetadataStore(org).entries(self.type)
        ]

    def read(self, org: Org, full_name: str) -> dict[str, Any] | None:
        entry = MetadataStore(org).get(self.type, full_name)
        if entry is None:
            return None
        content = "(hidden)" if entry.get("namespace") else entry["content"]
        return {"fullName": entry["fullName"], **entry["body"], "content": content}

    def source(self, org: Org, full_name: str) -> str | None:
        entry = MetadataStore(org).get(self.type, full_name)
        if entry is None:
            return None
        return "(hidden)" if entry.get("namespace") else entry["content"]

    def apply(
        self, org: Org, full_name: str, body: dict[str, Any], user_id: str, content: str | None = None
    ) -> tuple[bool, str]:
        store = MetadataStore(org)
        old = store.get(self.type, full_name)
        if old is not None and old.get("namespace"):
            _check_managed(org, self.type, f"{old['namespace']}__{full_name}", old["id"])
        source = content if content is not None else body.get("content")
        if source is None:
            raise ComponentError(f"No source for {self.type} {full_name}")
        if self.type == "ApexClass":
            problem = apex.check_class(full_name, source)
        else:
            target = apex.trigger_object(source)
            problem = apex.check_trigger(
                full_name, source, None if target is None else bool(org.schema.get(target))
            )
        if problem is not None:
            raise ComponentError(problem.message, problem.line, problem.column)
        meta = {k: v for k, v in body.items() if k not in ("fullName", "content")}
        meta.setdefault("apiVersion", "62.0")
        meta.setdefault("status", "Active")
        entry = store.put(self.type, full_name, meta, content=source, user_id=user_id)
        return old is None, entry["id"]

    def delete(self, org: Org, full_name: str) -> None:
        if not MetadataStore(org).delete(self.type, full_name):
            raise ComponentError(f"No {self.type} named: {full_name} found")


# --- Layout -------------------------------------------------------------------------------


def _layout_object(org: Org, full_name: str) -> ObjectSpec | None:
    return org.schema.get(full_name.split("-", 1)[0]) if "-" in full_name else None


def default_layouts(org: Org) -> dict[str, dict[str, Any]]:
    """One generated page layout per custom object and main sales/service object."""
    out = {}
    for obj in org.schema.objects():
        if obj.custom or obj.name in ("Account", "Contact", "Opportunity", "Lead", "Case"):
            name = f"{obj.name}-{obj.label} Layout"
            out[name.lower()] = generated_layout(obj, name)
    return out


def generated_layout(obj: ObjectSpec, full_name: str) -> dict[str, Any]:
    items = []
    for f in obj.fields:
        if f.role in ("id", "deleted", "modstamp", "address") or f.name in (
            "LastViewedDate",
            "LastReferencedDate",
        ):
            continue
        if f.compound_field_name or f.name == "LastActivityDate":
            continue
        behavior = "Readonly" if not (f.createable or f.updateable) or f.calculated else "Edit"
        if not f.nillable and f.type != "boolean" and behavior == "Edit":
            behavior = "Required"
        items.append({"behavior": behavior, "field": f.name})
    half = (len(items) + 1) // 2
    return {
        "fullName": full_name,
        "layoutSections": [
            {
                "customLabel": False,
                "detailHeading": False,
                "editHeading": True,
                "label": "Information",
                "layoutColumns": [{"layoutItems": items[:half]}, {"layoutItems": items[half:]}],
                "style": "TwoColumnsTopToBottom",
            }
        ],
        "showEmailCheckbox": False,
        "showHighlightsPanel": False,
        "showInteractionLogPanel": False,
        "showRunAssignmentRulesCheckbox": False,
        "showSubmitAndAttachButton": False,
    }


class Layouts:
    type = "Layout"

    def names(self, org: Org) -> list[Listed]:
        store = MetadataStore(org)
        stored = {e["fullName"].lower(): e for e in store.entries(self.type)}
        out = []
        for key, body in default_layouts(org).items():
            if key not in stored:
                stored[key] = store.put(self.type, body["fullName"], {}, extra={"derived": True})
        for entry in stored.values():
            out.append(
                Listed(
                    self.type,
                    entry["fullName"],
                    f"layouts/{entry['fullName']}.layout",
                    entry["id"],
                    _stamp(entry["created"]),
                    entry["created_by"],
                    _stamp(entry["modified"]),
                    entry["modified_by"],
                    entry.get("namespace"),
                    bool(entry.get("namespace")),
                )
            )
        return sorted(out, key=lambda x: x.full_name.lower())

    def read(self, org: Org, full_name: str) -> dict[str, Any] | None:
        entry = MetadataStore(org).get(self.type, full_name)
        if entry is not None and entry["body"]:
            return {**entry["body"], "fullName": entry["fullName"]}
        generated = default_layouts(org).get(full_name.lower())
        if generated is None and entry is not None:
            obj = _layout_object(org, entry["fullName"])
            return generated_layout(obj, entry["fullName"]) if obj else None
        return generated

    def apply(self, org: Org, full_name: str, body: dict[str, Any], user_id: str) -> tuple[bool, str]:
        obj = _layout_object(org, full_name)
        if obj is None:
            raise ComponentError(f"Invalid layout name or object: {full_name}")
        for section in as_list(body.get("layoutSections")):
            for column in as_list(section.get("layoutColumns") if isinstance(section, dict) else None):
                for item in as_list(column.get("layoutItems") if isinstance(column, dict) else None):
                    field = item.get("field") if isinstance(item, dict) else None
                    if field and obj.field(str(field)) is None:
                        raise ComponentError(f"Field: {field} does not exist. Check spelling.")
        store = MetadataStore(org)
        old = store.get(self.type, full_name)
        existed = old is not None and (bool(old["body"]) or full_name.lower() in default_layouts(org))
        entry = store.put(
            self.type, full_name, {k: v for k, v in body.items() if k != "fullName"}, user_id=user_id
        )
        return not existed, entry["id"]

    def delete(self, org: Org, full_name: str) -> None:
        if not MetadataStore(org).delete(self.type, full_name):
            raise ComponentError(f"No Layout named: {full_name} found")


# --- Profile and PermissionSet ------------------------------------------------------------


def _merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Profile-style merge: keyed list entries replace their match, other keys overwrite."""
    out = dict(base)
    for key, value in update.items():
        if key == "fullName":
            continue
        keys = PROFILE_LISTS.get(key)
        if keys is None:
            out[key] = value
            continue
        merged = {tuple(str(e.get(k)) for k in keys): e for e in as_list(out.get(key)) if isinstance(e, dict)}
        for item in as_list(value):
            if isinstance(item, dict):
                merged[tuple(str(item.get(k)) for k in keys)] = item
        out[key] = sorted(merged.values(), key=lambda e: tuple(str(e.get(k) or "") for k in keys))
    return out


def _check_permissions(org: Org, body: dict[str, Any], user_id: str) -> None:
    for perm in as_list(body.get("fieldPermissions")):
        name = str(perm.get("field") or "") if isinstance(perm, dict) else ""
        obj_name, _, field_name = name.partition(".")
        obj = org.schema.get(obj_name)
        spec = obj.field(field_name) if obj and field_name else None
        if spec is None:
            raise ComponentError(f"In field: field - no CustomField named {name} found")
        if not spec.nillable and spec.type != "boolean" and not spec.defaulted_on_create:
            raise ComponentError(f"You cannot deploy to a required field: {name}")
    for perm in as_list(body.get("objectPermissions")):
        name = str(perm.get("object") or "") if isinstance(perm, dict) else ""
        if org.schema.get(name) is None:
            raise ComponentError(f"In field: object - no CustomObject named {name} found")
    for access in as_list(body.get("classAccesses")):
        name = str(access.get("apexClass") or "") if isinstance(access, dict) else ""
        if MetadataStore(org).get("ApexClass", name) is None:
            raise ComponentError(f"In field: apexClass - no ApexClass named {name} found")
    for vis in as_list(body.get("recordTypeVisibilities")):
        name = str(vis.get("recordType") or "") if isinstance(vis, dict) else ""
        if RECORD_TYPES.read(org, name) is None:
            raise ComponentError(f"In field: recordType - no RecordType named {name} found")
    for assignment in as_list(body.get("layoutAssignments")):
        name = str(assignment.get("layout") or "") if isinstance(assignment, dict) else ""
        if LAYOUTS.read(org, name) is None:
            raise ComponentError(f"In field: layout - no Layout named {name} found")


def _profile_rows(org: Org) -> list[dict[str, Any]]:
    return list(org.store.iter_records(org.org_id, "Profile", include_deleted=False))


def profile_full_name(name: str) -> str:
    return STANDARD_PROFILES.get(name, name)


class Profiles:
    type = "Profile"

    def _row(self, org: Org, full_name: str) -> dict[str, Any] | None:
        wanted = full_name.lower()
        return next((r for r in _profile_rows(org) if profile_full_name(r["Name"]).lower() == wanted), None)

    def names(self, org: Org) -> list[Listed]:
        return [
            Listed(
                self.type,
                profile_full_name(r["Name"]),
                f"profiles/{profile_full_name(r['Name'])}.profile",
                r["Id"],
                _stamp(r.get("CreatedDate")),
                r.get("CreatedById", ""),
                _stamp(r.get("LastModifiedDate")),
                r.get("LastModifiedById", ""),
            )
            for r in _profile_rows(org)
        ]

    def read(self, org: Org, full_name: str) -> dict[str, Any] | None:
        row = self._row(org, full_name)
        if row is None:
            return None
        full = profile_full_name(row["Name"])
        entry = MetadataStore(org).get(self.type, full)
        perms = [
            {"enabled": bool(v), "name": k.removeprefix("Permissions")}
            for k, v in sorted(row.items())
            if k.startswith("Permissions") and v
        ]
        body: dict[str, Any] = {
            "fullName": full,
            "custom": row["Name"] not in STANDARD_PROFILES,
            "description": row.get("Description"),
            "userLicense": "Salesforce",
            "userPermissions": perms,
        }
        if entry is not None:
            body = _merge(body, entry["body"])
        return {k: v for k, v in body.items() if v is not None}

    def apply(self, org: Org, full_name: str, body: dict[str, Any], user_id: str) -> tuple[bool, str]:
        _check_permissions(org, body, user_id)
        row = self._row(org, full_name)
        created = row is None
        obj = org.schema.require("Profile")
        perms = {
            f"Permissions{p.get('name')}": flag(p.get("enabled"))
            for p in as_list(body.get("userPermissions"))
            if isinstance(p, dict) and obj.field(f"Permissions{p.get('name')}") is not None
        }
        if row is None:
            rid = org._system_insert(
                "Profile", {"Name": full_name, "Description": body.get("description"), **perms}
            )
        else:
            rid = row["Id"]
            if perms or body.get("description"):
                values = {
                    **perms,
                    **({"Description": body["description"]} if body.get("description") else {}),
                }
                Writer(org, system=True).update(obj, rid, values, user_id)
        store = MetadataStore(org)
        old = store.get(self.type, full_name)
        update = {k: v for k, v in body.items() if k not in ("fullName", "userPermissions", "description")}
        store.put(self.type, full_name, _merge(old["body"] if old else {}, update), user_id=user_id)
        return created, rid

    def delete(self, org: Org, full_name: str) -> None:
        raise ComponentError(f"Cannot delete profile {full_name} through the Metadata API in sfemu")


class PermissionSets:
    type = "PermissionSet"

    def names(self, org: Org) -> list[Listed]:
        return [
            Listed(
                self.type,
                e["fullName"],
                f"permissionsets/{e['fullName']}.permissionset",
                e["id"],
                _stamp(e["created"]),
                e["created_by"],
                _stamp(e["modified"]),
                e["modified_by"],
                e.get("namespace"),
                bool(e.get("namespace")),
            )
            for e in MetadataStore(org).entries(self.type)
        ]

    def read(self, org: Org, full_name: str) -> dict[str, Any] | None:
        entry = MetadataStore(org).get(self.type, full_name)
        if entry is None:
            return None
        return {"fullName": entry["fullName"], "hasActivationRequired": False, **entry["body"]}

    def apply(self, org: Org, full_name: str, body: dict[str, Any], user_id: str) -> tuple[bool, str]:
        if not body.get("label"):
            raise ComponentError("Label: You must enter a value")
        _check_permissions(org, body, user_id)
        store = MetadataStore(org)
        old = store.get(self.type, full_name)
        if old is not None and old.get("namespace"):
            _check_managed(org, self.type, f"{old['namespace']}__{full_name}", old["id"])
        merged = _merge(old["body"] if old else {}, body)
        entry = store.put(self.type, full_name, merged, user_id=user_id)
        return old is None, entry["id"]

    def delete(self, org: Org, full_name: str) -> None:
        if not MetadataStore(org).delete(self.type, full_name):
            raise ComponentError(f"No PermissionSet named: {full_name} found")


# --- Role ---------------------------------------------------------------------------------


def _role_rows(org: Org) -> list[dict[str, Any]]:
    return list(org.store.iter_records(org.org_id, "UserRole", include_deleted=False))


def role_full_name(row: dict[str, Any]) -> str:
    return str(row.get("DeveloperName") or re.sub(r"\W+", "_", row["Name"]).strip("_"))


class Roles:
    type = "Role"

    def _row(self, org: Org, full_name: str) -> dict[str, Any] | None:
        return next((r for r in _role_rows(org) if role_full_name(r).lower() == full_name.lower()), None)

    def names(self, org: Org) -> list[Listed]:
        return [
            Listed(
                self.type,
                role_full_name(r),
                f"roles/{role_full_name(r)}.role",
                r["Id"],
                _stamp(r.get("CreatedDate")),
                r.get("CreatedById", ""),
                _stamp(r.get("LastModifiedDate")),
                r.get("LastModifiedById", ""),
            )
            for r in _role_rows(org)
        ]

    def read(self, org: Org, full_name: str) -> dict[str, Any] | None:
        row = self._row(org, full_name)
        if row is None:
            return None
        parent = None
        if row.get("ParentRoleId"):
            rec = org.store.get_record(row["ParentRoleId"])
            parent = role_full_name(rec[3]) if rec else None
        return {
            k: v
            for k, v in {
                "fullName": role_full_name(row),
                "caseAccessLevel": row.get("CaseAccessForAccountOwner") or "None",
                "contactAccessLevel": row.get("ContactAccessForAccountOwner") or "None",
                "description": row.get("RollupDescription"),
                "mayForecastManagerShare": False,
                "name": row["Name"],
                "opportunityAccessLevel": row.get("OpportunityAccessForAccountOwner") or "None",
                "parentRole": parent,
            }.items()
            if v is not None
        }

    def apply(self, org: Org, full_name: str, body: dict[str, Any], user_id: str) -> tuple[bool, str]:
        if not body.get("name"):
            raise ComponentError("Label: You must enter a value")
        parent_id = None
        if body.get("parentRole"):
            parent = self._row(org, str(body["parentRole"]))
            if parent is None:
                raise ComponentError(f"In field: parentRole - no Role named {body['parentRole']} found")
            parent_id = parent["Id"]
        values = {
            "Name": str(body["name"]),
            "DeveloperName": full_name,
            "ParentRoleId": parent_id,
            "RollupDescription": body.get("description"),
            "OpportunityAccessForAccountOwner": body.get("opportunityAccessLevel") or "None",
            "CaseAccessForAccountOwner": body.get("caseAccessLevel") or "None",
            "ContactAccessForAccountOwner": body.get("contactAccessLevel") or "None",
        }
        row = self._row(org, full_name)
        try:
            if row is None:
                return True, org._system_insert("UserRole", values)
            Writer(org, system=True).update(org.schema.require("UserRole"), row["Id"], values, user_id)
        except SalesforceError as exc:
            raise ComponentError(exc.message) from None
        return False, row["Id"]

    def delete(self, org: Org, full_name: str) -> None:
        row = self._row(org, full_name)
        if row is None:
            raise ComponentError(f"No Role named: {full_name} found")
        org.delete(row["Id"], user_id=org.admin_user_id, sobject="UserRole", hard=True)


# --- InstalledPackage ---------------------------------------------------------------------


class InstalledPackages:
    type = "InstalledPackage"

    def names(self, org: Org) -> list[Listed]:
        return [
            Listed(
                self.type,
                e["fullName"],
                f"installedPackages/{e['fullName']}.installedPackage",
                e["id"],
                _stamp(e["created"]),
                e["created_by"],
                _stamp(e["modified"]),
                e["modified_by"],
                e["fullName"],
                True,
            )
            for e in MetadataStore(org).entries(self.type)
        ]

    def read(self, org: Org, full_name: str) -> dict[str, Any] | None:
        entry = MetadataStore(org).get(self.type, full_name)
        if entry is None:
            return None
        return {"fullName": entry["fullName"], **entry["body"]}

    def apply(self, org: Org, full_name: str, body: dict[str, Any], user_id: str) -> tuple[bool, str]:
        entry = MetadataStore(org).get(self.type, full_name)
        if entry is not None and str(entry["body"].get("versionNumber")) == str(body.get("versionNumber")):
            return False, entry["id"]
        raise ComponentError(
            f"Unable to find a package with namespace {full_name} and version {body.get('versionNumber')}"
        )

    def delete(self, org: Org, full_name: str) -> None:
        raise ComponentError(f"Cannot uninstall {full_name} through a deploy in sfemu")


OBJECTS = CustomObjects()
FIELDS = CustomFields()
RULES = ValidationRules()
RECORD_TYPES = RecordTypes()
LAYOUTS = Layouts()
HANDLERS: dict[str, Any] = {
    "CustomObject": OBJECTS,
    "CustomField": FIELDS,
    "ValidationRule": RULES,
    "RecordType": RECORD_TYPES,
    "ApexClass": Apex("ApexClass"),
    "ApexTrigger": Apex("ApexTrigger"),
    "Layout": LAYOUTS,
    "Profile": Profiles(),
    "PermissionSet": PermissionSets(),
    "Role": Roles(),
    "InstalledPackage": InstalledPackages(),
}


def _flag(value: object) -> bool:
    """A metadata checkbox as stored: True/False, or the XML text "true"/"false"."""
    return value.strip().lower() == "true" if isinstance(value, str) else bool(value)
