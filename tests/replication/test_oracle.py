"""The oracle (tests/replication/oracle.py) sees every class of damage, built by hand in two
sfemu orgs — with no engine involved — and finds nothing wrong in two orgs that agree."""

from datetime import timedelta

import pytest
from django.utils import timezone

from replication.models import EXTERNAL_ID_FIELD, Direction, QueueAction, QueueStatus, RecordQueueItem
from replication.services.subscription import ensure_external_id_field
from synclog.models import SyncLog
from tests.replication.oracle import compare_orgs

OBJECTS = {"Account": ["Name", "Phone"], "Contact": ["LastName", "Title", "AccountId"]}
ZERO = {"missing": 0, "duplicated": 0, "stale": 0, "stuck": 0}


class Orgs:
    """Two linked orgs with the marker field on both objects, and helpers to write records."""

    def __init__(self, linked):
        self.linked = linked
        for org in (linked.connection.primary_org, linked.connection.secondary_org):
            for sobject in OBJECTS:
                ensure_external_id_field(org=org, sobject=sobject)

    def handle(self, side: str):
        return self.linked.primary if side == "primary" else self.linked.secondary

    def create(self, side: str, sobject: str, values: dict, *, origin: str | None = None) -> str:
        handle = self.handle(side)
        values = {**values, EXTERNAL_ID_FIELD: origin} if origin else values
        return handle.org.create(sobject, values, user_id=handle.user_id)

    def update(self, side: str, sobject: str, record_id: str, values: dict) -> None:
        handle = self.handle(side)
        handle.org.update(sobject, record_id, values, user_id=handle.user_id)

    def delete(self, side: str, record_id: str) -> None:
        handle = self.handle(side)
        handle.org.delete(record_id, user_id=handle.user_id)

    def pair(self, sobject: str, values: dict, *, origin_side: str = "primary", copy_values=None):
        """An origin and its faithful copy in the other org: (origin Id, copy Id)."""
        other = "secondary" if origin_side == "primary" else "primary"
        origin = self.create(origin_side, sobject, values)
        return origin, self.create(other, sobject, copy_values or values, origin=origin)

    def compare(self, **kwargs):
        return compare_orgs(self.linked, OBJECTS, **kwargs)


@pytest.fixture
def orgs(linked_two_way) -> Orgs:
    return Orgs(linked_two_way)


def agreeing(orgs: Orgs) -> dict[str, str]:
    """Two orgs in sync: origins on both sides, and lookups that cross the origin sides."""
    acme, acme_copy = orgs.pair("Account", {"Name": "Acme", "Phone": "1"})
    globex, globex_copy = orgs.pair("Account", {"Name": "Globex"}, origin_side="secondary")
    ann, ann_copy = orgs.pair(
        "Contact",
        {"LastName": "Ann", "Title": "CEO", "AccountId": acme},
        copy_values={"LastName": "Ann", "Title": "CEO", "AccountId": acme_copy},
    )
    # A Contact created in the secondary under the copy of a primary Account.
    bob, bob_copy = orgs.pair(
        "Contact",
        {"LastName": "Bob", "AccountId": acme_copy},
        origin_side="secondary",
        copy_values={"LastName": "Bob", "AccountId": acme},
    )
    # And one under an Account that came from the secondary.
    cid, cid_copy = orgs.pair(
        "Contact",
        {"LastName": "Cid", "AccountId": globex_copy},
        copy_values={"LastName": "Cid", "AccountId": globex},
    )
    orgs.pair("Contact", {"LastName": "Dee"})  # no parent at all
    return {
        "acme": acme,
        "acme_copy": acme_copy,
        "globex": globex,
        "globex_copy": globex_copy,
        "ann": ann,
        "ann_copy": ann_copy,
        "bob": bob,
        "bob_copy": bob_copy,
        "cid": cid,
        "cid_copy": cid_copy,
    }


def test_two_agreeing_orgs_give_all_zeros(orgs):
    agreeing(orgs)
    # Queue items that are not stuck: waiting for a retry, held for acceptance.
    connection = orgs.linked.connection
    RecordQueueItem.objects.create(
        connection=connection,
        direction=Direction.PRIMARY_TO_SECONDARY,
        source_object="Account",
        source_id="001000000000001AAA",
        action=QueueAction.GENERIC_UPDATE,
        status=QueueStatus.RETRYING,
        next_retry_at=timezone.now() + timedelta(minutes=5),
    )
    verdict = orgs.compare(unique={"Account": ["Name"], "Contact": ["LastName"]})
    assert verdict.counts() == ZERO, verdict.report()
    assert verdict.explained == []
    assert verdict.ok
    assert verdict.compared == {"Account": 2, "Contact": 4}


def test_an_origin_without_a_copy_is_missing(orgs):
    agreeing(orgs)
    lonely = orgs.create("secondary", "Account", {"Name": "Lonely"})
    verdict = orgs.compare()
    assert verdict.counts() == {**ZERO, "missing": 1}, verdict.report()
    assert lonely in verdict.missing[0]


def test_a_copy_deleted_without_its_origin_is_missing(orgs):
    ids = agreeing(orgs)
    orgs.delete("primary", ids["bob_copy"])
    verdict = orgs.compare()
    assert verdict.counts() == {**ZERO, "missing": 1}, verdict.report()
    assert ids["bob"] in verdict.missing[0] and "deleted" in verdict.missing[0]


def test_a_failed_log_entry_explains_a_missing_record(orgs):
    agreeing(orgs)
    refused = orgs.create("primary", "Contact", {"LastName": "Refused"})
    SyncLog.objects.create(
        connection=orgs.linked.connection,
        direction=Direction.PRIMARY_TO_SECONDARY,
        source_object="Contact",
        source_id=refused,
        action=QueueAction.GENERIC_INSERT,
        status=SyncLog.Status.FAILED,
        error_code="FIELD_CUSTOM_VALIDATION_EXCEPTION",
    )
    verdict = orgs.compare()
    assert verdict.counts() == ZERO, verdict.report()
    assert len(verdict.explained) == 1 and refused in verdict.explained[0]
    assert "FIELD_CUSTOM_VALIDATION_EXCEPTION" in verdict.explained[0]


def test_a_resolved_log_entry_explains_nothing(orgs):
    agreeing(orgs)
    lost = orgs.create("primary", "Contact", {"LastName": "Lost"})
    SyncLog.objects.create(
        connection=orgs.linked.connection,
        direction=Direction.PRIMARY_TO_SECONDARY,
        source_object="Contact",
        source_id=lost,
        action=QueueAction.GENERIC_INSERT,
        status=SyncLog.Status.RESOLVED,
    )
    assert orgs.compare().counts() == {**ZERO, "missing": 1}


def test_a_second_copy_is_duplicated(orgs):
    ids = agreeing(orgs)
    # The external-id field is unique: a second copy can only exist by another spelling of the
    # origin's Id (its 15-character form), which names the same record.
    second = orgs.create("secondary", "Account", {"Name": "Acme", "Phone": "1"}, origin=ids["acme"][:15])
    verdict = orgs.compare()
    assert verdict.counts() == {**ZERO, "duplicated": 1}, verdict.report()
    assert second in verdict.duplicated[0] and ids["acme"] in verdict.duplicated[0]


def test_a_copy_whose_origin_is_gone_is_duplicated(orgs):
    ids = agreeing(orgs)
    orgs.delete("primary", ids["ann"])  # the delete never reached the secondary
    verdict = orgs.compare()
    assert verdict.counts() == {**ZERO, "duplicated": 1}, verdict.report()
    assert ids["ann_copy"] in verdict.duplicated[0]


def test_a_copy_copied_back_into_its_origin_org_is_duplicated(orgs):
    """The issue's example: source → target → new source record with the same Name."""
    ids = agreeing(orgs)
    back = orgs.create("primary", "Account", {"Name": "Acme", "Phone": "1"}, origin=ids["acme_copy"])
    verdict = orgs.compare()
    assert verdict.counts() == {**ZERO, "duplicated": 1}, verdict.report()
    assert back in verdict.duplicated[0] and "copy of a copy" in verdict.duplicated[0]


def test_a_copy_back_without_a_marker_is_duplicated_by_content(orgs):
    """Copied back as a new origin (no marker), then forwarded again: only the content shows it."""
    agreeing(orgs)
    back, back_copy = orgs.pair("Account", {"Name": "Acme", "Phone": "1"})
    assert orgs.compare().counts() == ZERO, "without `unique` the content is not looked at"
    verdict = orgs.compare(unique={"Account": ["Name"]})
    assert verdict.counts() == {**ZERO, "duplicated": 2}, verdict.report()
    assert {back, back_copy} == {e.split()[1] for e in verdict.duplicated}


def test_a_different_field_value_is_stale_and_reported_by_name_only(orgs):
    ids = agreeing(orgs)
    orgs.update("secondary", "Contact", ids["ann_copy"], {"Title": "Secret Title 42"})
    verdict = orgs.compare()
    assert verdict.counts() == {**ZERO, "stale": 1}, verdict.report()
    assert ids["ann"] in verdict.stale[0] and "Title" in verdict.stale[0]
    assert "Secret" not in verdict.report() and "CEO" not in verdict.report()


def test_a_cleared_field_is_stale(orgs):
    ids = agreeing(orgs)
    orgs.update("primary", "Account", ids["acme"], {"Phone": None})
    verdict = orgs.compare()
    assert verdict.counts() == {**ZERO, "stale": 1}, verdict.report()
    assert "Phone" in verdict.stale[0]


def test_a_lookup_to_the_wrong_copy_is_stale(orgs):
    ids = agreeing(orgs)
    # Reparented in the primary; the copy still points at the copy of the old parent.
    orgs.update("primary", "Contact", ids["ann"], {"AccountId": ids["globex_copy"]})
    verdict = orgs.compare()
    assert verdict.counts() == {**ZERO, "stale": 1}, verdict.report()
    assert "AccountId" in verdict.stale[0] and ids["ann"] in verdict.stale[0]
    # Fixed the right way: the copy points at the origin of its new parent.
    orgs.update("secondary", "Contact", ids["ann_copy"], {"AccountId": ids["globex"]})
    assert orgs.compare().counts() == ZERO


def test_a_lookup_cleared_on_one_side_is_stale(orgs):
    ids = agreeing(orgs)
    orgs.update("primary", "Contact", ids["bob_copy"], {"AccountId": None})
    verdict = orgs.compare()
    assert verdict.counts() == {**ZERO, "stale": 1}, verdict.report()
    assert ids["bob"] in verdict.stale[0]


def test_a_failed_log_entry_explains_a_stale_pair(orgs):
    ids = agreeing(orgs)
    orgs.update("secondary", "Contact", ids["ann_copy"], {"Title": "Changed"})
    SyncLog.objects.create(
        connection=orgs.linked.connection,
        direction=Direction.SECONDARY_TO_PRIMARY,
        source_object="Contact",
        source_id=ids["ann_copy"],
        action=QueueAction.GENERIC_UPDATE,
        status=SyncLog.Status.FAILED,
        error_code="UNABLE_TO_LOCK_ROW",
    )
    verdict = orgs.compare()
    assert verdict.counts() == ZERO, verdict.report()
    assert len(verdict.explained) == 1 and "Title" in verdict.explained[0]


@pytest.mark.parametrize(
    ("status", "retry_in", "stuck"),
    [
        (QueueStatus.IN_PROGRESS, None, True),
        (QueueStatus.QUEUED, None, True),
        (QueueStatus.RETRYING, timedelta(seconds=-1), True),
        (QueueStatus.RETRYING, timedelta(minutes=5), False),
        (QueueStatus.PENDING_ACCEPTANCE, None, False),
    ],
)
def test_a_queue_item_left_behind_is_stuck(orgs, status, retry_in, stuck):
    agreeing(orgs)
    item = RecordQueueItem.objects.create(
        connection=orgs.linked.connection,
        direction=Direction.SECONDARY_TO_PRIMARY,
        source_object="Contact",
        source_id="003000000000001AAA",
        action=QueueAction.GENERIC_UPDATE,
        status=status,
        next_retry_at=timezone.now() + retry_in if retry_in else None,
        claimed_by="host:123:abc" if status == QueueStatus.IN_PROGRESS else "",
    )
    verdict = orgs.compare()
    assert verdict.counts() == {**ZERO, "stuck": int(stuck)}, verdict.report()
    if stuck:
        assert f"#{item.pk}" in verdict.stuck[0]


def test_the_report_lists_at_most_twenty_examples_per_class(orgs):
    for n in range(25):
        orgs.create("primary", "Account", {"Name": f"Alone {n}"})
    verdict = orgs.compare()
    assert verdict.counts()["missing"] == 25
    report = verdict.report()
    assert report.count("no copy in the secondary") == 20
    assert "… and 5 more" in report
    assert report.splitlines()[0].startswith("oracle: missing 25, duplicated 0, stale 0, stuck 0")
