"""Two sfemu orgs with one seeded metadata difference of each kind, connected in the console."""

from dataclasses import dataclass

import pytest

from connections.metadata_api import Waiter
from connections.models import Org
from metadiff import services
from metadiff.models import OrgDifference
from sfemu.metadata import OrgMetadata
from sfemu.testing import OrgHandle
from tests.connections.emu import connect_by_password

LAYOUT = "Account-Account Layout"
GREETER_SOURCE = (
    "public class Greeter {\n    public static String hello() {\n        return 'Hello';\n    }\n}\n"
)
GREETER_DESTINATION = GREETER_SOURCE.replace("'Hello'", "'Hi'")

# (type, full name, state) of every seeded difference; everything else is identical.
SEEDED = {
    ("CustomField", "Account.Region__c", "only_source"),
    ("CustomField", "Account.Legacy__c", "only_destination"),
    ("CustomField", "Account.Code__c", "different"),
    ("CustomField", "Account.Tier__c", "different"),
    ("CustomObject", "Invoice__c", "only_source"),
    ("CustomField", "Invoice__c.Amount__c", "only_source"),
    ("Layout", "Invoice__c-Invoice Layout", "only_source"),  # every custom object has a layout
    ("ApexClass", "Greeter", "different"),
    ("Profile", "Admin", "different"),
    ("Layout", LAYOUT, "different"),
    ("Role", "Sales", "only_destination"),
}


@dataclass
class OrgPair:
    source: OrgHandle
    destination: OrgHandle
    source_org: Org
    destination_org: Org

    def difference(self, **options) -> OrgDifference:
        options.setdefault("name", f"{self.source.name} vs {self.destination.name}")
        return services.org_difference_create(
            source_org=self.source_org, destination_org=self.destination_org, **options
        )


def seed_differences(source: OrgHandle, destination: OrgHandle) -> None:
    for handle in (source, destination):
        handle.org.add_custom_field("Account", "Code__c", "string", length=40)
        OrgMetadata(handle.org).add_apex_class("Greeter", GREETER_DESTINATION)
    src, dst = source.org, destination.org
    src.add_custom_field("Account", "Region__c", "string", length=40)
    dst.add_custom_field("Account", "Legacy__c", "string", length=20)
    OrgMetadata(src).put("CustomField", "Account.Code__c", {"label": "Code", "type": "Text", "length": "80"})
    src.add_custom_field("Account", "Tier__c", "picklist", values=["Gold", "Silver", "Bronze"])
    dst.add_custom_field("Account", "Tier__c", "picklist", values=["Gold", "Silver"])
    OrgMetadata(src).put(
        "CustomObject",
        "Invoice__c",
        {
            "label": "Invoice",
            "pluralLabel": "Invoices",
            "enableReports": "true",
            "nameField": {"label": "Number"},
        },
    )
    src.add_custom_field("Invoice__c", "Amount__c", "double", precision=18, scale=2)
    OrgMetadata(src).add_apex_class("Greeter", GREETER_SOURCE)
    for handle, editable in ((source, "true"), (destination, "false")):
        OrgMetadata(handle.org).put(
            "Profile",
            "Admin",
            {"fieldPermissions": [{"editable": editable, "field": "Account.Code__c", "readable": "true"}]},
        )
    layout = OrgMetadata(src).read("Layout", LAYOUT)
    layout["layoutSections"].append(
        {
            "customLabel": "true",
            "detailHeading": "true",
            "editHeading": "true",
            "label": "Regional",
            "layoutColumns": [{"layoutItems": [{"behavior": "Edit", "field": "Region__c"}]}],
            "style": "OneColumn",
        }
    )
    OrgMetadata(src).put("Layout", LAYOUT, {k: v for k, v in layout.items() if k != "fullName"})
    OrgMetadata(dst).put("Role", "Sales", {"name": "Sales"})


def org_pair(sfemu_server, *, seeded: bool = True, sandbox: bool = False) -> OrgPair:
    source = sfemu_server.create_org()
    destination = sfemu_server.create_org(sandbox=sandbox)
    if seeded:
        seed_differences(source, destination)
    return OrgPair(
        source,
        destination,
        connect_by_password(sfemu_server, source),
        connect_by_password(sfemu_server, destination),
    )


@pytest.fixture(autouse=True)
def _fast_polls(monkeypatch):
    """Poll sfemu's jobs quickly (they finish on the second status check)."""
    monkeypatch.setattr(Waiter, "FIRST", 0.05)
    monkeypatch.setattr(Waiter, "MOST", 0.5)


@pytest.fixture
def pair(db, sfemu_server) -> OrgPair:
    return org_pair(sfemu_server)
