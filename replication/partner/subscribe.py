"""The accepted partner subscribes on their side (S2S: each org subscribes for itself).

Only the objects the inviting org publishes to the partner (primary → secondary) are offered;
their target objects and fields are in the partner's org (the secondary). Every change goes
through the replication services the admin's subscribe uses — `subscription_subscribe`
(auto-mapping), `subscription_set_mapping` (the mapping rules) and `subscription_analyze` (the
analyzer) — so the result and the history lines are the same, marked as the partner's.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

from django.db.models import QuerySet

from connections.client import SalesforceClient
from connections.client_errors import SalesforceApiError
from connections.invitations import InvitationRefused
from connections.models import PartnerInvitation
from replication import services
from replication.errors import ProblemsError, ReplicationError
from replication.forms import object_choices, target_field_choices
from replication.mapping import Finding
from replication.models import Direction, PublishedObject, SubscribedObject

NOT_SYNCED = ""


@dataclass(frozen=True)
class FieldRow:
    """One published field: where it goes in the partner's org and its problems (each names
    the fix)."""

    source_field: str
    target_field: str
    problems: list[Finding] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ObjectSection:
    """One object published to the partner, subscribed or not."""

    publication: PublishedObject
    subscription: SubscribedObject | None
    rows: list[FieldRow] = field(default_factory=list)
    target_fields: list[tuple[str, str]] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)  # not about one published field
    error: str = ""


def _by_partner(invitation: PartnerInvitation) -> str:
    return f"by partner {invitation.contact_name} <{invitation.contact_email}>"


def _api_problem(exc: SalesforceApiError, what: str) -> str:
    """A Salesforce error, without its text (it may name the inviting org's addresses)."""
    code = exc.error_code or (f"HTTP {exc.status}" if exc.status else exc.__class__.__name__)
    return (
        f"Salesforce answered {code} while reading {what}. Try again in a minute; if it persists, "
        "check that your user may read it, or ask the company that invited you."
    )


def problem_text(exc: ReplicationError | SalesforceApiError) -> str:
    if isinstance(exc, SalesforceApiError):
        return _api_problem(exc, "the objects to subscribe")
    return str(exc)


def partner_publications(invitation: PartnerInvitation) -> QuerySet[PublishedObject]:
    """The objects published to the partner: primary → secondary and published."""
    return (
        PublishedObject.objects.filter(
            connection=invitation.connection, direction=Direction.PRIMARY_TO_SECONDARY, is_published=True
        )
        .select_related("connection__primary_org", "connection__secondary_org", "subscription")
        .order_by("sort_order", "source_object")
    )


@dataclass(frozen=True)
class PublishedToPartner:
    """One object the inviting org publishes to the partner, with its published fields."""

    name: str
    fields: list[str]


def published_to_partner(invitation: PartnerInvitation) -> list[PublishedToPartner]:
    """What the invitation page shows as published to the partner: objects and their fields."""
    return [
        PublishedToPartner(
            name=published.source_object,
            fields=sorted(f.source_field for f in published.fields.all() if f.is_published),
        )
        for published in partner_publications(invitation).prefetch_related("fields")
    ]


def partner_publication(invitation: PartnerInvitation, publication_id: str) -> PublishedObject:
    publication = partner_publications(invitation).filter(pk=_int(publication_id)).first()
    if publication is None:
        raise InvitationRefused(
            "This object is not published to you: reload the subscribe page and choose one from it.",
            status=404,
            title="Object not published to you",
        )
    return publication


def _int(value: str) -> int:
    return int(value) if str(value).isdigit() else 0


def partner_object_choices(invitation: PartnerInvitation) -> tuple[list[tuple[str, str]], str]:
    """(the objects of the partner's org a publication may go to, an error if describe failed)."""
    try:
        return object_choices(invitation.connection.secondary_org), ""
    except SalesforceApiError as exc:
        return [], _api_problem(exc, "the objects of your org")


def partner_subscribe(
    *, invitation: PartnerInvitation, publication_id: str, target_object: str
) -> SubscribedObject:
    """Subscribe the partner's org to one published object, exactly as the admin's Subscribe:
    the external-id field, then auto-mapping by the mapping rules. ReplicationError and
    SalesforceApiError propagate (`problem_text` words them for the page)."""
    publication = partner_publication(invitation, publication_id)
    return services.subscription_subscribe(
        publication=publication,
        actor=None,
        target_object=target_object.strip(),
        reason=_by_partner(invitation),
    )


def partner_set_mappings(
    *, invitation: PartnerInvitation, publication_id: str, wanted: Mapping[str, str]
) -> dict[str, list[str]]:
    """Map each published field as `wanted` (source field → target field, "" not synced) where it
    changed, one `subscription_set_mapping` each (unmappings first, so a target field can move
    from one source field to another). Returns the refusals by source field, each naming the fix."""
    subscription = _subscription(partner_publication(invitation, publication_id))
    current = dict(subscription.fields.values_list("source_field", "target_field"))
    changes = {s: wanted[s].strip() for s in current if s in wanted and wanted[s].strip() != current[s]}
    refused: dict[str, list[str]] = {}
    for source_field, target_field in sorted(changes.items(), key=lambda item: item[1] != NOT_SYNCED):
        try:
            services.subscription_set_mapping(
                subscription=subscription,
                source_field=source_field,
                target_field=target_field,
                actor=None,
                reason=_by_partner(invitation),
            )
        except ProblemsError as exc:
            refused[source_field] = [f"{source_field} → {target_field}: {m}" for m in exc.messages]
        except ReplicationError as exc:
            refused[source_field] = [f"{source_field} → {target_field}: {exc}"]
        except SalesforceApiError as exc:
            refused[source_field] = [_api_problem(exc, f"the fields to map {source_field}")]
    return refused


def _subscription(publication: PublishedObject) -> SubscribedObject:
    subscription = getattr(publication, "subscription", None)
    if subscription is None:
        raise InvitationRefused(
            f"{publication.source_object} is not subscribed yet: choose the object of your org it "
            "goes to and click Subscribe first.",
            status=409,
            title="Subscribe first",
        )
    return subscription


def partner_sections(
    invitation: PartnerInvitation, refused: Mapping[str, list[str]] | None = None
) -> list[ObjectSection]:
    """Each published object with its mapping and the analyzer's problems, live from describe."""
    return [_section(publication, refused or {}) for publication in partner_publications(invitation)]


def _section(publication: PublishedObject, refused: Mapping[str, list[str]]) -> ObjectSection:
    subscription = getattr(publication, "subscription", None)
    if subscription is None:
        return ObjectSection(publication, None)
    mapping = list(subscription.fields.values_list("source_field", "target_field"))
    findings, choices, error = _live(subscription)
    rows = [
        FieldRow(
            source, target_field, [f for f in findings if f.source_field == source], refused.get(source, [])
        )
        for source, target_field in mapping
    ]
    sources = {source for source, _ in mapping}
    return ObjectSection(
        publication,
        subscription,
        rows,
        _with_current(choices, [t for _, t in mapping if t]),
        [f for f in findings if f.source_field not in sources],
        error,
    )


def _live(subscription: SubscribedObject) -> tuple[list[Finding], list[tuple[str, str]], str]:
    """(the analyzer's findings, the target object's writable fields, a describe error)."""
    publication = subscription.published_object
    try:
        target = SalesforceClient(publication.target_org).describe(subscription.target_object)
        return services.subscription_analyze(subscription=subscription), target_field_choices(target), ""
    except SalesforceApiError as exc:
        what = f"the fields of {publication.source_object} → {subscription.target_object}"
        return [], [], _api_problem(exc, what)


def _with_current(choices: list[tuple[str, str]], current: list[str]) -> list[tuple[str, str]]:
    """The writable fields, plus any mapped field no longer among them (so it still shows)."""
    known = {name.lower() for name, _ in choices}
    missing = sorted({name for name in current if name.lower() not in known})
    return [*choices, *((name, f"{name} (not writable or not in your org)") for name in missing)]
