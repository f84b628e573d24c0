# The connection history moves from synclog to connections (the app it describes; connections
# must not import synclog): the table is adopted as it is, then renamed; the content type (and
# so the permissions granted on it) follows. synclog's 0013 forgets the model.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def move_content_type(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    if not content_type.objects.filter(app_label="connections", model="connectionevent").exists():
        content_type.objects.filter(app_label="synclog", model="connectionevent").update(
            app_label="connections"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("connections", "0005_connection_owner"),
        ("synclog", "0012_sync_run_files"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ConnectionEvent",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("created", "Connection Created"),
                                    ("accepted", "Connection Accepted"),
                                    ("status_changed", "Status Changed"),
                                    ("admin_suspended", "Connection Admin Suspended"),
                                    ("admin_resumed", "Connection Admin Resumed"),
                                    ("suspended", "Connection Suspended"),
                                    ("resumed", "Connection Resumed"),
                                    ("option_changed", "Option Changed"),
                                    ("owner_changed", "Owner Changed"),
                                    ("deactivated", "Connection Deactivate"),
                                    ("object_published", "Object Published"),
                                    ("object_unpublished", "Object Unpublished"),
                                    ("field_published", "Field Published"),
                                    ("field_unpublished", "Field Unpublished"),
                                    ("object_subscribed", "Object Subscribed"),
                                    ("mapping_changed", "Field Mapping Changed"),
                                    ("filter_changed", "Filter Changed"),
                                    ("metadata_sync", "Metadata Sync"),
                                    ("reconcile_repaired", "Reconcile Repair"),
                                    ("invitation_sent", "Invitation Sent"),
                                    ("invitation_resent", "Invitation Resent"),
                                    ("invitation_revoked", "Invitation Revoked"),
                                    ("invitation_expired", "Invitation Expired"),
                                    ("invitation_signed_in", "Invitation: Partner Signed In"),
                                    ("invitation_accepted", "Invitation Accepted"),
                                    ("invitation_declined", "Invitation Declined"),
                                ],
                                max_length=24,
                            ),
                        ),
                        ("detail", models.CharField(blank=True, max_length=500)),
                        ("at", models.DateTimeField(auto_now_add=True, db_index=True)),
                        (
                            "actor",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "connection",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="events",
                                to="connections.connection",
                            ),
                        ),
                    ],
                    options={
                        "ordering": ["-at", "-id"],
                        "get_latest_by": "at",
                        "db_table": "synclog_connectionevent",
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.AlterModelTable(name="connectionevent", table=None),
        migrations.RunPython(move_content_type, migrations.RunPython.noop),
    ]
