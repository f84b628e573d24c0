"""The Starlette application: one server, many orgs (the token says which)."""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from datetime import datetime
from email.utils import format_datetime
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sfemu.server import control
from sfemu.server.apex_anonymous import ROUTES as APEX_ROUTES
from sfemu.server.authorize import authorize_endpoint
from sfemu.server.http import error_entry, json_response, not_found
from sfemu.server.identity import identity_endpoint, userinfo_endpoint
from sfemu.server.oauth import revoke_endpoint, token_endpoint
from sfemu.server.rest_endpoint import rest_endpoint, versions_endpoint
from sfemu.server.routes_bulk import bulk_endpoint
from sfemu.server.routes_bulk_v1 import bulk_v1_endpoint
from sfemu.server.routes_metadata import ROUTES as METADATA_ROUTES
from sfemu.server.soap_login import soap_endpoint
from sfemu.server.state import ServerState

Endpoint = Callable[[Request], Coroutine[Any, Any, Response]]
ALL_METHODS = ["GET", "HEAD", "POST", "PATCH", "PUT", "DELETE"]


def _both(path: str, endpoint: Endpoint, methods: list[str]) -> list[Route]:
    """The route with and without a trailing slash (Salesforce accepts both, no redirect)."""
    return [Route(path, endpoint, methods=methods), Route(path + "/", endpoint, methods=methods)]


class CollapseSlashes:
    """``//services/data/…`` is ``/services/data/…``: Salesforce serves a path with repeated
    slashes (``sf org login access-token --instance-url https://host/`` stores the trailing slash
    and joins paths onto it), so every route — REST, Bulk, SOAP, OAuth — sees them collapsed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "//" in scope["path"]:
            scope = dict(scope)
            scope["path"] = re.sub(r"/{2,}", "/", scope["path"])
            if scope.get("raw_path"):
                scope["raw_path"] = re.sub(rb"/{2,}", b"/", scope["raw_path"])
        await self.app(scope, receive, send)


class ServerDate:
    """Every response carries ``Date`` (RFC 7231, whole seconds, GMT) read from the pod's clock, as
    Salesforce's does from the clock that stamps ``SystemModstamp``: a client may take it as the
    server's time of a query (orgsync's capture does), so a test clock moved forward moves it too.
    uvicorn's own wall-clock ``Date`` is switched off (``runner._uvicorn_config``)."""

    def __init__(self, app: ASGIApp, clock: Callable[[], datetime]) -> None:
        self.app, self.clock = app, clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def dated(message: Message) -> None:
            if message["type"] == "http.response.start":
                stamp = format_datetime(self.clock(), usegmt=True).encode("latin-1")
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
                message = {**message, "headers": [*headers, (b"date", stamp)]}
            await send(message)

        await self.app(scope, receive, dated)


async def _not_found(request: Request, exc: Exception) -> Response:
    return json_response(404, [error_entry(not_found())])


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    return json_response(
        405, [{"errorCode": "METHOD_NOT_ALLOWED", "message": f"HTTP Method '{request.method}' not allowed."}]
    )


def create_app(state: ServerState) -> Starlette:
    """The ASGI app serving every org of ``state.instance``."""
    routes = [
        *_both("/services/data", versions_endpoint, ["GET", "HEAD"]),
        Route("/services/data/{version}/jobs/{rest:path}", bulk_endpoint, methods=ALL_METHODS),
        Route("/services/data/{rest:path}", rest_endpoint, methods=ALL_METHODS),
        Route("/services/async/{rest:path}", bulk_v1_endpoint, methods=ALL_METHODS),
        *_both("/services/oauth2/token", token_endpoint, ["POST"]),
        *_both("/services/oauth2/authorize", authorize_endpoint, ["GET", "POST"]),
        *_both("/services/oauth2/userinfo", userinfo_endpoint, ["GET", "POST"]),
        *_both("/services/oauth2/revoke", revoke_endpoint, ["GET", "POST"]),
        *_both("/id/{org_id}/{user_id}", identity_endpoint, ["GET", "POST"]),
        Route("/services/Soap/u/{version}", soap_endpoint, methods=["POST"]),
        Route("/services/Soap/u/{version}/{org_id}", soap_endpoint, methods=["POST"]),
        Route("/services/Soap/c/{version}", soap_endpoint, methods=["POST"]),
        Route("/services/Soap/c/{version}/{org_id}", soap_endpoint, methods=["POST"]),
        *APEX_ROUTES,
        *METADATA_ROUTES,
        *control.ROUTES,
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(ServerDate, clock=state.instance.clock.now), Middleware(CollapseSlashes)],
        exception_handlers={404: _not_found, 405: _method_not_allowed},
    )
    app.router.redirect_slashes = False
    app.state.sfemu = state
    return app
