"""Migration 0016: a bulk sync stopped mid-page by the previous version (one ingest job per page,
`ingest_job_id` and `page_start_counts`) resumes from the new per-page checkpoint."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from replication.models import BulkSyncObject
from tests.factories import ConnectionFactory

BEFORE = [("replication", "0015_pending_child_copy")]
AFTER = [("replication", "0016_bulk_sync_page_checkpoint")]


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)
    return executor.loader.project_state(target).apps


@pytest.mark.django_db(transaction=True)
def test_an_old_checkpoint_becomes_the_page_checkpoint():
    org_link = ConnectionFactory()
    old = migrate(BEFORE)
    bulk = old.get_model("replication", "BulkSync").objects.create(connection_id=org_link.pk)
    objects = old.get_model("replication", "BulkSyncObject").objects
    counts = {"processed": 700, "inserted": 200, "skipped": 100}
    in_flight = objects.create(
        bulk_sync=bulk,
        source_object="Account",
        target_object="Account",
        ingest_job_id="750JOB",
        next_locator="PAGE2",
        ingest_next_locator="PAGE3",
        page_start_counts={"processed": 500},
        **counts,
    )
    reading = objects.create(
        bulk_sync=bulk,
        source_object="Contact",
        target_object="Contact",
        next_locator="PAGE1",
        page_start_counts={
            "processed": 0,
            "inserted": 0,
            "linked": 0,
            "skipped": 0,
            "failed": 0,
            "held_back": 0,
            "queued": 0,
        },
    )
    untouched = objects.create(bulk_sync=bulk, source_object="Lead", target_object="Lead")
    migrate(AFTER)

    point = BulkSyncObject.objects.get(pk=in_flight.pk).page_checkpoint
    assert point["jobs"] == ["750JOB"], "the job in flight is read back, not sent again"
    assert point["rows"] >= 10**9, "the whole page was in that job: none of its rows is sent again"
    assert point["counts"]["processed"] == 700 and point["counts"]["inserted"] == 200
    assert point["uploading"] == {"id": "750JOB", "rows": 0, "counts": {"processed": 500}}, (
        "found still Open (never uploaded), the job is aborted and the page read from its start"
    )
    assert BulkSyncObject.objects.get(pk=reading.pk).page_checkpoint == {
        "rows": 0,
        "counts": reading.page_start_counts,
        "jobs": [],
    }
    assert BulkSyncObject.objects.get(pk=untouched.pk).page_checkpoint == {}
