from django.apps import AppConfig


class ReplicationConfig(AppConfig):
    """Publish/subscribe configuration, record links, the record queue and the sync engine."""

    name = "replication"
    verbose_name = "Replication"
