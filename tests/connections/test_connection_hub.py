"""The connection page is the hub (issue 17 item 3): after the status and the buttons, the
connection's published and subscribed objects with their mapping health, its record queue by
status, its last runs, its open sync log entries and its metadata gaps, each linking to its full
list filtered by this connection. Real data: two sfemu orgs, one engine cycle, a real failure."""

import re
from html import unescape

import pytest
from django.core.cache import cache
from django.urls import reverse

from connections import admin_sections
from connections.models import Connection, Org
from metadiff import admin_sections as metadiff_sections
from replication import services
from replication.engine.cycle import sync_once
from replication.models import Direction, PublishedObject, RecordQueueItem
from synclog.models import SyncLog, SyncRun
from tests.factories import ConnectionFactory
from tests.replication.conftest import linked_orgs

P2S = Direction.PRIMARY_TO_SECONDARY
pytestmark = pytest.mark.django_db


@pytest.fixture
def hub(db, sfemu_server):
    """A one-way connection: Account published and subscribed, Contact published only; one cycle
    synced two accounts and failed one (a required field the target added later); one account
    waits in the queue. Another connection has rows of its own in every list."""
    linked = linked_orgs(sfemu_server)
    connection = linked.connection
    account = services.publication_publish(
        connection=connection, direction=P2S, source_object="Account", actor=None
    )
    services.subscription_subscribe(publication=account, actor=None)
    services.publication_publish(connection=connection, direction=P2S, source_object="Contact", actor=None)
    acme, _ = (
        linked.primary.org.create("Account", {"Name": name}, user_id=linked.primary.user_id)
        for name in ("Acme", "Globex")
    )
    sync_once(connection)
    linked.primary.org.update("Account", acme, {"Name": "Acme Ltd"}, user_id=linked.primary.user_id)
    sync_once(connection)
    linked.secondary.org.add_custom_field("Account", "Region__c", type="string", length=40, required=True)
    failing = linked.primary.org.create("Account", {"Name": "No region"}, user_id=linked.primary.user_id)
    sync_once(connection)
    RecordQueueItem.objects.create(
        connection=connection, direction=P2S, source_object="Account", source_id="001000000000000AAA"
    )
    other = ConnectionFactory(name="Someone else's connection")
    RecordQueueItem.objects.create(
        connection=other, direction=P2S, source_object="Account", source_id="001000000000000BBB"
    )
    SyncLog.objects.create(
        connection=other,
        direction=P2S,
        source_object="Account",
        source_id="001000000000000BBB",
        action="generic_insert",
        status=SyncLog.Status.FAILED,
        error_code="OTHER_CONNECTION_ERROR",
    )
    SyncRun.objects.create(connection=other, kind=SyncRun.Kind.APPLY, processed=77)
    PublishedObject.objects.create(connection=other, direction=P2S, source_object="Lead")
    linked.failing_id = failing
    return linked


def page(client, connection: Connection) -> str:
    response = client.get(reverse("admin:connections_connection_change", args=[connection.pk]))
    assert response.status_code == 200
    return response.content.decode()


def box(html: str, slug: str) -> str:
    """The hub section `slug` (its <div id="hub-slug"> up to the next section or the hub's end)."""
    start = html.index(f'id="hub-{slug}"')
    ends = [
        i
        for i in (html.find('<div class="module hub-section"', start), html.find("</section>", start))
        if i > 0
    ]
    return html[start : min(ends)]


def links(html: str) -> dict[str, str]:
    """Link text (without the trailing chevron) → href of every <a> in `html`."""
    return {
        re.sub(r"<[^>]+>|\s+|\u203a", " ", text).strip(): unescape(href)
        for href, text in re.findall(r'<a href="([^"]+)"[^>]*>(.*?)</a>', html, re.S)
    }


def results(html: str) -> str:
    """The rows of a changelist page (not its filters, which list every connection's values)."""
    start = html.index('id="result_list"')
    return html[start : html.index("</table>", start)]


def row(html: str, marker: str) -> str:
    start = html.index(marker)
    return html[start : html.index("</tr>", start)]


def cell(html: str, css: str) -> str:
    return re.sub(
        r"<[^>]+>", "", re.search(rf'class="[^"]*{css}[^"]*"[^>]*>(.*?)</td>', html, re.S)[1]
    ).strip()


def test_objects_show_field_counts_and_mapping_health(manager_client, hub):
    account = hub.connection.published_objects.get(source_object="Account")
    published = account.fields.filter(is_published=True).count()
    mapped = account.subscription.fields.exclude(target_field="").count()
    assert published > 5 and mapped > 5
    objects = box(page(manager_client, hub.connection), "objects")
    assert f"{hub.connection.primary_org} → {hub.connection.secondary_org}" in objects
    account_row = row(objects, 'data-object="Account"')
    assert cell(account_row, "published-fields") == str(published)
    assert cell(account_row, "mapped-fields") == str(mapped)
    # Region__c is required in the target and mapped from nothing: the analyzer's error.
    assert "1 error" in account_row and "hub-error" in account_row
    assert reverse("admin:replication_subscription_analyze", args=[account.subscription.pk]) in account_row
    contact_row = row(objects, 'data-object="Contact"')
    assert "not subscribed" in contact_row and 'mapping-health">—' in contact_row
    url = links(objects)["All published objects"]
    assert url.endswith(f"?connection__id__exact={hub.connection.pk}")
    listed = results(manager_client.get(url).content.decode())
    assert listed.count('class="field-source_object"') == 2 and "Lead" not in listed


def test_mapping_health_is_ok_for_a_clean_mapping(manager_client, sfemu_server):
    linked = linked_orgs(sfemu_server)
    account = services.publication_publish(
        connection=linked.connection, direction=P2S, source_object="Account", actor=None
    )
    services.subscription_subscribe(publication=account, actor=None)
    account_row = row(box(page(manager_client, linked.connection), "objects"), 'data-object="Account"')
    assert ">OK<" in account_row and "hub-ok" in account_row


def test_an_unreachable_org_makes_health_unknown_not_the_page_fail(manager_client, hub):
    Org.objects.filter(pk=hub.connection.secondary_org_id).update(instance_url="https://127.0.0.1:9")
    account_row = row(box(page(manager_client, hub.connection), "objects"), 'data-object="Account"')
    assert "unknown (org unreachable)" in account_row


def test_queue_counts_by_status_link_to_this_connections_items(manager_client, hub):
    queue = box(page(manager_client, hub.connection), "queue")
    mine = RecordQueueItem.objects.filter(connection=hub.connection)
    assert mine.count() == 1
    queued = row(queue, 'data-status="queued"')
    assert re.search(r">1</a>", queued)
    assert cell(queue, "queue-total") == "1"
    assert "<a" not in row(queue, 'data-status="conflict"'), "no link to an empty list"
    url = links(queued)["1"]
    assert f"connection__id__exact={hub.connection.pk}" in url and "status__exact=queued" in url
    listed = results(manager_client.get(url).content.decode())
    assert "001000000000000AAA" in listed and "001000000000000BBB" not in listed
    all_url = links(queue)["All queued records"]
    listed = results(manager_client.get(all_url).content.decode())
    assert "001000000000000AAA" in listed and "001000000000000BBB" not in listed


def test_runs_show_the_last_five_with_counts(manager_client, hub):
    runs = box(page(manager_client, hub.connection), "runs")
    latest = SyncRun.objects.filter(connection=hub.connection)[:5]
    assert len(latest) == 5 and SyncRun.objects.filter(connection=hub.connection).count() > 5
    assert runs.count('class="hub-run"') == 5
    failed_apply = SyncRun.objects.filter(connection=hub.connection, kind=SyncRun.Kind.APPLY, failed=1).get()
    apply_row = row(runs, f'href="{reverse("admin:synclog_syncrun_change", args=[failed_apply.pk])}"')
    assert "Apply" in apply_row
    assert cell(apply_row, "run-failed") == "1"
    assert cell(apply_row, "run-processed") == str(failed_apply.processed)
    assert cell(apply_row, "run-succeeded") == str(failed_apply.succeeded)
    url = links(runs)["All runs"]
    listed = results(manager_client.get(url).content.decode())
    assert listed.count("field-started_at") == SyncRun.objects.filter(connection=hub.connection).count()
    assert ">77<" not in listed, "the other connection's run"


def test_log_shows_open_entries_with_their_code(manager_client, hub):
    log = box(page(manager_client, hub.connection), "log")
    entry = SyncLog.objects.get(connection=hub.connection, source_id=hub.failing_id)
    assert (entry.status, entry.error_code) == (SyncLog.Status.FAILED, "REQUIRED_FIELD_MISSING")
    line = row(log, 'class="hub-log-entry"')
    assert hub.failing_id in line and "REQUIRED_FIELD_MISSING" in line and "Failed" in line
    assert "OTHER_CONNECTION_ERROR" not in log
    totals = log[: log.index("</p>")]
    failed = links(totals[totals.index('data-status="failed"') :])["1"]
    assert "status__exact=failed" in failed and f"connection__id__exact={hub.connection.pk}" in failed
    listed = results(manager_client.get(failed).content.decode())
    assert "REQUIRED_FIELD_MISSING" in listed and "OTHER_CONNECTION_ERROR" not in listed


def test_gaps_not_checked_then_checked_from_the_page(manager_client, hub):
    html = page(manager_client, hub.connection)
    gaps = box(html, "gaps")
    assert "Not checked yet" in gaps and 'id="check-gaps-button"' in gaps
    url = reverse("admin:connections_connection_hub_action", args=[hub.connection.pk, "metadata-gaps"])
    assert manager_client.get(url).status_code == 405
    response = manager_client.post(url, follow=True)
    assert response.redirect_chain[-1][0].endswith("#hub-gaps")
    gaps = box(response.content.decode(), "gaps")
    assert "check from this page" in gaps
    # Contact is published one way with nothing in the way; Account's published fields all
    # exist in the target: no gaps.
    assert "None" in gaps and "the published fields match" in gaps
    assert cache.get(metadiff_sections._key(hub.connection))["gaps"] == []


def test_operator_sees_the_sections_but_no_manage_buttons(operator_client, hub):
    html = page(operator_client, hub.connection)
    for slug in ("objects", "queue", "runs", "log", "gaps"):
        assert f'id="hub-{slug}"' in html
    for button in ("sync-now-button", "bulk-sync-button", "check-gaps-button"):
        assert f'id="{button}"' not in html
    assert 'value="suspend"' not in html
    # Operators may open the queue, the log and the runs, not publications.
    assert "All queued records" in html and "Whole sync log" in html and "All runs" in html
    assert "All published objects" not in html
    assert "1 error" in row(box(html, "objects"), 'data-object="Account"')
    url = reverse("admin:connections_connection_hub_action", args=[hub.connection.pk, "metadata-gaps"])
    assert operator_client.post(url).status_code == 403


def test_admin_keeps_the_buttons_and_the_history(manager_client, hub):
    html = page(manager_client, hub.connection)
    assert 'id="sync-now-button"' in html and 'id="bulk-sync-button"' in html
    assert 'value="suspend"' in html and 'value="deactivate"' in html
    assert "Connection history (newest first)" in html
    assert html.index('id="connection-hub"') < html.index('id="connection_form"')


def test_the_connection_page_imports_none_of_the_apps_built_on_it():
    """The hub is an inversion: replication, synclog and metadiff register their sections;
    connections' admin code imports neither replication nor metadiff (synclog's history model
    was its inline before the hub)."""
    import ast
    from pathlib import Path

    from connections import admin as connections_admin

    for module in (connections_admin, admin_sections):
        tree = ast.parse(Path(module.__file__).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in ("replication", "metadiff"), (
                    f"{module.__name__} imports {name}"
                )


def test_gaps_show_the_last_metadata_sync_result(manager_client, hub):
    from django.utils import timezone

    from metadiff.models import ConnectionMetadataSync

    ConnectionMetadataSync.objects.create(
        connection=hub.connection,
        status=ConnectionMetadataSync.Status.SUCCEEDED,
        finished_at=timezone.now(),
        gaps=[
            {
                "direction": P2S,
                "target_org": "secondary",
                "object": "Account",
                "field": "Rating__c",
                "source_field": "Rating__c",
                "kind": "missing_field",
                "detail": "Account has no field Rating__c in the secondary org to receive Rating__c.",
                "fix": "Add field Rating__c (Text(40)) to Account in the secondary org.",
            }
        ],
    )
    html = page(manager_client, hub.connection)
    gaps = box(html, "gaps")
    assert "1 gap</span>" in gaps and "Account.Rating__c" in gaps and "Add field Rating__c" in gaps
    assert "metadata sync" in gaps
    assert links(gaps)["Metadata sync"].endswith(f"?connection__id__exact={hub.connection.pk}")
