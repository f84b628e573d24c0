# The connection history is connections.ConnectionEvent now (its 0006 took the table over).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("synclog", "0012_sync_run_files"),
        ("connections", "0006_connectionevent"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="ConnectionEvent")],
            database_operations=[],
        ),
    ]
