"""SOQL pushdown into SQLite (sfemu.query_pages) answers exactly what the plain executor answers,
and paging through nextRecordsUrl reads ids, not a materialised result."""

from __future__ import annotations

from datetime import timedelta

import pytest
from simple_salesforce import Salesforce

from sfemu import query_pages
from sfemu.instance import Instance
from sfemu.schema.dml import Writer
from sfemu.soql import execute
from sfemu.soql_source import OrgDataSource
from sfemu.testing import OrgHandle, SfemuServer
from sfemu.timeutil import format_datetime

ROWS = 300
TIED, TIED_AT = 40, 120


@pytest.fixture(scope="module")
def loaded():
    instance = Instance(None)
    creds = instance.create_org("pushdown")
    org = instance.org(creds.org_id)
    start = org.now() - timedelta(days=2)
    stamps = [format_datetime(start + timedelta(seconds=10 * i)) for i in range(ROWS)]
    rows = [{"Name": f"Row {i:03d}", "Industry": "Energy" if i % 3 else "Retail"} for i in range(ROWS)]
    new = Writer(org, system=True).insert_many(
        org.schema.require("Account"), rows, org.admin_user_id, stamps=stamps
    )
    # A batch sharing one stamp (one transaction), so (SystemModstamp, Id) positions tie on the stamp.
    tied = [{"Name": f"Tied {i:02d}"} for i in range(TIED)]
    new += Writer(org, system=True).insert_many(
        org.schema.require("Account"), tied, org.admin_user_id, stamps=[stamps[TIED_AT]] * TIED
    )
    for rid in new[::7]:
        org.delete(rid, user_id=org.admin_user_id)
    org.update("Account", new[5], {"Name": "Touched"}, user_id=org.admin_user_id)
    yield org, stamps, new
    instance.close()


def _lit(stamp: str) -> str:
    return stamp.replace("+0000", "Z")


WINDOW = "SystemModstamp >= {a} AND SystemModstamp < {b}"
QUERIES = [
    "SELECT Id, Name FROM Account WHERE " + WINDOW + " ORDER BY SystemModstamp, Id",
    "SELECT Id FROM Account WHERE SystemModstamp > {a} "
    "ORDER BY SystemModstamp DESC, Id DESC LIMIT 17 OFFSET 3",
    "SELECT Id, Name FROM Account WHERE SystemModstamp > {a} AND Industry = 'Retail' ORDER BY SystemModstamp",
    "SELECT Id FROM Account WHERE CreatedDate <= {b} AND LastModifiedDate > {a}",
    "SELECT Id, IsDeleted FROM Account WHERE IsDeleted = true AND SystemModstamp > {a} ORDER BY Id",
    "SELECT Id FROM Account WHERE Id IN ('{id0}', '{id1}', '{id2}')",
    "SELECT COUNT() FROM Account WHERE SystemModstamp >= {a} AND SystemModstamp < {b}",
    "SELECT COUNT() FROM Account WHERE SystemModstamp >= {a} LIMIT 10",
    "SELECT Industry, COUNT(Id) n FROM Account WHERE SystemModstamp > {a} GROUP BY Industry",
    "SELECT Id, Name FROM Account WHERE SystemModstamp > {a} ORDER BY Name DESC LIMIT 5",
    "SELECT Id FROM Account WHERE SystemModstamp > {a} OR Name = 'Row 001' ORDER BY SystemModstamp, Id",
    # Capture's exact-position window, with the position inside the tied batch (as 18 and 15 chars).
    "SELECT Id, Name FROM Account WHERE SystemModstamp >= {t} AND (SystemModstamp > {t} OR Id > '{tied}') "
    "ORDER BY SystemModstamp, Id LIMIT 50",
    "SELECT Id FROM Account WHERE SystemModstamp >= {t} AND (SystemModstamp > {t} OR Id > '{tied15}') "
    "ORDER BY SystemModstamp, Id",
    "SELECT Id FROM Account WHERE (Id <= '{tied}' AND IsDeleted = false) OR SystemModstamp < {a} ORDER BY Id",
    "SELECT Id FROM Account WHERE SystemModstamp > {a} AND (Id > '{tied}' OR Name = 'Row 007') ORDER BY Id",
]


@pytest.mark.parametrize("template", QUERIES)
@pytest.mark.parametrize("include_deleted", [False, True])
def test_pushdown_matches_the_plain_executor(loaded, template: str, include_deleted: bool) -> None:
    org, stamps, new = loaded
    tied = sorted(new[ROWS:])[TIED // 2]
    soql = template.format(
        a=_lit(stamps[40]),
        b=_lit(stamps[250]),
        t=_lit(stamps[TIED_AT]),
        tied=tied.lower(),
        tied15=tied[:15],
        id0=new[3],
        id1=new[14][:15],
        id2=new[8],
    )
    plain = execute(soql, OrgDataSource(org), include_deleted=include_deleted)
    pushed = query_pages.run(org, soql, include_deleted=include_deleted)
    assert (pushed.total_size, pushed.is_count) == (plain.total_size, plain.is_count)
    assert pushed.records == plain.records


def test_exact_queries_keep_ids_only(loaded) -> None:
    org, stamps, new = loaded
    soql = f"SELECT Id FROM Account WHERE SystemModstamp >= {_lit(stamps[0])} ORDER BY SystemModstamp, Id"
    paged = query_pages.start(org, soql)
    assert paged.records is None and paged.ids is not None and paged.rows == paged.total_size
    assert [r["Id"] for r in paged.page(org, 10, 20)] == paged.ids[10:20]
    fuzzy = query_pages.start(org, soql.replace("ORDER BY SystemModstamp, Id", "ORDER BY Name"))
    assert fuzzy.ids is None and fuzzy.records is not None
    tied = sorted(new[ROWS:])[TIED // 2]
    window = (
        f"SELECT Id FROM Account WHERE SystemModstamp >= {_lit(stamps[TIED_AT])} "
        f"AND (SystemModstamp > {_lit(stamps[TIED_AT])} OR Id > '{tied}') ORDER BY SystemModstamp, Id"
    )
    position = query_pages.start(org, window)
    assert position.records is None and position.ids is not None
    assert position.ids[0] == sorted(i for i in new[ROWS:] if i > tied and i not in new[::7])[0]


def test_errors_are_the_executors(loaded) -> None:
    org, stamps, _ = loaded
    with pytest.raises(Exception) as bad:
        query_pages.run(org, f"SELECT Nope__c FROM Account WHERE SystemModstamp > {_lit(stamps[0])}")
    assert getattr(bad.value, "error_code", None) == "INVALID_FIELD"


def test_rest_paging_over_pushdown(sfemu_server: SfemuServer, sfemu_org: OrgHandle) -> None:
    org = sfemu_org.org
    start = org.now() - timedelta(hours=3)
    stamps = [format_datetime(start + timedelta(seconds=i)) for i in range(4500)]
    rows = [{"Name": f"Paged {i}"} for i in range(4500)]
    Writer(org, system=True).insert_many(
        org.schema.require("Account"), rows, org.admin_user_id, stamps=stamps
    )
    sf = Salesforce(
        instance_url=sfemu_org.instance_url,
        session_id=sfemu_org.access_token,
        session=sfemu_server.http_session(),
        version="62.0",
    )
    soql = (
        f"SELECT Id, Name, SystemModstamp FROM Account WHERE SystemModstamp >= {_lit(stamps[100])} "
        f"AND SystemModstamp < {_lit(stamps[4300])} ORDER BY SystemModstamp, Id"
    )
    first = sf.query(soql)
    assert first["totalSize"] == 4200 and len(first["records"]) == 2000 and first["done"] is False
    assert first["nextRecordsUrl"].endswith("-2000")
    everything = sf.query_all(soql)["records"]
    assert [r["Name"] for r in everything] == [f"Paged {i}" for i in range(100, 4300)]
