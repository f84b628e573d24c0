"""One checkpoint per page being written, with several ingest jobs in flight (issue 21 item 5).

A bulk sync stopped mid-page by the previous version resumes: its one ingest job in flight
becomes the page's only job, covering the whole page (or, found never uploaded, is aborted and
the page read again from its start); a page being read without a job restarts from the counts it
began with.
"""

from django.db import migrations, models

WHOLE_PAGE = 10**9  # rows: more than any page holds, so the re-read page sends nothing again
COUNTS = ("processed", "inserted", "linked", "skipped", "failed", "held_back", "queued")


def forward(apps, schema_editor):
    BulkSyncObject = apps.get_model("replication", "BulkSyncObject")
    for obj in BulkSyncObject.objects.exclude(ingest_job_id="", page_start_counts={}):
        if obj.ingest_job_id:
            # Counts were saved when the job was created; should it still be Open (never
            # uploaded), the resumed run aborts it and reads the page again from its start.
            obj.page_checkpoint = {
                "rows": WHOLE_PAGE,
                "counts": {n: getattr(obj, n) for n in COUNTS},
                "jobs": [obj.ingest_job_id],
                "uploading": {"id": obj.ingest_job_id, "rows": 0, "counts": obj.page_start_counts},
            }
        else:
            obj.page_checkpoint = {"rows": 0, "counts": obj.page_start_counts, "jobs": []}
        obj.save(update_fields=["page_checkpoint"])


class Migration(migrations.Migration):
    dependencies = [("replication", "0015_pending_child_copy")]

    operations = [
        migrations.AddField(
            model_name="bulksyncobject",
            name="page_checkpoint",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text="The page being written: its rows in ingest jobs (`rows`), the counts then "
                "(`counts`), the ingest jobs in flight (`jobs`) and the one being uploaded (`uploading`).",
            ),
        ),
        migrations.RunPython(forward, migrations.RunPython.noop),
        migrations.RemoveField(model_name="bulksyncobject", name="ingest_job_id"),
        migrations.RemoveField(model_name="bulksyncobject", name="ingest_next_locator"),
        migrations.RemoveField(model_name="bulksyncobject", name="page_start_counts"),
    ]
