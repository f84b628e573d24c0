"""Every validation error: code, HTTP status and Salesforce's exact message text."""

from __future__ import annotations

import pytest

from sfemu.errors import SalesforceError
from sfemu.soql import SoqlError, execute
from tests.sfemu.soql_fakes import FakeSource

WSDL = "Please reference your WSDL or the describe call for the appropriate names."
NO_COLUMN = (
    "If you are attempting to use a custom field, be sure to append the '__c' after the "
    f"custom field name. {WSDL}"
)
NO_RELATIONSHIP = (
    "If you are attempting to use a custom relationship, be sure to append the '__r' after "
    f"the custom relationship name. {WSDL}"
)


def fail(soql: str, source: FakeSource | None = None) -> SoqlError:
    with pytest.raises(SoqlError) as caught:
        execute(soql, source or FakeSource())
    error = caught.value
    assert isinstance(error, SalesforceError)
    assert error.status == 400
    return error


def test_unknown_object_matches_the_recording_byte_for_byte():
    """REC:cumulusci/composite_query_count_with_INVALID_TYPE.yaml."""
    error = fail("select count() from XYZZY")
    assert error.error_code == "INVALID_TYPE"
    assert error.message == (
        "\nselect count() from XYZZY\n                    ^\nERROR at Row:1:Column:21\n"
        "sObject type 'XYZZY' is not supported. If you are attempting to use a custom object, "
        "be sure to append the '__c' after the entity name. Please reference your WSDL or the "
        "describe call for the appropriate names."
    )
    assert error.as_rest() == {"message": error.message, "errorCode": "INVALID_TYPE"}


def test_unknown_field_in_select():
    error = fail("SELECT Id, Foo FROM Account")
    assert error.error_code == "INVALID_FIELD"
    assert error.message == (
        "\nSELECT Id, Foo FROM Account\n           ^\nERROR at Row:1:Column:12\n"
        f"No such column 'Foo' on entity 'Account'. {NO_COLUMN}"
    )


def test_unknown_field_in_where_order_by_and_parent_path():
    assert fail("SELECT Id FROM Account WHERE Nope__c = 1").message == (
        "\nSELECT Id FROM Account WHERE Nope__c = 1\n                             ^\n"
        f"ERROR at Row:1:Column:30\nNo such column 'Nope__c' on entity 'Account'. {NO_COLUMN}"
    )
    assert fail("SELECT Id FROM Account ORDER BY Bogus").message.endswith(
        f"Column:33\nNo such column 'Bogus' on entity 'Account'. {NO_COLUMN}"
    )
    assert fail("SELECT Owner.Nickname FROM Account").message.endswith(
        f"Column:8\nNo such column 'Nickname' on entity 'User'. {NO_COLUMN}"
    )


def test_unknown_relationship_in_a_field_path():
    error = fail("SELECT Id, Owner__r.Name FROM Account")
    assert error.error_code == "INVALID_FIELD"
    assert error.message == (
        "\nSELECT Id, Owner__r.Name FROM Account\n           ^\nERROR at Row:1:Column:12\n"
        f"Didn't understand relationship 'Owner__r' in field path. {NO_RELATIONSHIP}"
    )
    deep = fail("SELECT Id FROM Contact WHERE Account.Boss.Name = 'x'")
    assert deep.message.endswith(
        f"Column:30\nDidn't understand relationship 'Boss' in field path. {NO_RELATIONSHIP}"
    )


def test_a_field_used_as_a_relationship():
    error = fail("SELECT Name.Foo FROM Account")
    assert error.message.endswith(f"Didn't understand relationship 'Name' in field path. {NO_RELATIONSHIP}")


def test_unknown_child_relationship():
    error = fail("SELECT Name, (SELECT Id FROM Contact) FROM Account")
    assert error.error_code == "INVALID_TYPE"
    assert error.message == (
        "\nSELECT Name, (SELECT Id FROM Contact) FROM Account\n"
        "                             ^\nERROR at Row:1:Column:30\n"
        "Didn't understand relationship 'Contact' in FROM part of query call. "
        f"{NO_RELATIONSHIP}"
    )


def test_unknown_field_inside_a_child_subquery():
    error = fail("SELECT Name, (SELECT Nope FROM Contacts) FROM Account")
    assert error.error_code == "INVALID_FIELD"
    assert error.message.endswith(f"Column:22\nNo such column 'Nope' on entity 'Contact'. {NO_COLUMN}")


def test_unknown_object_in_a_semi_join():
    error = fail("SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Nothing__c)")
    assert error.error_code == "INVALID_TYPE"
    assert "ERROR at Row:1:Column:59\nsObject type 'Nothing__c' is not supported." in error.message


@pytest.mark.parametrize(
    ("condition", "field", "expected_type", "quotes"),
    [
        ("CreatedDate > '2024-01-01T00:00:00Z'", "CreatedDate", "dateTime", "should not be"),
        ("CreatedDate > 2024-01-01", "CreatedDate", "dateTime", "should not be"),
        ("Founded__c = 2024-01-01T00:00:00Z", "Founded__c", "date", "should not be"),
        ("Founded__c = '2024-01-01'", "Founded__c", "date", "should not be"),
        ("Active__c = 'true'", "Active__c", "boolean", "should not be"),
        ("NumberOfEmployees = '5'", "NumberOfEmployees", "int", "should not be"),
        ("AnnualRevenue > '5'", "AnnualRevenue", "double", "should not be"),
        ("Name = 5", "Name", "string", "should be"),
        ("Name = TODAY", "Name", "string", "should be"),
        ("OwnerId = true", "OwnerId", "id", "should be"),
    ],
)
def test_literal_of_the_wrong_type(condition, field, expected_type, quotes):
    error = fail(f"SELECT Id FROM Account WHERE {condition}")
    assert error.error_code == "INVALID_FIELD"
    assert error.message == (
        f"\nSELECT Id FROM Account WHERE {condition}\n{' ' * 29}^\nERROR at Row:1:Column:30\n"
        f"value of filter criterion for field '{field}' must be of type {expected_type} "
        f"and {quotes} enclosed in quotes"
    )


def test_invalid_id_literal():
    error = fail("SELECT Id FROM Account WHERE Id = 'abc'")
    assert error.error_code == "MALFORMED_QUERY"
    assert error.message == (
        "\nSELECT Id FROM Account WHERE Id = 'abc'\n                             ^\n"
        "ERROR at Row:1:Column:30\ninvalid ID field: abc"
    )
    assert fail("SELECT Id FROM Contact WHERE AccountId IN ('001')").message.endswith("invalid ID field: 001")


def test_field_that_cannot_be_filtered_or_sorted():
    error = fail("SELECT Id FROM Account WHERE Description = 'x'")
    assert error.error_code == "INVALID_FIELD"
    assert error.message.endswith("Column:30\nfield 'Description' can not be filtered in a query call")
    error = fail("SELECT Id FROM Account ORDER BY Description")
    assert error.message.endswith("Column:33\nfield 'Description' can not be sorted in a query call")


def test_duplicate_field():
    error = fail("SELECT Id, Name, name FROM Account")
    assert (error.error_code, error.message) == ("INVALID_FIELD", "duplicate field selected: name")
    error = fail("SELECT Owner.Name, owner.NAME FROM Account")
    assert error.message == "duplicate field selected: owner.NAME"
    assert fail("SELECT Id, FIELDS(ALL) FROM Group LIMIT 200").message == ("duplicate field selected: Id")


def test_offset_above_2000():
    error = fail("SELECT Id FROM Account ORDER BY Name OFFSET 2001")
    assert error.error_code == "NUMBER_OUTSIDE_VALID_RANGE"
    assert error.message == (
        "\nSELECT Id FROM Account ORDER BY Name OFFSET 2001\n"
        "                                            ^\n"
        "ERROR at Row:1:Column:45\nMaximum SOQL offset allowed is 2000"
    )
    assert execute("SELECT Id FROM Account OFFSET 2000", FakeSource()).records == []


def test_fields_all_needs_a_small_limit():
    error = fail("SELECT FIELDS(ALL) FROM Account LIMIT 201")
    assert error.error_code == "MALFORMED_QUERY"
    assert error.message == (
        "\nSELECT FIELDS(ALL) FROM Account LIMIT 201\n       ^\nERROR at Row:1:Column:8\n"
        "The SOQL FIELDS function must have a LIMIT of at most 200"
    )


def test_aggregate_rules():
    error = fail("SELECT Name, COUNT(Id) FROM Account GROUP BY Industry")
    assert error.error_code == "MALFORMED_QUERY"
    assert error.message.endswith("Column:8\nField must be grouped or aggregated: Name")
    error = fail("SELECT SUM(Name) FROM Account")
    assert error.message.endswith("field Name does not support aggregate operator SUM")


def test_includes_needs_a_multipicklist():
    error = fail("SELECT Id FROM Account WHERE Name INCLUDES ('a')")
    assert error.error_code == "INVALID_FIELD"
    assert error.message.endswith("INCLUDES operator is only valid on multi-select picklist fields: Name")


def test_errors_on_later_rows_report_row_and_column():
    error = fail("SELECT Id\nFROM Account\nWHERE Nope__c = 1")
    assert error.message == (
        "\nWHERE Nope__c = 1\n      ^\nERROR at Row:3:Column:7\n"
        f"No such column 'Nope__c' on entity 'Account'. {NO_COLUMN}"
    )


def test_syntax_errors_surface_through_execute():
    error = fail("SELECT Id FROM Account WHERE")
    assert error.error_code == "MALFORMED_QUERY"
    assert error.message.endswith("ERROR at Row:1:Column:29\nunexpected token: '<EOF>'")
