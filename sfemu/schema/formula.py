"""A small subset of Salesforce formula syntax, for formula fields and validation rules.

Supported: field names, numbers, 'text' / "text", TRUE/FALSE/NULL, + - * / & (concat),
= == != <> < <= > >=, && ||, parentheses and the functions AND, OR, NOT, IF, ISBLANK,
ISNULL, BLANKVALUE, LEN, UPPER, LOWER, TEXT, VALUE, ROUND, ABS, BEGINS, CONTAINS,
ISPICKVAL, TODAY, NOW. Null propagates through arithmetic like in Salesforce.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sfemu.errors import SalesforceError

_TOKEN_RE = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<str>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_.]*)|(?P<op>&&|\|\||==|!=|<>|<=|>=|[-+*/&=<>(),!]))"
)
_BINARY = {
    "||": 1,
    "&&": 2,
    "=": 3,
    "==": 3,
    "!=": 3,
    "<>": 3,
    "<": 4,
    "<=": 4,
    ">": 4,
    ">=": 4,
    "+": 5,
    "-": 5,
    "&": 5,
    "*": 6,
    "/": 6,
}


def formula_error(text: str) -> SalesforceError:
    return SalesforceError("INVALID_FIELD", f"Invalid formula: {text}")


@dataclass(frozen=True)
class Node:
    kind: str  # num, str, bool, null, field, call, binary, unary
    value: Any = None
    args: tuple[Node, ...] = ()


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if not m or m.end() == pos:
            raise formula_error(text)
        kind = m.lastgroup or "op"
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            raise formula_error(self.text)
        self.pos += 1
        return token

    def parse(self) -> Node:
        node = self.expr(0)
        if self.peek() is not None:
            raise formula_error(self.text)
        return node

    def expr(self, min_prec: int) -> Node:
        left = self.atom()
        while True:
            token = self.peek()
            if token is None or token[0] != "op" or token[1] not in _BINARY:
                return left
            prec = _BINARY[token[1]]
            if prec < min_prec:
                return left
            self.take()
            right = self.expr(prec + 1)
            left = Node("binary", token[1], (left, right))

    def atom(self) -> Node:
        kind, value = self.take()
        if kind == "num":
            return Node("num", float(value) if "." in value else int(value))
        if kind == "str":
            return Node("str", bytes(value[1:-1], "utf-8").decode("unicode_escape"))
        if kind == "op" and value == "(":
            node = self.expr(0)
            self.take(")")
            return node
        if kind == "op" and value in ("-", "!"):
            return Node("unary", value, (self.atom(),))
        if kind != "name":
            raise formula_error(self.text)
        upper = value.upper()
        if upper in ("TRUE", "FALSE"):
            return Node("bool", upper == "TRUE")
        if upper == "NULL":
            return Node("null")
        if self.peek() == ("op", "("):
            return self.call(upper)
        return Node("field", value)

    def call(self, name: str) -> Node:
        self.take("(")
        args: list[Node] = []
        if self.peek() != ("op", ")"):
            args.append(self.expr(0))
            while self.peek() == ("op", ","):
                self.take()
                args.append(self.expr(0))
        self.take(")")
        return Node("call", name, tuple(args))


def parse(text: str) -> Node:
    """Parse a formula; INVALID_FIELD on syntax errors."""
    return _Parser(text).parse()


def field_names(node: Node) -> set[str]:
    """Field names a formula reads."""
    if node.kind == "field":
        return {node.value}
    names: set[str] = set()
    for arg in node.args:
        names |= field_names(arg)
    return names


def _blank(value: Any) -> bool:
    return value is None or value == ""


def _num(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return value


def _arith(op: str, a: Any, b: Any) -> Any:
    if op == "&":
        return f"{'' if a is None else a}{'' if b is None else b}"
    if a is None or b is None:
        return None
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if b == 0:
        return None
    return a / b


def _compare(op: str, a: Any, b: Any) -> Any:
    if op in ("=", "=="):
        return (a or None) == (b or None) if _blank(a) or _blank(b) else a == b
    if op in ("!=", "<>"):
        return not _compare("=", a, b)
    if a is None or b is None:
        return None
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


class Evaluator:
    """Evaluates a parsed formula over a row (wire-format values)."""

    def __init__(
        self,
        row: Mapping[str, Any],
        lookup: Callable[[str], Any] | None = None,
        today: Callable[[], date] | None = None,
    ) -> None:
        self.row = {k.lower(): v for k, v in row.items()}
        self.lookup = lookup
        self.today = today or date.today

    def eval(self, node: Node) -> Any:
        kind = node.kind
        if kind in ("num", "str", "bool"):
            return node.value
        if kind == "null":
            return None
        if kind == "field":
            name = node.value.lower()
            if "." in name and self.lookup is not None:
                return self.lookup(node.value)
            return self.row.get(name)
        if kind == "unary":
            value = self.eval(node.args[0])
            if node.value == "!":
                return None if value is None else not value
            return None if value is None else -value
        if kind == "binary":
            return self.binary(node)
        return self.call(node.value, node.args)

    def binary(self, node: Node) -> Any:
        op = node.value
        if op == "&&":
            return bool(self.eval(node.args[0])) and bool(self.eval(node.args[1]))
        if op == "||":
            return bool(self.eval(node.args[0])) or bool(self.eval(node.args[1]))
        a, b = (self.eval(arg) for arg in node.args)
        if op in ("+", "-", "*", "/", "&"):
            return _arith(op, a, b)
        return _compare(op, a, b)

    def call(self, name: str, args: tuple[Node, ...]) -> Any:
        ev = self.eval
        if name == "IF":
            return ev(args[1]) if ev(args[0]) else ev(args[2])
        if name == "AND":
            return all(bool(ev(a)) for a in args)
        if name == "OR":
            return any(bool(ev(a)) for a in args)
        values = [ev(a) for a in args]
        simple: dict[str, Callable[[], Any]] = {
            "NOT": lambda: not values[0],
            "ISBLANK": lambda: _blank(values[0]),
            "ISNULL": lambda: _blank(values[0]),
            "BLANKVALUE": lambda: values[1] if _blank(values[0]) else values[0],
            "NULLVALUE": lambda: values[1] if _blank(values[0]) else values[0],
            "LEN": lambda: len(values[0] or ""),
            "UPPER": lambda: None if values[0] is None else str(values[0]).upper(),
            "LOWER": lambda: None if values[0] is None else str(values[0]).lower(),
            "TEXT": lambda: None if values[0] is None else _text(values[0]),
            "VALUE": lambda: _num(values[0]),
            "ROUND": lambda: None if values[0] is None else round(values[0], int(values[1])),
            "ABS": lambda: None if values[0] is None else abs(values[0]),
            "BEGINS": lambda: str(values[0] or "").startswith(str(values[1] or "")),
            "CONTAINS": lambda: str(values[1] or "") in str(values[0] or ""),
            "ISPICKVAL": lambda: (values[0] or "") == (values[1] or ""),
            "TODAY": lambda: self.today().isoformat(),
            "NOW": lambda: datetime.now().isoformat(),
        }
        if name not in simple:
            raise formula_error(name)
        return simple[name]()


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def evaluate(text_or_node: str | Node, row: Mapping[str, Any], **kw: Any) -> Any:
    """Evaluate ``text_or_node`` over ``row``."""
    node = parse(text_or_node) if isinstance(text_or_node, str) else text_or_node
    return Evaluator(row, **kw).eval(node)
