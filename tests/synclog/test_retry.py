"""Retry of Failed records, against two sfemu orgs: one entry, all of a run, a filtered set;
the run's counts move from failed to succeeded when the retried record goes through."""

from django.core.management import call_command
from django.urls import reverse

from orgsync.roles import ADMINISTRATORS, OPERATORS
from replication.engine.cycle import sync_once
from replication.models import QueueAction, RecordQueueItem
from synclog.models import SyncLog, SyncRun
from synclog.services import sync_log_retry
from tests.factories import UserFactory
from tests.synclog.conftest import target_names

Status = SyncLog.Status


def test_the_engine_leaves_failed_entries_counted_in_their_run(failing):
    """The fixture is what the retry tests start from: real failures, counted once."""
    assert (
        sorted(failing.entries().values_list("status", "error_code"))
        == [(Status.FAILED, "UNABLE_TO_LOCK_ROW")] * 3
    )
    assert (failing.run.succeeded, failing.run.failed) == (0, 3)
    assert set(failing.entries().values_list("run", flat=True)) == {failing.run.pk}
    assert not RecordQueueItem.objects.exists()


def test_retrying_one_entry_requeues_it_and_the_next_cycle_resolves_it(failing):
    entry = failing.entries().get(source_id=failing.source_ids[0])
    result = sync_log_retry(entries=SyncLog.objects.filter(pk=entry.pk))
    assert (result.retried, result.already_retrying) == (1, 0)
    item = RecordQueueItem.objects.get()
    assert (item.source_id, item.action) == (entry.source_id, QueueAction.GENERIC_INSERT)
    entry.refresh_from_db()
    assert entry.status == Status.RETRYING and entry.retried_at is not None

    sync_once(failing.connection)
    entry.refresh_from_db()
    assert entry.status == Status.RESOLVED
    assert target_names(failing.linked) == ["Acme"]
    failing.run.refresh_from_db()
    assert (failing.run.succeeded, failing.run.failed) == (1, 2), "counts updated in place"
    assert failing.entries().filter(status=Status.FAILED).count() == 2


def test_retry_all_of_a_run_from_its_admin_page(failing, client):
    client.force_login(UserFactory(groups=[OPERATORS]))
    answer = client.post(reverse("admin:synclog_syncrun_retry", args=[failing.run.pk]))
    assert answer.status_code == 302
    assert RecordQueueItem.objects.count() == 3
    sync_once(failing.connection)
    failing.run.refresh_from_db()
    assert (failing.run.succeeded, failing.run.failed) == (3, 0)
    assert set(failing.entries().values_list("status", flat=True)) == {Status.RESOLVED}
    assert target_names(failing.linked) == ["Acme", "Globex", "Initech"]


def test_retry_action_on_a_filtered_changelist(failing, client):
    """Retry All of a filtered set: the admin action with "select all" across the filter."""
    client.force_login(UserFactory(groups=[ADMINISTRATORS]))
    keep = failing.entries().get(source_id=failing.source_ids[2])
    chosen = failing.entries().exclude(pk=keep.pk)
    url = reverse("admin:synclog_synclog_changelist") + "?status__exact=failed"
    answer = client.post(
        url, {"action": "retry_failed", "_selected_action": [e.pk for e in chosen], "index": 0}
    )
    assert answer.status_code == 302
    assert sorted(RecordQueueItem.objects.values_list("source_id", flat=True)) == sorted(
        e.source_id for e in chosen
    )
    keep.refresh_from_db()
    assert keep.status == Status.FAILED


def test_a_record_that_fails_again_is_counted_by_the_run_that_failed_it(failing):
    failing.linked.secondary.set_faults(lock_fraction=1.0, lock_seed=1)
    entry = failing.entries().get(source_id=failing.source_ids[0])
    sync_log_retry(entries=SyncLog.objects.filter(pk=entry.pk))
    sync_once(failing.connection)
    entry.refresh_from_db()
    failing.run.refresh_from_db()
    again = SyncRun.objects.filter(kind=SyncRun.Kind.APPLY).exclude(pk=failing.run.pk).get(failed=1)
    assert (entry.status, entry.run_id) == (Status.FAILED, again.pk)
    assert failing.run.failed == 2, "the failure moved to the run that failed it again"


def test_only_failed_entries_are_retried_and_a_record_once(failing):
    entry = failing.entries().get(source_id=failing.source_ids[0])
    first = sync_log_retry(entries=SyncLog.objects.filter(pk=entry.pk))
    second = sync_log_retry(entries=failing.entries())
    assert (first.retried, second.retried, second.already_retrying) == (1, 2, 0)
    assert RecordQueueItem.objects.count() == 3
    assert sync_log_retry(entries=failing.entries()).retried == 0


def test_operators_may_retry_but_viewers_may_not(failing, client):
    entry = failing.entries().first()
    url = reverse("admin:synclog_synclog_retry", args=[entry.pk])
    client.force_login(UserFactory(is_superuser=False))
    assert client.post(url).status_code == 403
    client.force_login(UserFactory(groups=[OPERATORS]))
    assert client.get(url).status_code == 405, "POST only"
    assert client.post(url).status_code == 302
    entry.refresh_from_db()
    assert entry.status == Status.RETRYING


def test_retry_failed_command_for_one_connection(failing, sfemu_server):
    from tests.synclog.factories import SyncLogFactory

    other = SyncLogFactory()
    call_command("retry_failed", "--connection", failing.connection.name, "--dry-run")
    assert not RecordQueueItem.objects.exists()
    call_command("retry_failed", "--connection", str(failing.connection.pk))
    assert RecordQueueItem.objects.filter(connection=failing.connection).count() == 3
    other.refresh_from_db()
    assert other.status == Status.FAILED
