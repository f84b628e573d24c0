"""seed_demo: realistic, related, deterministic and fast."""

from __future__ import annotations

import time

from sfemu.instance import Instance
from sfemu.seed import seed_demo


def names(org, soql: str) -> list[str]:
    return [r["Name"] for r in org.query(soql).records]


def test_seed_builds_related_data_quickly() -> None:
    with Instance() as inst:
        org = inst.org(inst.create_org("Seeded").org_id)
        started = time.perf_counter()
        summary = seed_demo(org, accounts=1000, seed=7)
        elapsed = time.perf_counter() - started
        assert elapsed < 10
        counts = summary.counts
        assert counts["Account"] == 1000 and counts["Lead"] == 500
        assert counts["Project__c"] == 500 and counts["Task"] == 1000
        assert 1000 <= counts["Contact"] <= 4000 and counts["Opportunity"] > 500
        assert counts["Case"] > 300 and counts["CaseComment"] > 300
        for sobject, n in counts.items():
            assert org.query(f"SELECT COUNT() FROM {sobject}").total_size == n
        orphans = org.query("SELECT COUNT() FROM Contact WHERE AccountId = null").total_size
        assert orphans == 0
        row = org.query(
            "SELECT Name, Account__r.Customer_Number__c FROM Project__c ORDER BY Name LIMIT 1"
        ).records[0]
        assert row["Account__r"]["Customer_Number__c"].startswith("CUST-")
        nested = org.query(
            "SELECT Name, (SELECT LastName FROM Contacts) FROM Account ORDER BY Name LIMIT 3"
        ).records
        assert all(r["Contacts"]["totalSize"] >= 1 for r in nested)
        users = org.query("SELECT Username, IsActive, UserRole.Name FROM User").records
        assert len(users) == 1 + 10 and sum(not u["IsActive"] for u in users) == 1
        opp = org.query(
            "SELECT RecordType.DeveloperName, StageName, IsClosed FROM Opportunity LIMIT 1"
        ).records[0]
        assert opp["RecordType"]["DeveloperName"] == "New_Business"
        stamps = [
            r["SystemModstamp"] for r in org.query("SELECT SystemModstamp FROM Account ORDER BY Id").records
        ]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
        assert (
            stamps[-1]
            < org.get("Account", org.create("Account", {"Name": "new"}, user_id=org.admin_user_id))[
                "SystemModstamp"
            ]
        )


def test_seed_is_deterministic() -> None:
    with Instance() as one, Instance() as two:
        a = one.org(one.create_org("One").org_id)
        b = two.org(two.create_org("Two").org_id)
        seed_demo(a, accounts=40, seed=3)
        seed_demo(b, accounts=40, seed=3)
        soql = "SELECT Name FROM Account ORDER BY Name"
        assert names(a, soql) == names(b, soql)
        soql = "SELECT Name FROM Contact ORDER BY Name"
        assert names(a, soql) == names(b, soql)
        with Instance() as three:
            c = three.org(three.create_org("Three").org_id)
            seed_demo(c, accounts=40, seed=4)
            assert names(c, "SELECT Name FROM Account ORDER BY Name") != names(
                a, "SELECT Name FROM Account ORDER BY Name"
            )


def test_seeding_twice_adds_more_data() -> None:
    with Instance() as inst:
        org = inst.org(inst.create_org("Twice").org_id)
        seed_demo(org, accounts=20, seed=1)
        seed_demo(org, accounts=20, seed=1)
        assert org.query("SELECT COUNT() FROM Account").total_size == 40
        assert org.query("SELECT COUNT() FROM Project__c").total_size == 20
        assert org.query("SELECT COUNT() FROM RecordType").total_size == 2
