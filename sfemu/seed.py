"""Deterministic demo data: users, accounts with contacts, opportunities, cases, leads,
tasks and a custom ``Project__c`` object, back-dated over ``history_days``.

Rows go through the normal validation pipeline but are written in bulk (one transaction,
``executemany``), so ``seed_demo(org, accounts=1000)`` takes a few seconds.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sfemu.schema.dml import Writer
from sfemu.schema.std_sales import OPPORTUNITY_STAGES
from sfemu.timeutil import format_datetime

if TYPE_CHECKING:
    from sfemu.org import Org

FIRST = (
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Carlos",
    "Aiko",
    "Priya",
    "Lars",
    "Fatima",
    "Chen",
    "Olga",
    "Mateo",
)
LAST = (
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Lopez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Martin",
    "Lee",
    "Nguyen",
    "Patel",
    "Schmidt",
    "Rossi",
    "Dubois",
    "Tanaka",
    "Kowalski",
    "Silva",
    "Novak",
    "Jensen",
)
WORDS = (
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Wonka",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Hooli",
    "Vandelay",
    "Massive",
    "Blue Sun",
    "Oscorp",
    "Aperture",
    "Gringotts",
    "Monarch",
    "Pied Piper",
    "Nakatomi",
    "Bluth",
    "Dunder",
    "Sterling",
    "Prestige",
    "Vehement",
)
SUFFIX = ("Inc.", "Corp.", "LLC", "Group", "Holdings", "Industries", "Systems", "Partners", "GmbH", "Ltd.")
CITIES = (
    ("San Francisco", "CA", "USA"),
    ("New York", "NY", "USA"),
    ("Austin", "TX", "USA"),
    ("Chicago", "IL", "USA"),
    ("Seattle", "WA", "USA"),
    ("London", None, "United Kingdom"),
    ("Paris", None, "France"),
    ("Berlin", None, "Germany"),
    ("Toronto", "ON", "Canada"),
    ("Sydney", "NSW", "Australia"),
)
INDUSTRIES = (
    "Banking",
    "Technology",
    "Manufacturing",
    "Retail",
    "Healthcare",
    "Energy",
    "Education",
    "Media",
    "Insurance",
    "Transportation",
)
TITLES = (
    "CEO",
    "CFO",
    "VP Sales",
    "Director of IT",
    "Procurement Manager",
    "Engineer",
    "Office Manager",
    "Buyer",
)
PROJECT_STATUS = ("Planned", "Active", "On Hold", "Done")


@dataclass
class SeedSummary:
    """How many rows of each object ``seed_demo`` created (and the users' credentials)."""

    counts: dict[str, int] = field(default_factory=dict)
    users: list[Any] = field(default_factory=list)


class _Clock:
    """Strictly increasing back-dated stamps spread over the history window."""

    def __init__(self, org: Org, total: int, history_days: int) -> None:
        now = org.now()
        self.start = now - timedelta(days=history_days)
        span_ms = int((now - self.start).total_seconds() * 1000) - 60_000
        self.step = max(1, span_ms // max(total, 1))
        self.i = 0

    def take(self, n: int) -> list[str]:
        out = [
            format_datetime(self.start + timedelta(milliseconds=(self.i + k) * self.step)) for k in range(n)
        ]
        self.i += n
        return out


def ensure_demo_schema(org: Org) -> None:
    """Custom object/fields and record types the demo data uses (idempotent)."""
    if org.schema.get("Project__c") is None:
        org.add_custom_object("Project__c", label="Project", plural_label="Projects")
        org.add_custom_field(
            "Project__c",
            "Account__c",
            "lookup",
            label="Account",
            reference_to="Account",
            relationship_name="Account",
            child_relationship="Projects",
        )
        org.add_custom_field(
            "Project__c",
            "Status__c",
            "picklist",
            label="Status",
            values=list(PROJECT_STATUS),
            default="Planned",
        )
        org.add_custom_field("Project__c", "Budget__c", "currency", label="Budget", precision=16, scale=2)
        org.add_custom_field("Project__c", "Start_Date__c", "date", label="Start Date")
        org.add_custom_field(
            "Project__c",
            "External_Id__c",
            "text",
            label="External Id",
            length=40,
            external_id=True,
            unique=True,
        )
    if org.schema.field("Account", "Customer_Number__c") is None:
        org.add_custom_field(
            "Account",
            "Customer_Number__c",
            "text",
            label="Customer Number",
            length=20,
            external_id=True,
            unique=True,
        )
        org.add_custom_field(
            "Account",
            "Tier__c",
            "picklist",
            label="Tier",
            values=["Gold", "Silver", "Bronze"],
            restricted=True,
        )
    if not org.schema.record_types_of("Opportunity"):
        org.add_record_type("Opportunity", "New Business", "New_Business", default=True)
        org.add_record_type("Opportunity", "Renewal", "Renewal")


def _users(org: Org, rng: random.Random, count: int, summary: SeedSummary) -> list[str]:
    existing = org.store.find_by_value(org.org_id, "UserRole", "Name", "Sales Rep")
    if not existing:
        for name in ("VP Sales", "Sales Rep"):
            org._system_insert("UserRole", {"Name": name, "DeveloperName": name.replace(" ", "_")})
    owners = [org.admin_user_id]
    domain = org._data["domain"]
    for i in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        username = f"{first}.{last}.{i}@{domain}".lower()
        if org.instance.find_user(username):
            continue
        creds = org.add_user(
            first_name=first,
            last_name=last,
            username=username,
            role="Sales Rep" if i else "VP Sales",
            active=i != count - 1,
            alias=(first[0] + last)[:8].lower(),
        )
        summary.users.append(creds)
        if i != count - 1:
            owners.append(creds.user_id)
    return owners


def seed_demo(org: Org, accounts: int = 100, *, seed: int = 0, history_days: int = 60) -> SeedSummary:
    """Build realistic related data; deterministic for a given ``seed``."""
    rng = random.Random(seed)
    summary = SeedSummary()
    ensure_demo_schema(org)
    owners = _users(org, rng, max(3, accounts // 100), summary)
    clock = _Clock(org, accounts * 12, history_days)
    if clock.start < org.created_at:
        org._data["created"] = format_datetime(clock.start - timedelta(minutes=1))
        org._save()
    writer = Writer(org, system=True)
    admin = org.admin_user_id

    def insert(sobject: str, rows: list[dict]) -> list[str]:
        if not rows:
            return []
        obj = org.schema.require(sobject)
        new = writer.insert_many(obj, rows, admin, stamps=clock.take(len(rows)), check_references=False)
        summary.counts[sobject] = summary.counts.get(sobject, 0) + len(new)
        return new

    with org.transaction():
        base = org.record_counts(["Account"]).get("Account", 0)  # re-seeding adds, never clashes
        account_ids = insert("Account", [_account(rng, base + i, owners) for i in range(accounts)])
        contacts = [(a, _contact(rng, a, owners)) for a in account_ids for _ in range(rng.randint(1, 4))]
        contact_ids = insert("Contact", [c for _, c in contacts])
        by_account: dict[str, list[str]] = {}
        for (a, _), cid in zip(contacts, contact_ids, strict=True):
            by_account.setdefault(a, []).append(cid)
        opp_ids = insert(
            "Opportunity",
            [
                _opportunity(rng, org, a, by_account[a], owners)
                for a in account_ids
                for _ in range(rng.randint(0, 3))
            ],
        )
        case_rows = [
            _case(rng, a, by_account[a], owners)
            for a in account_ids
            if rng.random() < 0.6
            for _ in range(rng.randint(1, 2))
        ]
        case_ids = insert("Case", case_rows)
        insert(
            "CaseComment",
            [
                {"ParentId": c, "IsPublished": rng.random() < 0.5, "CommentBody": rng.choice(COMMENTS)}
                for c in case_ids
                for _ in range(rng.randint(0, 3))
            ],
        )
        insert("Lead", [_lead(rng, base + i, owners) for i in range(max(1, accounts // 2))])
        targets = account_ids + opp_ids
        insert("Task", [_task(rng, rng.choice(targets), contact_ids, owners) for _ in range(accounts)])
        insert(
            "Project__c",
            [_project(rng, base + i, rng.choice(account_ids)) for i in range(accounts // 2)],
        )
    return summary


COMMENTS = (
    "Called the customer, waiting for logs.",
    "Escalated to tier 2.",
    "Customer confirmed the fix.",
    "Replacement part shipped.",
    "Follow-up scheduled.",
)


def _account(rng: random.Random, i: int, owners: list[str]) -> dict:
    city, state, country = rng.choice(CITIES)
    name = f"{rng.choice(WORDS)} {rng.choice(SUFFIX)}"
    return {
        "Name": f"{name} {i + 1}" if i >= len(WORDS) else name,
        "Industry": rng.choice(INDUSTRIES),
        "Type": rng.choice(("Prospect", "Customer - Direct", "Customer - Channel", "Other")),
        "Rating": rng.choice(("Hot", "Warm", "Cold")),
        "BillingCity": city,
        "BillingState": state,
        "BillingCountry": country,
        "Phone": f"+1 415 555 {rng.randint(1000, 9999)}",
        "Website": f"https://www.{name.split()[0].lower()}{i}.example.com",
        "AnnualRevenue": float(rng.randint(1, 500) * 100_000),
        "NumberOfEmployees": rng.randint(5, 20_000),
        "OwnerId": rng.choice(owners),
        "Customer_Number__c": f"CUST-{i + 1:06d}",
        "Tier__c": rng.choice(("Gold", "Silver", "Bronze")),
    }


def _contact(rng: random.Random, account: str, owners: list[str]) -> dict:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return {
        "AccountId": account,
        "FirstName": first,
        "LastName": last,
        "Email": f"{first}.{last}{rng.randint(1, 9999)}@example.com".lower(),
        "Title": rng.choice(TITLES),
        "Phone": f"+1 212 555 {rng.randint(1000, 9999)}",
        "LeadSource": rng.choice(("Web", "Phone Inquiry", "Partner Referral", "Other")),
        "OwnerId": rng.choice(owners),
    }


def _opportunity(rng: random.Random, org: Org, account: str, contacts: list[str], owners: list[str]) -> dict:
    close = org.now().date() + timedelta(days=rng.randint(-120, 180))
    return {
        "AccountId": account,
        "Name": f"{rng.choice(WORDS)} deal {rng.randint(1, 999)}",
        "StageName": rng.choice(list(OPPORTUNITY_STAGES)),
        "CloseDate": close.isoformat(),
        "Amount": float(rng.randint(5, 500) * 1000),
        "ContactId": rng.choice(contacts),
        "Type": rng.choice(("New Customer", "Existing Customer - Upgrade")),
        "OwnerId": rng.choice(owners),
    }


def _case(rng: random.Random, account: str, contacts: list[str], owners: list[str]) -> dict:
    return {
        "AccountId": account,
        "ContactId": rng.choice(contacts),
        "Subject": rng.choice(
            ("Cannot log in", "Invoice question", "Device broken", "Feature request", "Slow performance")
        ),
        "Status": rng.choice(("New", "Working", "Escalated", "Closed")),
        "Priority": rng.choice(("High", "Medium", "Low")),
        "Origin": rng.choice(("Phone", "Email", "Web")),
        "OwnerId": rng.choice(owners),
    }


def _lead(rng: random.Random, i: int, owners: list[str]) -> dict:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return {
        "FirstName": first,
        "LastName": last,
        "Company": f"{rng.choice(WORDS)} Labs {i}",
        "Email": f"{first}.{last}.{i}@example.org".lower(),
        "Status": rng.choice(("Open - Not Contacted", "Working - Contacted", "Closed - Not Converted")),
        "LeadSource": rng.choice(("Web", "Purchased List", "Other")),
        "OwnerId": rng.choice(owners),
    }


def _task(rng: random.Random, what: str, contacts: list[str], owners: list[str]) -> dict:
    return {
        "WhatId": what,
        "WhoId": rng.choice(contacts) if contacts else None,
        "Subject": rng.choice(("Call", "Send Letter", "Send Quote", "Other")),
        "Status": rng.choice(("Not Started", "In Progress", "Completed")),
        "Priority": rng.choice(("High", "Normal", "Low")),
        "OwnerId": rng.choice(owners),
    }


def _project(rng: random.Random, i: int, account: str) -> dict:
    return {
        "Name": f"Project {i + 1:05d}",
        "Account__c": account,
        "Status__c": rng.choice(PROJECT_STATUS),
        "Budget__c": float(rng.randint(10, 900) * 500),
        "Start_Date__c": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "External_Id__c": f"PRJ-{i + 1:06d}",
    }
