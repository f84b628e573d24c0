"""The filter line syntax: parse, format, round trip, errors by line, hostile values."""

import pytest

from replication.filter_syntax import (
    FilterTextError,
    conditions_from_json,
    conditions_to_json,
    format_lines,
    parse_lines,
    parse_numbered,
)
from replication.filters import OPERATORS, Condition, compile_where

ACCOUNT = {
    "name": "Account",
    "fields": [
        {"name": "Name", "type": "string", "label": "Account Name"},
        {"name": "Industry", "type": "picklist", "label": "Industry"},
        {"name": "Type", "type": "picklist", "label": "Type"},
        {"name": "Phone", "type": "phone", "label": "Phone"},
        {"name": "AnnualRevenue", "type": "currency", "label": "Annual Revenue"},
    ],
}


def test_the_examples_parse():
    text = (
        "Industry equals Banking\n"
        "AnnualRevenue greater_than 1000000\n"
        "Type in_list Customer - Direct, Partner\n"
        "Phone is_not_blank\n"
    )
    assert parse_lines(text) == [
        Condition("Industry", "equals", "Banking"),
        Condition("AnnualRevenue", "greater_than", "1000000"),
        Condition("Type", "in_list", ["Customer - Direct", "Partner"]),
        Condition("Phone", "is_not_blank", None),
    ]
    assert format_lines(parse_lines(text)) == text.strip()


@pytest.mark.parametrize(
    ("line", "operator"),
    [
        ("Phone is not blank", "is_not_blank"),
        ("Phone IS_BLANK", "is_blank"),
        ("AnnualRevenue Greater Than 5", "greater_than"),
        ("AnnualRevenue > 5", "greater_than"),
        ("AnnualRevenue < 5", "less_than"),
        ("Name = x", "equals"),
        ("Name != x", "not_equals"),
        ("Name <> x", "not_equals"),
        ("Name starts with x", "starts_with"),
        ("Type in list a, b", "in_list"),
    ],
)
def test_operators_in_words_case_and_symbols(line, operator):
    assert parse_lines(line)[0].operator == operator


def test_values_keep_inner_spaces_commas_and_words_that_look_like_operators():
    assert parse_lines("Name equals Smith, John   & Sons")[0].value == "Smith, John   & Sons"
    assert parse_lines("Name equals greater than")[0] == Condition("Name", "equals", "greater than")
    assert parse_lines("Name contains is_blank")[0].value == "is_blank"
    assert parse_lines("\t Name\tequals\tx y \t")[0].value == "x y"


def test_quoting_in_lists_and_single_values():
    [cond] = parse_lines('Type in_list "Reseller, EMEA" ,Partner,  "  padded ", "say \\"hi\\"", "a\\\\b"')
    assert cond.value == ["Reseller, EMEA", "Partner", "  padded ", 'say "hi"', "a\\b"]
    assert parse_lines('Name equals "  x  "')[0].value == "  x  "
    assert parse_lines('Name equals ""')[0].value == ""
    assert parse_lines('Name equals a "quoted" word')[0].value == 'a "quoted" word', "inner quotes are text"


ROUND_TRIP = [
    Condition("Name", "equals", "plain"),
    Condition("Name", "equals", ""),
    Condition("Name", "not_equals", "  lead and trail  "),
    Condition("Name", "contains", '"starts with a quote'),
    Condition("Name", "contains", "comma, outside a list"),
    Condition("Name", "starts_with", 'back\\slash and \\" mix'),
    Condition("Name", "equals", "two\nlines\r\nand CR"),
    Condition("Name", "equals", "' OR Id != null --"),
    Condition("Name", "equals", "ünïcødé ✓ 名前"),
    Condition("Type", "in_list", ["a, b", "", " c", 'd"', "e"]),
    Condition("Type", "in_list", ["single"]),
    Condition("Phone", "is_blank", None),
    Condition("Phone", "is_not_blank", None),
]


@pytest.mark.parametrize("condition", ROUND_TRIP, ids=range(len(ROUND_TRIP)))
def test_format_then_parse_is_the_identity(condition):
    text = format_lines([condition])
    assert "\n" not in text and "\r" not in text, "one condition stays on one line"
    assert parse_lines(text) == [condition]


def test_a_whole_filter_round_trips_and_through_json():
    text = format_lines(ROUND_TRIP)
    assert parse_lines(text) == ROUND_TRIP
    assert conditions_from_json(conditions_to_json(ROUND_TRIP)) == ROUND_TRIP


def test_every_operator_formats_canonically():
    for op in OPERATORS:
        cond = Condition("Name", op, None if "blank" in op else ["x"] if op == "in_list" else "x")
        assert parse_lines(format_lines([cond])) == [cond]


def test_blank_lines_are_skipped_and_line_numbers_kept():
    numbered = parse_numbered("\n  \nName equals a\r\n\r\nPhone is_blank\rType in_list x")
    assert [n for n, _ in numbered] == [3, 5, 6]
    assert parse_lines("") == [] and parse_lines("   \n\n") == []


def test_errors_name_every_bad_line_and_the_fix():
    text = "\n".join(
        [
            "Industry equals Banking",
            "Industry",
            "Industry equal Banking",
            "Bad-Field equals x",
            "Phone is_blank 123",
            "Type in_list a,,b",
            "Type in_list a, b,",
            "Type in_list",
            'Name equals "unclosed',
            'Name equals "a" trailing',
            'Type in_list "a" "b"',
        ]
    )
    with pytest.raises(FilterTextError) as caught:
        parse_lines(text)
    errors = {e.line: e.message for e in caught.value.errors}
    assert sorted(errors) == list(range(2, 12))
    assert "needs an operator" in errors[2]
    assert "did you mean equals" in errors[3]
    assert "not a field API name" in errors[4]
    assert "takes no value" in errors[5] and "123" in errors[5]
    assert "extra comma" in errors[6]
    assert "ends with a comma" in errors[7]
    assert "needs values" in errors[8]
    assert "not closed" in errors[9]
    assert "trailing" in errors[10]
    assert "Expected a comma" in errors[11]
    assert str(caught.value).startswith("Line 2: ")


@pytest.mark.parametrize(
    "value",
    [
        "x' OR Name != null OR Name = 'y",
        "\\' OR 1=1 --",
        "%_wild%",
        "Robert'); DELETE FROM Account;--",
        "a" * 5000,
    ],
)
def test_hostile_values_stay_data_and_compile_to_escaped_soql(value):
    [cond] = parse_lines(f"Name equals {value}")
    assert cond.value == value
    where = compile_where([cond], ACCOUNT)
    assert where.startswith("Name = '") and where.endswith("'")
    inner = where[len("Name = '") : -1]
    assert "'" not in inner.replace("\\'", ""), "every quote of the value is escaped"


def test_control_characters_reach_validation_and_are_refused_there():
    from replication.filters import validate

    [cond] = parse_lines("Name equals a\x00b")
    assert "control character" in validate([cond], ACCOUNT)[0].message


@pytest.mark.parametrize(
    "line", ["Industry equals", "Industry not_equals  ", "Industry greater than", "Industry ="]
)
def test_an_operator_without_a_value_names_the_condition(line):
    """Issue 17: "Industry equals" alone was taken as "equals null"; now it is an error naming
    the condition and the way to match blank values."""
    with pytest.raises(FilterTextError) as caught:
        parse_lines(f"Name equals Acme\n{line}")
    [error] = caught.value.errors
    assert error.line == 2
    assert "Industry" in error.message and "has no value" in error.message
    assert "is_blank" in error.message or "is_not_blank" in error.message


def test_stored_equals_null_is_shown_as_is_blank():
    """Conditions stored as "equals null" before a value was required read back as parseable text
    with the same meaning (SOQL's ``= null`` is what is_blank matches)."""
    text = format_lines([Condition("Industry", "equals", None), Condition("Phone", "not_equals", None)])
    assert text == "Industry is_blank\nPhone is_not_blank"
    assert parse_lines(text) == [
        Condition("Industry", "is_blank", None),
        Condition("Phone", "is_not_blank", None),
    ]
