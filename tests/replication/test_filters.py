"""Record filters: validation, SOQL compilation (run against sfemu) and Python evaluation."""

from __future__ import annotations

import pytest
from simple_salesforce import Salesforce

from replication.filters import (
    Condition,
    InvalidFilter,
    compile_where,
    filter_fields,
    id18,
    matches,
    validate,
)

HOSTILE_NAMES = [
    "O'Brien & Sons",
    "Back\\slash Ltd",
    "x' OR Id != null OR Name = 'y",
    'Quote "double" Inc',
    "Line one\nLine two",
    "Tab\there",
    "100% Pure_Co",
    "SELECT Id FROM Account WHERE Name LIKE '%'",
    "Zürich Straße Ærø 東京",
    "trailing\\",
]


@pytest.fixture(scope="module")
def org(sfemu_server):
    """One org with typed custom fields on Account and a handful of records (some hostile)."""
    handle = sfemu_server.create_org()
    domain = handle.org
    domain.add_custom_field("Account", "Score__c", "number", precision=5, scale=2)
    domain.add_custom_field("Account", "Active__c", "checkbox")
    domain.add_custom_field("Account", "Since__c", "date")
    domain.add_custom_field("Account", "Seen__c", "datetime")
    domain.add_custom_field("Account", "Interests__c", "multipicklist", values=["Golf", "Tennis", "Chess"])
    domain.add_custom_field("Account", "Code__c", "text", length=40)
    rows = [
        {
            "Name": "Acme",
            "Industry": "Technology",
            "AnnualRevenue": 2000000,
            "Score__c": 12.5,
            "Active__c": True,
            "Since__c": "2024-01-31",
            "Seen__c": "2024-01-31T12:00:00.000Z",
            "Interests__c": "Golf;Chess",
            "Code__c": "AC-1",
        },
        {
            "Name": "Globex",
            "Industry": "Energy",
            "AnnualRevenue": 500,
            "Score__c": -3,
            "Active__c": False,
            "Since__c": "2023-06-01",
            "Seen__c": "2024-01-31T13:30:00.000Z",
            "Interests__c": "Tennis",
            "Code__c": "gl_2",
        },
        {
            "Name": "Initech",
            "Industry": "technology",
            "Score__c": 99.99,
            "Since__c": "2024-02-01",
            "Seen__c": "2024-01-31T11:59:59.000Z",
            "Code__c": "",
        },
        {"Name": "Umbrella"},
    ]
    rows += [{"Name": name, "Code__c": f"H{i}"} for i, name in enumerate(HOSTILE_NAMES)]
    for row in rows:
        domain.create("Account", _tidy(row), user_id=handle.user_id)
    return handle


def _tidy(row: dict) -> dict:
    return {k: v for k, v in row.items() if v != ""}


@pytest.fixture(scope="module")
def describe(org) -> dict:
    return org.org.describe("Account", "62.0")


def soql_names(org, describe, conditions) -> set[str]:
    """Names of the Accounts sfemu returns for the compiled filter."""
    where = compile_where(conditions, describe)
    result = org.org.query(f"SELECT Id, Name FROM Account WHERE {where}")
    return {r["Name"] for r in result.records}


def python_names(org, describe, conditions) -> set[str]:
    """Names of the Accounts ``matches`` accepts, over every captured record."""
    fields = ", ".join(dict.fromkeys(["Id", "Name", *filter_fields(conditions, describe)]))
    records = org.org.query(f"SELECT {fields} FROM Account").records
    return {r["Name"] for r in records if matches(conditions, r, describe)}


def _errors(conditions, describe) -> list[str]:
    return [e.message for e in validate(conditions, describe)]


# --------------------------------------------------------------------------- validation
def test_valid_filter_has_no_errors(describe) -> None:
    """A filter using each operator correctly validates clean."""
    conditions = [
        Condition("Industry", "equals", "Technology"),
        Condition("AnnualRevenue", "greater_than", "1000000"),
        Condition("Name", "starts_with", "Ac"),
        Condition("Code__c", "is_not_blank"),
        Condition("Since__c", "less_than", "2024-12-31"),
        Condition("Seen__c", "greater_than", "2024-01-31T12:00:00Z"),
        Condition("Type", "in_list", ["Customer - Direct", "Prospect"]),
        Condition("Active__c", "equals", "true"),
    ]
    assert validate(conditions, describe) == []


def test_unknown_field_suggests_close_names(describe) -> None:
    """An unknown field is reported at its index with the closest API names."""
    errors = validate([Condition("Name", "equals", "x"), Condition("Industy", "equals", "y")], describe)
    assert [e.field_index for e in errors] == [1]
    assert "no field 'Industy'" in errors[0].message and "Did you mean Industry" in errors[0].message


def test_unknown_field_given_by_label_suggests_api_name(describe) -> None:
    """A field typed by its label points the admin to the API name."""
    assert "Did you mean AnnualRevenue" in _errors([Condition("Annual Revenue", "equals", "1")], describe)[0]


@pytest.mark.parametrize(
    ("field", "operator"),
    [
        ("AnnualRevenue", "contains"),
        ("Since__c", "starts_with"),
        ("Active__c", "contains"),
        ("Active__c", "greater_than"),
        ("Industry", "less_than"),
        ("OwnerId", "contains"),
    ],
)
def test_operator_not_valid_for_field_type(describe, field, operator) -> None:
    """Text operators on numbers/dates/booleans, and ordering on booleans/picklists, are refused."""
    messages = _errors([Condition(field, operator, "1")], describe)
    assert len(messages) == 1 and f"'{operator}' doesn't apply to {field}" in messages[0]


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("AnnualRevenue", "1,000", "AnnualRevenue is a number"),
        ("AnnualRevenue", "1e6", "AnnualRevenue is a number"),
        ("AnnualRevenue", "5 OR Name != null", "AnnualRevenue is a number"),
        ("Since__c", "31/01/2024", "YYYY-MM-DD"),
        ("Since__c", "2024-02-30", "YYYY-MM-DD"),
        ("Seen__c", "2024-01-31T12:00:00", "with a time zone"),
        ("Seen__c", "2024-01-31", "with a time zone"),
        ("Active__c", "yes", "give true or false"),
        ("OwnerId", "005xx", "record ID of 15 or 18 characters"),
        ("OwnerId", "' OR Id != null --", "record ID of 15 or 18 characters"),
    ],
)
def test_bad_value_for_type(describe, field, value, expected) -> None:
    """A value that isn't a literal of the field's type is refused with the expected format."""
    messages = _errors([Condition(field, "equals", value)], describe)
    assert len(messages) == 1 and expected in messages[0] and field in messages[0]


def test_eighteen_char_id_with_wrong_checksum_is_refused(org, describe) -> None:
    """An 18-char ID whose suffix marks a digit as an upper-case letter is not an ID."""
    good = id18(org.user_id)
    assert good == org.user_id and good[0].isdigit()
    bad = good[:15] + "BAA"  # "B": the first character would be upper case, but it's a digit
    assert _errors([Condition("OwnerId", "equals", good)], describe) == []
    assert "record ID" in _errors([Condition("OwnerId", "equals", bad)], describe)[0]


def test_not_filterable_field_is_refused(describe) -> None:
    """Long text areas can't be filtered in SOQL, so the filter can't use them."""
    assert "can't be filtered" in _errors([Condition("Description", "equals", "x")], describe)[0]


def test_empty_in_list_is_refused(describe) -> None:
    """in_list needs at least one value."""
    assert "needs a list of one or more values" in _errors([Condition("Name", "in_list", [])], describe)[0]


def test_value_given_for_is_blank_is_refused(describe) -> None:
    """is_blank / is_not_blank take no value."""
    assert "takes no value" in _errors([Condition("Name", "is_blank", "x")], describe)[0]


def test_control_character_is_refused(describe) -> None:
    """A NUL byte can't be written in a SOQL literal, so it's refused rather than dropped."""
    assert "control character" in _errors([Condition("Name", "equals", "a\x00b")], describe)[0]


def test_compile_refuses_invalid_filter(describe) -> None:
    """compile_where never emits SOQL for a filter that doesn't validate."""
    with pytest.raises(InvalidFilter) as caught:
        compile_where([Condition("AnnualRevenue", "equals", "1 OR Name != null")], describe)
    assert caught.value.errors[0].field_index == 0


# ----------------------------------------------------------------------------- compile
def test_compile_literal_formats(describe) -> None:
    """Numbers, booleans, dates and datetimes are unquoted; datetimes are normalised to UTC."""
    where = compile_where(
        [
            Condition("AnnualRevenue", "greater_than", " 1000.50 "),
            Condition("Active__c", "equals", "TRUE"),
            Condition("Since__c", "less_than", "2024-01-31"),
            Condition("Seen__c", "greater_than", "2024-01-31T14:00:00+02:00"),
            Condition("Industry", "in_list", ["Energy", "Tech'"]),
            Condition("Code__c", "is_blank"),
            Condition("Name", "not_equals", None),
        ],
        describe,
    )
    assert where == (
        "AnnualRevenue > 1000.50 AND Active__c = true AND Since__c < 2024-01-31 AND "
        "Seen__c > 2024-01-31T12:00:00Z AND Industry IN ('Energy', 'Tech\\'') AND "
        "Code__c = null AND Name != null"
    )


def test_compile_escapes_like_wildcards(describe) -> None:
    """contains/starts_with escape %, _ and quotes inside the LIKE pattern."""
    assert compile_where([Condition("Name", "contains", "100%_'")], describe) == "Name LIKE '%100\\%\\_\\'%'"
    assert compile_where([Condition("Name", "starts_with", "a\\b")], describe) == "Name LIKE 'a\\\\b%'"


def test_compile_empty_filter_is_empty(describe) -> None:
    """No conditions, no WHERE fragment."""
    assert compile_where([], describe) == ""


def test_multipicklist_contains_compiles_to_includes(describe) -> None:
    """contains / in_list on a multi-select picklist mean "has that value" (INCLUDES)."""
    where = compile_where([Condition("Interests__c", "in_list", ["Golf", "Tennis"])], describe)
    assert where == "Interests__c INCLUDES ('Golf', 'Tennis')"


# ------------------------------------------------------------------- hostile input in sfemu
@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_equals_finds_exactly_that_record(org, describe, name) -> None:
    """Quotes, backslashes, SOQL fragments, newlines and unicode stay inside the literal."""
    assert soql_names(org, describe, [Condition("Name", "equals", name)]) == {name}


def test_injection_attempt_does_not_widen_the_result(org, describe) -> None:
    """`' OR Id != null` as a value matches nothing but a record named exactly so."""
    conditions = [Condition("Name", "equals", "nobody' OR Id != null OR Name = '")]
    assert soql_names(org, describe, conditions) == set()


def test_like_wildcards_are_literal(org, describe) -> None:
    """'%' and '_' in a contains value match themselves, not any character."""
    assert soql_names(org, describe, [Condition("Name", "contains", "0% Pure_")]) == {"100% Pure_Co"}
    assert soql_names(org, describe, [Condition("Name", "contains", "_")]) == {"100% Pure_Co"}


def test_contains_with_quote_and_backslash(org, describe) -> None:
    """A pattern with a quote or backslash finds the record that contains it."""
    assert soql_names(org, describe, [Condition("Name", "contains", "'Brien")]) == {"O'Brien & Sons"}
    assert soql_names(org, describe, [Condition("Name", "starts_with", "Back\\")]) == {"Back\\slash Ltd"}


def test_compiled_query_runs_over_http(org, describe, sfemu_server) -> None:
    """The compiled fragment survives URL encoding through simple-salesforce unchanged."""
    sf = Salesforce(
        instance_url=org.instance_url,
        session_id=org.access_token,
        session=sfemu_server.http_session(),
        version="62.0",
    )
    where = compile_where([Condition("Name", "in_list", HOSTILE_NAMES[:6])], describe)
    result = sf.query_all(f"SELECT Name FROM Account WHERE {where}")
    assert {r["Name"] for r in result["records"]} == set(HOSTILE_NAMES[:6])


# ------------------------------------------------------------ matches agrees with SOQL
AGREEMENT_CASES = {
    "text equals ignores case": [Condition("Industry", "equals", "TECHNOLOGY")],
    "not_equals includes blanks": [Condition("Industry", "not_equals", "Energy")],
    "number greater": [Condition("AnnualRevenue", "greater_than", "1000")],
    "number less skips blanks": [Condition("Score__c", "less_than", "50")],
    "number in list": [Condition("Score__c", "in_list", ["12.5", "-3"])],
    "checkbox false": [Condition("Active__c", "equals", "false")],
    "date less": [Condition("Since__c", "less_than", "2024-01-31")],
    "date equals": [Condition("Since__c", "equals", "2024-01-31")],
    "datetime with offset": [Condition("Seen__c", "greater_than", "2024-01-31T13:00:00+01:00")],
    "text blank": [Condition("Code__c", "is_blank")],
    "text equals empty is blank": [Condition("Code__c", "equals", "")],
    "contains ignores case": [Condition("Code__c", "contains", "L_2")],
    "starts_with": [Condition("Name", "starts_with", "glo")],
    "greater on text": [Condition("Name", "greater_than", "m")],
    "multipicklist includes": [Condition("Interests__c", "contains", "chess")],
    "multipicklist equals any order": [Condition("Interests__c", "equals", "Chess;Golf")],
    "picklist not blank": [Condition("Industry", "is_not_blank")],
    "hostile in list": [Condition("Name", "in_list", HOSTILE_NAMES)],
    "and of several": [
        Condition("Industry", "equals", "technology"),
        Condition("Score__c", "greater_than", "20"),
    ],
}


@pytest.mark.parametrize("conditions", AGREEMENT_CASES.values(), ids=AGREEMENT_CASES.keys())
def test_matches_agrees_with_soql(org, describe, conditions) -> None:
    """`matches` on captured records selects the same records as sfemu's SOQL."""
    expected = soql_names(org, describe, conditions)
    assert expected, "the case must select something to be meaningful"
    assert python_names(org, describe, conditions) == expected


def test_matches_owner_id_given_as_15_chars(org, describe) -> None:
    """A 15-char ID value matches the 18-char ID of the record, in SOQL and in Python."""
    conditions = [Condition("OwnerId", "equals", org.user_id[:15])]
    assert python_names(org, describe, conditions) == soql_names(org, describe, conditions)
    assert len(soql_names(org, describe, conditions)) > 10


def test_matches_requires_filtered_fields(describe) -> None:
    """A record captured without a filtered field is an error, not a silent mismatch."""
    with pytest.raises(KeyError, match="Industry"):
        matches([Condition("Industry", "equals", "Energy")], {"Id": "001", "Name": "x"}, describe)


def test_matches_rejects_record_failing_one_condition(describe) -> None:
    """Conditions are joined by AND."""
    record = {"Industry": "Energy", "AnnualRevenue": 10}
    conditions = [Condition("Industry", "equals", "energy"), Condition("AnnualRevenue", "greater_than", "10")]
    assert matches(conditions[:1], record, describe) is True
    assert matches(conditions, record, describe) is False


def test_matches_compares_datetimes_as_instants(describe) -> None:
    """A captured datetime with an offset equals the same instant given in UTC."""
    record = {"Seen__c": "2024-01-31T14:00:00.000+0200"}
    assert matches([Condition("Seen__c", "equals", "2024-01-31T12:00:00Z")], record, describe)
    assert not matches([Condition("Seen__c", "greater_than", "2024-01-31T12:30:00Z")], record, describe)
