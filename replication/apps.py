from django.apps import AppConfig


class ReplicationConfig(AppConfig):
    """Publish/subscribe configuration, record links, the record queue and the sync engine."""

    name = "replication"
    verbose_name = "Replication"

    def ready(self) -> None:
        from replication import admin_sections, receivers  # noqa: F401 (receivers: connected on import)

        admin_sections.register()  # its part of the connection page (connections.admin_sections)
