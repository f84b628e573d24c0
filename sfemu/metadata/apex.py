"""Apex classes and triggers as text, with simulated compilation checks and unit tests.

sfemu does not run Apex. A class is a *test class* when ``@isTest`` precedes its ``class``
keyword; its test methods are those annotated ``@isTest`` or declared ``testMethod``. A test
method **fails** when its body contains one of these markers (anything else passes):

* ``System.assert(false`` → ``System.AssertException: Assertion Failed``
  (with ``: <message>`` when the call carries a string literal message),
* ``Assert.fail(`` → ``System.AssertException: Assertion Failed`` (+ message),
* ``// sfemu:fail <message>`` → ``<message>`` verbatim.

:func:`test_class_source` writes such classes for tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CLASS_RE = re.compile(
    r"^\s*((?:@\w+(?:\([^)]*\))?\s*)*)((?:(?:public|private|global|with|without|inherited|sharing|virtual|"
    r"abstract)\s+)*)class\s+(\w+)",
    re.IGNORECASE | re.MULTILINE,
)
_TRIGGER_RE = re.compile(r"^\s*trigger\s+(\w+)\s+on\s+(\w+)\s*\(([^)]*)\)", re.IGNORECASE | re.MULTILINE)
_METHOD_RE = re.compile(
    r"((?:@\w+(?:\([^)]*\))?\s*)*)((?:(?:public|private|global|protected|static|testmethod|override)\s+)+)"
    r"void\s+(\w+)\s*\([^)]*\)\s*\{",
    re.IGNORECASE,
)
_MESSAGE_RE = re.compile(r"""\s*,\s*'((?:[^'\\]|\\.)*)'""")
TRIGGER_EVENTS = frozenset(
    {
        "before insert",
        "before update",
        "before delete",
        "after insert",
        "after update",
        "after delete",
        "after undelete",
    }
)


@dataclass(frozen=True)
class CompileProblem:
    message: str
    line: int = 1
    column: int = 1


@dataclass(frozen=True)
class TestOutcome:
    """One test method run (``RunTestSuccess`` / ``RunTestFailure``)."""

    class_name: str
    method: str
    class_id: str
    namespace: str | None
    passed: bool
    message: str | None = None
    stack_trace: str | None = None
    time_ms: float = 9.0


def _line_of(source: str, offset: int) -> int:
    return source.count("\n", 0, offset) + 1


def _block(source: str, start: int) -> tuple[str, int]:
    """The text of the brace block opening at ``start`` (index of ``{``) and its end."""
    depth = 0
    for i in range(start, len(source)):
        if source[i] == "{":
            depth += 1
        elif source[i] == "}":
            depth -= 1
            if depth == 0:
                return source[start + 1 : i], i
    return source[start + 1 :], len(source)


def _strip_strings(source: str) -> str:
    """Source with string literals and comments blanked out (same length), for brace counting."""
    out = list(source)
    i, n = 0, len(source)
    while i < n:
        if source.startswith("//", i):
            j = source.find("\n", i)
            j = n if j < 0 else j
            out[i:j] = " " * (j - i)
            i = j
        elif source.startswith("/*", i):
            j = source.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out[i:j] = [c if c == "\n" else " " for c in source[i:j]]
            i = j
        elif source[i] == "'":
            j = i + 1
            while j < n and source[j] != "'":
                j += 2 if source[j] == "\\" else 1
            out[i + 1 : j] = " " * (j - i - 1)
            i = j + 1
        else:
            i += 1
    return "".join(out)


def _brace_problem(source: str) -> CompileProblem | None:
    code = _strip_strings(source)
    depth = 0
    for i, c in enumerate(code):
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth < 0:
                line = _line_of(source, i)
                col = i - (source.rfind("\n", 0, i) + 1) + 1
                return CompileProblem("Unexpected token '}'.", line, col)
    if depth > 0:
        lines = source.rstrip().split("\n")
        return CompileProblem("Missing '}' at '<EOF>'", len(lines), len(lines[-1]) + 1)
    return None


def check_class(name: str, source: str) -> CompileProblem | None:
    """A compile error of an Apex class (declared name, braces), or None."""
    if not source.strip():
        return CompileProblem("Unexpected token '<EOF>'.")
    match = _CLASS_RE.search(_strip_strings(source))
    if match is None:
        return CompileProblem("Unexpected token: no class declaration")
    if match.group(3).lower() != name.lower():
        line = _line_of(source, match.start(3))
        return CompileProblem(f"Class name mismatch: the file declares {match.group(3)}", line)
    return _brace_problem(source)


def check_trigger(name: str, source: str, object_exists: bool | None = None) -> CompileProblem | None:
    match = _TRIGGER_RE.search(_strip_strings(source))
    if match is None:
        return CompileProblem("Unexpected token: no trigger declaration")
    if match.group(1).lower() != name.lower():
        return CompileProblem(f"Trigger name mismatch: the file declares {match.group(1)}")
    if object_exists is False:
        return CompileProblem(
            f"Invalid SObject type name: {match.group(2)}", _line_of(source, match.start(2))
        )
    events = [" ".join(e.lower().split()) for e in match.group(3).split(",")]
    for event in events:
        if event not in TRIGGER_EVENTS:
            return CompileProblem(f"Invalid trigger event: {event}")
    return _brace_problem(source)


def trigger_object(source: str) -> str | None:
    match = _TRIGGER_RE.search(_strip_strings(source))
    return match.group(2) if match else None


def is_test_class(source: str) -> bool:
    match = _CLASS_RE.search(_strip_strings(source))
    return bool(match and re.search(r"@istest\b", match.group(1), re.IGNORECASE))


def _failure(body: str) -> tuple[str, int] | None:
    """(message, offset in body) of the first failure marker of a test method body."""
    found: list[tuple[int, str]] = []
    marker = re.search(r"//\s*sfemu:fail\b[ \t]*(.*)", body)
    if marker:
        found.append((marker.start(), marker.group(1).strip() or "System.AssertException: Assertion Failed"))
    for pattern in (r"System\.assert\s*\(\s*false", r"Assert\.fail\s*\(", r"Assert\.isTrue\s*\(\s*false"):
        hit = re.search(pattern, body, re.IGNORECASE)
        if hit:
            message = "System.AssertException: Assertion Failed"
            rest = body[hit.end() :]
            msg = _MESSAGE_RE.match(rest) or re.match(r"""\s*'((?:[^'\\]|\\.)*)'""", rest)
            if msg and msg.group(1):
                message += f": {msg.group(1)}"
            found.append((hit.start(), message))
    if not found:
        return None
    offset, message = min(found)
    return message, offset


def run_test_class(name: str, source: str, class_id: str, namespace: str | None = None) -> list[TestOutcome]:
    """Outcomes of the test methods of one class (empty when it is not a test class)."""
    if not is_test_class(source):
        return []
    code = _strip_strings(source)
    outcomes: list[TestOutcome] = []
    for match in _METHOD_RE.finditer(code):
        annotations, modifiers, method = match.group(1), match.group(2), match.group(3)
        if not (re.search(r"@istest\b", annotations, re.I) or re.search(r"\btestmethod\b", modifiers, re.I)):
            continue
        start = match.end() - 1
        _, end = _block(code, start)
        body = source[start + 1 : end]
        failure = _failure(body)
        if failure is None:
            outcomes.append(TestOutcome(name, method, class_id, namespace, True))
            continue
        message, offset = failure
        line = _line_of(source, start + 1 + offset)
        qualified = f"{namespace}.{name}" if namespace else name
        outcomes.append(
            TestOutcome(
                name,
                method,
                class_id,
                namespace,
                False,
                message,
                f"Class.{qualified}.{method}: line {line}, column 1",
            )
        )
    return outcomes


def test_class_source(
    name: str, passing: tuple[str, ...] | None = None, failing: dict[str, str] | None = None
) -> str:
    """Source of a test class with passing methods and methods that fail with a message
    (one passing method ``itWorks`` when neither is given)."""
    if passing is None:
        passing = () if failing else ("itWorks",)
    lines = ["@isTest", f"private class {name} {{"]
    for method in passing:
        lines += ["    @isTest", f"    static void {method}() {{", "        System.assert(true);", "    }"]
    for method, message in (failing or {}).items():
        quoted = message.replace("\\", "\\\\").replace("'", "\\'")
        lines += [
            "    @isTest",
            f"    static void {method}() {{",
            f"        System.assert(false, '{quoted}');",
            "    }",
        ]
    lines.append("}")
    return "\n".join(lines) + "\n"
