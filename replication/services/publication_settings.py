"""A publication's record filter and owner strategy, checked against the live orgs."""

from collections.abc import Sequence

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from connections.client import SalesforceClient
from connections.models import ConnectionEvent
from replication.filter_syntax import (
    FilterTextError,
    LineError,
    conditions_to_json,
    format_condition,
    parse_numbered,
)
from replication.filters import Condition, validate
from replication.models import OwnerStrategy, PublishedObject
from replication.owners import OrgUser, OwnerStrategyError, UserDirectory, normalize_id

Kind = ConnectionEvent.Kind
DETAIL_LIMIT = 500
STRATEGIES_WITH_USERS = {OwnerStrategy.FIXED, OwnerStrategy.ROUND_ROBIN}


def _record(publication: PublishedObject, kind: str, actor: AbstractBaseUser | None, text: str) -> None:
    detail = f"{publication.source_object} ({publication.get_direction_display()}): {text}"
    if len(detail) > DETAIL_LIMIT:
        detail = detail[: DETAIL_LIMIT - 1] + "…"
    ConnectionEvent.objects.create(connection=publication.connection, kind=kind, actor=actor, detail=detail)


# ------------------------------------------------------------------------------------ filter
def publication_set_filter(
    *,
    publication: PublishedObject,
    text_or_conditions: str | Sequence[Condition],
    actor: AbstractBaseUser | None,
) -> PublishedObject:
    """Replace the publication's record filter, given as filter text (see
    ``replication.filter_syntax``) or as conditions, after checking it against the source
    object's live describe. Raises :class:`FilterTextError` naming each bad line (for a list of
    conditions, line N is the Nth condition). An empty filter syncs every record.
    """
    conditions = publication_check_filter(publication=publication, text_or_conditions=text_or_conditions)
    stored = conditions_to_json(conditions)
    if stored == (publication.filter_conditions or []):
        return publication
    with transaction.atomic():
        publication.filter_conditions = stored
        publication.save(update_fields=["filter_conditions", "updated_at"])
        readable = "; ".join(format_condition(c) for c in conditions)
        _record(publication, Kind.FILTER_CHANGED, actor, readable or "filter removed: every record syncs")
    return publication


def publication_check_filter(
    *, publication: PublishedObject, text_or_conditions: str | Sequence[Condition]
) -> list[Condition]:
    """The conditions :func:`publication_set_filter` would store (field names as the describe
    spells them); raises :class:`FilterTextError`. Reads the describe, writes nothing."""
    return _validated(publication, _numbered(text_or_conditions))


def _numbered(text_or_conditions: str | Sequence[Condition]) -> list[tuple[int, Condition]]:
    if isinstance(text_or_conditions, str):
        return parse_numbered(text_or_conditions)
    return list(enumerate(text_or_conditions, start=1))


def _validated(publication: PublishedObject, numbered: list[tuple[int, Condition]]) -> list[Condition]:
    """The conditions with the describe's spelling of each field; FilterTextError if invalid."""
    if not numbered:
        return []
    describe = SalesforceClient(publication.source_org).describe(publication.source_object)
    conditions = [c for _, c in numbered]
    errors = validate(conditions, describe)
    if errors:
        raise FilterTextError([LineError(numbered[e.field_index][0], e.message) for e in errors])
    names = {f["name"].lower(): f["name"] for f in describe["fields"]}
    return [Condition(names[c.field.strip().lower()], c.operator, c.value) for c in conditions]


# ----------------------------------------------------------------------------- owner strategy
def publication_set_owner_strategy(
    *,
    publication: PublishedObject,
    strategy: str,
    user_ids: Sequence[str],
    actor: AbstractBaseUser | None,
) -> PublishedObject:
    """Set who owns the records this publication creates in the target org.

    Fixed takes exactly one user, round robin one or more; match by username and pass through
    take none. Chosen users must exist and be active in the target org (read live). Raises
    :class:`OwnerStrategyError` with one message per problem.
    """
    strategy, ids, users = publication_check_owner_strategy(
        publication=publication, strategy=strategy, user_ids=user_ids
    )
    if strategy == publication.owner_strategy and set(ids) == set(publication.owner_user_ids or []):
        return publication  # the order of round robin users has no effect (see OwnerResolver)
    with transaction.atomic():
        publication.owner_strategy, publication.owner_user_ids = strategy, ids
        publication.save(update_fields=["owner_strategy", "owner_user_ids", "updated_at"])
        chosen = f": {', '.join(str(u) for u in users)}" if users else ""
        _record(publication, Kind.OPTION_CHANGED, actor, f"owner strategy {strategy.label}{chosen}")
    return publication


def publication_check_owner_strategy(
    *, publication: PublishedObject, strategy: str, user_ids: Sequence[str]
) -> tuple[OwnerStrategy, list[str], list[OrgUser]]:
    """The strategy, the chosen Ids (18-character, no repeats) and their users, as
    :func:`publication_set_owner_strategy` would store them; raises :class:`OwnerStrategyError`.
    Queries the target org's users, writes nothing."""
    checked = _strategy(strategy)
    ids = _user_ids(checked, user_ids)
    return checked, ids, _active_target_users(publication, ids)


def _strategy(value: str) -> OwnerStrategy:
    try:
        return OwnerStrategy(value)
    except ValueError:
        names = ", ".join(OwnerStrategy.values)
        raise OwnerStrategyError([f"Unknown owner strategy “{value}”: use one of {names}."]) from None


def _user_ids(strategy: OwnerStrategy, user_ids: Sequence[str]) -> list[str]:
    """The chosen Ids in 18-character form, in the order given, without repeats."""
    if strategy not in STRATEGIES_WITH_USERS:
        if user_ids:
            raise OwnerStrategyError([f"{strategy.label} takes no chosen users: clear them."])
        return []
    bad = [u for u in user_ids if not normalize_id(u or "")]
    if bad:
        raise OwnerStrategyError([f"“{u}” is not a Salesforce user Id (15 or 18 characters)." for u in bad])
    ids = list(dict.fromkeys(normalize_id(u) or "" for u in user_ids))
    if strategy == OwnerStrategy.FIXED and len(ids) != 1:
        raise OwnerStrategyError([f"Fixed owner takes exactly one user, not {len(ids)}: choose one."])
    if not ids:
        raise OwnerStrategyError(["Round robin needs at least one user of the target org: choose them."])
    return ids


def _active_target_users(publication: PublishedObject, ids: list[str]) -> list[OrgUser]:
    if not ids:
        return []
    target = publication.target_org
    directory = UserDirectory(SalesforceClient(target))
    directory.load(ids=ids)
    problems, users = [], []
    for user_id in ids:
        user = directory.by_id(user_id)
        if user is None:
            problems.append(f"{target} has no user {user_id}: choose a user of the target org.")
        elif not user.is_active:
            problems.append(f"{user} is inactive in {target}: activate the user there, or choose another.")
        else:
            users.append(user)
    if problems:
        raise OwnerStrategyError(problems)
    return users
