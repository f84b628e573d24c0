"""Owner strategies against two sfemu orgs with users, and the owner-strategy service."""

from types import SimpleNamespace

import pytest

from connections.client import SalesforceClient
from connections.models import ConnectionEvent
from replication.filters import id18
from replication.models import Direction, OwnerStrategy, PublishedObject
from replication.owners import OwnerResolver, OwnerStrategyError, target_usernames
from replication.services import publication_set_owner_strategy

P2S, S2P = Direction.PRIMARY_TO_SECONDARY, Direction.SECONDARY_TO_PRIMARY


def add_user(handle, name: str, *, username: str | None = None, active: bool = True) -> str:
    """A user of the org behind ``handle``; usernames are unique across the whole sfemu pod."""
    username = username or f"{name.lower()}@{handle.org_id.lower()}.example.com"
    return handle.org.add_user(last_name=name, username=username, active=active).user_id


def username_of(handle, user_id: str) -> str:
    return handle.org.user(user_id)["Username"]


def make_resolver(linked, strategy, *, direction=P2S, user_ids=(), owner_id=None) -> OwnerResolver:
    primary = SalesforceClient(linked.connection.primary_org)
    secondary = SalesforceClient(linked.connection.secondary_org)
    source, target = (primary, secondary) if direction == P2S else (secondary, primary)
    return OwnerResolver(
        strategy=strategy,
        user_ids=list(user_ids),
        direction=direction,
        connection_owner_id=owner_id or linked.connection.owner_user_id,
        source=source,
        target=target,
    )


def calls(resolver: OwnerResolver) -> tuple[int, int]:
    return resolver.source_users.client.calls["query"], resolver.target_users.client.calls["query"]


# ---------------------------------------------------------------------- match by username
def test_target_usernames_follow_the_dr_rule():
    assert target_usernames("tom@x.com", P2S) == ["tom@x.com.dr", "tom@x.com"]
    assert target_usernames("tom@x.com.dr", S2P) == ["tom@x.com", "tom@x.com.dr"]
    assert target_usernames("tom@x.com.DR", S2P) == ["tom@x.com", "tom@x.com.DR"]
    assert target_usernames("tom@x.com", S2P) == ["tom@x.com"]


def test_primary_user_maps_to_its_dr_user_in_the_secondary(linked):
    tom = add_user(linked.primary, "Tom")
    tom_dr = add_user(linked.secondary, "TomDr", username=username_of(linked.primary, tom) + ".dr")
    resolver = make_resolver(linked, OwnerStrategy.MATCH_USERNAME)
    assert resolver.target_owner(tom) == tom_dr
    assert resolver.target_owner(tom[:15]) == tom_dr, "15-character Ids work too"
    assert resolver.warnings == []


def test_usernames_match_whatever_their_case(linked):
    tom = add_user(linked.primary, "Tom", username=f"Tom.Miller@{linked.primary.org_id}.Example.com")
    tom_dr = add_user(
        linked.secondary, "TomDr", username=f"tom.miller@{linked.primary.org_id}.example.com.DR"
    )
    assert make_resolver(linked, OwnerStrategy.MATCH_USERNAME).target_owner(tom) == tom_dr


def test_secondary_dr_user_maps_back_by_stripping_the_suffix(linked):
    tom = add_user(linked.primary, "Tom")
    tom_dr = add_user(linked.secondary, "TomDr", username=username_of(linked.primary, tom) + ".dr")
    resolver = make_resolver(linked, OwnerStrategy.MATCH_USERNAME, direction=S2P)
    assert resolver.target_owner(tom_dr) == tom


def test_no_active_match_falls_back_to_the_connection_owners_dr_user(linked):
    owner_dr = add_user(linked.secondary, "OwnerDr", username=linked.primary.username + ".dr")
    ann = add_user(linked.primary, "Ann")
    add_user(linked.secondary, "AnnDr", username=username_of(linked.primary, ann) + ".dr", active=False)
    nobody = add_user(linked.primary, "Nobody")
    resolver = make_resolver(linked, OwnerStrategy.MATCH_USERNAME)
    assert resolver.target_owner(ann) == owner_dr, "inactive users are never chosen"
    assert resolver.target_owner(nobody) == owner_dr
    assert len(resolver.warnings) == 2 and ann in resolver.warnings[0], "ids, never names"


def test_without_a_dr_connection_owner_the_secondary_connected_user_owns(linked):
    nobody = add_user(linked.primary, "Nobody")
    resolver = make_resolver(linked, OwnerStrategy.MATCH_USERNAME)
    assert resolver.target_owner(nobody) == linked.secondary.user_id
    assert any("connected user" in w for w in resolver.warnings)


def test_towards_the_primary_the_fallback_is_the_connection_owner_itself(linked):
    stray = add_user(linked.secondary, "Stray")  # created in the secondary without .dr
    resolver = make_resolver(linked, OwnerStrategy.MATCH_USERNAME, direction=S2P)
    assert resolver.target_owner(stray) == linked.connection.owner_user_id


def test_an_inactive_connection_owner_gives_way_to_the_primary_connected_user(linked):
    owner = add_user(linked.primary, "Owner", active=False)
    stray = add_user(linked.secondary, "Stray")
    resolver = make_resolver(linked, OwnerStrategy.MATCH_USERNAME, direction=S2P, owner_id=owner)
    assert resolver.target_owner(stray) == linked.primary.user_id


class StubClient:
    """Answers every User query with the same users (sfemu, like Salesforce, keeps usernames
    unique across orgs, so an exact-username match can't be staged there)."""

    def __init__(self, users: list[dict], connected_user: str) -> None:
        self.users, self.org, self.calls = users, SimpleNamespace(user_id=connected_user), {"query": 0}

    def query_records(self, soql: str):
        self.calls["query"] += 1
        return iter(self.users)


def stub_user(user_id: str, username: str, active: bool = True) -> dict:
    return {"Id": id18(user_id), "Username": username, "Name": username, "IsActive": active}


def test_the_exact_username_is_the_second_choice():
    source = StubClient([stub_user("005000000000001", "kim@x.com")], "005000000000009")
    target = StubClient([stub_user("005000000000002", "kim@x.com")], "005000000000008")
    resolver = OwnerResolver(
        strategy=OwnerStrategy.MATCH_USERNAME,
        user_ids=[],
        direction=P2S,
        connection_owner_id="005000000000009",
        source=source,
        target=target,
    )
    assert resolver.target_owner("005000000000001") == id18("005000000000002")
    target.users.append(stub_user("005000000000003", "kim@x.com.dr"))
    fresh = OwnerResolver(
        strategy=OwnerStrategy.MATCH_USERNAME,
        user_ids=[],
        direction=P2S,
        connection_owner_id="005000000000009",
        source=source,
        target=target,
    )
    assert fresh.target_owner("005000000000001") == id18("005000000000003"), ".dr wins"


# ---------------------------------------------------------------------------------- fixed
def test_fixed_owner_and_its_fallback_when_deactivated(linked):
    fay = add_user(linked.secondary, "Fay")
    assert make_resolver(linked, OwnerStrategy.FIXED, user_ids=[fay]).target_owner("005x") == fay
    linked.secondary.org.set_user_active(fay, False)
    resolver = make_resolver(linked, OwnerStrategy.FIXED, user_ids=[fay])
    assert resolver.target_owner(linked.primary.user_id) == linked.secondary.user_id
    assert any(fay in w for w in resolver.warnings)


# ---------------------------------------------------------------------------- round robin
def test_round_robin_is_deterministic_per_record_and_spreads(linked):
    pool = [add_user(linked.secondary, f"Rr{i}") for i in range(3)]
    records = [f"001000000000{i:03d}" for i in range(60)]
    first = make_resolver(linked, OwnerStrategy.ROUND_ROBIN, user_ids=pool)
    second = make_resolver(linked, OwnerStrategy.ROUND_ROBIN, user_ids=list(reversed(pool)))
    owners = [first.target_owner(linked.primary.user_id, record_id=r) for r in records]
    assert set(owners) == set(pool), "every chosen user gets records"
    assert [second.target_owner("", record_id=id18(r)) for r in records] == owners, (
        "a retried record lands on the same owner, whatever the list order or Id length"
    )


def test_round_robin_skips_inactive_users_and_falls_back_when_none_is_left(linked):
    active, inactive = add_user(linked.secondary, "On"), add_user(linked.secondary, "Off", active=False)
    resolver = make_resolver(linked, OwnerStrategy.ROUND_ROBIN, user_ids=[active, inactive])
    assert {resolver.target_owner("", record_id=f"001000000000{i:03d}") for i in range(20)} == {active}
    none_left = make_resolver(linked, OwnerStrategy.ROUND_ROBIN, user_ids=[inactive])
    assert none_left.target_owner("", record_id="001000000000001") == linked.secondary.user_id
    assert none_left.warnings


# --------------------------------------------------------------------------- pass through
def test_pass_through_keeps_an_id_the_target_has_and_replaces_one_it_lacks(linked):
    shared = add_user(linked.secondary, "Shared")  # stands for a user Id valid in both orgs
    asleep = add_user(linked.secondary, "Asleep", active=False)
    missing = add_user(linked.primary, "OnlyPrimary")
    resolver = make_resolver(linked, OwnerStrategy.PASS_THROUGH)
    answer = resolver.resolve_many([shared, asleep, missing])
    assert answer == {shared: shared, asleep: linked.secondary.user_id, missing: linked.secondary.user_id}
    assert any(missing in w and "does not exist" in w for w in resolver.warnings)
    assert any(asleep in w and "inactive" in w for w in resolver.warnings)


# ------------------------------------------------------------------------------- batching
@pytest.mark.parametrize("strategy", list(OwnerStrategy))
def test_a_batch_costs_one_query_per_org_then_nothing(linked, strategy):
    owners = [add_user(linked.primary, f"Src{i}") for i in range(8)]
    for owner in owners[:5]:
        add_user(linked.secondary, "Dr", username=username_of(linked.primary, owner) + ".dr")
    chosen = [add_user(linked.secondary, f"Pick{i}") for i in range(2)]
    user_ids = chosen[:1] if strategy == OwnerStrategy.FIXED else chosen
    resolver = make_resolver(
        linked, strategy, user_ids=user_ids if strategy in ("fixed", "round_robin") else ()
    )
    records = [{"Id": f"001000000000{i:03d}", "OwnerId": owners[i % len(owners)]} for i in range(40)]
    answer = resolver.resolve_records(records)
    assert len(answer) == 40
    source_queries, target_queries = calls(resolver)
    assert target_queries == 1
    assert source_queries <= 1
    resolver.resolve_records(records)
    assert calls(resolver) == (source_queries, target_queries), "cached for the resolver's lifetime"
    if strategy == OwnerStrategy.MATCH_USERNAME:
        dr = {o: answer[r["Id"]] for r, o in ((r, r["OwnerId"]) for r in records)}
        assert len({dr[o] for o in owners[:5]}) == 5
        assert {dr[o] for o in owners[5:]} == {linked.secondary.user_id}


def test_for_publication_reads_the_settings(linked):
    fay = add_user(linked.secondary, "Fay")
    publication = PublishedObject.objects.create(
        connection=linked.connection, source_object="Account", owner_strategy="fixed", owner_user_ids=[fay]
    )
    resolver = OwnerResolver.for_publication(
        publication,
        source=SalesforceClient(linked.connection.primary_org),
        target=SalesforceClient(linked.connection.secondary_org),
    )
    assert resolver.target_owner(linked.primary.user_id) == fay


# ------------------------------------------------------------------------------ the service
@pytest.fixture
def publication(linked):
    return PublishedObject.objects.create(connection=linked.connection, source_object="Account")


def test_set_owner_strategy_stores_18_char_ids_and_records_the_change(linked, publication):
    a, b = add_user(linked.secondary, "Alpha"), add_user(linked.secondary, "Beta")
    publication_set_owner_strategy(
        publication=publication, strategy="round_robin", user_ids=[a[:15], b, a], actor=None
    )
    publication.refresh_from_db()
    assert publication.owner_strategy == "round_robin" and publication.owner_user_ids == [a, b]
    event = ConnectionEvent.objects.get(kind=ConnectionEvent.Kind.OPTION_CHANGED)
    assert "Round robin" in event.detail and "Alpha" in event.detail and "Account" in event.detail
    publication_set_owner_strategy(
        publication=publication, strategy="round_robin", user_ids=[b, a], actor=None
    )
    assert ConnectionEvent.objects.filter(kind=ConnectionEvent.Kind.OPTION_CHANGED).count() == 1, (
        "an unchanged setting records nothing"
    )


def test_set_owner_strategy_names_inactive_and_missing_users(linked, publication):
    asleep = add_user(linked.secondary, "Asleep", active=False)
    elsewhere = add_user(linked.primary, "Elsewhere")
    with pytest.raises(OwnerStrategyError) as caught:
        publication_set_owner_strategy(
            publication=publication, strategy="round_robin", user_ids=[asleep, elsewhere], actor=None
        )
    text = str(caught.value)
    assert "Asleep" in text and "inactive" in text and elsewhere in text and "no user" in text
    publication.refresh_from_db()
    assert publication.owner_strategy == OwnerStrategy.MATCH_USERNAME and publication.owner_user_ids == []


@pytest.mark.parametrize(
    ("strategy", "how_many", "message"),
    [
        ("fixed", 0, "exactly one"),
        ("fixed", 2, "exactly one"),
        ("round_robin", 0, "at least one"),
        ("pass_through", 1, "takes no chosen users"),
        ("match_username", 1, "takes no chosen users"),
        ("lottery", 0, "Unknown owner strategy"),
    ],
)
def test_set_owner_strategy_checks_the_number_of_users(linked, publication, strategy, how_many, message):
    users = [add_user(linked.secondary, f"U{i}") for i in range(how_many)]
    with pytest.raises(OwnerStrategyError, match=message):
        publication_set_owner_strategy(publication=publication, strategy=strategy, user_ids=users, actor=None)


def test_set_owner_strategy_refuses_what_is_not_an_id(publication):
    with pytest.raises(OwnerStrategyError, match="not a Salesforce user Id"):
        publication_set_owner_strategy(
            publication=publication, strategy="fixed", user_ids=["' OR Id != null"], actor=None
        )
