"""`manage.py bulk_sync` against two sfemu orgs: the summary table, dry run, a non-zero exit on
failures, resuming a run stopped by SIGTERM, and messages for bad input."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from replication.models import EXTERNAL_ID_FIELD, BulkSync, RecordLink
from replication.services.bulk_sync import bulk_sync_start
from synclog.models import SyncLog
from tests.orgsync.cluster import PROJECT_DIR, child_environment
from tests.replication.conftest import linked_orgs
from tests.replication.test_bulk_sync import seed, subscribe, target_rows

COLUMNS = ("path", "total", "insert", "link", "skipped", "failed", "held back", "queue", "API calls")


def bulk_sync(*args: str, out: StringIO | None = None) -> str:
    out = out or StringIO()
    call_command("bulk_sync", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def summary(output: str) -> dict[str, dict[str, str]]:
    """The summary table's rows by object: {"Account": {"path": "rest", "total": "5", ...}}."""
    rows = {}
    for line in output.splitlines():
        cells = line.split()
        if len(cells) == 1 + len(COLUMNS) and cells[0] in ("Account", "Contact"):
            rows[cells[0]] = dict(zip(COLUMNS, cells[1:], strict=True))
    return rows


@pytest.fixture
def accounts_and_contacts(linked):
    subscribe(linked, "Account", "Contact")
    return linked


def test_copies_and_prints_a_summary_per_object(accounts_and_contacts):
    linked = accounts_and_contacts
    _, contact_ids = seed(linked, 5, 2)
    output = bulk_sync(linked.connection.name)

    rows = summary(output)
    assert {k: rows["Account"][k] for k in ("path", "total", "insert", "link", "skipped", "failed")} == {
        "path": "rest",
        "total": "5",
        "insert": "5",
        "link": "0",
        "skipped": "0",
        "failed": "0",
    }
    assert (rows["Contact"]["total"], rows["Contact"]["insert"]) == ("10", "10")
    assert int(rows["Account"]["API calls"]) >= 1
    assert "Contact: 10 / 10 processed" in output, "plain progress lines when stdout is not a terminal"
    assert sorted(r[EXTERNAL_ID_FIELD] for r in target_rows(linked, "Contact", EXTERNAL_ID_FIELD)) == sorted(
        contact_ids
    )
    assert BulkSync.objects.get().status == BulkSync.Status.COMPLETED

    again = summary(bulk_sync(str(linked.connection.pk), "--objects", "account"))
    assert (again["Account"]["insert"], again["Account"]["skipped"]) == ("0", "5")
    assert "Contact" not in again


def test_dry_run_shows_what_would_be_inserted_linked_or_skipped(accounts_and_contacts):
    linked = accounts_and_contacts
    account_ids, _ = seed(linked, 6)
    linked.secondary.org.create(
        "Account", {"Name": "Earlier", EXTERNAL_ID_FIELD: account_ids[0]}, user_id=linked.secondary.user_id
    )
    bulk_sync(linked.connection.name, "--objects", "Account", "--limit", "2")  # the two newest, for real
    output = bulk_sync(linked.connection.name, "--objects", "Account", "--dry-run")

    assert "would insert" in output and "would link" in output
    row = summary(output)["Account"]
    assert (row["total"], row["insert"], row["link"], row["skipped"]) == ("6", "3", "1", "2")
    assert len(target_rows(linked, "Account", "Id")) == 3, "the dry run wrote nothing"
    assert RecordLink.objects.count() == 2


def test_exits_non_zero_when_a_record_fails_or_is_held_back(accounts_and_contacts):
    linked = accounts_and_contacts
    linked.secondary.org.add_validation_rule(
        "Account", "No_Rejects", message="Rejected", field="Name", condition="eq", value="Reject"
    )
    org, user = linked.primary.org, linked.primary.user_id
    bad = org.create("Account", {"Name": "Reject"}, user_id=user)
    for n in range(2):
        org.create("Contact", {"LastName": f"O{n}", "AccountId": bad}, user_id=user)
    seed(linked, 3, 1)

    out = StringIO()
    with pytest.raises(CommandError) as failed:
        bulk_sync(linked.connection.name, out=out)
    assert "1 record(s) failed, 2 held back" in str(failed.value)
    assert "sync log" in str(failed.value)
    rows = summary(out.getvalue())
    assert (rows["Account"]["insert"], rows["Account"]["failed"]) == ("3", "1")
    assert (rows["Contact"]["insert"], rows["Contact"]["held back"]) == ("3", "2")
    assert SyncLog.objects.filter(status=SyncLog.Status.FAILED).count() == 3
    assert BulkSync.objects.get().status == BulkSync.Status.COMPLETED_WITH_FAILURES


def test_bad_input_is_refused_with_the_reason(accounts_and_contacts):
    name = accounts_and_contacts.connection.name
    too_old = (timezone.now() - timedelta(days=400)).strftime("%Y-%m-%d")
    cases = [
        ((name, "--since", too_old), "more than a year ago"),
        ((name, "--since", "01/02/2026"), "YYYY-MM-DD"),
        ((name, "--objects", "Account,Lead"), "Not published and subscribed in this direction: Lead"),
        ((name, "--direction", "s2p"), "needs a two-way connection"),
        ((name, "--limit", "0"), "at least 1"),
        ((name, "--resume"), "no unfinished bulk sync"),
        (("no such connection",), "No connection named"),
    ]
    for args, message in cases:
        with pytest.raises(CommandError) as refused:
            bulk_sync(*args)
        assert message in str(refused.value), args
    assert not BulkSync.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_sigterm_interrupts_and_resume_finishes_without_duplicates(sfemu_server, settings, tmp_path):
    linked = linked_orgs(sfemu_server)
    subscribe(linked, "Account")
    account_ids, _ = seed(linked, 1500)
    knobs = {"ORGSYNC_BULK_SYNC_THRESHOLD": "100", "ORGSYNC_BULK_SYNC_PAGE_RECORDS": "150"}
    settings.ORGSYNC_BULK_SYNC_THRESHOLD, settings.ORGSYNC_BULK_SYNC_PAGE_RECORDS = 100, 150
    log = tmp_path / "bulk_sync.log"
    child = subprocess.Popen(
        [sys.executable, "manage.py", "bulk_sync", linked.connection.name],
        cwd=PROJECT_DIR,
        env={**child_environment(), **knobs},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while child.poll() is None and time.monotonic() < deadline:
            if RecordLink.objects.exists():  # the first page is written: stop it mid-run
                break
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGTERM)
        assert child.wait(timeout=30) != 0, log.read_text()
    finally:
        if child.poll() is None:
            child.kill()
    bulk = BulkSync.objects.get()
    assert bulk.status == BulkSync.Status.INTERRUPTED, log.read_text()
    assert "--resume" in log.read_text()
    assert 0 < RecordLink.objects.count() < 1500

    with pytest.raises(CommandError) as unfinished:
        bulk_sync(linked.connection.name)
    assert "Add --resume" in str(unfinished.value)

    output = bulk_sync(linked.connection.name, "--resume")
    bulk.refresh_from_db()
    assert bulk.status == BulkSync.Status.COMPLETED
    assert summary(output)["Account"]["insert"] == "1,500"
    written = [r[EXTERNAL_ID_FIELD] for r in target_rows(linked, "Account", EXTERNAL_ID_FIELD)]
    assert sorted(written) == sorted(account_ids), "every record once, none twice"
    assert RecordLink.objects.count() == 1500


def test_a_run_held_by_a_live_worker_is_neither_started_again_nor_resumed(accounts_and_contacts):
    linked = accounts_and_contacts
    running = bulk_sync_start(connection=linked.connection, actor=None, run_in_worker=False)
    BulkSync.objects.filter(pk=running.pk).update(
        status=BulkSync.Status.RUNNING,
        lease_holder="worker-7",
        lease_until=timezone.now() + timedelta(minutes=2),
    )
    for args in ((linked.connection.name,), (linked.connection.name, "--resume")):
        with pytest.raises(CommandError) as held:
            bulk_sync(*args)
        assert "being run by worker-7" in str(held.value)
    assert BulkSync.objects.get().status == BulkSync.Status.RUNNING
