"""Describe JSON (object, field, global entry) generated from specs.

Keys are emitted alphabetically with every key Salesforce sends
(REC:cumulusci/GET_sobjects_Account_describe.yaml for v48, ..._Contact_... for newer APIs).
"""

from __future__ import annotations

from typing import Any

from sfemu.ids import MASTER_RECORD_TYPE_ID
from sfemu.schema.registry import ChildRelationship, OrgSchema
from sfemu.schema.spec import SOAP_TYPES, TEXT_TYPES, FieldSpec, ObjectSpec

# Object-level keys by API version, from real describes: v42.0 (REC:grouparoo/describe_Lead_v42.json,
# captured 2021), v48.0 (REC:cumulusci/GET_sobjects_Account_describe.yaml, captured 2020) and a
# newer one (REC:cumulusci/GET_sobjects_Contact_describe.yaml). The recordings do not pin the
# versions closer than these bounds, so each gate is the lowest version proven to have the key.
NEW_KEYS_VERSION = 50.0  # associateEntityType, associateParentEntity (absent at v48)
# deepCloneable, defaultImplementation, extendedBy, extendsInterfaces, implementedBy,
# implementsInterfaces, isInterface and urls.defaultValues: absent at v42, present at v48
INTERFACE_KEYS_VERSION = 48.0
INTERFACE_KEYS = (
    "defaultImplementation",
    "extendedBy",
    "extendsInterfaces",
    "implementedBy",
    "implementsInterfaces",
)
AI_PREDICTION_VERSION = 47.0  # aiPredictionField, formulaTreatNullNumberAsZero (not at v42)
RT_DEVNAME_VERSION = 43.0  # recordTypeInfos[].developerName (absent at v42)
# sobjectDescribeOption is sent at every version today: the 2021 capture at v42.0 has it; the
# 2020 v48.0 capture predates its introduction (a release change, not a version gate).


def _version(api_version: str) -> float:
    try:
        return float(api_version)
    except (TypeError, ValueError):
        return 62.0


def _long_text(f: FieldSpec) -> bool:
    return f.type == "textarea" and (f.length > 255 or f.html_formatted)


def _unsortable(f: FieldSpec) -> bool:
    return _long_text(f) or f.type in ("address", "location", "base64", "multipicklist", "encryptedstring")


def field_describe(f: FieldSpec, api_version: str = "62.0") -> dict[str, Any]:
    """One entry of describe ``fields``."""
    t = f.type
    byte_length = 3 * f.length if t in TEXT_TYPES else 18 if t in ("id", "reference") else 0
    no_group = t in (
        "double",
        "currency",
        "percent",
        "datetime",
        "time",
        "address",
        "location",
        "base64",
        "encryptedstring",
        "multipicklist",
    )
    default = f.default_value
    if t == "picklist" and default is None:
        default = next((p.value for p in f.picklist if p.default), None)
    if t == "boolean" and default is None:
        default = False
    permissionable = f.permissionable
    if permissionable is None:
        permissionable = f.nillable and (f.createable or f.updateable or t == "address" or f.custom)
    prefilter = f.search_prefilterable
    if prefilter is None:
        prefilter = t == "reference" and f.nillable and f.createable and not f.polymorphic
    d: dict[str, Any] = {
        "aggregatable": f.aggregatable
        if f.aggregatable is not None
        else not (t in ("boolean", "address", "location", "base64", "encryptedstring") or _long_text(f)),
        "aiPredictionField": False,
        "autoNumber": f.auto_number,
        "byteLength": byte_length,
        "calculated": f.calculated,
        "calculatedFormula": f.formula,
        "cascadeDelete": f.relationship_order is not None,
        "caseSensitive": f.case_sensitive,
        "compoundFieldName": f.compound_field_name,
        "controllerName": None,
        "createable": f.createable,
        "custom": f.custom,
        "defaultValue": default,
        "defaultValueFormula": f.default_formula,
        "defaultedOnCreate": f.defaulted_on_create,
        "dependentPicklist": False,
        "deprecatedAndHidden": f.deprecated,
        "digits": f.digits,
        "displayLocationInDecimal": False,
        "encrypted": f.encrypted,
        "externalId": f.external_id,
        "extraTypeInfo": f.extra_type_info,
        "filterable": f.filterable
        if f.filterable is not None
        else not (_long_text(f) or t in ("base64", "encryptedstring")),
        "filteredLookupInfo": None,
        "formulaTreatNullNumberAsZero": False,
        "groupable": f.groupable if f.groupable is not None else not (no_group or _long_text(f)),
        "highScaleNumber": False,
        "htmlFormatted": f.html_formatted,
        "idLookup": f.id_lookup,
        "inlineHelpText": f.inline_help_text,
        "label": f.label,
        "length": f.length,
        "mask": f.mask,
        "maskType": f.mask_type,
        "name": f.name,
        "nameField": f.name_field,
        "namePointing": f.name_pointing or f.polymorphic,
        "nillable": f.nillable,
        "permissionable": permissionable,
        "picklistValues": [p.as_describe() for p in f.picklist],
        "polymorphicForeignKey": f.polymorphic,
        "precision": f.precision,
        "queryByDistance": f.query_by_distance,
        "referenceTargetField": None,
        "referenceTo": list(f.reference_to),
        "relationshipName": f.relationship_name,
        "relationshipOrder": f.relationship_order,
        "restrictedDelete": f.restricted_delete,
        "restrictedPicklist": f.restricted_picklist,
        "scale": f.scale,
        "searchPrefilterable": prefilter,
        "soapType": f.soap_type or SOAP_TYPES.get(t, "xsd:string"),
        "sortable": f.sortable if f.sortable is not None else not _unsortable(f),
        "type": t,
        "unique": f.unique,
        "updateable": f.updateable,
        "writeRequiresMasterRead": f.write_requires_master_read,
    }
    if _version(api_version) < AI_PREDICTION_VERSION:
        del d["aiPredictionField"], d["formulaTreatNullNumberAsZero"]
    return d


def _urls(obj: ObjectSpec, api_version: str, instance_url: str | None, full: bool) -> dict[str, str]:
    base = f"/services/data/v{api_version}/sobjects/{obj.name}"
    kind = obj.describe_urls
    if kind == "bare":
        return {"rowTemplate": f"{base}/{{ID}}", "describe": f"{base}/describe", "sobject": base}
    urls = {"compactLayouts": f"{base}/describe/compactLayouts", "rowTemplate": f"{base}/{{ID}}"}
    if kind == "minimal":
        return {
            **urls,
            "describe": f"{base}/describe",
            "layouts": f"{base}/describe/layouts",
            "sobject": base,
        }
    if kind == "full":
        urls["approvalLayouts"] = f"{base}/describe/approvalLayouts"
    for key, suffix in obj.extra_urls:
        urls[key] = base + suffix
    ui = full and instance_url and kind == "full"
    if ui:
        urls["uiDetailTemplate"] = f"{instance_url}/{{ID}}"
        urls["uiEditTemplate"] = f"{instance_url}/{{ID}}/e"
        if INTERFACE_KEYS_VERSION <= _version(api_version) < NEW_KEYS_VERSION:
            urls["defaultValues"] = f"{base}/defaultValues?recordTypeId&fields"
    if kind == "full":
        urls["listviews"] = f"{base}/listviews"
    urls["describe"] = f"{base}/describe"
    if ui:
        urls["uiNewRecord"] = f"{instance_url}/{obj.key_prefix}/e"
    urls["quickActions"] = f"{base}/quickActions"
    urls["layouts"] = f"{base}/describe/layouts"
    urls["sobject"] = base
    return urls


def global_entry(obj: ObjectSpec, api_version: str = "62.0") -> dict[str, Any]:
    """One element of ``GET /sobjects`` ``sobjects``."""
    entry: dict[str, Any] = {
        "activateable": obj.activateable,
        "associateEntityType": None,
        "associateParentEntity": None,
        "createable": obj.createable,
        "custom": obj.custom,
        "customSetting": False,
        "deepCloneable": obj.deep_cloneable,
        "deletable": obj.deletable,
        "deprecatedAndHidden": False,
        "feedEnabled": obj.feed_enabled,
        "hasSubtypes": False,
        "isInterface": False,
        "isSubtype": False,
        "keyPrefix": obj.key_prefix,
        "label": obj.label,
        "labelPlural": obj.label_plural,
        "layoutable": obj.layoutable,
        "mergeable": obj.mergeable,
        "mruEnabled": obj.mru_enabled,
        "name": obj.name,
        "queryable": obj.queryable,
        "replicateable": obj.replicateable,
        "retrieveable": obj.retrieveable,
        "searchable": obj.searchable,
        "triggerable": obj.triggerable,
        "undeletable": obj.undeletable,
        "updateable": obj.updateable,
        "urls": _urls(obj, api_version, None, full=False),
    }
    if _version(api_version) < NEW_KEYS_VERSION:
        del entry["associateEntityType"], entry["associateParentEntity"]
    if _version(api_version) < INTERFACE_KEYS_VERSION:
        del entry["deepCloneable"], entry["isInterface"]
    return entry


def child_describe(rel: ChildRelationship) -> dict[str, Any]:
    return {
        "cascadeDelete": rel.cascade_delete,
        "childSObject": rel.child,
        "deprecatedAndHidden": False,
        "field": rel.field,
        "junctionIdListNames": [],
        "junctionReferenceTo": [],
        "relationshipName": rel.name,
        "restrictedDelete": rel.restricted_delete,
    }


def record_type_infos(schema: OrgSchema, obj: ObjectSpec, api_version: str) -> list[dict]:
    if not supports_record_types(obj):
        return []
    base = f"/services/data/v{api_version}/sobjects/{obj.name}/describe/layouts"
    custom = sorted(schema.record_types_of(obj.name), key=lambda r: r.name.lower())
    has_default = any(r.default and r.active for r in custom)
    infos = [(r.active, r.default and r.active, r.developer_name, False, r.name, r.id) for r in custom]
    infos.append((True, not has_default, "Master", True, "Master", MASTER_RECORD_TYPE_ID))
    out = []
    for active, default, dev, master, name, rid in infos:
        item = {
            "active": active,
            "available": active,
            "defaultRecordTypeMapping": default,
            "developerName": dev,
            "master": master,
            "name": name,
            "recordTypeId": rid,
            "urls": {"layout": f"{base}/{rid}"},
        }
        if _version(api_version) < RT_DEVNAME_VERSION:
            del item["developerName"]
        out.append(item)
    return out


def supports_record_types(obj: ObjectSpec) -> bool:
    return obj.custom or obj.name in {
        "Account",
        "Contact",
        "Lead",
        "Opportunity",
        "Case",
        "Task",
        "Product2",
        "Campaign",
    }


def object_describe(
    schema: OrgSchema, obj: ObjectSpec, api_version: str = "62.0", instance_url: str | None = None
) -> dict[str, Any]:
    """Full ``GET /sobjects/{Type}/describe`` body."""
    entry = global_entry(obj, api_version)
    scopes = [
        {"label": label.format(plural=obj.label_plural.lower()), "name": name}
        for name, label in obj.supported_scopes
    ]
    d = {
        **entry,
        "actionOverrides": [],
        "childRelationships": [child_describe(r) for r in schema.children(obj.name)],
        "compactLayoutable": obj.compact_layoutable,
        "defaultImplementation": None,
        "extendedBy": None,
        "extendsInterfaces": None,
        "fields": [field_describe(f, api_version) for f in obj.fields],
        "implementedBy": None,
        "implementsInterfaces": None,
        "listviewable": None,
        "lookupLayoutable": None,
        "namedLayoutInfos": [],
        "networkScopeFieldName": obj.network_scope_field,
        "recordTypeInfos": record_type_infos(schema, obj, api_version),
        "searchLayoutable": obj.search_layoutable,
        "sobjectDescribeOption": "FULL",
        "supportedScopes": scopes,
        "urls": _urls(obj, api_version, instance_url, full=True),
    }
    if _version(api_version) < INTERFACE_KEYS_VERSION:
        for key in INTERFACE_KEYS:
            del d[key]
    return {k: d[k] for k in sorted(d)}
