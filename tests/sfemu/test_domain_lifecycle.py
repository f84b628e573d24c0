"""Delete into the recycle bin with cascade/restrict/lookup clearing, undelete, purge."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from sfemu.errors import SalesforceError
from sfemu.instance import Instance
from sfemu.org import Org
from sfemu.timeutil import FrozenClock

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def org(clock: FrozenClock) -> Iterator[Org]:
    inst = Instance(clock=clock)
    org = inst.org(inst.create_org("Bin Org").org_id)
    yield org
    inst.close()


def ids_of(org: Org, soql: str) -> set[str]:
    return {r["Id"] for r in org.query(soql, include_deleted=True).records}


def test_cascade_delete_and_undelete(org: Org) -> None:
    u = org.admin_user_id
    acc = org.create("Account", {"Name": "Parent"}, user_id=u)
    contacts = [org.create("Contact", {"LastName": f"C{i}", "AccountId": acc}, user_id=u) for i in range(3)]
    opp = org.create(
        "Opportunity",
        {"Name": "O", "StageName": "Prospecting", "CloseDate": "2024-06-01", "AccountId": acc},
        user_id=u,
    )
    task = org.create("Task", {"Subject": "Call", "WhatId": opp}, user_id=u)
    child = org.create("Account", {"Name": "Child", "ParentId": acc}, user_id=u)
    before_child = org.get("Account", child)
    org.delete(acc, user_id=u, sobject="Account")

    deleted = ids_of(org, "SELECT Id FROM Contact WHERE IsDeleted = true")
    assert deleted == set(contacts)
    assert org.query("SELECT COUNT() FROM Opportunity").total_size == 0
    assert org.query("SELECT COUNT() FROM Task").total_size == 0
    assert ids_of(org, "SELECT Id FROM Task WHERE IsDeleted = true") == {task}
    row = org.query(
        f"SELECT IsDeleted, SystemModstamp FROM Contact WHERE Id = '{contacts[0]}'", include_deleted=True
    ).records[0]
    assert row["IsDeleted"] is True
    cleared = org.get("Account", child)
    assert cleared["ParentId"] is None
    assert cleared["SystemModstamp"] > before_child["SystemModstamp"]
    assert cleared["LastModifiedDate"] == before_child["LastModifiedDate"]

    org.undelete(acc, user_id=u)
    assert org.query("SELECT COUNT() FROM Contact").total_size == 3
    assert org.query("SELECT COUNT() FROM Task").total_size == 1
    assert org.get("Account", acc)["IsDeleted"] is False
    assert org.get("Account", child)["ParentId"] == acc
    with pytest.raises(SalesforceError) as exc:
        org.undelete(acc, user_id=u)
    assert exc.value.as_rest() == {
        "message": "Entity is not in the recycle bin",
        "errorCode": "UNDELETE_FAILED",
        "fields": [],
    }


def test_master_detail_cascade(org: Org) -> None:
    u = org.admin_user_id
    org.add_custom_object("Invoice__c")
    org.add_custom_field(
        "Invoice__c", "Account__c", "masterdetail", reference_to="Account", child_relationship="Invoices"
    )
    org.add_custom_object("Note__c")
    org.add_custom_field(
        "Note__c", "Invoice__c", "lookup", reference_to="Invoice__c", delete_constraint="Restrict"
    )
    acc = org.create("Account", {"Name": "A"}, user_id=u)
    inv = org.create("Invoice__c", {"Account__c": acc}, user_id=u)
    org.delete(acc, user_id=u)
    assert org.query("SELECT COUNT() FROM Invoice__c").total_size == 0
    org.undelete(acc, user_id=u)
    note = org.create("Note__c", {"Invoice__c": inv}, user_id=u)
    with pytest.raises(SalesforceError) as exc:
        org.delete(inv, user_id=u)
    assert exc.value.error_code == "DELETE_FAILED"
    assert note[:3] == org.schema.get("Note__c").key_prefix
    assert org.get("Invoice__c", inv)["IsDeleted"] is False  # nothing happened


def test_restricted_delete_account_with_cases(org: Org) -> None:
    u = org.admin_user_id
    acc = org.create("Account", {"Name": "Acme"}, user_id=u)
    case = org.create("Case", {"Subject": "Broken", "AccountId": acc}, user_id=u)
    with pytest.raises(SalesforceError) as exc:
        org.delete(acc, user_id=u)
    number = org.get("Case", case)["CaseNumber"]
    assert exc.value.error_code == "DELETE_FAILED" and exc.value.fields == []
    assert exc.value.message == (
        "Your attempt to delete Acme could not be completed because it is associated with "
        f"the following cases.: {number}"
    )
    org.delete(case, user_id=u)
    org.delete(acc, user_id=u)
    with pytest.raises(SalesforceError) as exc:
        org.delete(acc, user_id=u)
    assert (exc.value.error_code, exc.value.status) == ("ENTITY_IS_DELETED", 404)


def test_case_comments_cascade_with_case(org: Org) -> None:
    u = org.admin_user_id
    case = org.create("Case", {"Subject": "S"}, user_id=u)
    comments = {
        org.create("CaseComment", {"ParentId": case, "CommentBody": f"c{i}"}, user_id=u) for i in range(2)
    }
    org.delete(case, user_id=u)
    assert ids_of(org, "SELECT Id FROM CaseComment WHERE IsDeleted = true") == comments
    org.undelete(case, user_id=u)
    assert org.query("SELECT COUNT() FROM CaseComment").total_size == 2


def test_hard_delete_and_purge(org: Org, clock: FrozenClock) -> None:
    u = org.admin_user_id
    hard = org.create("Account", {"Name": "Hard"}, user_id=u)
    org.delete(hard, user_id=u, hard=True)
    assert org.query("SELECT COUNT() FROM Account", include_deleted=True).total_size == 0
    with pytest.raises(SalesforceError):
        org.undelete(hard, user_id=u)
    soft = org.create("Account", {"Name": "Soft"}, user_id=u)
    org.delete(soft, user_id=u)
    clock.advance(days=16)
    org.purge()
    assert org.query("SELECT COUNT() FROM Account", include_deleted=True).total_size == 0
    assert org.earliest_deleted_available == T0 + timedelta(days=1)  # the purge cutoff


def test_undelete_conflicting_unique_value(org: Org) -> None:
    u = org.admin_user_id
    org.add_custom_field("Account", "Key__c", "text", unique=True, external_id=True)
    first = org.create("Account", {"Name": "A", "Key__c": "K"}, user_id=u)
    org.delete(first, user_id=u)
    org.create("Account", {"Name": "B", "Key__c": "K"}, user_id=u)  # deleted rows don't block
    with pytest.raises(SalesforceError) as exc:
        org.undelete(first, user_id=u)
    assert exc.value.error_code == "DUPLICATE_VALUE"
