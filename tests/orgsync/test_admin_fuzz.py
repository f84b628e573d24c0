"""No admin page answers a 5xx, whatever is in its query string or form (issue 17).

A superuser visits every ModelAdmin registered on the admin site: its changelist (and CSV export,
where there is one) with each filter parameter, the search box, ordering, paging and unknown
parameters set to hostile values; its add page and the change page of one object; and POSTs the
add and change forms with every field set to each hostile value. Every request runs in a
savepoint rolled back afterwards, so a refused query on PostgreSQL spoils nothing for the next one
and a hostile form that does save changes nothing for the next request.

All 5xx answers are collected and reported together. KNOWN_500 lists the cases known to fail
today; a 5xx not in it fails the test.
"""

import re
import warnings
from dataclasses import dataclass
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.db import connection as db
from django.db import transaction
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django_q.models import Schedule

from connections.models import Connection
from connections.services import connection_accept, connection_create
from metadiff.models import OrgDifference
from replication.models import (
    BulkSync,
    PublishedObject,
    ReconcileDifference,
    ReconcileRun,
    ReconcileSchedule,
    SubscribedObject,
)
from replication.services import publication_publish, subscription_subscribe
from tests.connections.emu import connect_by_password
from tests.factories import ConnectionFactory, OrgFactory, UserFactory
from tests.synclog.factories import RecordQueueItemFactory, SyncLogFactory

pytestmark = pytest.mark.django_db

GUARD = "orgsync.request_guard.RequestGuardMiddleware"

HOSTILE = {
    "nul": "\x00",
    "sql": "'; DROP TABLE x;--",
    "html": "<script>alert(1)</script>",
    "unicode": "é€𝄞",
    "digits40": "9" * 40,
    "minus1": "-1",
    "empty": "",
    "10kB": "A" * 10_240,
}

# Parameters every changelist (and export) gets besides its own filters and search: unknown
# ones, a lookup across a relation, the admin's own switches. Each gets every hostile value.
EXTRA_PARAMETERS = ("zz_unknown", "id__in", "pk__gt", "o", "p", "_to_field")
# A few exact values on top: ordering by a column that is not there, pages that are not there,
# the admin's switches for "show all", popups and "your filter was wrong".
EXACT_VALUES = (
    ("o", "999"), ("o", "-0.-1"), ("p", "-3"), ("p", "99999"), ("p", "1e3"),
    ("all", ""), ("_popup", "1"), ("e", "1"), ("e", "x"),
)  # fmt: skip

# (method, URL name, parameter, hostile value name, database vendor or "any"): the 5xx answers
# known today. Empty this set as they are fixed; a 5xx not listed here fails the test, and a
# listed one that no longer happens is reported as a warning (then remove it).
KNOWN_500: set[tuple[str, str, str, str, str]] = set()  # (method, url name, parameter, value, vendor)


def known_500() -> set[tuple[str, str, str, str]]:
    return {k[:4] for k in KNOWN_500 if k[4] in ("any", db.vendor)}


@dataclass(frozen=True)
class Failure:
    method: str
    url_name: str
    parameter: str
    value: str
    status: int
    exception: str
    url: str

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.method, self.url_name, self.parameter, self.value)

    def __str__(self) -> str:
        url = self.url if len(self.url) <= 160 else self.url[:157] + "…"
        where = f"{self.method} {url} [{self.url_name}] {self.parameter}={self.value}"
        return f"{where}: {self.status} {self.exception}"


def registered() -> list[tuple[str, admin.ModelAdmin]]:
    return sorted(((m._meta.label, a) for m, a in admin.site._registry.items()), key=lambda p: p[0])


def url_name(model_admin: admin.ModelAdmin, view: str) -> str:
    return f"admin:{model_admin.opts.app_label}_{model_admin.opts.model_name}_{view}"


def try_reverse(name: str, *args) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


@pytest.fixture
def guarded(settings):
    """The request guard is in the real stack (orgsync/settings.py), right after WhiteNoise."""
    middleware = list(settings.MIDDLEWARE)
    assert middleware[middleware.index("whitenoise.middleware.WhiteNoiseMiddleware") + 1] == GUARD
    settings.ORGSYNC_REQUIRE_MFA = False  # else every page is the MFA enrolment redirect
    return settings


@pytest.fixture
def superuser(guarded):
    client = Client(raise_request_exception=False)  # a view's exception is a 500, not raised
    client.force_login(UserFactory(is_superuser=True))
    return client


@pytest.fixture
def rows(db):
    """One cheap row for most models, so change pages and filters have something to show."""
    connection = ConnectionFactory()
    OrgFactory()  # an org without a connection
    SyncLogFactory(connection=connection)
    RecordQueueItemFactory(connection=connection)
    BulkSync.objects.create(connection=connection)
    reconcile = ReconcileRun.objects.create(
        connection=connection, status=ReconcileRun.Status.COMPLETED, counts={"Account": {"drift": 1}}
    )
    ReconcileDifference.objects.create(
        run=reconcile, direction="p2s", source_object="Account", target_object="Account", kind="drift"
    )
    ReconcileSchedule.objects.create(connection=connection)
    OrgDifference.objects.create(
        name="Fuzz difference", source_org=connection.primary_org, destination_org=connection.secondary_org
    )
    Group.objects.get_or_create(name="Fuzz group")
    Schedule.objects.create(name="Fuzz schedule", func="math.floor", args="1")


@pytest.fixture
def publication(db, sfemu_server):
    """A published and subscribed Account between two orgs in the emulator: these pages describe
    the objects in the orgs (a real answer, fast; an org that is not there costs seconds of
    connection retries per page)."""
    connection = connection_create(
        actor=None,
        name="Fuzz publication",
        primary_org=connect_by_password(sfemu_server, sfemu_server.create_org()),
        secondary_org=connect_by_password(sfemu_server, sfemu_server.create_org()),
    )
    connection = connection_accept(connection=connection, actor=None)
    published = publication_publish(
        connection=connection, direction="p2s", source_object="Account", actor=None
    )
    subscription_subscribe(publication=published, actor=None)


class Fuzzer:
    def __init__(self, client: Client) -> None:
        self.client = client
        self.failures: list[Failure] = []
        self.requests = 0

    def send(self, method: str, name: str, url: str, parameter: str, value: str, data: dict):
        """One request in a savepoint rolled back after it; a 5xx (or an exception while the
        streamed body is read) is recorded. Returns the response."""
        self.requests += 1
        sid = transaction.savepoint()
        exception = ""
        try:
            response = getattr(self.client, method.lower())(url, data)
            if response.exc_info:
                exception = response.exc_info[0].__name__
            if response.streaming:
                try:
                    b"".join(response.streaming_content)
                except Exception as error:  # any exception is the finding
                    exception, response.status_code = f"{type(error).__name__} (while streaming)", 500
        finally:
            transaction.savepoint_rollback(sid)
            transaction.set_rollback(False)
        if response.status_code >= 500:
            self.failures.append(
                Failure(method, name, parameter, value, response.status_code, exception, url)
            )
        return response

    # --- changelists and exports ----------------------------------------------------------

    def changelist_parameters(self, model_admin: admin.ModelAdmin) -> list[str] | None:
        name = url_name(model_admin, "changelist")
        response = self.send("GET", name, reverse(name), "-", "-", {})
        if response.status_code != 200:
            return None
        names: list[str] = []
        cl = response.context and response.context.get("cl")
        if cl is not None:
            for spec in cl.filter_specs:
                names.extend(spec.expected_parameters() or ())
            if cl.date_hierarchy:
                field = cl.date_hierarchy
                names.extend(f"{field}__{part}" for part in ("year", "month", "day"))
        names.append("q")
        names.extend(EXTRA_PARAMETERS)
        return list(dict.fromkeys(names))

    def changelist(self, model_admin: admin.ModelAdmin) -> None:
        parameters = self.changelist_parameters(model_admin)
        if parameters is None:
            return
        pages = [url_name(model_admin, "changelist")]
        if try_reverse(url_name(model_admin, "export")):
            pages.append(url_name(model_admin, "export"))
        for name in pages:
            url = reverse(name)
            for parameter in parameters:
                for label, value in HOSTILE.items():
                    self.send("GET", name, url, parameter, label, {parameter: value})
            for parameter, value in EXACT_VALUES:
                self.send("GET", name, url, parameter, value, {parameter: value})
            everything = {parameter: HOSTILE["sql"] for parameter in parameters}
            self.send("GET", name, url, "<all at once>", "sql", everything)

    # --- add and change forms ---------------------------------------------------------------

    def forms(self, model_admin: admin.ModelAdmin) -> None:
        pages = [(url_name(model_admin, "add"), try_reverse(url_name(model_admin, "add")))]
        obj = model_admin.model._default_manager.order_by("pk").first()
        if obj is not None:
            name = url_name(model_admin, "change")
            pages.append((name, try_reverse(name, obj.pk)))
        for name, url in pages:
            if url is None:
                continue
            page = self.send("GET", name, url, "-", "-", {})
            if page.status_code != 200:
                continue
            form = admin_form(page.content.decode(), model_admin.opts.model_name)
            if form is None or not form.fields:
                continue
            for label, value in HOSTILE.items():
                data = {field: value for field in form.fields}
                data.update(form.management)
                data["_save"] = "Save"
                self.send("POST", name, url, "<every field>", label, data)


class AdminForm(HTMLParser):
    """The field names of the admin's main form (`<model>_form`), and its formsets' management
    fields with the values the page gave them."""

    MANAGEMENT = re.compile(r"-(TOTAL|INITIAL|MIN_NUM|MAX_NUM)_FORMS$")

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id = form_id
        self.inside = self.found = False
        self.fields: list[str] = []
        self.management: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form":
            self.inside = attributes.get("id") == self.form_id
            self.found = self.found or self.inside
            return
        if not self.inside or tag not in ("input", "select", "textarea"):
            return
        name = attributes.get("name")
        if not name or name == "csrfmiddlewaretoken" or attributes.get("type") in ("submit", "button"):
            return
        if self.MANAGEMENT.search(name):
            self.management[name] = attributes.get("value") or "0"
        elif "__prefix__" not in name and name not in self.fields:
            self.fields.append(name)

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False


def admin_form(html: str, model_name: str) -> AdminForm | None:
    form = AdminForm(f"{model_name}_form")
    form.feed(html)
    return form if form.found else None


def fuzz(client: Client, model_admin: admin.ModelAdmin) -> Fuzzer:
    fuzzer = Fuzzer(client)
    fuzzer.changelist(model_admin)
    fuzzer.forms(model_admin)
    return fuzzer


def check(fuzzer: Fuzzer, model_admin: admin.ModelAdmin) -> None:
    prefix = f"admin:{model_admin.opts.app_label}_{model_admin.opts.model_name}_"
    seen = {f.key for f in fuzzer.failures}
    known = known_500()
    fixed = sorted(k for k in known if k[1].startswith(prefix) and k not in seen)
    if fixed:
        warnings.warn(f"KNOWN_500 entries that answer below 500 now (remove them): {fixed}", stacklevel=2)
    new = [f for f in fuzzer.failures if f.key not in known]
    assert not new, f"{len(new)} new 5xx answer(s) of {fuzzer.requests} requests:\n" + "\n".join(
        str(f) for f in new
    )


ADMINS = registered()


@pytest.mark.parametrize("model_admin", [a for _, a in ADMINS], ids=[label for label, _ in ADMINS])
def test_no_admin_page_answers_5xx_to_hostile_input(request, superuser, rows, model_admin):
    if model_admin.model in (PublishedObject, SubscribedObject):
        request.getfixturevalue("publication")
    check(fuzz(superuser, model_admin), model_admin)


def test_the_fuzzer_reaches_the_pages(superuser, rows):
    """Not a vacuous pass: the pages answer 200 to a plain visit, filters are found, forms are
    read, and a hostile POST reaches the form's validation (a 200 with errors, not a redirect)."""
    fuzzer = Fuzzer(superuser)
    connection_admin = admin.site._registry[Connection]
    parameters = fuzzer.changelist_parameters(connection_admin)
    assert {"status__exact", "direction__exact", "q"} <= set(parameters)
    page = superuser.get(reverse("admin:connections_connection_add"))
    form = admin_form(page.content.decode(), "connection")
    assert form is not None and "name" in form.fields
    response = superuser.post(reverse("admin:connections_connection_add"), dict.fromkeys(form.fields, "-1"))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors


# --- the request guard itself -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "data", "message"),
    [
        ("get", {"status__exact": "\x00"}, "Request parameter “status__exact” contains a NUL character."),
        ("get", {"sta\x00tus": "x"}, "Request parameter “sta\\x00tus” contains a NUL character."),
        ("post", {"name": "a\x00b"}, "Request parameter “name” contains a NUL character."),
        ("get", {"n" * 201: "x"}, "has a name longer than 200 characters"),
        ("get", {"q": "x" * 16_385}, "Request parameter “q” is longer than 16384 characters."),
        ("get", {"id__in": "1,99999999999999999999"}, "Request parameter “id__in” holds a number too large"),
    ],
    ids=["nul-value", "nul-name", "nul-post", "long-name", "long-get-value", "int-overflow"],
)
def test_the_guard_answers_400_naming_the_parameter(superuser, method, data, message):
    response = getattr(superuser, method)(reverse("admin:connections_connection_changelist"), data)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert message in response.content.decode()


def test_the_guard_lets_ordinary_requests_through(superuser, rows):
    url = reverse("admin:connections_connection_changelist")
    assert superuser.get(url, {"q": "x" * 16_384, "status__exact": "active"}).status_code == 200
    assert superuser.get(url, {"q": "9" * 19}).status_code == 200  # an 18-char Salesforce Id fits
    posted = superuser.post(reverse("admin:auth_group_add"), {"name": "9" * 40})  # text, not an id
    assert posted.status_code == 302


def test_a_nul_in_the_path_is_400(superuser):
    assert superuser.get("/admin/connections/connection/%00/change/").status_code == 400


def test_export_with_a_parameter_the_list_cannot_use_is_400_naming_it(superuser, rows):
    url = reverse("admin:synclog_synclog_export")
    for name, value in [("zz_unknown", "1"), ("updated_at__gte", "yesterday")]:
        response = superuser.get(url, {"status__exact": "failed", name: value})
        assert response.status_code == 400, name
        assert f"Request parameter “{name}” does not fit this list" in response.content.decode()
