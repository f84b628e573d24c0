"""SOSL for sfemu: ``FIND {…} IN … FIELDS RETURNING Obj(fields WHERE … LIMIT n) … LIMIT n``.

A reasonable subset of Salesforce's search, over the org's rows (no search index):

* the search expression is tokenised into words (letters, digits, ``_``); a term matches a
  record when every word of it appears among the words of the record's searched fields
  (``AND``, ``OR``, ``AND NOT``, parentheses, ``"quoted phrases"`` of consecutive words, and the
  ``*`` / ``?`` wildcards are honoured; adjacent terms are an implicit ``AND``);
* ``IN ALL FIELDS`` searches every text field (string, textarea, email, phone, url), ``NAME`` the
  name fields, ``EMAIL`` the email fields, ``PHONE`` the phone fields, ``SIDEBAR`` as ``NAME``;
* each ``RETURNING Obj(fields WHERE … ORDER BY … LIMIT n OFFSET n)`` runs as the SOQL
  ``SELECT fields FROM Obj WHERE … ORDER BY … LIMIT n OFFSET n`` over the matching rows only,
  so field lists, WHERE, ORDER BY and per-object LIMIT behave as in :mod:`sfemu.soql`;
* without RETURNING every searchable object with rows is searched and only ``Id`` is returned;
* the overall ``LIMIT`` (default and maximum 2,000) caps the concatenated results; ``WITH …``
  and ``UPDATE …`` clauses are accepted and ignored.

Results come in RETURNING order, then id order within an object (Salesforce orders by
relevance). Malformed statements raise ``MALFORMED_SEARCH`` with Salesforce's caret message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sfemu.errors import SalesforceError
from sfemu.soql import SoqlError, execute, parse
from sfemu.soql.errors import caret_message
from sfemu.soql_source import OrgDataSource

if TYPE_CHECKING:
    from sfemu.org import Org
    from sfemu.schema.spec import FieldSpec, ObjectSpec

MAX_RESULTS = 2000
SCOPES = ("ALL", "NAME", "EMAIL", "PHONE", "SIDEBAR")
TEXT_TYPES = {"string", "textarea", "email", "phone", "url"}
# Characters Salesforce reserves inside the braces (must be escaped with a backslash).
RESERVED = set("&|!{}[]^~:+-\\")
_TOKEN_RE = re.compile(r"\s*(?:([A-Za-z_][\w.]*)|(\d+)|('(?:[^'\\]|\\.)*')|(.))", re.S)
_CLAUSE_RE = re.compile(r"\b(WHERE|ORDER\s+BY|LIMIT|OFFSET|USING)\b", re.I)
_WORD_RE = re.compile(r"\w+")


class SoslError(SalesforceError):
    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(error_code, message, status=400)


def malformed(text: str, index: int, detail: str) -> SoslError:
    """Salesforce echoes the statement with ``Column`` = the 0-based index of the culprit
    (``FIND {John|x}`` → ``ERROR at Row:1:Column:10``, ``line 1:10 mismatched character``)."""
    return SoslError("MALFORMED_SEARCH", caret_message(text, max(0, index - 1), detail))


# --- the search expression -----------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]  # lower-case; may hold * and ? wildcards

    def matches(self, words: list[str]) -> bool:
        patterns = [_word_pattern(w) for w in self.words]
        if not patterns:
            return False
        for start in range(len(words) - len(patterns) + 1):
            if all(p.fullmatch(words[start + i]) for i, p in enumerate(patterns)):
                return True
        return False


@dataclass(frozen=True)
class BoolOp:
    op: str  # AND, OR, ANDNOT
    left: Any
    right: Any


def _word_pattern(word: str) -> re.Pattern[str]:
    body = "".join(r"\w*" if c == "*" else r"\w" if c == "?" else re.escape(c) for c in word)
    return re.compile(body)


def _split_words(text: str) -> list[str]:
    """Words of a term (wildcards kept) in lower case."""
    return [w.lower() for w in re.findall(r"[\w*?]+", text)]


def parse_expression(term: str, text: str, offset: int) -> Any:
    """``Acme AND (Oil OR "Big Bay") AND NOT Gas`` → a tree of Term / BoolOp."""
    tokens: list[tuple[str, str]] = []
    i = 0
    while i < len(term):
        c = term[i]
        if c.isspace():
            i += 1
        elif c in "()":
            tokens.append((c, c))
            i += 1
        elif c == '"':
            end = term.find('"', i + 1)
            if end < 0:
                raise malformed(text, offset + i, f"line 1:{offset + i} mismatched character '<EOF>'")
            tokens.append(("term", term[i + 1 : end]))
            i = end + 1
        else:
            j = i
            chunk = []
            while j < len(term) and not term[j].isspace() and term[j] not in '()"':
                if term[j] == "\\" and j + 1 < len(term):
                    chunk.append(" ")  # an escaped reserved character separates words
                    j += 2
                    continue
                chunk.append(term[j])
                j += 1
            word = "".join(chunk)
            upper = word.upper()
            tokens.append(("op", upper) if upper in ("AND", "OR", "NOT") else ("term", word))
            i = j
    pos = 0

    def peek() -> tuple[str, str] | None:
        return tokens[pos] if pos < len(tokens) else None

    def primary() -> Any:
        nonlocal pos
        tok = peek()
        if tok is None or tok[0] in (")", "op"):
            raise SoslError("MALFORMED_SEARCH", "search term must be longer than one character")
        pos += 1
        if tok[0] == "(":
            node = or_expr()
            if peek() is None or peek()[0] != ")":
                raise SoslError("MALFORMED_SEARCH", "mismatched parentheses in search expression")
            pos += 1
            return node
        return Term(tuple(_split_words(tok[1])))

    def and_expr() -> Any:
        nonlocal pos
        node = primary()
        while (tok := peek()) is not None and tok != (")", ")"):
            if tok == ("op", "OR"):
                break
            if tok == ("op", "AND"):
                pos += 1
                if peek() == ("op", "NOT"):
                    pos += 1
                    node = BoolOp("ANDNOT", node, primary())
                    continue
            node = BoolOp("AND", node, primary())
        return node

    def or_expr() -> Any:
        nonlocal pos
        node = and_expr()
        while peek() == ("op", "OR"):
            pos += 1
            node = BoolOp("OR", node, and_expr())
        return node

    tree = or_expr()
    if pos < len(tokens):
        raise SoslError("MALFORMED_SEARCH", "mismatched parentheses in search expression")
    return tree


def _terms(node: Any) -> Iterable[Term]:
    if isinstance(node, Term):
        yield node
    else:
        yield from _terms(node.left)
        yield from _terms(node.right)


def evaluate(node: Any, words: list[str]) -> bool:
    if isinstance(node, Term):
        return node.matches(words)
    if node.op == "AND":
        return evaluate(node.left, words) and evaluate(node.right, words)
    if node.op == "OR":
        return evaluate(node.left, words) or evaluate(node.right, words)
    return evaluate(node.left, words) and not evaluate(node.right, words)


# --- the statement ---------------------------------------------------------------------------


@dataclass
class Returning:
    sobject: str
    pos: int
    inner: str | None = None  # the text between the parentheses
    inner_pos: int = 0


@dataclass
class Search:
    text: str
    expression: Any
    scope: str = "ALL"
    returning: list[Returning] = field(default_factory=list)
    limit: int | None = None


class _Lexer:
    def __init__(self, text: str, start: int) -> None:
        self.text = text
        self.pos = start

    def next(self) -> tuple[str, str, int]:
        """(kind, value, index) with kind word/number/string/punct/eof."""
        match = _TOKEN_RE.match(self.text, self.pos)
        if match is None or (match.end() == self.pos and not match.group(0)):
            return "eof", "<EOF>", len(self.text)
        if match.group(0).strip() == "":
            self.pos = len(self.text)
            return "eof", "<EOF>", len(self.text)
        self.pos = match.end()
        for kind, group in (("word", 1), ("number", 2), ("string", 3), ("punct", 4)):
            if match.group(group) is not None:
                return kind, match.group(group), match.start(group)
        return "eof", "<EOF>", len(self.text)  # pragma: no cover

    def peek(self) -> tuple[str, str, int]:
        saved = self.pos
        tok = self.next()
        self.pos = saved
        return tok


def parse_sosl(text: str) -> Search:
    stripped = text.lstrip()
    lead = len(text) - len(stripped)
    if not stripped:
        raise SoslError("MALFORMED_SEARCH", "A search string has to be specified")
    if not re.match(r"FIND\b", stripped, re.I):
        word = re.match(r"\S+", stripped)
        raise malformed(text, lead, f"unexpected token: '{word.group(0) if word else stripped}'")
    i = lead + 4
    while i < len(text) and text[i].isspace():
        i += 1
    if i >= len(text) or text[i] != "{":
        culprit = text[i] if i < len(text) else "<EOF>"
        raise malformed(text, i, f"line 1:{i} mismatched character '{culprit}' expecting '{{'")
    start = i + 1
    j = start
    while True:
        if j >= len(text):
            raise malformed(text, j, f"line 1:{j} mismatched character '<EOF>' expecting '}}'")
        c = text[j]
        if c == "\\" and j + 1 < len(text):
            j += 2
            continue
        if c == "}":
            break
        if c in RESERVED:
            raise malformed(text, j, f"line 1:{j} mismatched character '{c}' expecting '}}'")
        j += 1
    term = text[start:j]
    if not _split_words(term.replace("\\", " ")):
        raise SoslError("MALFORMED_SEARCH", "search term must be longer than one character")
    expression = parse_expression(term, text, start)
    for t in _terms(expression):
        if sum(len(w.strip("*?")) for w in t.words) < 2:
            raise SoslError("MALFORMED_SEARCH", "search term must be longer than one character")
    search = Search(text, expression)
    lex = _Lexer(text, j + 1)
    kind, value, at = lex.next()

    def bad(tok_value: str, index: int) -> SoslError:
        return malformed(text, index, f"Malformed search token: {tok_value}")

    if kind == "word" and value.upper() == "IN":
        kind, value, at = lex.next()
        if kind != "word" or value.upper() not in SCOPES:
            raise bad(value, at)
        search.scope = value.upper()
        kind, value, at = lex.next()
        if kind != "word" or value.upper() != "FIELDS":
            raise bad(value, at)
        kind, value, at = lex.next()
    if kind == "word" and value.upper() == "RETURNING":
        while True:
            kind, value, at = lex.next()
            if kind != "word":
                raise bad(value, at)
            item = Returning(value, at)
            if lex.peek()[1] == "(":
                _, _, open_at = lex.next()
                close = _closing_paren(text, open_at)
                if close < 0:
                    raise malformed(text, len(text), "Malformed search token: <EOF>")
                item.inner, item.inner_pos = text[open_at + 1 : close], open_at + 1
                lex.pos = close + 1
            search.returning.append(item)
            kind, value, at = lex.next()
            if value != ",":
                break
    while kind == "word" and value.upper() in ("WITH", "UPDATE"):
        kind, value, at = _skip_clause(lex)
    if kind == "word" and value.upper() == "LIMIT":
        kind, value, at = lex.next()
        if kind != "number":
            raise bad(value, at)
        search.limit = int(value)
        kind, value, at = lex.next()
    while kind == "word" and value.upper() in ("WITH", "UPDATE"):
        kind, value, at = _skip_clause(lex)
    if kind != "eof":
        raise bad(value, at)
    return search


def _skip_clause(lex: _Lexer) -> tuple[str, str, int]:
    """Skip a ``WITH …`` / ``UPDATE …`` clause up to the next clause keyword or the end."""
    while True:
        kind, value, at = lex.next()
        if kind == "eof" or (kind == "word" and value.upper() in ("WITH", "UPDATE", "LIMIT")):
            return kind, value, at
        if value == "(":
            close = _closing_paren(lex.text, at)
            lex.pos = close + 1 if close >= 0 else len(lex.text)


def _closing_paren(text: str, open_at: int) -> int:
    depth = 0
    quote = False
    i = open_at
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == "'":
                quote = False
        elif c == "'":
            quote = True
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


# --- running it --------------------------------------------------------------------------------


def searched_fields(obj: ObjectSpec, scope: str) -> list[FieldSpec]:
    out = []
    for f in obj.fields:
        if f.encrypted or f.role == "id":
            continue
        if scope in ("NAME", "SIDEBAR"):
            keep = f.name_field
        elif scope == "EMAIL":
            keep = f.type == "email"
        elif scope == "PHONE":
            keep = f.type == "phone"
        else:
            keep = f.type in TEXT_TYPES
        if keep:
            out.append(f)
    return out


def _row_words(row: dict, fields: list[FieldSpec]) -> list[str]:
    words: list[str] = []
    for f in fields:
        value = row.get(f.name)
        if isinstance(value, str) and value:
            words.extend(w.lower() for w in _WORD_RE.findall(value))
            words.append("\x00")  # phrases do not run across fields
    return words


def _matching_rows(source: OrgDataSource, obj: ObjectSpec, search: Search) -> list[dict]:
    fields = searched_fields(obj, search.scope)
    if not fields:
        return []
    return [
        row
        for row in source.rows(obj.name, include_deleted=False)
        if evaluate(search.expression, _row_words(row, fields))
    ]


def _split_inner(inner: str) -> tuple[str, str]:
    """``Id, Name WHERE … LIMIT 5`` → (``Id, Name``, ``WHERE … LIMIT 5``), quotes respected."""
    quoted = [(m.start(), m.end()) for m in re.finditer(r"'(?:[^'\\]|\\.)*'", inner)]
    for match in _CLAUSE_RE.finditer(inner):
        if not any(a <= match.start() < b for a, b in quoted):
            return inner[: match.start()].strip(), inner[match.start() :].strip()
    return inner.strip(), ""


def _soql_error(search: Search, item: Returning, exc: SoqlError) -> SoslError:
    """The SOQL engine's error re-pointed at the RETURNING clause of the SOSL statement."""
    detail = re.sub(r"^\n.*\n *\^\nERROR at Row:\d+:Column:\d+\n", "", exc.message, flags=re.S)
    return SoslError(exc.error_code, caret_message(search.text, item.pos, detail))


def run(org: Org, text: str, api_version: str = "62.0") -> list[dict]:
    """The ``searchRecords`` of a SOSL statement."""
    return run_search(org, parse_sosl(text), api_version)


def run_search(org: Org, search: Search, api_version: str = "62.0") -> list[dict]:
    source = OrgDataSource(org, api_version)
    limit = min(search.limit, MAX_RESULTS) if search.limit is not None else MAX_RESULTS
    items = search.returning or _all_searchable(org)
    out: list[dict] = []
    for item in items:
        obj = org.schema.get(item.sobject)
        select, rest = _split_inner(item.inner) if item.inner is not None else ("Id", "")
        if item.inner is not None and not select:
            select = "Id"
        soql = f"SELECT {select} FROM {obj.name if obj else item.sobject} {rest}".strip()
        try:
            query = parse(soql)
            rows = _matching_rows(source, obj, search) if obj is not None else []
            result = execute(query, source, api_version=api_version, root_rows=rows)
        except SoqlError as exc:
            raise _soql_error(search, item, exc) from None
        out.extend(result.records)
        if len(out) >= limit:
            break
    return out[:limit]


def _all_searchable(org: Org) -> list[Returning]:
    counts = org.record_counts()
    return [
        Returning(obj.name, 0)
        for obj in sorted(org.schema.objects(), key=lambda o: o.name.lower())
        if obj.searchable and obj.queryable and counts.get(obj.name)
    ]


# --- parameterized search ------------------------------------------------------------------------

_ESCAPE = set("&|!{}[]^~:+-\\")


def escape_term(q: str) -> str:
    return "".join("\\" + c if c in _ESCAPE else c for c in q)


def parameterized(org: Org, params: dict[str, Any], api_version: str = "62.0") -> list[dict]:
    """``parameterizedSearch`` (GET query parameters or the POST body) as a SOSL search.

    ``params``: ``q``, ``in``, ``overallLimit``, ``defaultLimit``, ``fields`` (list) and
    ``sobjects`` = ``[{"name", "fields", "where", "limit", "orderBy"}]``.
    """
    q = str(params.get("q") or "").strip()
    if not q:
        raise SoslError("MISSING_ARGUMENT", "Missing or empty query parameter: q")
    scope = str(params.get("in") or "ALL").upper()
    if scope not in SCOPES:
        raise SoslError("INVALID_SEARCH_SCOPE", f"Invalid search scope: {params.get('in')}")
    sosl = f"FIND {{{escape_term(q)}}} IN {scope} FIELDS"
    specs = []
    default_fields = [str(f) for f in params.get("fields") or []]
    default_limit = params.get("defaultLimit")
    for spec in params.get("sobjects") or []:
        name = str(spec.get("name") or "")
        fields = [str(f) for f in spec.get("fields") or default_fields] or ["Id"]
        inner = ", ".join(fields)
        if spec.get("where"):
            inner += f" WHERE {spec['where']}"
        if isinstance(spec.get("orderBy"), str) and spec["orderBy"]:
            inner += f" ORDER BY {spec['orderBy']}"
        limit = spec.get("limit") or default_limit
        if limit:
            inner += f" LIMIT {int(limit)}"
        specs.append(f"{name}({inner})")
    if specs:
        sosl += " RETURNING " + ", ".join(specs)
    overall = params.get("overallLimit")
    if overall:
        sosl += f" LIMIT {min(int(overall), MAX_RESULTS)}"
    return run(org, sosl, api_version)
