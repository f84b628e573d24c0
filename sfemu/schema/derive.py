"""Fields Salesforce computes on save: compound names/addresses, stage-driven Opportunity
fields, Case/Task closed flags, Task.AccountId, CampaignMember person fields, file and feed
fields (:mod:`sfemu.schema.files`), …"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sfemu.schema import files
from sfemu.schema.rows import address_value
from sfemu.schema.spec import ObjectSpec
from sfemu.schema.std_sales import FORECAST_CATEGORY, OPPORTUNITY_STAGES
from sfemu.schema.std_service import CLOSED_CASE_STATUSES, CLOSED_TASK_STATUSES

ParentLookup = Callable[[str | None], dict[str, Any] | None]


def derive(
    obj: ObjectSpec, row: dict[str, Any], old: dict[str, Any] | None, stamp: str, parent: ParentLookup
) -> None:
    """Fill computed fields of ``row`` in place (``old`` is None on insert)."""
    for f in obj.fields:
        if f.role == "person_name":
            row[f.name] = " ".join(p for p in (row.get("FirstName"), row.get("LastName")) if p)
        elif f.role == "address":
            row[f.name] = address_value(f, row)
        elif f.role == "photo_url":
            row[f.name] = f"/services/images/photo/{row['Id']}"
    special = _SPECIAL.get(obj.name)
    if special:
        special(row, old, stamp, parent)


def _changed(row: dict, old: dict | None, name: str) -> bool:
    return old is None or row.get(name) != old.get(name)


def _opportunity(row: dict, old: dict | None, stamp: str, parent: ParentLookup) -> None:
    stage = row.get("StageName")
    info = OPPORTUNITY_STAGES.get(stage or "")
    if _changed(row, old, "StageName") and info:
        probability, category, closed, won = info
        if (old is None and row.get("Probability") is None) or (
            old is not None and row.get("Probability") == old.get("Probability")
        ):
            row["Probability"] = float(probability)
        if (old is None and row.get("ForecastCategoryName") is None) or (
            old is not None and row.get("ForecastCategoryName") == old.get("ForecastCategoryName")
        ):
            row["ForecastCategoryName"] = category
        row["IsClosed"], row["IsWon"] = closed, won
        if old is not None:
            row["LastStageChangeDate"] = stamp
    elif old is None:
        row["IsClosed"], row["IsWon"] = False, False
    row["ForecastCategory"] = FORECAST_CATEGORY.get(row.get("ForecastCategoryName") or "", "Pipeline")
    amount, probability = row.get("Amount"), row.get("Probability")
    row["ExpectedRevenue"] = (
        round(amount * probability / 100, 2) if amount is not None and probability is not None else None
    )
    close = row.get("CloseDate")
    if close:
        year, month = int(close[:4]), int(close[5:7])
        quarter = (month - 1) // 3 + 1
        row["FiscalYear"], row["FiscalQuarter"] = year, quarter
        row["Fiscal"] = f"{year} {quarter}"
    row.setdefault("HasOpportunityLineItem", False)


def _case(row: dict, old: dict | None, stamp: str, parent: ParentLookup) -> None:
    closed = row.get("Status") in CLOSED_CASE_STATUSES
    if closed and not (old and old.get("IsClosed")):
        row["ClosedDate"] = stamp
    if not closed:
        row["ClosedDate"] = None
    row["IsClosed"] = closed
    if old is None:
        row["IsClosedOnCreate"] = closed
    if _changed(row, old, "ContactId"):
        contact = parent(row.get("ContactId")) or {}
        row["ContactPhone"] = contact.get("Phone")
        row["ContactMobile"] = contact.get("MobilePhone")
        row["ContactEmail"] = contact.get("Email")
        row["ContactFax"] = contact.get("Fax")


def _task(row: dict, old: dict | None, stamp: str, parent: ParentLookup) -> None:
    closed = row.get("Status") in CLOSED_TASK_STATUSES
    if closed and not (old and old.get("IsClosed")):
        row["CompletedDateTime"] = stamp
    row["IsClosed"] = closed
    row["IsHighPriority"] = row.get("Priority") == "High"
    if old is None and row.get("TaskSubtype") is None:
        row["TaskSubtype"] = "Task"
    if _changed(row, old, "WhatId") or _changed(row, old, "WhoId"):
        row["AccountId"] = _task_account(row, parent)


def _task_account(row: dict, parent: ParentLookup) -> str | None:
    what = row.get("WhatId")
    if what and what.startswith("001"):
        return what
    if what:
        account = (parent(what) or {}).get("AccountId")
        if account:
            return account
    who = row.get("WhoId")
    if who and who.startswith("003"):
        return (parent(who) or {}).get("AccountId")
    return None


def _lead(row: dict, old: dict | None, stamp: str, parent: ParentLookup) -> None:
    if old is None and row.get("IsUnreadByOwner") is None:
        row["IsUnreadByOwner"] = True


# CampaignMember field → (Contact field, Lead field) it is copied from.
_MEMBER_COPIES = {
    "Salutation": ("Salutation", "Salutation"),
    "Name": ("Name", "Name"),
    "FirstName": ("FirstName", "FirstName"),
    "LastName": ("LastName", "LastName"),
    "Title": ("Title", "Title"),
    "Street": ("MailingStreet", "Street"),
    "City": ("MailingCity", "City"),
    "State": ("MailingState", "State"),
    "PostalCode": ("MailingPostalCode", "PostalCode"),
    "Country": ("MailingCountry", "Country"),
    "Email": ("Email", "Email"),
    "Phone": ("Phone", "Phone"),
    "Fax": ("Fax", "Fax"),
    "MobilePhone": ("MobilePhone", "MobilePhone"),
    "Description": ("Description", "Description"),
    "LeadSource": ("LeadSource", "LeadSource"),
}
_MEMBER_FLAGS = ("DoNotCall", "HasOptedOutOfEmail", "HasOptedOutOfFax")


def _campaign_member(row: dict, old: dict | None, stamp: str, parent: ParentLookup) -> None:
    """Person fields come from the Contact (preferred) or Lead; HasResponded from Status."""
    if _changed(row, old, "ContactId") or _changed(row, old, "LeadId"):
        contact = parent(row.get("ContactId"))
        lead = None if contact else parent(row.get("LeadId"))
        person = contact or lead or {}
        side = 0 if contact else 1
        for name, sources in _MEMBER_COPIES.items():
            row[name] = person.get(sources[side])
        for name in _MEMBER_FLAGS:
            row[name] = bool(person.get(name, False))
        if contact:
            account = parent(contact.get("AccountId")) or {}
            row["CompanyOrAccount"] = account.get("Name")
        else:
            row["CompanyOrAccount"] = person.get("Company")
        row["Type"] = "Contact" if contact else "Lead" if lead else None
        row["LeadOrContactId"] = person.get("Id")
        row["LeadOrContactOwnerId"] = person.get("OwnerId")
    responded = row.get("Status") == "Responded"
    row["HasResponded"] = responded
    if responded and not row.get("FirstRespondedDate"):
        row["FirstRespondedDate"] = stamp[:10]


def _topic(row: dict, old: dict | None, stamp: str, parent: ParentLookup) -> None:
    if old is None:
        row["TalkingAbout"] = 0


def _user(row: dict, old: dict | None, stamp: str, parent: ParentLookup) -> None:
    """UserType follows the profile's licence (Standard, CsnOnly for Chatter Free, …)."""
    if _changed(row, old, "ProfileId"):
        profile_type = (parent(row.get("ProfileId")) or {}).get("UserType")
        if profile_type:
            row["UserType"] = profile_type
    if row.get("UserType") is None:
        row["UserType"] = "Standard"


_SPECIAL = {
    "Opportunity": _opportunity,
    "Case": _case,
    "Task": _task,
    **files.DERIVED,
    "Lead": _lead,
    "CampaignMember": _campaign_member,
    "Topic": _topic,
    "User": _user,
}
