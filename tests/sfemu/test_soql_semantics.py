"""WHERE, ORDER BY, LIMIT/OFFSET semantics, matching Salesforce's behaviour."""

from __future__ import annotations

import pytest

from sfemu.soql import execute
from tests.sfemu.soql_fakes import FakeSource


@pytest.fixture()
def src() -> FakeSource:
    s = FakeSource()
    ann = s.add("User", Username="ann@x.com", Name="Ann Admin", Alias="ann")
    s.add(
        "Account",
        Name="Acme",
        Industry="Tech",
        AnnualRevenue=500.0,
        NumberOfEmployees=50,
        OwnerId=ann,
        Regions__c="EMEA;APAC",
        Founded__c="2024-03-17",
        Active__c=True,
        CreatedDate="2024-03-15T08:00:00.000+0000",
    )
    s.add(
        "Account",
        Name="beta corp",
        Industry=None,
        AnnualRevenue=None,
        NumberOfEmployees=5,
        Regions__c=None,
        Founded__c="2024-02-10",
        Active__c=False,
        CreatedDate="2024-03-14T23:59:59.000+0000",
    )
    s.add(
        "Account",
        Name="Gamma",
        Industry="Retail",
        AnnualRevenue=1500.0,
        NumberOfEmployees=None,
        Regions__c="NA",
        Founded__c=None,
        Active__c=True,
        CreatedDate="2024-03-13T12:00:00.000+0000",
    )
    s.add(
        "Account",
        Name="100% Delta_co",
        Industry="",
        AnnualRevenue=20.0,
        NumberOfEmployees=2,
        Regions__c="APAC",
        Founded__c="2023-12-31",
        Active__c=False,
        CreatedDate="2024-02-29T10:00:00.000+0000",
    )
    return s


def names(source: FakeSource, soql: str, **kw) -> list[str]:
    return [r["Name"] for r in execute(soql, source, **kw).records]


def where(source: FakeSource, condition: str) -> list[str]:
    return names(source, f"SELECT Name FROM Account WHERE {condition} ORDER BY Name")


# ------------------------------------------------------------------ equality and nulls


def test_text_equality_ignores_case(src):
    assert where(src, "Name = 'ACME'") == ["Acme"]


def test_not_equal_includes_nulls(src):
    assert where(src, "Industry != 'Tech'") == ["100% Delta_co", "beta corp", "Gamma"]
    assert where(src, "Industry <> 'tech'") == ["100% Delta_co", "beta corp", "Gamma"]


def test_equals_null_and_not_null_treat_empty_text_as_null(src):
    assert where(src, "Industry = null") == ["100% Delta_co", "beta corp"]
    assert where(src, "Industry != null") == ["Acme", "Gamma"]
    assert where(src, "Industry = ''") == ["100% Delta_co", "beta corp"]


def test_ordering_operators_never_match_null(src):
    assert where(src, "AnnualRevenue < 1000") == ["100% Delta_co", "Acme"]
    assert where(src, "AnnualRevenue >= 500") == ["Acme", "Gamma"]
    assert where(src, "NumberOfEmployees > 4") == ["Acme", "beta corp"]
    assert where(src, "NOT AnnualRevenue < 1000") == ["beta corp", "Gamma"]


def test_not_of_equality_includes_nulls(src):
    assert where(src, "NOT Industry = 'Tech'") == ["100% Delta_co", "beta corp", "Gamma"]


def test_numbers_compare_numerically(src):
    assert where(src, "AnnualRevenue = 500") == ["Acme"]
    assert where(src, "AnnualRevenue > 99.5") == ["Acme", "Gamma"]
    assert where(src, "AnnualRevenue IN (20, 1500)") == ["100% Delta_co", "Gamma"]


def test_booleans(src):
    assert where(src, "Active__c = true") == ["Acme", "Gamma"]
    assert where(src, "Active__c = FALSE") == ["100% Delta_co", "beta corp"]


def test_text_range_comparison_is_case_insensitive(src):
    assert where(src, "Name < 'C'") == ["100% Delta_co", "Acme", "beta corp"]


# ------------------------------------------------------------------------------- LIKE


def test_like_wildcards_and_case(src):
    assert where(src, "Name LIKE 'a%'") == ["Acme"]
    assert where(src, "Name LIKE '%CORP'") == ["beta corp"]
    assert where(src, "Name LIKE '_cme'") == ["Acme"]
    assert where(src, "Name LIKE '%m%'") == ["Acme", "Gamma"]


def test_like_escaped_wildcards_are_literal(src):
    assert where(src, r"Name LIKE '100\%%'") == ["100% Delta_co"]
    assert where(src, r"Name LIKE '%a\_c%'") == ["100% Delta_co"]
    assert where(src, r"Name LIKE '%\_%'") == ["100% Delta_co"]


def test_like_never_matches_null(src):
    assert where(src, "Industry LIKE '%'") == ["Acme", "Gamma"]


# ----------------------------------------------------------------------- IN, NOT IN


def test_in_and_not_in(src):
    assert where(src, "Industry IN ('tech', 'RETAIL')") == ["Acme", "Gamma"]
    assert where(src, "Industry NOT IN ('Tech')") == ["100% Delta_co", "beta corp", "Gamma"]
    assert where(src, "Industry IN ('Tech', null)") == ["100% Delta_co", "Acme", "beta corp"]


def test_includes_and_excludes_on_multipicklists(src):
    assert where(src, "Regions__c INCLUDES ('apac')") == ["100% Delta_co", "Acme"]
    assert where(src, "Regions__c INCLUDES ('APAC;EMEA')") == ["Acme"]
    assert where(src, "Regions__c INCLUDES ('NA', 'EMEA')") == ["Acme", "Gamma"]
    assert where(src, "Regions__c EXCLUDES ('APAC')") == ["beta corp", "Gamma"]
    assert where(src, "Regions__c = 'apac;emea'") == ["Acme"]


def test_and_or_not_and_parentheses(src):
    assert where(src, "(Industry = 'Tech' OR Industry = 'Retail') AND Active__c = true") == [
        "Acme",
        "Gamma",
    ]
    assert where(src, "Industry = 'Tech' OR (AnnualRevenue < 100 AND Active__c = false)") == [
        "100% Delta_co",
        "Acme",
    ]
    assert where(src, "NOT (Industry = 'Tech' OR Industry = null)") == ["Gamma"]


# ------------------------------------------------------------------------------ dates


def test_datetime_literals_compare_by_instant(src):
    # 09:00+02:00 is 07:00Z, so Acme (08:00Z) is after it.
    assert where(src, "CreatedDate > 2024-03-15T09:00:00+02:00") == ["Acme"]
    assert where(src, "CreatedDate >= 2024-03-14T23:59:59.000+0000") == ["Acme", "beta corp"]
    assert where(src, "CreatedDate < 2024-03-14T23:59:59Z") == ["100% Delta_co", "Gamma"]
    assert where(src, "CreatedDate = 2024-03-13T12:00:00Z") == ["Gamma"]


def test_today_yesterday_tomorrow_on_datetime_fields(src):
    # The fake clock is 2024-03-15T10:30Z.
    assert where(src, "CreatedDate = TODAY") == ["Acme"]
    assert where(src, "CreatedDate = YESTERDAY") == ["beta corp"]
    assert where(src, "CreatedDate < TODAY") == ["100% Delta_co", "beta corp", "Gamma"]
    assert where(src, "CreatedDate > YESTERDAY") == ["Acme"]
    assert where(src, "CreatedDate = TOMORROW") == []


def test_last_n_days_includes_today(src):
    assert where(src, "CreatedDate = LAST_N_DAYS:1") == ["Acme", "beta corp"]
    assert where(src, "CreatedDate = LAST_N_DAYS:2") == ["Acme", "beta corp", "Gamma"]
    assert where(src, "CreatedDate < LAST_N_DAYS:2") == ["100% Delta_co"]
    assert where(src, "CreatedDate != LAST_N_DAYS:1") == ["100% Delta_co", "Gamma"]


def test_next_n_days_starts_tomorrow_on_date_fields(src):
    assert where(src, "Founded__c = NEXT_N_DAYS:2") == ["Acme"]
    assert where(src, "Founded__c = NEXT_N_DAYS:1") == []
    assert where(src, "Founded__c > NEXT_N_DAYS:1") == ["Acme"]


def test_month_and_year_literals(src):
    assert where(src, "CreatedDate = THIS_MONTH") == ["Acme", "beta corp", "Gamma"]
    assert where(src, "CreatedDate = LAST_MONTH") == ["100% Delta_co"]
    assert where(src, "Founded__c = LAST_YEAR") == ["100% Delta_co"]
    assert where(src, "Founded__c >= THIS_YEAR") == ["Acme", "beta corp"]
    assert where(src, "Founded__c IN (LAST_MONTH, LAST_YEAR)") == ["100% Delta_co", "beta corp"]


def test_date_fields_take_date_literals(src):
    assert where(src, "Founded__c = 2024-02-10") == ["beta corp"]
    assert where(src, "Founded__c > 2024-01-01") == ["Acme", "beta corp"]
    assert where(src, "Founded__c != 2024-02-10") == ["100% Delta_co", "Acme", "Gamma"]


def test_non_canonical_stored_datetimes_still_compare_by_instant(src):
    src.add("Account", Name="Zed", CreatedDate="2024-03-15T12:00:00+02:00")  # 10:00Z
    assert where(src, "CreatedDate > 2024-03-15T09:00:00Z") == ["Zed"]
    assert where(src, "CreatedDate < 2024-03-15T09:00:00Z AND Name = 'Zed'") == []


# -------------------------------------------------------------------------- ORDER BY


def test_nulls_first_ascending_and_last_descending_by_default(src):
    asc = names(src, "SELECT Name FROM Account ORDER BY AnnualRevenue")
    assert asc == ["beta corp", "100% Delta_co", "Acme", "Gamma"]
    desc = names(src, "SELECT Name FROM Account ORDER BY AnnualRevenue DESC")
    assert desc == ["Gamma", "Acme", "100% Delta_co", "beta corp"]


def test_explicit_nulls_placement(src):
    last = names(src, "SELECT Name FROM Account ORDER BY AnnualRevenue ASC NULLS LAST")
    assert last == ["100% Delta_co", "Acme", "Gamma", "beta corp"]
    first = names(src, "SELECT Name FROM Account ORDER BY AnnualRevenue DESC NULLS FIRST")
    assert first == ["beta corp", "Gamma", "Acme", "100% Delta_co"]


def test_text_orders_case_insensitively(src):
    assert names(src, "SELECT Name FROM Account ORDER BY Name DESC") == [
        "Gamma",
        "beta corp",
        "Acme",
        "100% Delta_co",
    ]


def test_multiple_keys_with_mixed_directions(src):
    src.add("Account", Name="Acme", Active__c=False, AnnualRevenue=1.0)
    rows = execute(
        "SELECT Name, AnnualRevenue FROM Account ORDER BY Active__c DESC, Name, AnnualRevenue DESC",
        src,
    ).records
    assert [(r["Name"], r["AnnualRevenue"]) for r in rows] == [
        ("Acme", 500.0),
        ("Gamma", 1500.0),
        ("100% Delta_co", 20.0),
        ("Acme", 1.0),
        ("beta corp", None),
    ]


def test_order_by_parent_field(src):
    bob = src.add("User", Username="bob@x.com", Name="Bob")
    src.add("Account", Name="Bobs", OwnerId=bob)
    rows = names(src, "SELECT Name FROM Account WHERE Owner.Name != null ORDER BY Owner.Name DESC")
    assert rows == ["Bobs", "Acme"]


# ------------------------------------------------------------------- LIMIT and OFFSET


def test_limit_and_offset(src):
    base = "SELECT Name FROM Account ORDER BY Name"
    assert names(src, f"{base} LIMIT 2") == ["100% Delta_co", "Acme"]
    assert names(src, f"{base} LIMIT 2 OFFSET 1") == ["Acme", "beta corp"]
    assert names(src, f"{base} OFFSET 3") == ["Gamma"]
    assert names(src, f"{base} OFFSET 10") == []
    result = execute(f"{base} LIMIT 3", src)
    assert result.total_size == 3


def test_limit_without_order_keeps_storage_order(src):
    assert names(src, "SELECT Name FROM Account LIMIT 2") == ["Acme", "beta corp"]


def test_limit_on_a_large_set_uses_the_same_order_as_a_full_sort():
    source = FakeSource()
    for i in range(500):
        source.add("Account", Name=f"n{(i * 7919) % 500:03d}", AnnualRevenue=float(i % 10))
    soql = "SELECT Name, AnnualRevenue FROM Account ORDER BY AnnualRevenue DESC, Name"
    top = execute(f"{soql} LIMIT 5", source).records
    full = execute(soql, source).records
    assert top == full[:5]
    assert {r["AnnualRevenue"] for r in top} == {9.0}
    assert [r["Name"] for r in top] == sorted(r["Name"] for r in top)
    single = names(source, "SELECT Name FROM Account ORDER BY Name DESC LIMIT 3")
    assert single == ["n499", "n498", "n497"]


# --------------------------------------------------------- deleted rows, ids, joins


def test_deleted_rows_only_with_query_all_or_all_rows(src):
    src.add("Account", Name="Gone", IsDeleted=True)
    assert "Gone" not in names(src, "SELECT Name FROM Account")
    assert names(src, "SELECT Name FROM Account WHERE IsDeleted = true", include_deleted=True) == ["Gone"]
    assert names(src, "SELECT Name FROM Account WHERE IsDeleted = true ALL ROWS") == ["Gone"]


def test_ids_match_in_15_and_18_character_forms(src):
    acme = execute("SELECT Id FROM Account WHERE Name = 'Acme'", src).records[0]["Id"]
    assert where(src, f"Id = '{acme}'") == ["Acme"]
    assert where(src, f"Id = '{acme[:15]}'") == ["Acme"]
    assert where(src, f"Id = '{acme.lower()}'") == ["Acme"]
    assert where(src, f"Id IN ('{acme[:15]}')") == ["Acme"]
    assert len(where(src, f"Id != '{acme}'")) == 3


def test_parent_fields_in_where(src):
    src.add("Contact", LastName="Orphan")
    acme_id = execute("SELECT Id FROM Account WHERE Name = 'Acme'", src).records[0]["Id"]
    src.add("Contact", LastName="Smith", AccountId=acme_id)
    contacts = execute("SELECT LastName FROM Contact WHERE Account.Owner.Username = 'ann@x.com'", src).records
    assert [c["LastName"] for c in contacts] == ["Smith"]
    nulls = execute("SELECT LastName FROM Contact WHERE Account.Name = null", src).records
    assert [c["LastName"] for c in nulls] == ["Orphan"]


def test_semi_join_and_anti_join(src):
    acme_id = execute("SELECT Id FROM Account WHERE Name = 'Acme'", src).records[0]["Id"]
    src.add("Contact", LastName="Smith", AccountId=acme_id)
    semi = where(src, "Id IN (SELECT AccountId FROM Contact WHERE LastName = 'smith')")
    assert semi == ["Acme"]
    anti = where(src, "Id NOT IN (SELECT AccountId FROM Contact)")
    assert anti == ["100% Delta_co", "beta corp", "Gamma"]


def test_polymorphic_parent_in_where():
    s = FakeSource()
    queue = s.add("Group", Name="Support Queue", Type="Queue")
    user = s.add("User", Username="u@x.com", Name="Uma")
    s.add("Case", Subject="q", OwnerId=queue)
    s.add("Case", Subject="u", OwnerId=user)
    rows = execute("SELECT Subject FROM Case WHERE Owner.Name LIKE 'support%'", s).records
    assert [r["Subject"] for r in rows] == ["q"]


def test_count_respects_where_and_limit(src):
    assert execute("SELECT COUNT() FROM Account WHERE Active__c = true", src).total_size == 2
    assert execute("SELECT COUNT() FROM Account LIMIT 3", src).total_size == 3


def test_root_rows_let_a_store_prefilter_the_top_level_object_only(src):
    acme = execute("SELECT Id FROM Account WHERE Name = 'Acme'", src).records[0]["Id"]
    src.add("Account", Name="Acme Child", ParentId=acme)
    soql = "SELECT Name, (SELECT Name FROM ChildAccounts) FROM Account WHERE Name LIKE 'acme%' ORDER BY Name"
    # A superset of the matches for the root; ChildAccounts still reads every Account row.
    prefiltered = [r for r in src.rows("Account", include_deleted=False) if r["Name"] != "Gamma"]
    result = execute(soql, src, root_rows=prefiltered)
    assert [r["Name"] for r in result.records] == ["Acme", "Acme Child"]
    assert result.records[0]["ChildAccounts"]["records"][0]["Name"] == "Acme Child"
    narrowed = execute(soql, src, root_rows=[r for r in prefiltered if r["Name"] == "Acme"])
    assert [r["Name"] for r in narrowed.records] == ["Acme"]
