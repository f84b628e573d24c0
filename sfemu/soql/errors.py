"""SOQL errors with Salesforce's caret-formatted messages.

Salesforce echoes the offending line of the statement, a caret under the error position and
``ERROR at Row:r:Column:c`` (both 1-based) before the actual text, e.g. (REC:cumulusci/
composite_query_count_with_INVALID_TYPE.yaml; ``⏎`` is a newline)::

    ⏎select count() from XYZZY⏎                    ^⏎ERROR at Row:1:Column:21⏎sObject type ...
"""

from __future__ import annotations

from sfemu.errors import SalesforceError

WSDL_HINT = "Please reference your WSDL or the describe call for the appropriate names."


class SoqlError(SalesforceError):
    """A query Salesforce refuses (MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE, ...), HTTP 400."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(error_code, message, status=400)


def caret_message(text: str, pos: int, detail: str) -> str:
    """``detail`` prefixed with the echoed line, a caret at ``pos`` and the row/column line."""
    pos = max(0, min(pos, len(text)))
    line_start = text.rfind("\n", 0, pos) + 1
    line_end = text.find("\n", pos)
    if line_end < 0:
        line_end = len(text)
    row = text.count("\n", 0, pos) + 1
    column = pos - line_start + 1
    line = text[line_start:line_end].rstrip("\r")
    return f"\n{line}\n{' ' * (column - 1)}^\nERROR at Row:{row}:Column:{column}\n{detail}"


def at(error_code: str, text: str, pos: int, detail: str) -> SoqlError:
    """A SoqlError whose message points at ``pos`` in ``text``."""
    return SoqlError(error_code, caret_message(text, pos, detail))


def malformed(text: str, pos: int, detail: str) -> SoqlError:
    return at("MALFORMED_QUERY", text, pos, detail)


def unexpected_token(text: str, pos: int, token: str) -> SoqlError:
    return malformed(text, pos, f"unexpected token: '{token}'")


def no_such_column(text: str, pos: int, column: str, entity: str) -> SoqlError:
    return at(
        "INVALID_FIELD",
        text,
        pos,
        f"No such column '{column}' on entity '{entity}'. If you are attempting to use a "
        f"custom field, be sure to append the '__c' after the custom field name. {WSDL_HINT}",
    )


def bad_relationship(text: str, pos: int, name: str) -> SoqlError:
    return at(
        "INVALID_FIELD",
        text,
        pos,
        f"Didn't understand relationship '{name}' in field path. If you are attempting to use "
        f"a custom relationship, be sure to append the '__r' after the custom relationship "
        f"name. {WSDL_HINT}",
    )


def bad_child_relationship(text: str, pos: int, name: str) -> SoqlError:
    return at(
        "INVALID_TYPE",
        text,
        pos,
        f"Didn't understand relationship '{name}' in FROM part of query call. If you are "
        f"attempting to use a custom relationship, be sure to append the '__r' after the "
        f"custom relationship name. {WSDL_HINT}",
    )


def unknown_object(text: str, pos: int, name: str) -> SoqlError:
    return at(
        "INVALID_TYPE",
        text,
        pos,
        f"sObject type '{name}' is not supported. If you are attempting to use a custom "
        f"object, be sure to append the '__c' after the entity name. {WSDL_HINT}",
    )


def wrong_value_type(text: str, pos: int, field: str, type_name: str, *, quoted: bool) -> SoqlError:
    """Literal of the wrong kind for the field (``CreatedDate > '2024-01-01'``)."""
    quotes = "should be enclosed in quotes" if quoted else "should not be enclosed in quotes"
    return at(
        "INVALID_FIELD",
        text,
        pos,
        f"value of filter criterion for field '{field}' must be of type {type_name} and {quotes}",
    )
