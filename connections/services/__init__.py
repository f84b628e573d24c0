"""Services of the connections app (see ARCHITECTURE: `<entity>_<verb>`, keyword-only)."""

from connections.services.connection_lifecycle import (
    connection_accept,
    connection_advance_setup,
    connection_create,
    connection_deactivate,
    connection_resume,
    connection_suspend,
    connection_update,
    connection_validate_orgs,
)
from connections.services.orgs import (
    oauth_pending_purpose,
    org_connect,
    org_finish_oauth,
    org_read_facts,
    org_start_oauth,
    org_test_connection,
)

__all__ = [
    "connection_accept",
    "connection_advance_setup",
    "connection_create",
    "connection_deactivate",
    "connection_resume",
    "connection_suspend",
    "connection_update",
    "connection_validate_orgs",
    "oauth_pending_purpose",
    "org_connect",
    "org_finish_oauth",
    "org_read_facts",
    "org_start_oauth",
    "org_test_connection",
]
