"""Campaign, CampaignMember, Topic; Lead IsUnreadByOwner; describe keys by version; D&B/Individual fields."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from sfemu.errors import SalesforceError
from sfemu.instance import Instance
from sfemu.org import Org
from tests.shared_reference import reference_path, require_shared

RECORDED = reference_path("recorded")


@pytest.fixture()
def org() -> Iterator[Org]:
    inst = Instance()
    creds = inst.create_org("Campaign Org")
    yield inst.org(creds.org_id)
    inst.close()


def admin(org: Org) -> str:
    return org.admin_user_id


def test_prefixes_and_required_name(org: Org) -> None:
    campaign = org.create("Campaign", {"Name": "Spring"}, user_id=admin(org))
    topic = org.create("Topic", {"Name": "Pricing"}, user_id=admin(org))
    assert (campaign[:3], topic[:3]) == ("701", "0TO")
    row = org.get("Campaign", campaign, None, api_version="62.0")
    assert (row["Status"], row["IsActive"], row["OwnerId"]) == ("Planned", False, admin(org))
    assert org.get("Topic", topic, None, api_version="62.0")["TalkingAbout"] == 0
    with pytest.raises(SalesforceError) as exc:
        org.create("Campaign", {"Type": "Email"}, user_id=admin(org))
    assert exc.value.error_code == "REQUIRED_FIELD_MISSING"


def test_member_copies_person_and_cascades(org: Org) -> None:
    u = admin(org)
    campaign = org.create("Campaign", {"Name": "Fall"}, user_id=u)
    lead = org.create("Lead", {"LastName": "Lee", "Company": "LeeCo", "City": "Oslo"}, user_id=u)
    account = org.create("Account", {"Name": "Acme"}, user_id=u)
    contact = org.create(
        "Contact", {"LastName": "Cole", "AccountId": account, "MailingCity": "Bergen"}, user_id=u
    )
    by_lead = org.create("CampaignMember", {"CampaignId": campaign, "LeadId": lead}, user_id=u)
    by_contact = org.create(
        "CampaignMember", {"CampaignId": campaign, "ContactId": contact, "Status": "Responded"}, user_id=u
    )
    assert by_lead[:3] == "00v"
    row = org.get("CampaignMember", by_lead, None, api_version="62.0")
    assert (row["Type"], row["Name"], row["City"], row["CompanyOrAccount"]) == (
        "Lead",
        "Lee",
        "Oslo",
        "LeeCo",
    )
    assert (row["Status"], row["HasResponded"], row["LeadOrContactId"]) == ("Sent", False, lead)
    row = org.get("CampaignMember", by_contact, None, api_version="62.0")
    assert (row["Type"], row["City"], row["CompanyOrAccount"]) == ("Contact", "Bergen", "Acme")
    assert row["HasResponded"] is True and row["FirstRespondedDate"] is not None
    result = org.query(
        "SELECT LeadId, Campaign.Name FROM CampaignMember "
        f"WHERE CampaignId = '{campaign}' AND LeadId != null",
        include_deleted=False,
        api_version="62.0",
    )
    assert [(r["LeadId"], r["Campaign"]["Name"]) for r in result.records] == [(lead, "Fall")]
    nested = org.query(
        f"SELECT Name, (SELECT Id FROM CampaignMembers) FROM Campaign WHERE Id = '{campaign}'",
        include_deleted=False,
        api_version="62.0",
    )
    assert nested.records[0]["CampaignMembers"]["totalSize"] == 2
    with pytest.raises(SalesforceError) as exc:
        org.update("CampaignMember", by_lead, {"LeadId": None}, user_id=u)
    assert exc.value.error_code == "INVALID_FIELD_FOR_INSERT_UPDATE"
    org.delete(lead, user_id=u)
    left = org.query("SELECT Id FROM CampaignMember", include_deleted=False, api_version="62.0")
    assert [r["Id"] for r in left.records] == [by_contact]


def test_lead_unread_by_owner_on_api_create(org: Org) -> None:
    u = admin(org)
    lead = org.create("Lead", {"LastName": "New", "Company": "C"}, user_id=u)
    assert org.get("Lead", lead, None, api_version="62.0")["IsUnreadByOwner"] is True
    seen = org.create("Lead", {"LastName": "Seen", "Company": "C", "IsUnreadByOwner": False}, user_id=u)
    assert org.get("Lead", seen, None, api_version="62.0")["IsUnreadByOwner"] is False
    field = next(f for f in org.describe("Lead", "62.0")["fields"] if f["name"] == "IsUnreadByOwner")
    assert (field["defaultValue"], field["defaultedOnCreate"]) == (False, True)  # as described


def test_new_standard_lookups_are_null_in_rows(org: Org) -> None:
    u = admin(org)
    acc = org.get("Account", org.create("Account", {"Name": "A"}, user_id=u), None, api_version="42.0")
    assert list(acc)[-2:] == ["DandbCompanyId", "OperatingHoursId"]
    assert acc["DandbCompanyId"] is None and acc["OperatingHoursId"] is None
    con = org.get("Contact", org.create("Contact", {"LastName": "C"}, user_id=u), None, api_version="42.0")
    assert list(con)[-2:] == ["CleanStatus", "IndividualId"]


def test_describe_keys_at_v42_match_recording(org: Org) -> None:
    doc = json.loads((require_shared(RECORDED) / "grouparoo" / "describe_Lead_v42.json").read_text())
    real = doc["interactions"][0]["response"]["body"]
    mine = org.describe("Lead", "42.0", instance_url="https://x.my.salesforce.com")
    assert list(mine) == list(real)
    assert list(mine["urls"]) == list(real["urls"])
    real_fields = {f["name"]: f for f in real["fields"]}
    for name in ("DandbCompanyId", "IndividualId", "IsUnreadByOwner"):
        mf = next(f for f in mine["fields"] if f["name"] == name)
        assert mf == real_fields[name], name
    # the global entry is the subset of the object-level keys, gated the same way
    entry = next(e for e in org.describe_global("42.0") if e["name"] == "Lead")
    assert set(entry) - {"urls"} < set(real)
    assert {"deepCloneable", "isInterface"} <= set(next(e for e in org.describe_global("48.0")))


def test_unknown_external_id_field_is_message_first(org: Org) -> None:
    with pytest.raises(SalesforceError) as exc:
        org.get_by_external_id("Account", "23foo", "v", None, api_version="62.0")
    assert list(exc.value.as_rest()) == ["message", "errorCode"]
    assert exc.value.status == 404
