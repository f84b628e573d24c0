"""Subscribing to a publication: target object, external-id field, field mappings, analysis."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from connections.client import SalesforceClient
from connections.client_errors import PermanentError
from connections.models import Connection, ConnectionEvent, Org
from replication.errors import MappingError, SubscribeError
from replication.mapping import Finding, analyze, auto_map, check_mapping
from replication.models import EXTERNAL_ID_FIELD, PublishedObject, SubscribedField, SubscribedObject
from replication.services.publication import publication_disconnect, with_reason

Kind = ConnectionEvent.Kind
EXTERNAL_ID_METADATA = {
    "type": "Text",
    "label": "OrgSync Source Id",
    "length": 18,
    "externalId": True,
    "unique": True,
    "caseSensitive": True,
    "description": "Id of the source record; written by orgsync so retried writes never duplicate.",
}


def ensure_external_id_field(*, org: Org, sobject: str) -> bool:
    """Make sure `sobject` in `org` has OrgSync_Source_Id__c; create it through the Tooling API
    when missing. Returns True when it had to be created."""
    client = SalesforceClient(org)
    fields = {f["name"] for f in client.describe(sobject)["fields"]}
    if EXTERNAL_ID_FIELD in fields:
        return False
    try:
        client.create_custom_field(f"{sobject}.{EXTERNAL_ID_FIELD}", EXTERNAL_ID_METADATA)
    except PermanentError as exc:
        if exc.error_code.startswith("INSUFFICIENT_ACCESS") or exc.status == 403:
            raise SubscribeError(
                f"The connected user of {org} may not create {sobject}.{EXTERNAL_ID_FIELD}: give the "
                "integration user the “Customize Application” permission, or create the field by hand "
                "(Text(18), External ID, Unique, case-sensitive)."
            ) from exc
        raise SubscribeError(f"Could not create {sobject}.{EXTERNAL_ID_FIELD} in {org}: {exc}") from exc
    return True


def _target_describe(publication: PublishedObject, target_object: str) -> dict:
    client = SalesforceClient(publication.target_org)
    names = {e["name"].lower(): e["name"] for e in client.describe_global()["sobjects"]}
    if target_object.lower() not in names:
        raise SubscribeError(f"{publication.target_org} has no object named “{target_object}”.")
    return client.describe(names[target_object.lower()])


def subscription_subscribe(
    *,
    publication: PublishedObject,
    actor: AbstractBaseUser | None,
    target_object: str = "",
    reason: str = "",
) -> SubscribedObject:
    """Subscribe the target org to a publication: ensure the external-id field (on both objects
    in a two-way connection), auto-map fields by API name then label, keeping only mappings
    that pass the mapping rules. `reason` is added to the history line (e.g. who subscribed)."""
    target_object = target_object or publication.source_object
    target = _target_describe(publication, target_object)
    ensure_external_id_field(org=publication.target_org, sobject=target["name"])
    if publication.connection.direction == Connection.Direction.TWO_WAY:
        ensure_external_id_field(org=publication.source_org, sobject=publication.source_object)
        target = _target_describe(publication, target["name"])
    source = SalesforceClient(publication.source_org).describe(publication.source_object)
    published = set(publication.fields.filter(is_published=True).values_list("source_field", flat=True))
    source_fields = [f for f in source["fields"] if f["name"] in published]
    proposed = auto_map(source_fields, target["fields"], object_name=publication.source_object)
    objects = mapped_objects(publication.connection, extra={publication.source_object: target["name"]})
    by_name = {f["name"]: f for f in target["fields"]}
    # Subscribing again to the same object re-reads both describes: mappings the admin made that
    # still fit stay, the rest (and fields published since) are auto-mapped afresh.
    kept = dict(
        SubscribedField.objects.filter(
            subscribed_object__published_object=publication,
            subscribed_object__target_object=target["name"],
        )
        .exclude(target_field="")
        .values_list("source_field", "target_field")
    )
    with transaction.atomic():
        subscription, _ = SubscribedObject.objects.update_or_create(
            published_object=publication,
            defaults={"target_object": target["name"], "external_id_ready": True},
        )
        for field in source_fields:
            target_name = kept.get(field["name"])
            if target_name not in by_name:
                target_name = proposed.get(field["name"])
            if target_name and check_mapping(field, by_name[target_name], target_object_mapped=objects):
                target_name = None
            SubscribedField.objects.update_or_create(
                subscribed_object=subscription,
                source_field=field["name"],
                defaults={"target_field": target_name or ""},
            )
        # Mappings made before orgsync's identity field was refused: never synced, so unmapped.
        subscription.fields.filter(
            Q(source_field__iexact=EXTERNAL_ID_FIELD) | Q(target_field__iexact=EXTERNAL_ID_FIELD)
        ).update(target_field="")
        ConnectionEvent.objects.create(
            connection=publication.connection,
            kind=Kind.OBJECT_SUBSCRIBED,
            actor=actor,
            detail=with_reason(f"{publication.source_object} → {target['name']}", reason)[:500],
        )
    return subscription


@transaction.atomic
def subscription_delete(
    *, subscription: SubscribedObject, actor: AbstractBaseUser | None, reason: str = ""
) -> None:
    """Delete a subscription: its publication stops syncing (the engine only syncs subscribed
    publications), so its records are disconnected as when unpublishing — pending items of that
    direction dropped, links dropped unless the other direction of a two-way connection still
    publishes the same pair of objects back."""
    publication = subscription.published_object
    links = publication_disconnect(publication=publication)
    target = subscription.target_object
    subscription.delete()
    ConnectionEvent.objects.create(
        connection=publication.connection,
        kind=Kind.MAPPING_CHANGED,
        actor=actor,
        detail=with_reason(
            f"{publication.source_object} → {target} ({publication.get_direction_display()}): "
            f"subscription deleted; {links}",
            reason,
        )[:500],
    )


def mapped_objects(connection: Connection, extra: dict[str, str] | None = None) -> dict[str, str]:
    mapped = dict(
        SubscribedObject.objects.filter(published_object__connection=connection).values_list(
            "published_object__source_object", "target_object"
        )
    )
    return {**mapped, **(extra or {})}


def subscription_set_mapping(
    *,
    subscription: SubscribedObject,
    source_field: str,
    target_field: str,
    actor: AbstractBaseUser | None,
    reason: str = "",
) -> SubscribedField:
    """Map one source field to a target field (blank: don't sync it), enforcing the S2S rules
    and refusing a target field another source field of the subscription is mapped to."""
    mapping = subscription.fields.get(source_field=source_field)
    if target_field:
        publication = subscription.published_object
        source = _field(
            SalesforceClient(publication.source_org).describe(publication.source_object), source_field
        )
        target = _field(
            SalesforceClient(publication.target_org).describe(subscription.target_object), target_field
        )
        findings = check_mapping(source, target, target_object_mapped=mapped_objects(publication.connection))
        if findings:
            raise MappingError([f.message for f in findings])
        target_field = target["name"]
        other = (
            subscription.fields.filter(target_field__iexact=target_field)
            .exclude(source_field=source_field)
            .first()
        )
        if other is not None:
            raise MappingError([duplicate_target_message(target_field, [other.source_field, source_field])])
    old = mapping.target_field
    mapping.target_field = target_field
    with transaction.atomic():
        mapping.save(update_fields=["target_field"])
        ConnectionEvent.objects.create(
            connection=subscription.published_object.connection,
            kind=Kind.MAPPING_CHANGED,
            actor=actor,
            detail=with_reason(
                f"{subscription.published_object.source_object}.{source_field}: "
                f"{old or '(none)'} → {target_field or '(none)'}",
                reason,
            )[:500],
        )
    return mapping


def duplicate_target_message(target_field: str, source_fields: list[str]) -> str:
    names = " and ".join(source_fields)
    return (
        f"{names} are both mapped to {target_field}: each sync would overwrite the other. "
        f"Map only one of them to {target_field}."
    )


def _field(describe: dict, name: str) -> dict:
    found = next((f for f in describe["fields"] if f["name"].lower() == name.lower()), None)
    if found is None:
        raise MappingError([f"{describe['name']} has no field “{name}”."])
    return found


def subscription_analyze(*, subscription: SubscribedObject) -> list[Finding]:
    """Every error and warning of the subscription's mapping, from both orgs' live describe."""
    publication = subscription.published_object
    source = SalesforceClient(publication.source_org).describe(publication.source_object)
    target = SalesforceClient(publication.target_org).describe(subscription.target_object)
    mapping = dict(subscription.fields.values_list("source_field", "target_field"))
    connection = publication.connection
    published = set(
        connection.published_objects.filter(direction=publication.direction, is_published=True).values_list(
            "source_object", flat=True
        )
    )
    findings = analyze(
        source,
        target,
        {s: t or None for s, t in mapping.items()},
        target_object_mapped=mapped_objects(connection),
        published_objects=published,
        published_fields=publication.fields.filter(is_published=True).values_list("source_field", flat=True),
    )
    SubscribedObject.objects.filter(pk=subscription.pk).update(analyzed_at=timezone.now())
    return findings
