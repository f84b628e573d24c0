"""``describe/layouts``, ``describe/compactLayouts`` and ``listviews`` of an sObject.

Page layouts come from the org's Layout metadata (what ``readMetadata``/``deploy`` see: the
generated ``{Object}-{Label} Layout`` or a deployed one), turned into the REST DescribeLayout
shape. Compact layouts are the object's ``SYSTEM`` default (sfemu keeps no CompactLayout
metadata). List views are the standard ones Salesforce creates (all records, mine, new this
week / last week for standard objects; ``All`` for custom ones), with stable ``00B`` ids.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sfemu import ids
from sfemu.errors import SalesforceError
from sfemu.ids import MASTER_RECORD_TYPE_ID
from sfemu.metadata.components import LAYOUTS, generated_layout
from sfemu.schema.describe import field_describe, record_type_infos, supports_record_types
from sfemu.schema.spec import ObjectSpec
from sfemu.server.http import ApiRequest, ApiResponse, not_found
from sfemu.server.routes_rows import canonical_sobject
from sfemu.server.state import Ctx
from sfemu.soql import execute, parse
from sfemu.soql_source import OrgDataSource

# --- page layouts ------------------------------------------------------------------------------


def _object(ctx: Ctx, name: str) -> ObjectSpec:
    return ctx.org.schema.require(canonical_sobject(ctx, name))


def _layout(ctx: Ctx, obj: ObjectSpec) -> tuple[str, dict[str, Any]]:
    """(layout id, Layout metadata body) of the object's page layout."""
    prefix = obj.name.lower() + "-"
    listed = [x for x in LAYOUTS.names(ctx.org) if x.full_name.lower().startswith(prefix)]
    preferred = f"{obj.name}-{obj.label} Layout".lower()
    listed.sort(key=lambda x: (x.full_name.lower() != preferred, x.full_name.lower()))
    for entry in listed:
        body = LAYOUTS.read(ctx.org, entry.full_name)
        if body is not None:
            return entry.id, body
    return _stable_id(ctx, "00h", obj.name), generated_layout(obj, f"{obj.name}-{obj.label} Layout")


def _stable_id(ctx: Ctx, prefix: str, *parts: str) -> str:
    digest = int(hashlib.sha256("/".join((ctx.org.org_id, *parts)).encode()).hexdigest(), 16)
    return ids.to_18(prefix + ids.base62(digest % 62**12, 12))


def _item(obj: ObjectSpec, spec_item: dict[str, Any], tab: int, api_version: str) -> dict[str, Any]:
    name = str(spec_item.get("field") or "")
    spec = obj.field(name) if name else None
    if spec is None:
        return {
            "editableForNew": False,
            "editableForUpdate": False,
            "label": "",
            "layoutComponents": [],
            "placeholder": True,
            "required": False,
        }
    behavior = str(spec_item.get("behavior") or "Edit")
    editable = behavior != "Readonly"
    return {
        "editableForNew": editable and spec.createable,
        "editableForUpdate": editable and spec.updateable,
        "label": spec.label,
        "layoutComponents": [
            {
                "details": field_describe(spec, api_version),
                "displayLines": 1,
                "tabOrder": tab,
                "type": "Field",
                "value": spec.name,
            }
        ],
        "placeholder": False,
        "required": behavior == "Required",
    }


def _sections(obj: ObjectSpec, body: dict[str, Any], layout_id: str, edit: bool, api_version: str) -> list:
    out = []
    tab = 0
    for n, section in enumerate(_as_list(body.get("layoutSections"))):
        if not isinstance(section, dict):
            continue
        columns = [c for c in _as_list(section.get("layoutColumns")) if isinstance(c, dict)]
        items = [[i for i in _as_list(c.get("layoutItems")) if isinstance(i, dict)] for c in columns]
        depth = max((len(c) for c in items), default=0)
        rows = []
        for r in range(depth):
            cells = []
            for col in items:
                tab += 1
                cells.append(
                    _item(obj, col[r], tab, api_version) if r < len(col) else _item(obj, {}, tab, api_version)
                )
            rows.append({"layoutItems": cells, "numItems": len(cells)})
        style = str(section.get("style") or "TwoColumnsTopToBottom")
        heading_key = "editHeading" if edit else "detailHeading"
        out.append(
            {
                "collapsed": False,
                "columns": max(len(columns), 1),
                "heading": str(section.get("label") or ""),
                "layoutRows": rows,
                "layoutSectionId": _stable_id_for(layout_id, n),
                "parentLayoutId": layout_id,
                "rows": depth,
                "tabOrder": "LeftToRight" if "LeftToRight" in style else "TopToBottom",
                "useCollapsibleSection": False,
                "useHeading": _flag(section.get(heading_key)),
            }
        )
    return out


def _stable_id_for(layout_id: str, n: int) -> str:
    digest = int(hashlib.sha256(f"{layout_id}/{n}".encode()).hexdigest(), 16)
    return ids.to_18("01B" + ids.base62(digest % 62**12, 12))


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def describe_layout(ctx: Ctx, obj: ObjectSpec) -> dict[str, Any]:
    """One DescribeLayout (the keys of Salesforce's ``describe/layouts`` example)."""
    layout_id, body = _layout(ctx, obj)
    v = ctx.api_version
    return {
        "buttonLayoutSection": {"detailButtons": []},
        "detailLayoutSections": _sections(obj, body, layout_id, False, v),
        "editLayoutSections": _sections(obj, body, layout_id, True, v),
        "feedView": None,
        "highlightsPanelLayoutSection": None,
        "id": layout_id,
        "multirowEditLayoutSections": [],
        "offlineLinks": [],
        "quickActionList": {"quickActionListItems": []},
        "relatedContent": None,
        "relatedLists": [],
        "saveOptions": [],
    }


def _record_type_mappings(ctx: Ctx, obj: ObjectSpec, layout_id: str) -> list[dict[str, Any]]:
    infos = record_type_infos(ctx.org.schema, obj, ctx.api_version)
    describe = ctx.org.describe(obj.name, ctx.api_version)
    picklists = [
        {"picklistName": f["name"], "picklistValues": f["picklistValues"]}
        for f in describe["fields"]
        if f["type"] in ("picklist", "multipicklist")
    ]
    out = []
    for info in infos:
        mapping = {
            "active": info["active"],
            "available": info["available"],
            "defaultRecordTypeMapping": info["defaultRecordTypeMapping"],
            "developerName": info.get("developerName"),
            "layoutId": layout_id,
            "master": info["master"],
            "name": info["name"],
            "picklistsForRecordType": picklists,
            "recordTypeId": info["recordTypeId"],
            "urls": info["urls"],
        }
        if "developerName" not in info:
            del mapping["developerName"]
        out.append(mapping)
    return out


def layouts(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    """``GET sobjects/{T}/describe/layouts``; ``layouts`` is null when the object has record
    types of its own (Salesforce then wants ``describe/layouts/{recordTypeId}``)."""
    obj = _object(ctx, params["sobject"])
    if not obj.layoutable:
        raise not_found()
    layout = describe_layout(ctx, obj)
    several = bool(ctx.org.schema.record_types_of(obj.name))
    mappings = _record_type_mappings(ctx, obj, layout["id"]) if supports_record_types(obj) else []
    body = {
        "layouts": None if several else [layout],
        "recordTypeMappings": mappings,
        "recordTypeSelectorRequired": [several],
    }
    return ApiResponse(200, body)


def layout_for_record_type(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    """``GET sobjects/{T}/describe/layouts/{recordTypeId}``: one DescribeLayout."""
    obj = _object(ctx, params["sobject"])
    wanted = ids.normalize(params["record_type_id"])
    known = {
        ids.normalize(r["recordTypeId"]) for r in record_type_infos(ctx.org.schema, obj, ctx.api_version)
    }
    if not obj.layoutable or wanted is None or wanted not in known:
        raise not_found()
    return ApiResponse(200, describe_layout(ctx, obj))


# --- compact layouts -------------------------------------------------------------------------------

_COMPACT_EXTRAS = ("Title", "AccountId", "Phone", "Email", "Website", "Industry", "Type", "StageName")


def compact_layouts(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    obj = _object(ctx, params["sobject"])
    if not obj.compact_layoutable:
        raise not_found()
    names = [f.name for f in obj.fields if f.name_field][:1]
    names += [n for n in _COMPACT_EXTRAS if obj.field(n) is not None][: 4 - len(names)]
    items = [
        _item(obj, {"field": n, "behavior": "Readonly"}, i + 1, ctx.api_version) for i, n in enumerate(names)
    ]
    for item in items:
        item["editableForNew"] = item["editableForUpdate"] = False
    base = f"/services/data/v{ctx.api_version}/sobjects/{obj.name}/describe/compactLayouts"
    infos = record_type_infos(ctx.org.schema, obj, ctx.api_version) if supports_record_types(obj) else []
    if not infos:
        infos = [{"available": True, "recordTypeId": MASTER_RECORD_TYPE_ID, "name": "Master"}]
    body = {
        "compactLayouts": [
            {
                "actions": [],
                "fieldItems": items,
                "id": None,
                "imageItems": [],
                "label": "System Default",
                "name": "SYSTEM",
                "objectType": obj.name,
            }
        ],
        "defaultCompactLayoutId": None,
        "recordTypeCompactLayoutMappings": [
            {
                "available": info["available"],
                "compactLayoutId": None,
                "compactLayoutName": "SYSTEM",
                "recordTypeId": info["recordTypeId"],
                "recordTypeName": info["name"],
                "urls": {"compactLayout": f"{base}/{info['recordTypeId']}"},
            }
            for info in infos
        ],
    }
    return ApiResponse(200, body)


# --- list views ----------------------------------------------------------------------------------------

_LIST_COLUMNS = ("Site", "BillingState", "Phone", "Title", "Email", "Company", "StageName", "CloseDate")


def _views(ctx: Ctx, obj: ObjectSpec) -> list[dict[str, Any]]:
    """(developerName, label, scope, where) of the object's standard list views."""
    plural = obj.label_plural
    compact = "".join(plural.split())
    if obj.custom:
        specs = [("All", "All", "everything", None)]
    else:
        specs = [
            (f"All{compact}", f"All {plural}", "everything", None),
            (f"My{compact}", f"My {plural}", "mine", None),
            ("NewThisWeek", "New This Week", "everything", "CreatedDate = THIS_WEEK"),
            ("NewLastWeek", "New Last Week", "everything", "CreatedDate = LAST_WEEK"),
        ]
    out = []
    for dev, label, scope, where in specs:
        out.append(
            {
                "id": _stable_id(ctx, "00B", obj.name, dev),
                "developerName": dev,
                "label": label,
                "scope": scope,
                "where": where,
            }
        )
    return out


def _view(ctx: Ctx, obj: ObjectSpec, view_id: str) -> dict[str, Any]:
    wanted = ids.normalize(view_id)
    for view in _views(ctx, obj):
        if wanted is not None and ids.normalize(view["id"]) == wanted:
            return view
    raise SalesforceError("NOT_FOUND", "The requested resource does not exist", status=404)


def _view_entry(ctx: Ctx, obj: ObjectSpec, view: dict[str, Any]) -> dict[str, Any]:
    url = ctx.data_path(f"sobjects/{obj.name}/listviews/{view['id']}")
    return {
        "describeUrl": f"{url}/describe",
        "developerName": view["developerName"],
        "id": view["id"],
        "label": view["label"],
        "resultsUrl": f"{url}/results",
        "soqlCompatible": True,
        "url": url,
    }


def _listview_object(ctx: Ctx, name: str) -> ObjectSpec:
    obj = _object(ctx, name)
    if not obj.queryable or not obj.layoutable:
        raise not_found()
    return obj


def listviews(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    """``GET sobjects/{T}/listviews``."""
    obj = _listview_object(ctx, params["sobject"])
    entries = [_view_entry(ctx, obj, v) for v in _views(ctx, obj)]
    body = {
        "done": True,
        "listviews": entries,
        "nextRecordsUrl": None,
        "size": len(entries),
        "sobjectType": obj.name,
    }
    return ApiResponse(200, body)


def listview(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    """``GET sobjects/{T}/listviews/{id}``: the list view's basic information."""
    obj = _listview_object(ctx, params["sobject"])
    return ApiResponse(200, _view_entry(ctx, obj, _view(ctx, obj, params["view_id"])))


def _columns(obj: ObjectSpec) -> list[dict[str, Any]]:
    names = [f.name for f in obj.fields if f.name_field][:1]
    names += [n for n in _LIST_COLUMNS if obj.field(n) is not None][:3]
    out = []
    for i, name in enumerate(names):
        spec = obj.field(name)
        out.append(
            {
                "ascendingLabel": "Z-A",
                "descendingLabel": "A-Z",
                "fieldNameOrPath": spec.name,
                "hidden": False,
                "label": spec.label,
                "searchable": spec.type in ("string", "email", "phone"),
                "selectListItem": spec.name,
                "sortDirection": "ascending" if i == 0 else None,
                "sortIndex": 0 if i == 0 else None,
                "sortable": True,
                "type": spec.type,
            }
        )
    for hidden in ("Id", "CreatedDate", "LastModifiedDate", "SystemModstamp"):
        spec = obj.field(hidden)
        if spec is None or spec.name in names:
            continue
        out.append(
            {
                "ascendingLabel": None,
                "descendingLabel": None,
                "fieldNameOrPath": spec.name,
                "hidden": True,
                "label": spec.label,
                "searchable": False,
                "selectListItem": spec.name,
                "sortDirection": None,
                "sortIndex": None,
                "sortable": spec.name != "Id",
                "type": spec.type,
            }
        )
    return out


def _soql(ctx: Ctx, obj: ObjectSpec, view: dict[str, Any], columns: list[dict[str, Any]]) -> str:
    select = ", ".join(c["selectListItem"] for c in columns)
    where = []
    if view["scope"] == "mine" and obj.field("OwnerId") is not None:
        where.append(f"OwnerId = '{ctx.user_id}'")
    if view["where"]:
        where.append(view["where"])
    order = columns[0]["fieldNameOrPath"]
    text = f"SELECT {select} FROM {obj.name}"
    if where:
        text += " WHERE " + " AND ".join(where)
    return text + f" ORDER BY {order} ASC NULLS FIRST, Id ASC NULLS FIRST"


def listview_describe(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    """``GET sobjects/{T}/listviews/{id}/describe``."""
    obj = _listview_object(ctx, params["sobject"])
    view = _view(ctx, obj, params["view_id"])
    columns = _columns(obj)
    body = {
        "columns": columns,
        "id": view["id"],
        "orderBy": [
            {
                "fieldNameOrPath": columns[0]["fieldNameOrPath"],
                "nullsPosition": "first",
                "sortDirection": "ascending",
            },
            {"fieldNameOrPath": "Id", "nullsPosition": "first", "sortDirection": "ascending"},
        ],
        "query": _soql(ctx, obj, view, columns),
        "relatedEntityId": None,
        "scope": view["scope"],
        "scopeEntityId": None,
        "sobjectType": obj.name,
        "whereCondition": None,
    }
    return ApiResponse(200, body)


def listview_results(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    """``GET sobjects/{T}/listviews/{id}/results`` (``limit`` ≤ 2,000, default 25; ``offset``)."""
    obj = _listview_object(ctx, params["sobject"])
    view = _view(ctx, obj, params["view_id"])
    columns = _columns(obj)
    limit = _int_param(req, "limit", 25, 1, 2000)
    offset = _int_param(req, "offset", 0, 0, 2000)
    query = parse(_soql(ctx, obj, view, columns))
    rows = execute(query, OrgDataSource(ctx.org, ctx.api_version), api_version=ctx.api_version).records
    page = rows[offset : offset + limit]
    records = [
        {
            "columns": [
                {"fieldNameOrPath": c["fieldNameOrPath"], "value": _text(r.get(c["fieldNameOrPath"]))}
                for c in columns
            ]
        }
        for r in page
    ]
    body = {
        "columns": columns,
        "developerName": view["developerName"],
        "done": offset + limit >= len(rows),
        "id": view["id"],
        "label": view["label"],
        "records": records,
        "size": len(rows),
    }
    return ApiResponse(200, body)


def _int_param(req: ApiRequest, name: str, default: int, low: int, high: int) -> int:
    raw = req.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SalesforceError("INVALID_PARAMETER_VALUE", f"Invalid {name}: {raw}", status=400) from None
    return max(low, min(high, value))


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
