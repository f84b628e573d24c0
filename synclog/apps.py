from django.apps import AppConfig


class SynclogConfig(AppConfig):
    """The Organization Sync Log, run summaries and connection history."""

    name = "synclog"
    verbose_name = "Sync log"
