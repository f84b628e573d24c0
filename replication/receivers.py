"""Replication's answers to what connections tell it (`connections.signals`)."""

from django.dispatch import receiver

from connections.signals import connection_paused_or_resumed
from replication.engine.queue import enqueue_connection_event


@receiver(connection_paused_or_resumed, dispatch_uid="replication.queue_connection_event")
def queue_connection_event(sender, event, **kwargs) -> None:
    """As in Organization Sync, the record queue shows a suspension or resumption among the
    records (`enqueue_connection_event`)."""
    enqueue_connection_event(event)
