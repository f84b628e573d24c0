"""Services of the replication app (`<entity>_<verb>`, keyword-only)."""

from replication.services.acceptance import queue_items_accept, queue_items_reject
from replication.services.preflight import Preflight, publication_preflight
from replication.services.publication import (
    field_set_published,
    publication_delete,
    publication_disconnect,
    publication_publish,
    publication_unpublish,
)
from replication.services.publication_settings import (
    publication_check_filter,
    publication_check_owner_strategy,
    publication_set_filter,
    publication_set_owner_strategy,
)
from replication.services.subscription import (
    ensure_external_id_field,
    subscription_analyze,
    subscription_delete,
    subscription_set_mapping,
    subscription_subscribe,
)
from replication.services.sync_now import connection_sync_now

__all__ = [
    "Preflight",
    "connection_sync_now",
    "ensure_external_id_field",
    "field_set_published",
    "publication_check_filter",
    "publication_check_owner_strategy",
    "publication_delete",
    "publication_disconnect",
    "publication_preflight",
    "publication_publish",
    "publication_set_filter",
    "publication_set_owner_strategy",
    "publication_unpublish",
    "queue_items_accept",
    "queue_items_reject",
    "subscription_analyze",
    "subscription_delete",
    "subscription_set_mapping",
    "subscription_subscribe",
]
