"""Routing of REST calls below ``/services/data/vXX.X`` to handler functions.

A hand-rolled matcher instead of Starlette routes because the same table must serve top-level
requests and ``/composite`` subrequests, and because Salesforce's rules (trailing slashes,
case-insensitive object names, ``_HttpMethod`` override, 404/405 bodies) are easier to state here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sfemu.server.http import ApiRequest, ApiResponse, method_not_allowed, not_found
from sfemu.server.state import Ctx

Handler = Callable[[Ctx, ApiRequest, dict[str, str]], ApiResponse]


@dataclass(frozen=True)
class RestRoute:
    """``pattern`` segments are literals or ``{name}`` placeholders (one segment each)."""

    pattern: tuple[str, ...]
    handlers: Mapping[str, Handler]
    kind: str = "other"  # "query" / "collections" count against composite's limit of 5
    hidden: frozenset[str] = frozenset()  # methods served but not listed in a 405 answer


def route(path: str, kind: str = "other", hidden: tuple[str, ...] = (), **handlers: Handler) -> RestRoute:
    pattern = tuple(p for p in path.split("/") if p)
    methods = {m.upper(): h for m, h in handlers.items()}
    return RestRoute(pattern, methods, kind, frozenset(hidden))


def match(routes: list[RestRoute], segments: list[str]) -> tuple[RestRoute, dict[str, str]] | None:
    """First route whose pattern fits ``segments`` exactly; placeholders captured."""
    for candidate in routes:
        if len(candidate.pattern) != len(segments):
            continue
        params: dict[str, str] = {}
        for want, got in zip(candidate.pattern, segments, strict=True):
            if want.startswith("{"):
                if not got:
                    break
                params[want[1:-1]] = got
            elif want != got:
                break
        else:
            return candidate, params
    return None


def effective_method(req: ApiRequest) -> str:
    """HEAD is served as GET; POST with ``?_HttpMethod=PATCH`` is a PATCH (Salesforce override)."""
    method = req.method.upper()
    if method == "HEAD":
        return "GET"
    override = req.query.get("_HttpMethod")
    if method == "POST" and override:
        return override.upper()
    return method


def dispatch(routes: list[RestRoute], ctx: Ctx, req: ApiRequest) -> ApiResponse:
    """Run the handler for ``req``; raises SalesforceError (404/405 included)."""
    found = match(routes, req.segments)
    if found is None:
        raise not_found()
    rest_route, params = found
    method = effective_method(req)
    handler = rest_route.handlers.get(method)
    if handler is None:
        allowed = [m for m in rest_route.handlers if m not in rest_route.hidden]
        if "GET" in allowed:
            allowed.insert(0, "HEAD")
        raise method_not_allowed(method, allowed)
    return handler(ctx, req, params)


def route_kind(routes: list[RestRoute], segments: list[str]) -> str:
    found = match(routes, segments)
    return found[0].kind if found else "other"
