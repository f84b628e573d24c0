"""Pre-flight: what one real record would become in the target org — computed, never written."""

from dataclasses import dataclass, field

from replication.engine.context import EngineContext
from replication.engine.links import LinkIndex
from replication.engine.payloads import build_payload, referenced_ids
from replication.engine.plans import OWNER_FIELD, build_plans
from replication.errors import ReplicationError
from replication.filters import matches
from replication.mapping import Finding
from replication.models import EXTERNAL_ID_FIELD, PublishedObject
from replication.services.subscription import subscription_analyze


@dataclass
class Preflight:
    source_id: str
    operation: str  # "insert (upsert on OrgSync_Source_Id__c)", "update", "skip: …"
    payload: dict[str, object]
    warnings: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def publication_preflight(*, publication: PublishedObject, record_id: str = "") -> Preflight:
    """Take `record_id` (or the source's most recently changed record), run filters, mapping,
    lookup translation and the owner strategy, and return the exact payload with every warning."""
    if not hasattr(publication, "subscription"):
        raise ReplicationError(f"{publication.source_object} is not subscribed yet: subscribe it first.")
    ctx = EngineContext(worker="preflight")
    plan = next(
        (
            p
            for p in build_plans(publication.connection, publication.direction, ctx.describe)
            if p.publication.pk == publication.pk
        ),
        None,
    )
    if plan is None:
        raise ReplicationError(f"{publication.source_object} is not published: nothing would sync.")
    record = _sample(ctx, plan, record_id)
    links = LinkIndex(publication.connection, publication.direction).load(
        [record["Id"], *referenced_ids(plan, [record])]
    )
    result = Preflight(source_id=record["Id"], operation="", payload={})
    describe = ctx.describe(publication.source_org, publication.source_object)
    if plan.conditions and not matches(plan.conditions, record, describe):
        result.operation = "skip: the record does not match the filter, so it is not synced"
        return result
    owner = None
    if any(m.source == OWNER_FIELD for m in plan.fields) and record.get(OWNER_FIELD):
        resolver = ctx.owner_resolver(publication)
        owner = resolver.resolve_records([record]).get(record["Id"])
        result.warnings += resolver.warnings
    payload = build_payload(plan, record, links, owner)
    for parent_object, parent_id in payload.missing_parents:
        result.warnings.append(
            f"{parent_object} {parent_id} is not linked yet: the record waits for it (it is sent first when "
            f"{parent_object} is published in this direction), and the lookup is left out until then."
        )
    link = links.get(record["Id"])
    if link is None:
        result.operation = f"insert (upsert on {EXTERNAL_ID_FIELD})"
        result.payload = {EXTERNAL_ID_FIELD: record["Id"], **payload.values}
    else:
        result.operation = f"update of {links.target_id(link)}"
        result.payload = dict(payload.values)
    result.findings = subscription_analyze(subscription=publication.subscription)
    return result


def _sample(ctx: EngineContext, plan, record_id: str) -> dict:
    client = ctx.client(plan.publication.source_org)
    fields = ", ".join(plan.capture_fields())
    where = f"WHERE Id = '{record_id}'" if record_id else "ORDER BY SystemModstamp DESC LIMIT 1"
    if record_id and not record_id.isalnum():
        raise ReplicationError(f"“{record_id}” is not a record Id.")
    records = client.query_page(f"SELECT {fields} FROM {plan.source_object} {where}").records
    if not records:
        which = f"record {record_id}" if record_id else "record"
        raise ReplicationError(f"No {plan.source_object} {which} in {plan.publication.source_org} to try.")
    return records[0]
