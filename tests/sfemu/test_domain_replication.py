"""getUpdated / getDeleted (reference §2.6) with a frozen clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from sfemu.errors import SalesforceError
from sfemu.instance import Instance
from sfemu.org import Org
from sfemu.timeutil import FrozenClock

T0 = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def org(clock: FrozenClock) -> Iterator[Org]:
    inst = Instance(clock=clock)
    org = inst.org(inst.create_org("Repl Org").org_id)
    yield org
    inst.close()


def test_get_updated_window_and_latest_date_covered(org: Org, clock: FrozenClock) -> None:
    u = org.admin_user_id
    clock.set(T0 + timedelta(minutes=1, seconds=10))
    a = org.create("Account", {"Name": "A"}, user_id=u)
    clock.set(T0 + timedelta(minutes=2, seconds=59))
    b = org.create("Account", {"Name": "B"}, user_id=u)
    clock.set(T0 + timedelta(minutes=5, seconds=30))
    c = org.create("Account", {"Name": "C"}, user_id=u)
    clock.set(T0 + timedelta(minutes=10, seconds=45))

    answer = org.get_updated("Account", T0 + timedelta(seconds=59), T0 + timedelta(minutes=3, seconds=30))
    assert answer == {"ids": [a, b], "latestDateCovered": "2024-03-01T12:03:00.000+0000"}
    # end in the future: covered up to the current minute only
    answer = org.get_updated("Account", T0, T0 + timedelta(hours=1))
    assert answer["ids"] == [a, b, c]
    assert answer["latestDateCovered"] == "2024-03-01T12:10:00.000+0000"
    # an update moves a record into a later window; deleted ones are left out
    clock.set(T0 + timedelta(minutes=12))
    org.update("Account", a, {"Phone": "1"}, user_id=u)
    org.delete(b, user_id=u)
    clock.set(T0 + timedelta(minutes=14))
    assert org.get_updated("Account", T0 + timedelta(minutes=11), T0 + timedelta(minutes=13))["ids"] == [a]


def test_get_deleted(org: Org, clock: FrozenClock) -> None:
    u = org.admin_user_id
    acc = org.create("Account", {"Name": "A"}, user_id=u)
    con = org.create("Contact", {"LastName": "C", "AccountId": acc}, user_id=u)
    clock.set(T0 + timedelta(minutes=3, seconds=20))
    org.delete(acc, user_id=u)
    clock.set(T0 + timedelta(minutes=9))
    answer = org.get_deleted("Account", T0, T0 + timedelta(minutes=30))
    assert answer == {
        "deletedRecords": [{"id": acc, "deletedDate": "2024-03-01T12:03:20.000+0000"}],
        "earliestDateAvailable": "2024-03-01T12:00:00.000+0000",
        "latestDateCovered": "2024-03-01T12:09:00.000+0000",
    }
    contacts = org.get_deleted("Contact", T0, T0 + timedelta(minutes=8))["deletedRecords"]
    assert [r["id"] for r in contacts] == [con]
    org.undelete(acc, user_id=u)
    assert org.get_deleted("Account", T0, T0 + timedelta(minutes=8))["deletedRecords"] == []


def test_invalid_replication_dates(org: Org, clock: FrozenClock) -> None:
    with pytest.raises(SalesforceError) as exc:
        org.get_updated("Account", T0 + timedelta(seconds=30), T0 + timedelta(seconds=50))
    assert exc.value.error_code == "INVALID_REPLICATION_DATE"  # same minute after truncation
    clock.set(T0 + timedelta(days=40))
    with pytest.raises(SalesforceError) as exc:
        org.get_updated("Account", T0 + timedelta(days=1), T0 + timedelta(days=2))
    assert exc.value.as_rest() == {
        "message": "startDate before org replication enabled date",
        "errorCode": "INVALID_REPLICATION_DATE",
    }
    with pytest.raises(SalesforceError):
        org.get_deleted("Account", T0 + timedelta(days=20), T0 + timedelta(days=21))
    org.get_deleted("Account", T0 + timedelta(days=30), T0 + timedelta(days=31))
    with pytest.raises(SalesforceError) as exc:
        org.get_updated("Nope__c", T0, T0 + timedelta(days=1))
    assert exc.value.error_code == "NOT_FOUND"
