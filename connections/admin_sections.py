"""The connection page as a hub: sections that other apps add to it.

`replication`, `synclog` and `metadiff` build on `connections`, so `connections` never imports
them. Each of them registers what it shows on a connection's page from its AppConfig.ready():

    register_section(10, objects_section)             # a box of the hub, after status and buttons
    register_section(10, sync_buttons, slot=TOOLS)    # items of the page's button bar
    register_action("metadata-gaps", check_gaps)      # POST …/connection/<pk>/hub/metadata-gaps/

A provider takes (request, connection) and returns a :class:`Section`, or None to show nothing
(e.g. a button the user may not press). `ConnectionAdmin.change_view` hands a :class:`Hub` to
the template, which renders the sections in order only when the page is drawn.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString

from connections.models import Connection

logger = logging.getLogger(__name__)

BODY = "body"
TOOLS = "tools"
TEMPLATES = "admin/connections/connection/hub"


@dataclass(frozen=True)
class Section:
    """One box of the hub (or one button-bar item): its template and what the template reads.

    `list_url` is the section's full list, filtered by this connection ("" when the user may not
    open it); the box's heading links there."""

    template: str
    context: dict[str, Any] = field(default_factory=dict)
    title: str = ""
    slug: str = ""
    list_url: str = ""
    list_label: str = "View all"


Provider = Callable[[HttpRequest, Connection], Section | None]
Action = Callable[[HttpRequest, Connection], HttpResponse]

_providers: dict[str, dict[str, tuple[int, Provider]]] = {BODY: {}, TOOLS: {}}
_actions: dict[str, Action] = {}


def register_section(order: int, provider: Provider, *, slot: str = BODY) -> None:
    """Show what `provider` returns on every connection page, lower `order` first. Registering
    the same provider again replaces it (ready() may run more than once)."""
    _providers[slot][f"{provider.__module__}.{provider.__qualname__}"] = (order, provider)


def register_action(name: str, view: Action) -> None:
    """Serve `view(request, connection)` at …/connection/<pk>/hub/<name>/ (it checks permissions)."""
    _actions[name] = view


def run_action(request: HttpRequest, connection: Connection, name: str) -> HttpResponse:
    if name not in _actions:
        raise Http404(f"No hub action {name!r}.")
    return _actions[name](request, connection)


def can_manage(request: HttpRequest) -> bool:
    """Whether the user holds “Manage Connections” (operators only look)."""
    from connections.admin import MANAGE  # connections.admin imports this module

    return request.user.has_perm(MANAGE)


def per_request(request: HttpRequest, key: Any, compute: Callable[[], Any]) -> Any:
    """`compute()` once per request and key: sections that need the same org call share it."""
    memo = request.__dict__.setdefault("_connection_hub_memo", {})
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def changelist_url(request: HttpRequest, model: type[models.Model], **filters: Any) -> str:
    """The admin list of `model` with these filters, or "" when the user may not view it."""
    model_admin = admin.site.get_model_admin(model) if admin.site.is_registered(model) else None
    if model_admin is None or not model_admin.has_view_permission(request):
        return ""
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return f"{url}?{urlencode(filters)}" if filters else url


def change_url(request: HttpRequest, obj: models.Model) -> str:
    """The admin page of `obj`, or "" when the user may not view it."""
    model = type(obj)
    model_admin = admin.site.get_model_admin(model) if admin.site.is_registered(model) else None
    if model_admin is None or not model_admin.has_view_permission(request, obj):
        return ""
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


class Hub:
    """The registered sections of one connection's page, rendered on first use (a save that
    redirects never asks the orgs anything)."""

    def __init__(self, request: HttpRequest, connection: Connection) -> None:
        self.request, self.connection = request, connection

    @cached_property
    def tools(self) -> list[SafeString]:
        return [render_to_string(s.template, self._context(s), self.request) for s in self._sections(TOOLS)]

    @cached_property
    def sections(self) -> list[SafeString]:
        return [
            render_to_string(f"{TEMPLATES}/section.html", self._context(s), self.request)
            for s in self._sections(BODY)
        ]

    def _context(self, section: Section) -> dict[str, Any]:
        return {**section.context, "section": section, "connection": self.connection}

    def _sections(self, slot: str) -> list[Section]:
        found = []
        for _, provider in sorted(_providers[slot].values(), key=lambda entry: entry[0]):
            try:
                section = provider(self.request, self.connection)
            except Exception:  # one broken box must not take the page (and its Suspend) away
                logger.exception(
                    "hub section %s of connection %s failed", provider.__qualname__, self.connection.pk
                )
                section = (
                    Section(f"{TEMPLATES}/broken.html", title=_title(provider)) if slot == BODY else None
                )
            if section is not None:
                found.append(section)
        return found


def _title(provider: Provider) -> str:
    return provider.__name__.removesuffix("_section").replace("_", " ").capitalize()
