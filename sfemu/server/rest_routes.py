"""The table of REST resources below ``/services/data/vXX.X``."""

from __future__ import annotations

from sfemu.server import (
    routes_batch,
    routes_composite,
    routes_describe,
    routes_layouts,
    routes_query,
    routes_recent,
    routes_replication,
    routes_resources,
    routes_rows,
    routes_search,
    routes_tooling,
    routes_tree,
)
from sfemu.server import (
    routes_collections as coll,
)
from sfemu.server.dispatch import RestRoute, route, route_kind

# Order matters: the first pattern of the right length wins, so literals come first.
ROUTES: list[RestRoute] = [
    route("", get=routes_resources.resources),
    route("limits", get=routes_resources.limits),
    route("limits/recordCount", get=routes_resources.record_count),
    route("sobjects", get=routes_describe.describe_global),
    route("sobjects/{sobject}", get=routes_describe.basic_info, post=routes_rows.create),
    route("sobjects/{sobject}/describe", get=routes_describe.describe),
    route("sobjects/{sobject}/updated", get=routes_replication.updated),
    route("sobjects/{sobject}/deleted", get=routes_replication.deleted),
    route("sobjects/{sobject}/describe/layouts", get=routes_layouts.layouts),
    route("sobjects/{sobject}/describe/layouts/{record_type_id}", get=routes_layouts.layout_for_record_type),
    route("sobjects/{sobject}/describe/compactLayouts", get=routes_layouts.compact_layouts),
    route("sobjects/{sobject}/listviews", get=routes_layouts.listviews),
    route("sobjects/{sobject}/listviews/{view_id}", get=routes_layouts.listview),
    route("sobjects/{sobject}/listviews/{view_id}/describe", get=routes_layouts.listview_describe),
    route("sobjects/{sobject}/listviews/{view_id}/results", get=routes_layouts.listview_results),
    route("search", get=routes_search.search),
    route(
        "parameterizedSearch",
        get=routes_search.parameterized_get,
        post=routes_search.parameterized_post,
    ),
    route(
        "sobjects/{sobject}/{record_id}",
        hidden=("POST",),
        get=routes_rows.read,
        patch=routes_rows.update,
        delete=routes_rows.delete,
        post=routes_rows.post_on_record,
    ),
    route(
        "sobjects/{sobject}/{field}/{value}",
        get=routes_rows.read_by_external_id,
        patch=routes_rows.upsert,
        delete=routes_rows.delete_by_external_id,
    ),
    route("query", "query", get=routes_query.run_query),
    route("query/{locator}", "query", get=routes_query.more),
    route("queryAll", "query", get=routes_query.run_query_all),
    route("queryAll/{locator}", "query", get=routes_query.more),
    route("composite", post=routes_composite.composite),
    route("composite/batch", post=routes_batch.batch),
    route("composite/tree/{sobject}", post=routes_tree.tree),
    route("recent", get=routes_recent.recent),
    route(
        "composite/sobjects",
        "collections",
        post=coll.create_many,
        patch=coll.update_many,
        delete=coll.delete_many,
    ),
    route(
        "composite/sobjects/{sobject}",
        "collections",
        get=coll.retrieve_many,
        post=coll.retrieve_many,
    ),
    route("composite/sobjects/{sobject}/{field}", "collections", patch=coll.upsert_many),
    *routes_tooling.ROUTES,
]

route_kind_of = route_kind
