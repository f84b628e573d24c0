"""Forward to connection: chosen records (and their published children) are sent now."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from replication import services
from replication.models import ChangeCursor, Direction, RecordLink


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


def test_forward_with_related_sends_parent_and_children(published, capsys):
    org, user = published.primary.org, published.primary.user_id
    account = org.create("Account", {"Name": "Forwarded"}, user_id=user)
    contacts = [
        org.create("Contact", {"LastName": f"C{n}", "AccountId": account}, user_id=user) for n in range(2)
    ]
    other = org.create("Account", {"Name": "Not forwarded"}, user_id=user)
    for name in ("Account", "Contact"):  # capture alone would find none of them: cursors are past them
        ChangeCursor.objects.update_or_create(
            connection=published.connection,
            direction=Direction.PRIMARY_TO_SECONDARY,
            source_object=name,
            defaults={"modstamp": timezone.now() + timedelta(days=1)},
        )
    call_command("forward", published.connection.name, "Account", account, "--with-related")
    out = capsys.readouterr().out
    assert "Queued 1 Account, 2 Contact" in out
    assert set(RecordLink.objects.values_list("primary_id", flat=True)) == {account, *contacts}
    assert not RecordLink.objects.filter(primary_id=other).exists()


def test_forward_refuses_bad_ids_and_unpublished_objects(published):
    with pytest.raises(CommandError, match="Not record Ids: nope"):
        call_command("forward", published.connection.name, "Account", "nope")
    with pytest.raises(CommandError, match="Lead is not published"):
        call_command("forward", published.connection.name, "Lead", "00Q000000000000AAA")
