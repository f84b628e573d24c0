"""Result shapes: records exactly as Salesforce's REST query answers carry them."""

from __future__ import annotations

import json

import pytest

from sfemu.soql import QueryResult, execute
from tests.sfemu.soql_fakes import FakeSource


@pytest.fixture()
def src() -> FakeSource:
    s = FakeSource()
    ann = s.add("User", Id="0054S000001pIx9QAE", Username="ann@x.com", Name="Ann", Alias="ann")
    acme = s.add("Account", Id="0014S000001pIxAQAU", Name="Acme", OwnerId=ann, Industry="Tech")
    s.add("Account", Id="0014S000001pIxCQAU", Name="Orphan Inc", OwnerId=None)
    s.add("Account", Id="0014S000001pIxDQAU", Name="Child Co", ParentId=acme, OwnerId=ann)
    s.add("Contact", Id="0034S000005YJY8QAO", LastName="Smith", FirstName="Sam", AccountId=acme)
    s.add("Contact", Id="0034S000005YJXWQA4", LastName="Jones", FirstName="Jo", AccountId=acme)
    s.add("Contact", Id="0034S000005YJVlQAO", LastName="Brown", FirstName="Bo", AccountId=acme)
    return s


def test_attributes_first_then_fields_in_selected_order_with_canonical_names(src):
    result = execute("select industry, NAME, id from account where name = 'acme'", src)
    assert result == QueryResult(
        1,
        [
            {
                "attributes": {
                    "type": "Account",
                    "url": "/services/data/v62.0/sobjects/Account/0014S000001pIxAQAU",
                },
                "Industry": "Tech",
                "Name": "Acme",
                "Id": "0014S000001pIxAQAU",
            }
        ],
        False,
    )
    assert list(result.records[0]) == ["attributes", "Industry", "Name", "Id"]


def test_api_version_goes_into_urls(src):
    record = execute("SELECT Id FROM Account LIMIT 1", src, api_version="42.0").records[0]
    assert record["attributes"]["url"] == "/services/data/v42.0/sobjects/Account/0014S000001pIxAQAU"


def test_parent_paths_nest_and_empty_lookups_are_null(src):
    rows = execute("SELECT Name, Owner.Username FROM Account ORDER BY Name", src).records
    assert rows[0] == {
        "attributes": {
            "type": "Account",
            "url": "/services/data/v62.0/sobjects/Account/0014S000001pIxAQAU",
        },
        "Name": "Acme",
        "Owner": {
            "attributes": {
                "type": "User",
                "url": "/services/data/v62.0/sobjects/User/0054S000001pIx9QAE",
            },
            "Username": "ann@x.com",
        },
    }
    assert rows[2]["Name"] == "Orphan Inc"
    assert rows[2]["Owner"] is None


def test_paths_through_the_same_relationship_merge_in_first_seen_order(src):
    record = execute(
        "SELECT Parent.Name, Name, Parent.Owner.Alias, Parent.Id FROM Account WHERE Name = 'Child Co'",
        src,
    ).records[0]
    assert list(record) == ["attributes", "Parent", "Name"]
    parent = record["Parent"]
    assert list(parent) == ["attributes", "Name", "Owner", "Id"]
    assert parent["Name"] == "Acme"
    assert parent["Owner"]["Alias"] == "ann"
    assert parent["Owner"]["attributes"]["type"] == "User"
    assert parent["Id"] == "0014S000001pIxAQAU"


def test_null_in_the_middle_of_a_path(src):
    record = execute("SELECT Parent.Owner.Name FROM Account WHERE Name = 'Acme'", src).records[0]
    assert record["Parent"] is None
    src.add("Account", Name="No Owner Parent Child", ParentId="0014S000001pIxCQAU")
    record = execute(
        "SELECT Parent.Name, Parent.Owner.Name FROM Account WHERE Name LIKE 'No Owner%'", src
    ).records[0]
    assert record["Parent"]["Name"] == "Orphan Inc"
    assert record["Parent"]["Owner"] is None


def test_polymorphic_parent_attributes_say_name_and_point_at_the_real_object():
    s = FakeSource()
    queue = s.add("Group", Name="Support", Type="Queue")
    s.add("Case", Subject="Help", OwnerId=queue)
    record = execute("SELECT Subject, Owner.Name FROM Case", s).records[0]
    assert record["Owner"] == {
        "attributes": {"type": "Name", "url": f"/services/data/v62.0/sobjects/Group/{queue}"},
        "Name": "Support",
    }


def test_child_subquery_shape_with_its_order_and_limit(src):
    rows = execute(
        "SELECT Name, (SELECT LastName FROM Contacts ORDER BY LastName LIMIT 2) FROM Account ORDER BY Name",
        src,
    ).records
    acme = rows[0]
    assert list(acme) == ["attributes", "Name", "Contacts"]
    assert acme["Contacts"] == {
        "totalSize": 2,
        "done": True,
        "records": [
            {
                "attributes": {
                    "type": "Contact",
                    "url": "/services/data/v62.0/sobjects/Contact/0034S000005YJVlQAO",
                },
                "LastName": "Brown",
            },
            {
                "attributes": {
                    "type": "Contact",
                    "url": "/services/data/v62.0/sobjects/Contact/0034S000005YJXWQA4",
                },
                "LastName": "Jones",
            },
        ],
    }
    assert rows[1]["Name"] == "Child Co" and rows[1]["Contacts"] is None


def test_child_subquery_where_filters_children_and_empty_result_is_null(src):
    rows = execute(
        "SELECT Name, (SELECT FirstName FROM Contacts WHERE LastName = 'nobody') FROM Account",
        src,
    ).records
    assert all(r["Contacts"] is None for r in rows)
    rows = execute(
        "SELECT (SELECT FirstName, Account.Name FROM Contacts WHERE FirstName LIKE 'S%') "
        "FROM Account WHERE Name = 'Acme'",
        src,
    ).records
    child = rows[0]["Contacts"]["records"][0]
    assert child["FirstName"] == "Sam"
    assert child["Account"]["Name"] == "Acme"


def test_reproduces_recorded_null_child_subquery():
    """REC:cumulusci/collections_upsert_by_external_id_rest.yaml (API version anonymised)."""
    s = FakeSource()
    s.add("Contact", Id="0037e00001WZ30qAAD", FirstName="Lindsay", LastName="Sitwell")
    result = execute("select FirstName,(select Name from Opportunities) from Contact", s, api_version="xx.0")
    recorded = (
        '[{"attributes": {"type": "Contact", "url": '
        '"/services/data/vxx.0/sobjects/Contact/0037e00001WZ30qAAD"}, '
        '"FirstName": "Lindsay", "Opportunities": null}]'
    )
    assert json.dumps(result.records) == recorded


def test_reproduces_recorded_numeric_in_filter():
    """REC:grouparoo/query_results.json: a double field filtered with IN (1, 2)."""
    s = FakeSource()
    s.add("Contact", Id="0034S000005YJY8QAO", LastName="a", float_field__c=1)
    s.add("Contact", Id="0034S000005YJXWQA4", LastName="b", float_field__c=2)
    s.add("Contact", Id="0034S000005YJVlQAO", LastName="c", float_field__c=3.5)
    result = execute(
        "SELECT Id, float_field__c FROM Contact WHERE float_field__c IN (1, 2)",
        s,
        api_version="42.0",
    )
    assert result.total_size == 2
    assert result.records == [
        {
            "attributes": {
                "type": "Contact",
                "url": "/services/data/v42.0/sobjects/Contact/0034S000005YJY8QAO",
            },
            "Id": "0034S000005YJY8QAO",
            "float_field__c": 1,
        },
        {
            "attributes": {
                "type": "Contact",
                "url": "/services/data/v42.0/sobjects/Contact/0034S000005YJXWQA4",
            },
            "Id": "0034S000005YJXWQA4",
            "float_field__c": 2,
        },
    ]


def test_count_returns_only_the_size(src):
    assert execute("select count() from Account", src) == QueryResult(3, [], True)
    assert execute("SELECT COUNT() FROM Contact WHERE LastName = 'x'", src) == QueryResult(0, [], True)


# --------------------------------------------------------------------------- aggregates


def test_aggregate_without_group_by_has_one_record_and_expr_names(src):
    result = execute("SELECT COUNT(Id), MAX(Name), COUNT(ParentId) FROM Account", src)
    assert result.total_size == 1
    assert result.records == [
        {"attributes": {"type": "AggregateResult"}, "expr0": 3, "expr1": "Orphan Inc", "expr2": 1}
    ]


def test_aggregate_over_no_rows(src):
    result = execute("SELECT COUNT(Id), SUM(AnnualRevenue) FROM Account WHERE Name = 'x'", src)
    assert result.records == [{"attributes": {"type": "AggregateResult"}, "expr0": 0, "expr1": None}]


def test_group_by_with_aliases_having_and_order():
    s = FakeSource()
    for stage, amount in [("Won", 100), ("Won", 50), ("Lost", 10), ("Open", None), ("Open", 5)]:
        s.add("Opportunity", Name=f"{stage}-{amount}", StageName=stage, Amount=amount)
    result = execute(
        "SELECT StageName, COUNT(Id) n, SUM(Amount), AVG(Amount), MIN(Amount) low "
        "FROM Opportunity GROUP BY StageName HAVING COUNT(Id) > 1 ORDER BY SUM(Amount) DESC",
        s,
    )
    assert result.records == [
        {
            "attributes": {"type": "AggregateResult"},
            "StageName": "Won",
            "n": 2,
            "expr0": 150.0,
            "expr1": 75.0,
            "low": 50,
        },
        {
            "attributes": {"type": "AggregateResult"},
            "StageName": "Open",
            "n": 2,
            "expr0": 5.0,
            "expr1": 5.0,
            "low": 5,
        },
    ]
    assert result.total_size == 2


def test_group_by_parent_field_and_count_distinct(src):
    rows = execute(
        "SELECT Account.Name, COUNT_DISTINCT(LastName) FROM Contact GROUP BY Account.Name", src
    ).records
    assert rows == [{"attributes": {"type": "AggregateResult"}, "Name": "Acme", "expr0": 3}]


def test_fields_standard_expands_in_schema_order():
    s = FakeSource()
    group = s.add("Group", Name="Q", Type="Queue")
    record = execute("SELECT FIELDS(STANDARD) FROM Group", s).records[0]
    assert list(record) == [
        "attributes",
        "Id",
        "IsDeleted",
        "CreatedDate",
        "SystemModstamp",
        "Name",
        "Type",
    ]
    assert record["Id"] == group
    s.add("Account", Name="Acme", Active__c=True, Regions__c="NA")
    custom = execute("SELECT FIELDS(CUSTOM) FROM Account LIMIT 1", s).records[0]
    assert list(custom) == ["attributes", "Active__c", "Regions__c", "Founded__c"]
    assert (custom["Active__c"], custom["Regions__c"], custom["Founded__c"]) == (True, "NA", None)


def test_public_api_and_fake_source_satisfy_the_contract(src):
    from sfemu.soql import DataSource, parse

    assert isinstance(src, DataSource)
    query = parse("SELECT Name FROM Account WHERE Name != 'Acme' ORDER BY Name")
    first = execute(query, src)
    second = execute(query, src)
    assert first == second
    assert [r["Name"] for r in first.records] == ["Child Co", "Orphan Inc"]
