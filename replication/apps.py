from django.apps import AppConfig
from django.db.models import Field

from replication.engine.sets import InIds


class ReplicationConfig(AppConfig):
    """Publish/subscribe configuration, record links, the record queue and the sync engine."""

    name = "replication"
    verbose_name = "Replication"

    def ready(self) -> None:
        from replication import admin_sections, receivers  # noqa: F401 (receivers: connected on import)

        admin_sections.register()  # its part of the connection page (connections.admin_sections)
        Field.register_lookup(InIds)
