"""Poison in a request's parameters is a 400 naming the parameter, never a 500 (issue 17).

`RequestGuardMiddleware` answers 400 before any view runs when:

- a GET or POST parameter's name or value, or the path, contains a NUL character (PostgreSQL
  refuses NUL in strings: a filter or a form field holding one became a 500);
- a parameter's name is longer than `MAX_NAME` characters, or a GET parameter's value longer
  than `MAX_GET_VALUE` (Django caps a POST body at DATA_UPLOAD_MAX_MEMORY_SIZE and the number of
  fields at DATA_UPLOAD_MAX_NUMBER_FIELDS, but not the query string);
- a GET parameter's value is an integer, or a comma-separated list of them, outside the 64-bit
  range of every integer column (`?id__in=99…9` or a date hierarchy's `__year=99…9` became an
  OverflowError). POST values are not checked: a form field is a text (a Salesforce consumer
  secret can be a 19-digit number) that the form itself validates.

And when a view raises `IncorrectLookupParameters` (the admin's own word for "the query string
does not fit this list", which the changelist turns into a redirect but a view built on the
changelist, such as the CSV exports, lets through) or `DisallowedModelAdminLookup` (a lookup
the list does not offer: Django's bare 400 page, logged to django.security as before), it
answers 400 naming the parameter.

Only form bodies (urlencoded, multipart) are read here, which Django's CSRF check reads anyway.
"""

import copy
import inspect
import logging
import re
from collections.abc import Callable

from django.contrib.admin import ModelAdmin
from django.contrib.admin.exceptions import DisallowedModelAdminLookup
from django.contrib.admin.options import IncorrectLookupParameters
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, QueryDict

MAX_NAME = 200
MAX_GET_VALUE = 16_384
INT64 = 2**63 - 1
_INTEGERS = re.compile(r"\s*[-+]?\d+(\s*,\s*[-+]?\d+)*\s*")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _shown(name: str) -> str:
    """The parameter's name as the message shows it: NUL spelled out, a long name cut."""
    name = name.replace("\x00", "\\x00")
    return name if len(name) <= 60 else name[:59] + "…"


def bad_request(message: str) -> HttpResponse:
    # Plain text: the message repeats what the client sent, and must never be markup.
    return HttpResponseBadRequest(message + "\n", content_type="text/plain; charset=utf-8")


def _too_large(value: str) -> bool:
    if len(value) <= 19 or not _INTEGERS.fullmatch(value):
        return False
    return any(abs(int(part)) > INT64 for part in value.split(","))


def poison(request: HttpRequest) -> str | None:
    """What is wrong with the request's parameters, or None."""
    if "\x00" in request.path:
        return "The request path contains a NUL character."
    sources = [(request.GET, True)]
    if request.method == "POST" and request.content_type in _FORM_TYPES:
        sources.append((request.POST, False))
    for params, in_query in sources:
        for name, values in params.lists():
            shown = _shown(name)
            if "\x00" in name or any("\x00" in v for v in values):
                return f"Request parameter “{shown}” contains a NUL character."
            if len(name) > MAX_NAME:
                return f"Request parameter “{shown}” has a name longer than {MAX_NAME} characters."
            if not in_query:
                continue
            if any(len(v) > MAX_GET_VALUE for v in values):
                return f"Request parameter “{shown}” is longer than {MAX_GET_VALUE} characters."
            if any(_too_large(v) for v in values):
                return f"Request parameter “{shown}” holds a number too large for any field."
    return None


def _model_admin(request: HttpRequest) -> ModelAdmin | None:
    """The ModelAdmin whose view answers the request (admin views are its bound methods, wrapped
    by `admin_view`), or None."""
    match = getattr(request, "resolver_match", None)
    view = inspect.unwrap(match.func) if match else None
    owner = getattr(view, "__self__", None)
    return owner if isinstance(owner, ModelAdmin) else None


def unusable_parameter(request: HttpRequest) -> str | None:
    """The first query parameter the view's changelist cannot use on its own, or None."""
    model_admin = _model_admin(request)
    if model_admin is None:
        return None
    for name in request.GET:
        probe = copy.copy(request)
        probe.GET = QueryDict(mutable=True)
        probe.GET.setlist(name, request.GET.getlist(name))
        try:
            model_admin.get_changelist_instance(probe)
        except (IncorrectLookupParameters, DisallowedModelAdminLookup):
            return name
        except Exception:  # only looking for the culprit; others say nothing
            continue
    return None


class RequestGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        problem = poison(request)
        if problem:
            return bad_request(problem)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, IncorrectLookupParameters | DisallowedModelAdminLookup):
            return None
        if isinstance(exception, DisallowedModelAdminLookup):
            logging.getLogger("django.security.DisallowedModelAdminLookup").error(str(exception))
        name = unusable_parameter(request)
        if name is None:
            return bad_request("The query's filter, search, order or page parameters do not fit this list.")
        return bad_request(
            f"Request parameter “{_shown(name)}” does not fit this list: correct or remove it."
        )
