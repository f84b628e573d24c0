"""Reconcile in the admin: the connection's Reconcile button and form, the run's page (progress
while it runs; counts by object and class, repairs and a sample of differences with links to the
record in both orgs), its CSV, the schedule, the connection hub's Reconcile box and permissions.
Runs and differences are made with the ORM: the runner is tested on its own."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from connections.models import Connection
from orgsync.roles import ADMINISTRATORS, OPERATORS
from replication import admin_sections
from replication.admin_sections import Health
from replication.models import (
    Direction,
    PublishedObject,
    ReconcileDifference,
    ReconcileRun,
    ReconcileSchedule,
    SubscribedObject,
)
from tests.factories import ConnectionFactory, OrgFactory, UserFactory
from tests.orgsync.test_admin_fuzz import HOSTILE, check, fuzz

pytestmark = pytest.mark.django_db

P2S, S2P = Direction.PRIMARY_TO_SECONDARY, Direction.SECONDARY_TO_PRIMARY
PRIMARY_URL = "https://primary.example.my.salesforce.com"
SECONDARY_URL = "https://secondary.example.my.salesforce.com"
RUNNING_PHASE = "comparing Account (primary → secondary)"


@pytest.fixture(autouse=True)
def _no_describes(monkeypatch):
    """The hub's objects box asks both orgs for describes; these orgs exist only in the database."""
    monkeypatch.setattr(admin_sections, "mapping_health", lambda request, subscription: Health("ok", "OK"))


def publish(connection: Connection, direction: str, name: str) -> None:
    publication = PublishedObject.objects.create(
        connection=connection, direction=direction, source_object=name
    )
    SubscribedObject.objects.create(published_object=publication, target_object=name)


@pytest.fixture
def connection() -> Connection:
    """A two-way Active connection: Account both ways and Contact primary → secondary."""
    connection = ConnectionFactory(
        name="EU ⇄ US",
        status=Connection.Status.ACTIVE,
        direction=Connection.Direction.TWO_WAY,
        primary_org=OrgFactory(label="EU prod", instance_url=PRIMARY_URL),
        secondary_org=OrgFactory(label="US prod", instance_url=SECONDARY_URL),
    )
    publish(connection, P2S, "Account")
    publish(connection, P2S, "Contact")
    publish(connection, S2P, "Account")
    PublishedObject.objects.create(connection=connection, source_object="Lead")  # published only
    return connection


@pytest.fixture
def manager() -> Client:
    client = Client()
    client.force_login(UserFactory(groups=[ADMINISTRATORS]))
    return client


@pytest.fixture
def operator() -> Client:
    client = Client()
    client.force_login(UserFactory(groups=[OPERATORS]))
    return client


def start_url(connection: Connection) -> str:
    return reverse("admin:replication_reconcilerun_start", args=[connection.pk])


def schedule_url(connection: Connection) -> str:
    return reverse("admin:replication_reconcilerun_schedule", args=[connection.pk])


def run_url(run: ReconcileRun) -> str:
    return reverse("admin:replication_reconcilerun_change", args=[run.pk])


def errors(response) -> dict:
    return response.context["form"].errors


@pytest.fixture
def finished(connection) -> ReconcileRun:
    """A completed repair run: 5 differences of Account, 1 of Contact; a sample of three."""
    now = timezone.now()
    run = ReconcileRun.objects.create(
        connection=connection,
        repair=True,
        status=ReconcileRun.Status.COMPLETED,
        records_total=1200,
        records_read=1200,
        pairs_compared=580,
        in_flight=4,
        differences=6,
        counts={"Account": {"missing": 2, "drift": 3}, "Contact": {"orphan": 1}},
        repairs={"insert": 2, "update": 3},
        api_calls=17,
        started_at=now - timedelta(minutes=2, seconds=5),
        finished_at=now,
    )
    ReconcileDifference.objects.create(
        run=run,
        direction=P2S,
        source_object="Account",
        target_object="Account",
        kind="drift",
        source_id="001AAAAAAAAAAAAAAA",
        target_id="001BBBBBBBBBBBBBBB",
        fields="Name,Phone",
        changed_last="secondary",
        repair="update from the primary",
    )
    ReconcileDifference.objects.create(
        run=run,
        direction=S2P,
        source_object="Account",
        target_object="Account",
        kind="missing",
        source_id="001CCCCCCCCCCCCCCC",
        repair="insert",
    )
    ReconcileDifference.objects.create(
        run=run,
        direction=P2S,
        source_object="Contact",
        target_object="Contact",
        kind="orphan",
        target_id="003DDDDDDDDDDDDDDD",
        detail="=its origin is deleted",
    )
    return run


# --- the Reconcile form ----------------------------------------------------------------------


def test_a_good_start_creates_a_run_with_the_chosen_options_and_queues_it(
    manager, connection, django_capture_on_commit_callbacks
):
    data = {"direction": S2P, "source_object": "Account", "repair": "on", "delete_extra": "on"}
    with django_capture_on_commit_callbacks() as callbacks:
        response = manager.post(start_url(connection), data)
    run = ReconcileRun.objects.get()
    assert response.status_code == 302 and response["Location"] == run_url(run)
    assert (run.connection, run.direction, run.source_object) == (connection, S2P, "Account")
    assert run.repair and run.delete_extra and not run.dry_run and not run.scheduled
    assert run.requested_by.groups.filter(name=ADMINISTRATORS).exists()
    assert len(callbacks) == 1, "a worker task is queued once the transaction commits"


def test_the_form_offers_both_directions_and_the_published_objects(manager, connection):
    form = manager.get(start_url(connection)).context["form"]
    assert [value for value, _ in form.fields["direction"].choices] == ["", P2S, S2P]
    assert [value for value, _ in form.fields["source_object"].choices] == ["", "Account", "Contact"]


def test_a_one_way_connection_offers_one_direction_and_refuses_the_other(manager, connection):
    connection.direction = Connection.Direction.ONE_WAY
    connection.save()
    assert [v for v, _ in manager.get(start_url(connection)).context["form"].fields["direction"].choices] == [
        ""
    ]
    response = manager.post(start_url(connection), {"direction": S2P})
    assert response.status_code == 200
    assert "Choose a direction" in errors(response)["direction"][0]
    assert not ReconcileRun.objects.exists()


@pytest.mark.parametrize(
    ("data", "field", "fix"),
    [
        (
            {"source_object": "Lead"},
            "source_object",
            "Choose one of the published objects (Account, Contact)",
        ),
        ({"delete_extra": "on"}, "delete_extra", "ask for repair (or a dry run) too"),
    ],
    ids=["object-not-subscribed", "delete-without-repair"],
)
def test_bad_input_is_a_form_error_naming_the_fix(manager, connection, data, field, fix):
    response = manager.post(start_url(connection), data)
    assert response.status_code == 200
    assert any(fix in message for message in errors(response)[field]), errors(response)
    assert fix in response.content.decode()
    assert not ReconcileRun.objects.exists()


def test_a_refused_start_shows_the_services_reasons_on_the_form(manager, connection):
    ReconcileRun.objects.create(connection=connection, status=ReconcileRun.Status.RUNNING)
    response = manager.post(start_url(connection), {})
    assert response.status_code == 200
    assert "A reconcile of this connection is running: wait for it to finish." in errors(response)["__all__"]
    assert response.context["active"] is not None
    connection.status = Connection.Status.SUSPENDED
    connection.save()
    ReconcileRun.objects.update(status=ReconcileRun.Status.COMPLETED)
    response = manager.post(start_url(connection), {})
    assert response.status_code == 200
    assert "reconcile needs an Active connection" in " ".join(errors(response)["__all__"])
    assert ReconcileRun.objects.count() == 1


def test_hostile_values_never_answer_5xx(manager, connection):
    """Every field of the start and schedule forms set to each hostile value at once."""
    for label, value in HOSTILE.items():
        start = manager.post(start_url(connection), dict.fromkeys(("direction", "source_object"), value))
        assert start.status_code < 500, label
        schedule = manager.post(
            schedule_url(connection),
            dict.fromkeys(("enabled", "every_hours", "hour", "repair", "alert_threshold"), value),
        )
        assert schedule.status_code < 500, label
        ReconcileRun.objects.all().delete()  # "empty" is a good start: both ways, everything
    assert not ReconcileSchedule.objects.exists(), "no hostile schedule was saved"


def test_the_generic_admin_fuzzer_finds_no_5xx(settings, finished):
    settings.ORGSYNC_REQUIRE_MFA = False
    superuser = Client(raise_request_exception=False)
    superuser.force_login(UserFactory(is_superuser=True))
    model_admin = admin.site._registry[ReconcileRun]
    fuzzer = fuzz(superuser, model_admin)
    assert fuzzer.requests > 50, "the changelist's filters were fuzzed"
    check(fuzzer, model_admin)


# --- permissions --------------------------------------------------------------------------------


def test_an_operator_may_not_start_or_schedule_but_may_look(operator, connection, finished):
    assert operator.get(start_url(connection)).status_code == 403
    assert operator.post(start_url(connection), {"direction": P2S}).status_code == 403
    assert operator.get(schedule_url(connection)).status_code == 403
    assert operator.post(schedule_url(connection), {"enabled": "on"}).status_code == 403
    assert ReconcileRun.objects.count() == 1 and not ReconcileSchedule.objects.exists()
    page = operator.get(run_url(finished))
    assert page.status_code == 200 and 'id="delete-reconcile"' not in page.content.decode()
    connection_page = operator.get(reverse("admin:connections_connection_change", args=[connection.pk]))
    assert 'id="reconcile-button"' not in connection_page.content.decode()


def test_staff_without_a_role_see_nothing(client, finished):
    client.force_login(UserFactory())
    assert client.get(run_url(finished)).status_code == 403
    assert client.get(reverse("admin:replication_reconcilerun_csv", args=[finished.pk])).status_code == 403
    assert client.get(reverse("admin:replication_reconcilerun_status", args=[finished.pk])).status_code == 403


def test_runs_are_read_only_and_managers_delete_finished_ones(manager, connection, finished):
    assert manager.get(reverse("admin:replication_reconcilerun_add")).status_code == 403
    running = ReconcileRun.objects.create(connection=connection, status=ReconcileRun.Status.RUNNING)
    assert manager.get(reverse("admin:replication_reconcilerun_delete", args=[running.pk])).status_code == 403
    response = manager.post(
        reverse("admin:replication_reconcilerun_delete", args=[finished.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert list(ReconcileRun.objects.all()) == [running]


def test_the_changelist_shows_each_run(manager, finished):
    page = manager.get(reverse("admin:replication_reconcilerun_changelist")).content.decode()
    row = page.split('id="result_list"')[1]
    assert "EU ⇄ US" in row and "Completed" in row and "Repair" in row
    assert '<td class="field-differences">6</td>' in row and '<td class="field-api_calls">17</td>' in row


# --- the run's page -----------------------------------------------------------------------------


def test_the_run_page_shows_counts_by_object_and_class_and_the_figures(manager, finished):
    response = manager.get(run_url(finished))
    page = response.content.decode()
    kinds = [k for k, _ in response.context["kinds"]]
    assert kinds == ["missing", "orphan", "duplicate", "drift", "broken_lookup", "broken_link"]
    account = re.search(r'<tr id="counts-Account">(.*?)</tr>', page, re.S).group(1)
    assert re.findall(r'<td class="num[^"]*">(\d+)</td>', account) == ["2", "0", "0", "3", "0", "0", "5"]
    total = re.search(r'<tr id="counts-total">(.*?)</tr>', page, re.S).group(1)
    assert re.findall(r'<td class="num[^"]*">(\d+)</td>', total) == ["2", "1", "0", "3", "0", "0", "6"]
    repairs = re.search(r'id="reconcile-repairs">(.*?)</table>', page, re.S).group(1)
    assert '<th>update</th><td class="num">3</td>' in repairs and "<th>insert</th>" in repairs
    assert '<td id="reconcile-api-calls">17</td>' in page
    assert '<td id="reconcile-read">1200 of 1200</td>' in page
    assert '<td id="reconcile-pairs">580</td>' in page
    assert '<td id="reconcile-in-flight">4</td>' in page
    assert '<td id="reconcile-duration">2 min 05 s</td>' in page
    assert 'id="reconcile-progress"' not in page, "a finished run shows no progress bar"


def test_no_differences_with_records_in_flight_says_they_were_not_judged(manager, connection):
    run = ReconcileRun.objects.create(
        connection=connection, status=ReconcileRun.Status.COMPLETED, pairs_compared=10, in_flight=3
    )
    agree = re.search(r'<p id="reconcile-agree">(.*?)</p>', manager.get(run_url(run)).content.decode(), re.S)
    assert "both orgs agree on 10 compared pairs" in agree.group(1)
    assert "3 records in flight" in agree.group(1) and "were not judged" in agree.group(1)


def test_the_sample_links_each_record_in_its_org(manager, finished):
    page = manager.get(run_url(finished)).content.decode()
    rows = re.findall(r'<tr class="difference" data-kind="(\w+)">(.*?)</tr>', page, re.S)
    assert [kind for kind, _ in rows] == ["drift", "missing", "orphan"]
    drift, missing, orphan = (html for _, html in rows)
    assert f'href="{PRIMARY_URL}/001AAAAAAAAAAAAAAA"' in drift, "p2s: the source is in the primary"
    assert f'href="{SECONDARY_URL}/001BBBBBBBBBBBBBBB"' in drift, "…and the target in the secondary"
    assert "Name,Phone" in drift and "secondary (US prod)" in drift and "update from the primary" in drift
    assert f'href="{SECONDARY_URL}/001CCCCCCCCCCCCCCC"' in missing, "s2p: the source is in the secondary"
    assert "Missing in the target" in missing
    assert f'href="{SECONDARY_URL}/003DDDDDDDDDDDDDDD"' in orphan and "Orphan copy" in orphan


def test_the_sample_is_paginated_and_filtered_by_class(manager, finished):
    ReconcileDifference.objects.bulk_create(
        ReconcileDifference(
            run=finished,
            direction=P2S,
            source_object="Account",
            target_object="Account",
            kind="broken_link",
            source_id=f"001{n:015d}",
        )
        for n in range(60)
    )
    first = manager.get(run_url(finished))
    assert len(first.context["rows"]) == 50 and "page 1 of 2 (63 differences)" in first.content.decode()
    second = manager.get(run_url(finished), {"page": "2"})
    assert len(second.context["rows"]) == 13
    links = manager.get(run_url(finished), {"kind": "broken_link"})
    assert {row.difference.kind for row in links.context["rows"]} == {"broken_link"}
    assert links.context["page_obj"].paginator.count == 60
    assert manager.get(run_url(finished), {"page": "x", "kind": "<b>"}).status_code == 200
    assert manager.get(run_url(finished) + "?page=99999").context["page_obj"].number == 2


def test_a_running_run_shows_its_progress_refreshed_by_a_script_file(manager, connection):
    run = ReconcileRun.objects.create(
        connection=connection,
        status=ReconcileRun.Status.RUNNING,
        phase=RUNNING_PHASE,
        records_total=1200,
        records_read=300,
        started_at=timezone.now(),
    )
    page = manager.get(run_url(run)).content.decode()
    progress = page.split('id="reconcile-progress"')[1].split("</section>")[0]
    assert RUNNING_PHASE in progress
    assert 'aria-valuenow="25"' in progress and "25 %" in progress
    assert '<span id="reconcile-progress-read">300</span>' in progress
    status_url = reverse("admin:replication_reconcilerun_status", args=[run.pk])
    assert f'data-status-url="{status_url}"' in progress
    scripts = re.findall(r"<script[^>]*>", page)
    assert any("orgsync/reconcile.js" in tag for tag in scripts)
    assert all("src=" in tag for tag in scripts), "no inline script (CSP script-src 'self')"
    status = manager.get(status_url).json()
    assert status == {
        "status": "running",
        "active": True,
        "phase": RUNNING_PHASE,
        "records_read": 300,
        "records_total": 1200,
        "percent": 25,
        "differences": 0,
    }


def test_a_missing_run_is_404(manager):
    assert manager.get(reverse("admin:replication_reconcilerun_change", args=[987654])).status_code == 404
    assert manager.get("/admin/replication/reconcilerun/not-a-number/change/").status_code in (302, 404)


# --- CSV ------------------------------------------------------------------------------------------


def test_the_csv_has_ids_links_and_field_names_only(manager, finished):
    response = manager.get(reverse("admin:replication_reconcilerun_csv", args=[finished.pk]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert f"reconcile-{finished.pk}-" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    header, *body = rows
    assert header == [
        "run", "connection", "direction", "class", "source object", "source id", "source url",
        "target object", "target id", "target url", "fields", "changed last", "detail", "repair",
    ]  # fmt: skip
    assert len(body) == 3 and all(len(row) == len(header) for row in body)
    drift = dict(zip(header, body[0], strict=True))
    assert drift["class"] == "Field drift" and drift["direction"] == "Primary → secondary"
    assert drift["source url"] == f"{PRIMARY_URL}/001AAAAAAAAAAAAAAA"
    assert drift["target url"] == f"{SECONDARY_URL}/001BBBBBBBBBBBBBBB"
    assert drift["fields"] == "Name,Phone" and drift["changed last"] == "secondary"
    orphan = dict(zip(header, body[2], strict=True))
    assert orphan["detail"] == "'=its origin is deleted", "a formula-like cell is quoted"


# --- the schedule ---------------------------------------------------------------------------------


def test_the_schedule_is_off_by_default_and_saved_with_its_next_run(manager, connection):
    form = manager.get(schedule_url(connection)).context["form"]
    assert (form["enabled"].value(), form["every_hours"].value(), form["hour"].value()) == (False, 24, 2)
    data = {"enabled": "on", "every_hours": "24", "hour": "3", "repair": "on", "alert_threshold": "5"}
    response = manager.post(schedule_url(connection), data)
    page = reverse("admin:connections_connection_change", args=[connection.pk])
    assert response.status_code == 302 and response["Location"] == f"{page}#hub-reconcile"
    schedule = ReconcileSchedule.objects.get(connection=connection)
    assert (schedule.enabled, schedule.hour, schedule.repair, schedule.alert_threshold) == (True, 3, True, 5)
    assert schedule.next_run_at > timezone.now() and schedule.next_run_at.hour == 3
    manager.post(schedule_url(connection), {**data, "enabled": ""})
    schedule.refresh_from_db()
    assert not schedule.enabled and schedule.next_run_at is None


@pytest.mark.parametrize(
    ("field", "value"), [("hour", "24"), ("every_hours", "0"), ("alert_threshold", "0")], ids=str
)
def test_a_bad_schedule_is_refused_next_to_its_field(manager, connection, field, value):
    data = {"enabled": "on", "every_hours": "24", "hour": "2", "alert_threshold": "1", field: value}
    response = manager.post(schedule_url(connection), data)
    assert response.status_code == 200 and errors(response)[field]
    assert not ReconcileSchedule.objects.exists()


# --- the connection page ----------------------------------------------------------------------


def connection_page(client, connection) -> str:
    response = client.get(reverse("admin:connections_connection_change", args=[connection.pk]))
    assert response.status_code == 200
    return response.content.decode()


def hub_box(page: str) -> str:
    return page.split('id="hub-reconcile"')[1].split('<div class="module hub-section"')[0]


def test_the_reconcile_button_sits_by_sync_now_and_is_disabled_while_one_runs(manager, connection):
    page = connection_page(manager, connection)
    tools = page.split('class="object-tools"')[1].split("</ul>")[0]
    assert tools.index('id="sync-now-button"') < tools.index('id="reconcile-button"')
    assert f'href="{start_url(connection)}" class="historylink" id="reconcile-button"' in tools
    run = ReconcileRun.objects.create(connection=connection)
    page = connection_page(manager, connection)
    assert f'disabled title="Reconcile #{run.pk} is queued: wait for it to finish."' in page
    assert f'href="{run_url(run)}" class="historylink" id="reconcile-active"' in page


def test_the_hub_box_shows_the_latest_completed_run_and_the_schedule(manager, operator, connection, finished):
    ReconcileRun.objects.create(connection=connection, status=ReconcileRun.Status.FAILED, differences=99)
    ReconcileSchedule.objects.create(connection=connection, enabled=True, every_hours=24, alert_threshold=3)
    box = hub_box(connection_page(manager, connection))
    latest = box.split('id="reconcile-latest"')[1].split("</p>")[0]
    assert (
        f'href="{run_url(finished)}"' in latest
        and '<strong class="reconcile-drift hub-bad">6</strong>' in latest
    )
    assert "<strong>on</strong>, every 24 h" in box and "alert from 3 differences" in box
    assert f'href="{schedule_url(connection)}"' in box and f'href="{start_url(connection)}"' in box
    assert box.count('class="hub-reconcile"') == 2, "the last runs, failed ones too"
    changelist = reverse("admin:replication_reconcilerun_changelist")
    assert f'href="{changelist}?connection__id__exact={connection.pk}"' in box
    watcher = hub_box(connection_page(operator, connection))
    assert f'href="{run_url(finished)}"' in watcher and 'class="reconcile-drift hub-bad">6<' in watcher
    assert schedule_url(connection) not in watcher and start_url(connection) not in watcher


def test_the_hub_box_before_any_reconcile(manager, connection):
    box = hub_box(connection_page(manager, connection))
    assert "Never reconciled to completion." in box and "<strong>off</strong>" in box
