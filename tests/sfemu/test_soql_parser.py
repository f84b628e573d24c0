"""Grammar coverage: every construct parses to the expected AST; syntax errors as Salesforce."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from sfemu.soql import SoqlError, ast, parse


def where(text: str) -> ast.Condition:
    condition = parse(f"SELECT Id FROM Account WHERE {text}").where
    assert condition is not None
    return condition


def value_of(text: str) -> ast.Literal:
    cond = where(f"X__c = {text}")
    assert isinstance(cond, ast.Comparison)
    return cond.value


def syntax_message(text: str) -> str:
    with pytest.raises(SoqlError) as caught:
        parse(text)
    assert caught.value.error_code == "MALFORMED_QUERY"
    assert caught.value.status == 400
    return caught.value.message


# ---------------------------------------------------------------------------- select list


def test_plain_fields_keep_their_written_case_and_position():
    query = parse("select id, NAME, Custom__c from account")
    assert query.sobject == "account"
    assert query.sobject_pos == 32
    assert [item.path for item in query.select] == [("id",), ("NAME",), ("Custom__c",)]
    assert [item.pos for item in query.select] == [7, 11, 17]


def test_parent_paths_of_any_depth():
    query = parse("SELECT Account.Name, Account.Owner.Profile.Name, Parent__r.Name FROM Contact")
    assert [item.path for item in query.select] == [
        ("Account", "Name"),
        ("Account", "Owner", "Profile", "Name"),
        ("Parent__r", "Name"),
    ]


def test_child_subquery_with_its_own_clauses():
    query = parse(
        "SELECT Name, (SELECT LastName FROM Contacts WHERE LastName != null "
        "ORDER BY LastName DESC LIMIT 3) FROM Account"
    )
    sub = query.select[1]
    assert isinstance(sub, ast.SubQuery)
    assert sub.query.sobject == "Contacts"
    assert sub.query.limit == 3
    assert sub.query.order_by == [ast.OrderItem(ast.FieldRef(("LastName",), 76), True, None)]
    assert isinstance(sub.query.where, ast.Comparison)


def test_count_star_and_count_field_with_alias():
    assert parse("SELECT COUNT() FROM Account").is_count
    query = parse("SELECT count(Id) total, COUNT_DISTINCT(Name), max(Amount) FROM Opportunity")
    assert [(a.func, a.field.path, a.alias) for a in query.select] == [
        ("COUNT", ("Id",), "total"),
        ("COUNT_DISTINCT", ("Name",), None),
        ("MAX", ("Amount",), None),
    ]
    assert query.is_aggregate and not query.is_count


def test_group_by_having_and_order_by_aggregate():
    query = parse(
        "SELECT StageName, SUM(Amount) FROM Opportunity GROUP BY StageName "
        "HAVING SUM(Amount) > 100 ORDER BY SUM(Amount) DESC"
    )
    assert [g.path for g in query.group_by] == [("StageName",)]
    assert isinstance(query.having, ast.Comparison)
    assert query.having.field.func == "SUM"
    assert query.order_by[0].descending and isinstance(query.order_by[0].field, ast.Aggregate)


def test_fields_macro():
    query = parse("SELECT FIELDS(standard) FROM Account")
    assert query.select == [ast.FieldsMacro("STANDARD", pos=7)]


def test_alias_prefix_is_stripped_everywhere():
    query = parse("SELECT a.Name, a.Owner.Name FROM Account a WHERE a.Name != null ORDER BY a.Name")
    assert query.alias == "a"
    assert [i.path for i in query.select] == [("Name",), ("Owner", "Name")]
    assert query.where.field.path == ("Name",)
    assert query.order_by[0].field.path == ("Name",)


# ------------------------------------------------------------------------------ clauses


def test_order_by_directions_and_nulls():
    query = parse(
        "SELECT Id FROM Account ORDER BY Name, Industry asc NULLS LAST, "
        "CreatedDate DESC nulls first, Owner.Name DESC"
    )
    assert [(o.field.path, o.descending, o.nulls_first) for o in query.order_by] == [
        (("Name",), False, None),
        (("Industry",), False, False),
        (("CreatedDate",), True, True),
        (("Owner", "Name"), True, None),
    ]


def test_limit_offset_all_rows_and_for_clauses():
    query = parse("SELECT Id FROM Account LIMIT 10 OFFSET 20 ALL ROWS")
    assert (query.limit, query.offset, query.all_rows) == (10, 20, True)
    assert parse("SELECT Id FROM Account FOR VIEW").for_clause == "VIEW"
    assert parse("SELECT Id FROM Account LIMIT 1 FOR UPDATE").for_clause == "UPDATE"
    assert parse("SELECT Id FROM Account FOR REFERENCE").for_clause == "REFERENCE"
    assert parse("SELECT Id FROM Account UPDATE TRACKING").for_clause is None


def test_using_scope_and_with_clause_are_accepted():
    query = parse("SELECT Id FROM Account USING SCOPE Mine WHERE Name = 'x' WITH SECURITY_ENFORCED")
    assert isinstance(query.where, ast.Comparison)


def test_keywords_are_case_insensitive():
    query = parse("sElEcT Id FrOm Account wHeRe Name LiKe 'a%' AnD NoT Amount In (1) oRdEr By Id")
    assert isinstance(query.where, ast.And)
    assert query.where.items[0].op == "LIKE"
    assert isinstance(query.where.items[1], ast.Not)


def test_objects_named_like_keywords():
    assert parse("SELECT Id FROM Group").sobject == "Group"
    query = parse("SELECT Id FROM Order ORDER BY OrderNumber")
    assert query.sobject == "Order"
    assert query.order_by[0].field.path == ("OrderNumber",)


# --------------------------------------------------------------------------- conditions


@pytest.mark.parametrize("op", ["=", "!=", "<", "<=", ">", ">="])
def test_comparison_operators(op):
    cond = where(f"Amount {op} 5")
    assert (cond.op, cond.value.value) == (op, Decimal(5))


def test_angle_brackets_mean_not_equal():
    assert where("Name <> 'x'").op == "!="


def test_in_not_in_includes_excludes_and_semi_join():
    values = where("Name IN ('a', 'b')").values
    assert values == (ast.StringLit("a", 38, "'a'"), ast.StringLit("b", 43, "'b'"))
    assert where("Name NOT IN ('a')").negated
    cond = where("Regions__c INCLUDES ('a;b', 'c')")
    assert isinstance(cond, ast.Includes) and not cond.excludes
    assert where("Regions__c EXCLUDES ('a')").excludes
    semi = where("Id IN (SELECT AccountId FROM Contact WHERE LastName = 'x')")
    assert isinstance(semi, ast.InSubquery) and semi.query.sobject == "Contact"
    assert where("Id NOT IN (SELECT AccountId FROM Contact)").negated


def test_and_or_not_with_parentheses():
    cond = where("(Name = 'a' OR Name = 'b') AND NOT (Amount > 1 AND Amount < 5)")
    assert isinstance(cond, ast.And)
    assert isinstance(cond.items[0], ast.Or)
    assert isinstance(cond.items[1], ast.Not)
    assert isinstance(cond.items[1].item, ast.And)


def test_top_level_predicates_for_store_prefiltering():
    query = parse(
        "SELECT Id FROM Account WHERE SystemModstamp > 2024-01-01T00:00:00Z "
        "AND Id IN ('001000000000001') AND Owner.Name = 'x' AND (A = 1 OR B = 2) AND IsDeleted = true"
    )
    hints = query.top_level_predicates()
    assert [h.field.path[0] for h in hints] == ["SystemModstamp", "Id", "IsDeleted"]
    assert parse("SELECT Id FROM Account").top_level_predicates() == []
    single = parse("SELECT Id FROM Account WHERE Name = 'x'").top_level_predicates()
    assert [h.value.value for h in single] == ["x"]


# ----------------------------------------------------------------------------- literals


def test_string_escapes():
    assert value_of(r"'it\'s \"q\" \\ \n\t\r\b\f'").value == 'it\'s "q" \\ \n\t\r\b\f'
    assert value_of(r"'100\%\_'").value == "100%_"


def test_numbers_booleans_null():
    assert value_of("42").value == Decimal(42)
    assert value_of("-3.25").value == Decimal("-3.25")
    assert value_of("TRUE") == ast.BoolLit(True, 36)
    assert value_of("false") == ast.BoolLit(False, 36)
    assert value_of("null") == ast.NullLit(36)


def test_date_and_datetime_literals():
    assert value_of("2024-01-31").value == date(2024, 1, 31)
    assert value_of("2024-01-31T12:00:00Z").value == datetime(2024, 1, 31, 12, tzinfo=UTC)
    assert value_of("2024-01-31T12:00:00.000+0000").value == datetime(2024, 1, 31, 12, tzinfo=UTC)
    plus = value_of("2024-01-31T12:00:00+05:30").value
    assert plus == datetime(2024, 1, 31, 12, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    assert value_of("2024-01-31T12:00:00-08:00").value.astimezone(UTC).hour == 20


@pytest.mark.parametrize(
    ("text", "name", "n"),
    [
        ("TODAY", "TODAY", None),
        ("yesterday", "YESTERDAY", None),
        ("THIS_MONTH", "THIS_MONTH", None),
        ("LAST_N_DAYS:30", "LAST_N_DAYS", 30),
        ("next_n_days:7", "NEXT_N_DAYS", 7),
        ("THIS_FISCAL_QUARTER", "THIS_FISCAL_QUARTER", None),
        ("N_YEARS_AGO:2", "N_YEARS_AGO", 2),
    ],
)
def test_relative_date_literals(text, name, n):
    lit = value_of(text)
    assert isinstance(lit, ast.DateRangeLit)
    assert (lit.name, lit.n) == (name, n)


# ------------------------------------------------------------------------ syntax errors


def test_unexpected_token_message_has_salesforce_caret_format():
    assert syntax_message("SELECT Id, FROM Account") == (
        "\nSELECT Id, FROM Account\n           ^\nERROR at Row:1:Column:12\nunexpected token: 'FROM'"
    )


def test_unexpected_end_of_statement():
    assert syntax_message("SELECT Id FROM Account WHERE") == (
        "\nSELECT Id FROM Account WHERE\n                            ^\n"
        "ERROR at Row:1:Column:29\nunexpected token: '<EOF>'"
    )


def test_mixing_and_or_without_parentheses_is_rejected():
    message = syntax_message("SELECT Id FROM Account WHERE A = 1 AND B = 2 OR C = 3")
    assert message.endswith("ERROR at Row:1:Column:46\nunexpected token: 'OR'")


def test_bare_word_as_value():
    message = syntax_message("SELECT Id FROM Account WHERE Name = Acme")
    assert message.endswith("ERROR at Row:1:Column:37\nunexpected token: 'Acme'")


def test_misspelled_keyword():
    assert syntax_message("SELEC Id FROM Account") == (
        "\nSELEC Id FROM Account\n^\nERROR at Row:1:Column:1\nunexpected token: 'SELEC'"
    )


def test_error_on_a_later_line_echoes_that_line():
    assert syntax_message("SELECT Id\nFROM Account\nWHERE Name = = 'x'") == (
        "\nWHERE Name = = 'x'\n             ^\nERROR at Row:3:Column:14\nunexpected token: '='"
    )


def test_unknown_character_and_unterminated_string():
    assert syntax_message("SELECT Id FROM Account WHERE Name = 'a' $").endswith(
        "Column:41\nunexpected token: '$'"
    )
    assert syntax_message("SELECT Id FROM Account WHERE Name = 'abc").endswith(
        "Column:37\nunexpected token: '<EOF>'"
    )


def test_invalid_escape_and_invalid_datetime():
    assert syntax_message(r"SELECT Id FROM Account WHERE Name = 'a\qb'").endswith(
        r"Invalid string literal 'a\qb'. Illegal character sequence '\q' in string literal."
    )
    assert syntax_message("SELECT Id FROM Account WHERE SystemModstamp > 2020-52-12T12:12:00-05:00").endswith(
        "ERROR at Row:1:Column:47\nInvalid datetime: 2020-52-12T12:12:00-05:00"
    )


def test_empty_in_list_and_count_alias():
    assert syntax_message("SELECT Id FROM Account WHERE Id IN ()").endswith("unexpected token: ')'")
    assert syntax_message("SELECT COUNT() c FROM Account").endswith("unexpected token: 'c'")
    assert syntax_message("SELECT SUM() FROM Account").endswith("unexpected token: ')'")


def test_limit_needs_an_integer():
    assert syntax_message("SELECT Id FROM Account LIMIT x").endswith(
        "ERROR at Row:1:Column:30\nunexpected token: 'x'"
    )


def test_statement_length_limit():
    long_list = ", ".join(f"'{i:015d}'" for i in range(6000))
    message = syntax_message(f"SELECT Id FROM Account WHERE Name IN ({long_list})")
    assert message == "SOQL statements cannot be longer than 100,000 characters."
