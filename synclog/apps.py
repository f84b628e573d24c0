from django.apps import AppConfig


class SynclogConfig(AppConfig):
    """The Organization Sync Log, run summaries and connection history."""

    name = "synclog"
    verbose_name = "Sync log"

    def ready(self) -> None:
        from synclog import admin_sections

        admin_sections.register()  # its part of the connection page (connections.admin_sections)
