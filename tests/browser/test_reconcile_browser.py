"""A reconcile run's page in Chromium: while the run goes, static/orgsync/reconcile.js moves the
phase and the bar in place (under the strict CSP); once it completes, the page shows the
results."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from connections.models import Connection
from orgsync.roles import ADMINISTRATORS
from replication.models import ReconcileDifference, ReconcileRun
from tests.browser.test_csp_browser import csp_errors
from tests.browser.test_login_browser import sign_in
from tests.factories import PASSWORD, ConnectionFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_run_page_follows_the_run_until_its_results(page):
    messages: list[str] = []
    page.on("console", lambda message: messages.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: messages.append(f"pageerror: {error}"))
    connection = ConnectionFactory(status=Connection.Status.ACTIVE)
    run = ReconcileRun.objects.create(
        connection=connection,
        status=ReconcileRun.Status.RUNNING,
        phase="counting records",
        records_total=1000,
        records_read=100,
        started_at=timezone.now(),
    )
    sign_in(page, UserFactory(groups=[ADMINISTRATORS]).username, PASSWORD)
    page.goto(f"/admin/replication/reconcilerun/{run.pk}/change/")
    expect(page.locator("#reconcile-phase")).to_have_text("counting records")
    expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "10")

    ReconcileRun.objects.filter(pk=run.pk).update(phase="comparing Account", records_read=750)
    expect(page.locator("#reconcile-phase")).to_have_text("comparing Account")
    expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "75")
    expect(page.locator("#reconcile-progress-read")).to_have_text("750")

    ReconcileRun.objects.filter(pk=run.pk).update(
        status=ReconcileRun.Status.COMPLETED,
        records_read=1000,
        differences=3,
        counts={"Account": {"missing": 3}},
        finished_at=timezone.now(),
    )
    expect(page.locator("#reconcile-status")).to_have_text("Completed")
    expect(page.locator("#reconcile-progress")).to_have_count(0)
    expect(page.locator("#counts-Account .total")).to_have_text("3")
    assert not csp_errors(messages), messages
    assert not [m for m in messages if m.startswith("pageerror")], messages


def test_the_sample_fits_1280_px(page):
    """Long details and repair labels wrap: the run's page never scrolls sideways at 1280 px."""
    run = ReconcileRun.objects.create(
        connection=ConnectionFactory(status=Connection.Status.ACTIVE),
        status=ReconcileRun.Status.COMPLETED,
        differences=1,
        counts={"Account": {"broken_link": 1}},
        finished_at=timezone.now(),
    )
    ReconcileDifference.objects.create(
        run=run,
        direction="p2s",
        source_object="Opportunity",
        target_object="Opportunity",
        kind="broken_link",
        source_id="006AAAAAAAAAAAAAAA",
        target_id="006BBBBBBBBBBBBBBB",
        fields="AccountId, CampaignId, Pricebook2Id",
        changed_last="secondary",
        detail="link #123456: the target record is gone",
        repair="reported (choose “delete duplicates and orphans” to delete it)",
    )
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, UserFactory(groups=[ADMINISTRATORS]).username, PASSWORD)
    page.goto(f"/admin/replication/reconcilerun/{run.pk}/change/")
    expect(page.locator("tr.difference")).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280, "the page scrolls sideways"
