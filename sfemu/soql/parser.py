"""SOQL text → :class:`~sfemu.soql.ast.Query`, with Salesforce's MALFORMED_QUERY messages."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer, exceptions

from sfemu.soql import ast
from sfemu.soql.errors import SoqlError, malformed, unexpected_token

# Words that can never be a field or object name. GROUP and ORDER are missing on purpose:
# ``FROM Group`` and ``FROM Order`` are valid SOQL.
_RESERVED = frozenset(
    {"SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "NULL", "NULLS", "INCLUDES"}
    | {"EXCLUDES", "HAVING", "LIMIT", "OFFSET", "ASC", "DESC", "FIRST", "LAST", "TRUE", "FALSE"}
    | {"WITH"}
)
_ESCAPES = {
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "b": "\b",
    "f": "\f",
    '"': '"',
    "'": "'",
    "\\": "\\",
    "_": "_",
    "%": "%",
}
MAX_QUERY_LENGTH = 100_000


class _ReservedWord(Exception):
    def __init__(self, token: Token) -> None:
        super().__init__(str(token))
        self.token = token


def _reject_reserved(token: Token) -> Token:
    """A keyword lexed as NAME means the keyword was not acceptable here: a syntax error."""
    if token.value.upper() in _RESERVED:
        raise _ReservedWord(token)
    return token


_GRAMMAR = (Path(__file__).with_name("grammar.lark")).read_text(encoding="utf-8")
_PARSER = Lark(
    _GRAMMAR,
    parser="lalr",
    lexer="contextual",
    maybe_placeholders=False,
    lexer_callbacks={"NAME": _reject_reserved},
    cache=True,  # building the LALR tables takes ~1 s; lark caches them in the temp dir
)


def parse(text: str) -> ast.Query:
    """Parse one SOQL statement; raise :class:`SoqlError` (MALFORMED_QUERY) when invalid."""
    if len(text) > MAX_QUERY_LENGTH:
        raise SoqlError(
            "MALFORMED_QUERY",
            f"SOQL statements cannot be longer than {MAX_QUERY_LENGTH:,} characters.",
        )
    try:
        tree = _PARSER.parse(text)
    except _ReservedWord as err:
        raise unexpected_token(text, err.token.start_pos, err.token.value) from None
    except exceptions.UnexpectedInput as err:
        raise _syntax_error(text, err) from None
    try:
        return _Builder(text).transform(tree)
    except exceptions.VisitError as err:
        if isinstance(err.orig_exc, SoqlError):
            raise err.orig_exc from None
        raise


def _syntax_error(text: str, err: exceptions.UnexpectedInput) -> SoqlError:
    if isinstance(err, exceptions.UnexpectedToken) and err.token.type != "$END":
        return unexpected_token(text, err.token.start_pos, err.token.value)
    if isinstance(err, exceptions.UnexpectedCharacters):
        pos = err.pos_in_stream
        if text[pos] == "'":  # an unterminated string runs to the end of the statement
            return unexpected_token(text, pos, "<EOF>")
        return unexpected_token(text, pos, text[pos])
    return unexpected_token(text, len(text.rstrip()), "<EOF>")


def _unescape(text: str, token: Token) -> str:
    body = token.value[1:-1]
    if "\\" not in body:
        return body
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        decoded = _ESCAPES.get(nxt.lower())
        if decoded is None:
            raise malformed(
                text,
                token.start_pos,
                f"Invalid string literal '{body}'. Illegal character sequence '\\{nxt}' in string literal.",
            )
        out.append(decoded)
        i += 2
    return "".join(out)


def _tagged(children: list[Any]) -> dict[str, Any]:
    """Collect the ("tag", value) tuples the clause rules return."""
    return {child[0]: child[1] for child in children if isinstance(child, tuple)}


class _Builder(Transformer):
    """Turns the lark tree into AST dataclasses; method names are grammar rule names."""

    def __init__(self, text: str) -> None:
        super().__init__(visit_tokens=False)
        self.text = text

    # --------------------------------------------------------------------- query
    def start(self, children: list[Any]) -> ast.Query:
        return children[0]

    def query(self, children: list[Any]) -> ast.Query:
        select, sobject = children[0], children[1]
        clauses = _tagged(children[2:])
        limit = clauses.get("limit")
        offset = clauses.get("offset")
        query = ast.Query(
            select=select,
            sobject=sobject.value,
            sobject_pos=sobject.start_pos,
            alias=clauses.get("alias"),
            where=clauses.get("where"),
            group_by=clauses.get("group_by", []),
            having=clauses.get("having"),
            order_by=clauses.get("order_by", []),
            limit=limit[0] if limit else None,
            limit_pos=limit[1] if limit else 0,
            offset=offset[0] if offset else None,
            offset_pos=offset[1] if offset else 0,
            all_rows=bool(clauses.get("all_rows")),
            for_clause=clauses.get("for"),
            text=self.text,
        )
        if query.alias:
            _strip_alias(query)
        return query

    def select_list(self, children: list[Any]) -> list[ast.SelectItem]:
        return list(children)

    def alias(self, children: list[Token]) -> tuple[str, str]:
        return ("alias", children[0].value)

    def using_scope(self, children: list[Token]) -> tuple[str, None]:
        return ("using", None)

    def with_clause(self, children: list[Token]) -> tuple[str, None]:
        return ("with", None)

    def where(self, children: list[Any]) -> tuple[str, ast.Condition]:
        return ("where", children[0])

    def having(self, children: list[Any]) -> tuple[str, ast.Condition]:
        return ("having", children[0])

    def group_by(self, children: list[ast.FieldRef]) -> tuple[str, list[ast.FieldRef]]:
        return ("group_by", list(children))

    def order_by(self, children: list[ast.OrderItem]) -> tuple[str, list[ast.OrderItem]]:
        return ("order_by", list(children))

    def order_item(self, children: list[Any]) -> ast.OrderItem:
        descending = False
        nulls_first: bool | None = None
        for child in children[1:]:
            if child in ("ASC", "DESC"):
                descending = child == "DESC"
            else:
                nulls_first = child == "FIRST"
        return ast.OrderItem(children[0], descending=descending, nulls_first=nulls_first)

    def direction(self, children: list[Token]) -> str:
        return children[0].value.upper()

    def nulls(self, children: list[Token]) -> str:
        return children[-1].value.upper()

    def limit(self, children: list[Token]) -> tuple[str, tuple[int, int]]:
        return ("limit", (int(children[1].value), children[1].start_pos))

    def offset(self, children: list[Token]) -> tuple[str, tuple[int, int]]:
        return ("offset", (int(children[1].value), children[1].start_pos))

    def for_clause(self, children: list[Token]) -> tuple[str, str]:
        return ("for", children[0].value.upper())

    def all_rows(self, children: list[Token]) -> tuple[str, bool]:
        return ("all_rows", True)

    def update_clause(self, children: list[Token]) -> tuple[str, None]:
        return ("update", None)

    # -------------------------------------------------------------------- select
    def field_path(self, children: list[Token]) -> ast.FieldRef:
        return ast.FieldRef(tuple(t.value for t in children), pos=children[0].start_pos)

    def agg_func(self, children: list[Token]) -> Token:
        return children[0]

    def agg_call(self, children: list[Any]) -> ast.Aggregate:
        func: Token = children[0]
        field = children[1] if len(children) > 1 else None
        name = func.value.upper()
        if field is None and name != "COUNT":
            close = self.text.find(")", func.end_pos)
            raise unexpected_token(self.text, close, ")")
        return ast.Aggregate(name, field, pos=func.start_pos)

    def select_aggregate(self, children: list[Any]) -> ast.Aggregate | ast.CountAll:
        agg: ast.Aggregate = children[0]
        alias = children[1][1] if len(children) > 1 else None
        if agg.field is None:
            if alias is not None:
                raise unexpected_token(self.text, self._alias_pos(agg, alias), alias)
            return ast.CountAll(pos=agg.pos)
        return dataclasses.replace(agg, alias=alias)

    def _alias_pos(self, agg: ast.Aggregate, alias: str) -> int:
        return self.text.find(alias, agg.pos)

    def fields_macro(self, children: list[Token]) -> ast.FieldsMacro:
        kind = children[1]
        if kind.value.upper() not in ("ALL", "STANDARD", "CUSTOM"):
            raise unexpected_token(self.text, kind.start_pos, kind.value)
        return ast.FieldsMacro(kind.value.upper(), pos=children[0].start_pos)

    def subquery(self, children: list[ast.Query]) -> ast.SubQuery:
        return ast.SubQuery(children[0], pos=children[0].sobject_pos)

    # ----------------------------------------------------------------- condition
    def and_(self, children: list[ast.Condition]) -> ast.And:
        return ast.And(tuple(children))

    def or_(self, children: list[ast.Condition]) -> ast.Or:
        return ast.Or(tuple(children))

    def not_(self, children: list[ast.Condition]) -> ast.Not:
        return ast.Not(children[0])

    def compare(self, children: list[Any]) -> ast.Comparison:
        operand, op, value = children
        op_text = "!=" if op.value == "<>" else op.value
        return ast.Comparison(operand, op_text, value, pos=operand.pos)

    def like(self, children: list[Any]) -> ast.Comparison:
        return ast.Comparison(children[0], "LIKE", children[1], pos=children[0].pos)

    def in_list(self, children: list[Any], negated: bool = False) -> ast.InList:
        self._plain_operand(children[0])
        return ast.InList(children[0], children[1], negated=negated, pos=children[0].pos)

    def not_in_list(self, children: list[Any]) -> ast.InList:
        return self.in_list(children, negated=True)

    def in_query(self, children: list[Any], negated: bool = False) -> ast.InSubquery:
        self._plain_operand(children[0])
        return ast.InSubquery(children[0], children[1], negated=negated, pos=children[0].pos)

    def not_in_query(self, children: list[Any]) -> ast.InSubquery:
        return self.in_query(children, negated=True)

    def includes(self, children: list[Any], excludes: bool = False) -> ast.Includes:
        self._plain_operand(children[0])
        return ast.Includes(children[0], children[1], excludes=excludes, pos=children[0].pos)

    def excludes(self, children: list[Any]) -> ast.Includes:
        return self.includes(children, excludes=True)

    def _plain_operand(self, operand: Any) -> None:
        if not isinstance(operand, ast.FieldRef):
            raise malformed(self.text, operand.pos, "unexpected token: 'IN'")

    def value_list(self, children: list[ast.Literal]) -> tuple[ast.Literal, ...]:
        return tuple(children)

    # ------------------------------------------------------------------- values
    def string(self, children: list[Token]) -> ast.StringLit:
        tok = children[0]
        return ast.StringLit(_unescape(self.text, tok), pos=tok.start_pos, raw=tok.value)

    def number(self, children: list[Token]) -> ast.NumberLit:
        tok = children[0]
        return ast.NumberLit(Decimal(tok.value), pos=tok.start_pos, text=tok.value)

    def true(self, children: list[Token]) -> ast.BoolLit:
        return ast.BoolLit(True, pos=children[0].start_pos)

    def false(self, children: list[Token]) -> ast.BoolLit:
        return ast.BoolLit(False, pos=children[0].start_pos)

    def null(self, children: list[Token]) -> ast.NullLit:
        return ast.NullLit(pos=children[0].start_pos)

    def datetime(self, children: list[Token]) -> ast.DateTimeLit:
        tok = children[0]
        try:
            value = datetime.fromisoformat(tok.value.upper())
        except ValueError:
            raise malformed(self.text, tok.start_pos, f"Invalid datetime: {tok.value}") from None
        return ast.DateTimeLit(value, pos=tok.start_pos, text=tok.value)

    def date(self, children: list[Token]) -> ast.DateLit:
        tok = children[0]
        try:
            value = date.fromisoformat(tok.value)
        except ValueError:
            raise malformed(self.text, tok.start_pos, f"Invalid date: {tok.value}") from None
        return ast.DateLit(value, pos=tok.start_pos, text=tok.value)

    def date_literal(self, children: list[Token]) -> ast.DateRangeLit:
        tok = children[0]
        return ast.DateRangeLit(tok.value.upper(), None, pos=tok.start_pos, text=tok.value)

    def date_n_literal(self, children: list[Token]) -> ast.DateRangeLit:
        tok = children[0]
        name, _, n = tok.value.partition(":")
        return ast.DateRangeLit(name.upper(), int(n), pos=tok.start_pos, text=tok.value)


# --------------------------------------------------------------------- alias handling


def _strip_alias(query: ast.Query) -> None:
    """Rewrite ``a.Name`` to ``Name`` everywhere in a query declared ``FROM Account a``."""
    alias = (query.alias or "").lower()

    def ref(node: Any) -> Any:
        if isinstance(node, ast.FieldRef):
            if len(node.path) > 1 and node.path[0].lower() == alias:
                return dataclasses.replace(node, path=node.path[1:])
            return node
        if isinstance(node, ast.Aggregate) and node.field is not None:
            return dataclasses.replace(node, field=ref(node.field))
        if isinstance(node, ast.Comparison | ast.InList | ast.InSubquery | ast.Includes):
            return dataclasses.replace(node, field=ref(node.field))
        if isinstance(node, ast.And | ast.Or):
            return dataclasses.replace(node, items=tuple(ref(i) for i in node.items))
        if isinstance(node, ast.Not):
            return ast.Not(ref(node.item))
        if isinstance(node, ast.OrderItem):
            return dataclasses.replace(node, field=ref(node.field))
        return node

    query.select = [ref(item) for item in query.select]
    query.where = ref(query.where) if query.where is not None else None
    query.having = ref(query.having) if query.having is not None else None
    query.group_by = [ref(g) for g in query.group_by]
    query.order_by = [ref(o) for o in query.order_by]
