"""Worker logs name users by Id only: an owner fallback logs no username, name or email."""

import logging

import pytest

from connections.client import SalesforceClient
from replication import services
from replication.engine.cycle import sync_once
from replication.models import Direction, OwnerStrategy
from replication.owners import OwnerResolver

P2S = Direction.PRIMARY_TO_SECONDARY


@pytest.fixture
def published(linked):
    publication = services.publication_publish(
        connection=linked.connection, direction=P2S, source_object="Account", actor=None
    )
    services.subscription_subscribe(publication=publication, actor=None)
    return linked


def owner_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("owner of Account")]


def test_match_username_fallback_logs_ids_only(published, caplog):
    """Ann has no .dr user in the secondary and neither has the connection owner: the record
    falls back twice (to the owner, then to the connected user), logged with Ids only."""
    primary = published.primary.org
    ann = primary.add_user(
        first_name="Annabel", last_name="Zwicky", username="annabel.zwicky@private.example.org"
    ).user_id
    primary.create("Account", {"Name": "Owned by Ann", "OwnerId": ann}, user_id=ann)
    with caplog.at_level(logging.INFO):
        sync_once(published.connection)
    lines = owner_lines(caplog)
    assert len(lines) == 2, lines
    text = "\n".join(lines)
    assert ann in text and published.secondary.user_id in text, "the Ids are there"
    for secret in ("Annabel", "Zwicky", "annabel.zwicky", "private.example.org", published.primary.username):
        assert secret.lower() not in text.lower(), f"{secret!r} in {text!r}"


def test_pass_through_fallback_names_the_inactive_owner_by_id_only(linked):
    """The warnings the engine logs ("owner of …: <warning>") carry no name of an inactive owner."""
    asleep = linked.secondary.org.add_user(
        first_name="Dormant",
        last_name="Quixote",
        username="dormant.quixote@private.example.org",
        active=False,
    ).user_id
    resolver = OwnerResolver(
        strategy=OwnerStrategy.PASS_THROUGH,
        user_ids=[],
        direction=P2S,
        connection_owner_id=linked.connection.owner_user_id,
        source=SalesforceClient(linked.connection.primary_org),
        target=SalesforceClient(linked.connection.secondary_org),
    )
    resolver.target_owner(asleep)
    text = "\n".join(resolver.warnings)
    assert asleep in text and "inactive" in text, text
    for secret in ("Dormant", "Quixote", "dormant.quixote", "private.example.org"):
        assert secret.lower() not in text.lower(), f"{secret!r} in {text!r}"
