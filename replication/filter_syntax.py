"""The line syntax admins type filters in: one condition per line, ``field operator [value]``.

::

    Industry equals Banking
    AnnualRevenue greater_than 1000000
    Type in_list Customer - Direct, Partner, "Reseller, EMEA"
    Phone is_not_blank

- The operator is one of :data:`replication.filters.OPERATORS`; case and ``_``/space don't
  matter (``is not blank``, ``Greater Than``), and ``=``, ``!=``, ``<>``, ``>``, ``<`` work too.
- The value is the rest of the line, spaces trimmed; commas are plain text except in ``in_list``,
  where they separate values. Quote a value with ``"…"`` to keep a comma in a list item, or
  leading/trailing spaces, or a leading quote; inside quotes ``\\"`` is a quote, ``\\\\`` a
  backslash, and ``\\n``/``\\r`` a line break. Nothing else is special: values are data, never
  SOQL (see ``replication.filters``).
- Every operator but ``is_blank``/``is_not_blank`` needs a value: ``Industry equals`` alone is an
  error naming the condition (write ``Industry is_blank`` to match blank values, or ``Industry
  equals ""`` for the empty text). Blank lines are skipped.

:func:`format_lines` writes conditions back in the same syntax, so ``parse_lines(format_lines(c))
== c`` for any valid list of conditions.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from replication.errors import ReplicationError
from replication.filters import IN_LIST, IS_BLANK, IS_NOT_BLANK, OPERATORS, Condition

__all__ = [
    "FilterTextError",
    "LineError",
    "conditions_from_json",
    "conditions_to_json",
    "format_condition",
    "format_lines",
    "parse_lines",
    "parse_numbered",
]

_FIELD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_BLANK_OPERATORS = (IS_BLANK, IS_NOT_BLANK)
_UNESCAPES = {'"': '"', "\\": "\\", "n": "\n", "r": "\r"}
_ESCAPES = {v: "\\" + k for k, v in _UNESCAPES.items()}
_SYMBOLS = {"=": "equals", "==": "equals", "!=": "not_equals", "<>": "not_equals", ">": "greater_than"}
_SYMBOLS["<"] = "less_than"
# Operator phrases as word tuples ("is not blank" → is_not_blank), longest first so the longest wins.
_PHRASES = sorted(
    [(tuple(op.split("_")), op) for op in OPERATORS]
    + [((op,), op) for op in OPERATORS]
    + [((s,), op) for s, op in _SYMBOLS.items()],
    key=lambda item: -len(item[0]),
)


@dataclass(frozen=True)
class LineError:
    line: int  # 1-based
    message: str

    def __str__(self) -> str:
        return f"Line {self.line}: {self.message}"


class FilterTextError(ReplicationError):
    """A filter that can't be used; ``errors`` says what is wrong on which line, and the fix."""

    def __init__(self, errors: Sequence[LineError]) -> None:
        self.errors = list(errors)
        super().__init__(" ".join(str(e) for e in self.errors))

    @property
    def messages(self) -> list[str]:
        return [str(e) for e in self.errors]


# ----------------------------------------------------------------------------------- parsing
def parse_lines(text: str) -> list[Condition]:
    """The conditions of a filter text; raises :class:`FilterTextError` naming each bad line."""
    return [condition for _, condition in parse_numbered(text)]


def parse_numbered(text: str) -> list[tuple[int, Condition]]:
    """Like :func:`parse_lines`, with each condition's 1-based line number."""
    parsed: list[tuple[int, Condition]] = []
    errors: list[LineError] = []
    for number, line in enumerate(_LINE_BREAK.split(text or ""), start=1):
        if not line.strip():
            continue
        try:
            parsed.append((number, _parse_line(line)))
        except _SyntaxProblem as problem:
            errors.append(LineError(number, str(problem)))
    if errors:
        raise FilterTextError(errors)
    return parsed


class _SyntaxProblem(Exception):
    pass


def _parse_line(line: str) -> Condition:
    field, rest = _split_word(line.strip())
    if not _FIELD.fullmatch(field):
        raise _SyntaxProblem(
            f"“{field}” is not a field API name: start the line with a field such as Industry or Region__c."
        )
    operator, value_text = _take_operator(field, rest)
    if operator in _BLANK_OPERATORS:
        if value_text:
            raise _SyntaxProblem(f"{operator} takes no value: remove “{value_text}”.")
        return Condition(field, operator, None)
    if not value_text and operator != IN_LIST:
        blank = IS_NOT_BLANK if operator == "not_equals" else IS_BLANK
        raise _SyntaxProblem(
            f"“{field} {operator}” has no value: add the value to compare {field} with "
            f"(e.g. {field} {operator} Banking), or write “{field} {blank}” to match blank values."
        )
    if operator == IN_LIST:
        return Condition(field, operator, _list_values(value_text))
    return Condition(field, operator, _single_value(value_text))


def _split_word(text: str) -> tuple[str, str]:
    parts = text.split(None, 1)
    return parts[0], (parts[1] if len(parts) > 1 else "")


def _take_operator(field: str, rest: str) -> tuple[str, str]:
    words = rest.split()
    if not words:
        raise _SyntaxProblem(f"{field} needs an operator: one of {', '.join(OPERATORS)}.")
    lowered = [w.lower() for w in words]
    for phrase, operator in _PHRASES:
        if tuple(lowered[: len(phrase)]) == phrase:
            return operator, _drop_words(rest, len(phrase))
    close = difflib.get_close_matches(lowered[0], OPERATORS, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]}? Operators are" if close else "use one of"
    raise _SyntaxProblem(f"Unknown operator “{words[0]}” after {field}: {hint} {', '.join(OPERATORS)}.")


def _drop_words(text: str, count: int) -> str:
    """``text`` without its first ``count`` words, leading and trailing whitespace trimmed."""
    for _ in range(count):
        text = _split_word(text.strip())[1]
    return text.strip()


def _single_value(text: str) -> str | None:
    if not text:
        return None
    if not text.startswith('"'):
        return text
    value, rest = _quoted(text)
    if rest.strip():
        raise _SyntaxProblem(
            f"Unexpected text after the quoted value: “{rest.strip()}”. Put the whole value in quotes."
        )
    return value


def _list_values(text: str) -> list[str]:
    if not text:
        raise _SyntaxProblem('in_list needs values separated by commas, e.g. "Partner, Customer".')
    values: list[str] = []
    rest = text
    while True:
        rest = rest.lstrip()
        if rest.startswith('"'):
            value, rest = _quoted(rest)
            rest = rest.lstrip()
            if rest and not rest.startswith(","):
                raise _SyntaxProblem(f"Expected a comma after “{value}”, found “{rest}”.")
        else:
            value, comma, tail = rest.partition(",")
            value, rest = value.strip(), comma + tail
            if not value:
                raise _SyntaxProblem(
                    f"Empty value in the list after {len(values)} value(s): remove the extra comma."
                )
        values.append(value)
        if not rest:
            return values
        rest = rest[1:]  # the comma
        if not rest.strip():
            raise _SyntaxProblem("The list ends with a comma: remove it, or add the last value.")


def _quoted(text: str) -> tuple[str, str]:
    """The value of the quoted string at the start of ``text`` and the text after it."""
    chars: list[str] = []
    i = 1
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text) and text[i + 1] in _UNESCAPES:
            chars.append(_UNESCAPES[text[i + 1]])
            i += 2
            continue
        if c == '"':
            return "".join(chars), text[i + 1 :]
        chars.append(c)
        i += 1
    raise _SyntaxProblem(f'The quote in “{text}” is not closed: add the closing ".')


# -------------------------------------------------------------------------------- formatting
def format_lines(conditions: Iterable[Condition]) -> str:
    """The filter text of ``conditions``, one per line (the inverse of :func:`parse_lines`)."""
    return "\n".join(format_condition(c) for c in conditions)


def format_condition(condition: Condition) -> str:
    head = f"{condition.field} {condition.operator}"
    value = condition.value
    if value is None and condition.operator in ("equals", "not_equals"):
        # Stored before a value was required: "equals null" is what is_blank matches.
        return f"{condition.field} {IS_NOT_BLANK if condition.operator == 'not_equals' else IS_BLANK}"
    if value is None:
        return head
    if isinstance(value, list | tuple):
        return f"{head} {', '.join(_format_item(v, in_list=True) for v in value)}"
    return f"{head} {_format_item(value, in_list=False)}"


def _format_item(value: str, *, in_list: bool) -> str:
    needs_quotes = (
        value == ""
        or value != value.strip()
        or value.startswith('"')
        or (in_list and "," in value)
        or bool(_LINE_BREAK.search(value))
    )
    if not needs_quotes:
        return value
    return '"' + "".join(_ESCAPES.get(c, c) for c in value) + '"'


# ------------------------------------------------------------------------------- JSON storage
def conditions_to_json(conditions: Iterable[Condition]) -> list[dict]:
    """The form ``PublishedObject.filter_conditions`` stores."""
    return [
        {
            "field": c.field,
            "operator": c.operator,
            "value": list(c.value) if isinstance(c.value, list | tuple) else c.value,
        }
        for c in conditions
    ]


def conditions_from_json(data: Iterable[dict] | None) -> list[Condition]:
    return [Condition(d["field"], d["operator"], d.get("value")) for d in data or ()]
