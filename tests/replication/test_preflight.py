"""Pre-flight shows the exact payload of a real record and writes nothing."""

import pytest
from django.core.management import call_command

from replication import services
from replication.errors import ReplicationError
from replication.models import EXTERNAL_ID_FIELD, Direction, RecordQueueItem


@pytest.fixture
def published(linked):
    for name in ("Account", "Contact"):
        publication = services.publication_publish(
            connection=linked.connection,
            direction=Direction.PRIMARY_TO_SECONDARY,
            source_object=name,
            actor=None,
        )
        services.subscription_subscribe(publication=publication, actor=None)
    return linked


def test_payload_of_a_new_record_is_exact_and_nothing_is_written(published):
    account = published.primary.org.create(
        "Account", {"Name": "Try me", "Industry": "Banking"}, user_id=published.primary.user_id
    )
    publication = published.connection.published_objects.get(source_object="Account")
    published.secondary.reset_calls()
    result = services.publication_preflight(publication=publication, record_id=account)
    assert result.operation == f"insert (upsert on {EXTERNAL_ID_FIELD})"
    assert result.payload[EXTERNAL_ID_FIELD] == account
    assert result.payload["Name"] == "Try me" and result.payload["Industry"] == "Banking"
    assert result.payload["OwnerId"].startswith("005")
    calls = published.secondary.calls()
    assert "collections" not in calls and "composite" not in calls, "no write call reached the target"
    assert published.secondary.org.record_counts(["Account"]).get("Account", 0) == 0
    assert not RecordQueueItem.objects.exists()


def test_a_child_whose_parent_is_not_linked_says_it_waits(published):
    account = published.primary.org.create("Account", {"Name": "Parent"}, user_id=published.primary.user_id)
    contact = published.primary.org.create(
        "Contact", {"LastName": "Child", "AccountId": account}, user_id=published.primary.user_id
    )
    publication = published.connection.published_objects.get(source_object="Contact")
    result = services.publication_preflight(publication=publication, record_id=contact)
    assert "AccountId" not in result.payload
    assert any(f"Account {account} is not linked yet" in w for w in result.warnings)


def test_filtered_out_records_are_said_to_be_skipped(published):
    publication = published.connection.published_objects.get(source_object="Account")
    services.publication_set_filter(
        publication=publication, text_or_conditions="Industry equals Banking", actor=None
    )
    other = published.primary.org.create(
        "Account", {"Name": "Retail", "Industry": "Retail"}, user_id=published.primary.user_id
    )
    result = services.publication_preflight(publication=publication, record_id=other)
    assert result.operation.startswith("skip") and result.payload == {}


def test_command_prints_the_payload(published, capsys):
    published.primary.org.create("Account", {"Name": "Latest"}, user_id=published.primary.user_id)
    call_command("preflight", published.connection.name, "Account")
    out = capsys.readouterr().out
    assert "insert (upsert on OrgSync_Source_Id__c)" in out and "Name = 'Latest'" in out


def test_unknown_records_are_a_clear_error(published):
    publication = published.connection.published_objects.get(source_object="Account")
    with pytest.raises(ReplicationError, match="No Account record 001000000000000AAA"):
        services.publication_preflight(publication=publication, record_id="001000000000000AAA")
