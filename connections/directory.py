"""Live look-ups in an org that forms and services need: users, and org permissions."""

from connections.client import SalesforceClient
from connections.models import Org


def active_user_id(org: Org, username: str) -> str | None:
    """Id of the active user `username` in `org`, or None."""
    escaped = username.replace("\\", "\\\\").replace("'", "\\'")
    page = SalesforceClient(org).query_page(
        f"SELECT Id FROM User WHERE Username = '{escaped}' AND IsActive = true LIMIT 1"
    )
    return page.records[0]["Id"] if page.records else None


def allows_audit_fields(org: Org) -> bool:
    """Whether the connected user may set audit fields on insert ("Set Audit Fields upon Record
    Creation"): Salesforce then describes CreatedDate as createable."""
    fields = SalesforceClient(org).describe("Account")["fields"]
    created = next((f for f in fields if f["name"] == "CreatedDate"), None)
    return bool(created and created.get("createable"))
