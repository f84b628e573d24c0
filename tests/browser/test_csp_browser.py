"""The Content-Security-Policy breaks nothing: the admin's widgets and popups, the sign-in, the
MFA setup page, the diff-run list's Run link and the bulk-sync start and progress pages (their
scripts are static/orgsync/*.js) run in a real browser without a single CSP violation."""

import re

import pytest
from playwright.sync_api import expect

from connections.metadata_api import Waiter
from metadiff import services as metadiff_services
from metadiff.models import DiffRun
from orgsync.roles import ADMINISTRATORS
from replication import services as replication_services
from replication.models import BulkSync, Direction
from replication.services.bulk_sync import bulk_sync_start
from tests.browser.test_login_browser import sign_in
from tests.factories import PASSWORD, UserFactory
from tests.metadiff.conftest import org_pair
from tests.replication.conftest import linked_orgs

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def violations(page) -> list[str]:
    """Console messages and page errors of the page and its popups that are about the CSP."""
    seen: list[str] = []

    def watch(target) -> None:
        target.on("console", lambda message: seen.append(f"{message.type}: {message.text}"))
        target.on("pageerror", lambda error: seen.append(f"pageerror: {error}"))

    watch(page)
    page.context.on("page", watch)
    yield seen


def csp_errors(messages: list[str]) -> list[str]:
    return [m for m in messages if "Content Security Policy" in m or "Content-Security-Policy" in m]


def test_admin_and_mfa_pages_run_under_the_policy(page, violations):
    admin = UserFactory(is_superuser=True)
    response = page.goto("/accounts/login/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    sign_in(page, admin.username, PASSWORD)
    expect(page).to_have_url(re.compile(r"/admin/$"))

    # The index: product first, the library apps under a collapsed "Administration".
    administration = page.locator("#administration-apps")
    expect(administration.locator(".app-auth")).to_be_hidden()
    administration.locator("summary").click()
    expect(administration.locator(".app-auth")).to_be_visible()

    # A change form with a filter_horizontal widget (built by admin JS) and a related-object popup.
    page.goto(f"/admin/auth/user/{admin.pk}/change/")
    expect(page.locator("#id_groups_from")).to_be_visible()  # SelectFilter2 ran
    with page.expect_popup() as popup_info:
        page.click("#add_id_groups")
    popup = popup_info.value
    popup.fill("input[name=name]", "CSP checkers")
    popup.click("input[name=_save]")
    popup.wait_for_event("close")  # popup_response.js ran and closed it
    expect(page.locator("#id_groups_to option", has_text="CSP checkers")).to_have_count(1)

    # A page whose script used to be inline (now static/orgsync/diffrun.js).
    page.goto("/admin/metadiff/diffrun/")
    expect(page.locator("#content")).to_be_visible()

    # MFA setup: the QR code is a data: image.
    page.goto("/accounts/2fa/totp/activate/")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/accounts/2fa/totp/activate/"))
    qr = page.locator("img[src^='data:image/svg+xml']")
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0"), "the QR code loaded"

    assert not csp_errors(violations), violations


def strict(response) -> bool:
    """The response's script-src is 'self' alone: no page is excepted (orgsync.security)."""
    policy = response.headers["content-security-policy"]
    script_src = next(d.split()[1:] for d in policy.split(";") if d.split()[:1] == ["script-src"])
    return script_src == ["'self'"]


def test_diff_run_list_run_link_posts_under_the_strict_policy(page, violations, sfemu_server, monkeypatch):
    """The "Run" link: static/orgsync/diffrun.js turns it into a POST (rerun refuses a GET)."""
    monkeypatch.setattr(Waiter, "FIRST", 0.05)
    monkeypatch.setattr(Waiter, "MOST", 0.5)
    pair = org_pair(sfemu_server, seeded=False)
    first = metadiff_services.diff_run_start(difference=pair.difference(name="CSP run"))
    sign_in(page, UserFactory(groups=[ADMINISTRATORS]).username, PASSWORD)

    response = page.goto("/admin/metadiff/diffrun/")
    assert strict(response), response.headers["content-security-policy"]
    page.locator("#result_list a.run-run").first.click()
    expect(page).to_have_url(re.compile(r"/admin/metadiff/diffrun/\d+/change/$"))
    rerun = DiffRun.objects.exclude(pk=first.pk).get()
    assert page.url.endswith(f"/admin/metadiff/diffrun/{rerun.pk}/change/")
    expect(page.locator(".messagelist")).to_contain_text("Started")

    assert not csp_errors(violations), violations


@pytest.fixture
def two_way(sfemu_server):
    """A two-way connection: Account published both ways, Contact primary → secondary only."""
    linked = linked_orgs(sfemu_server, two_way=True)
    for direction, name in (
        (Direction.PRIMARY_TO_SECONDARY, "Account"),
        (Direction.PRIMARY_TO_SECONDARY, "Contact"),
        (Direction.SECONDARY_TO_PRIMARY, "Account"),
    ):
        publication = replication_services.publication_publish(
            connection=linked.connection, direction=direction, source_object=name, actor=None
        )
        replication_services.subscription_subscribe(publication=publication, actor=None)
    return linked


def test_bulk_sync_start_page_direction_switch_under_the_strict_policy(page, violations, two_way):
    """Choosing a direction reloads the start page with that direction's objects."""
    sign_in(page, UserFactory(groups=[ADMINISTRATORS]).username, PASSWORD)
    response = page.goto(f"/admin/replication/bulksync/start/{two_way.connection.pk}/")
    assert strict(response), response.headers["content-security-policy"]
    expect(page.get_by_label("Account")).to_be_checked()
    expect(page.get_by_label("Contact")).to_be_checked()

    page.select_option("#id_direction", Direction.SECONDARY_TO_PRIMARY)
    expect(page).to_have_url(re.compile(r"\?direction=s2p$"))
    expect(page.locator("#id_direction")).to_have_value(Direction.SECONDARY_TO_PRIMARY)
    expect(page.get_by_label("Account")).to_be_checked()
    expect(page.get_by_label("Contact")).to_have_count(0)

    page.select_option("#id_direction", Direction.PRIMARY_TO_SECONDARY)
    expect(page).to_have_url(re.compile(r"\?direction=p2s$"))
    expect(page.get_by_label("Contact")).to_be_checked()

    assert not csp_errors(violations), violations


def test_bulk_sync_progress_page_reloads_when_the_run_moves(page, violations, two_way):
    """static/orgsync/bulksync.js polls the status URL and reloads when the stamp changes; a
    finished run's page stops polling."""
    bulk = bulk_sync_start(connection=two_way.connection, actor=None, run_in_worker=False)
    sign_in(page, UserFactory(groups=[ADMINISTRATORS]).username, PASSWORD)
    response = page.goto(f"/admin/replication/bulksync/{bulk.pk}/change/")
    assert strict(response), response.headers["content-security-policy"]
    expect(page.locator("#bulk-status")).to_have_text("Queued")
    expect(page.locator("#bulk-poll")).to_have_attribute(
        "data-status-url", f"/admin/replication/bulksync/{bulk.pk}/status.json"
    )

    page.evaluate("() => { window.notReloaded = true; }")
    status_json = re.compile(rf"/admin/replication/bulksync/{bulk.pk}/status\.json$")
    with page.expect_response(status_json) as polled:
        pass  # the next poll: the stamp has not moved
    assert polled.value.ok
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.notReloaded") is True, "no reload while nothing moved"

    BulkSync.objects.filter(pk=bulk.pk).update(status=BulkSync.Status.RUNNING)
    expect(page.locator("#bulk-status")).to_have_text("Running")
    assert page.evaluate("() => window.notReloaded") is None, "the page reloaded"

    BulkSync.objects.filter(pk=bulk.pk).update(status=BulkSync.Status.COMPLETED)
    expect(page.locator("#bulk-status")).to_have_text("Completed")
    expect(page.locator("#bulk-poll")).to_have_count(0)
    expect(page.locator("#cancel-bulk-sync")).to_have_count(0)

    assert not csp_errors(violations), violations


def test_the_policy_is_enforced(page, violations):
    """The check above is meaningful: an inline script is refused and reported in the console."""
    page.goto("/accounts/login/")
    page.evaluate(
        """() => { const s = document.createElement("script");
                   s.textContent = "window.inlineRan = true"; document.body.appendChild(s); }"""
    )
    assert page.evaluate("() => window.inlineRan") is None
    page.wait_for_timeout(200)
    assert csp_errors(violations), violations
