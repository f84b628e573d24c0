"""Get Differences against two sfemu orgs with seeded differences."""

from metadiff import services
from metadiff.models import DiffRun
from tests.metadiff.conftest import SEEDED


def differing(run: DiffRun) -> set[tuple[str, str, str]]:
    return {(c.type, c.full_name, c.state) for c in run.components.exclude(state="identical")}


def test_diff_finds_every_seeded_difference_and_nothing_else(pair):
    """Each seeded difference is found with its state; every other component is identical."""
    run = services.diff_run_start(difference=pair.difference())
    assert run.status == DiffRun.Status.SUCCEEDED, run.error
    assert differing(run) == SEEDED
    assert run.components.filter(state="identical", type="CustomObject", full_name="Account").exists()
    assert run.progress == 100


def members_of(run: DiffRun, type_name: str, full_name: str) -> dict[str, dict]:
    row = run.components.get(type=type_name, full_name=full_name)
    return {m["member"]: m for m in row.members}


def test_member_differences_are_readable(pair):
    """Changed members are named and described, not shown as XML."""
    run = services.diff_run_start(difference=pair.difference(member_differences=True))
    code = members_of(run, "CustomField", "Account.Code__c")
    assert code["Properties"]["changes"] == ["length 80 in source, 40 in destination"]
    tier = members_of(run, "CustomField", "Account.Tier__c")
    assert list(tier) == ["Picklist value Bronze"] and tier["Picklist value Bronze"]["state"] == "only_source"
    admin = members_of(run, "Profile", "Admin")
    assert admin["Field permission Account.Code__c"]["changes"] == [
        "editable true in source, false in destination"
    ]
    layout = members_of(run, "Layout", "Account-Account Layout")
    assert layout["Layout section Regional"]["state"] == "only_source"
    assert layout["Layout field Region__c"]["state"] == "only_source"
    # sfemu lays out every field of the object: the destination's layout shows its own field
    assert layout["Layout field Legacy__c"]["state"] == "only_destination"
    assert set(layout) == {"Layout section Regional", "Layout field Region__c", "Layout field Legacy__c"}
    greeter = members_of(run, "ApexClass", "Greeter")["Source code"]["changes"]
    assert "-        return 'Hi';" in greeter and "+        return 'Hello';" in greeter


def test_without_member_differences_only_states_are_kept(pair):
    run = services.diff_run_start(difference=pair.difference(member_differences=False))
    assert differing(run) == SEEDED
    assert not any(c.members for c in run.components.all())


def test_managed_components_are_excluded_when_asked(db, sfemu_server):
    """A package installed in the source only shows up, unless baseline managed changes are excluded."""
    from sfemu.metadata import OrgMetadata
    from tests.metadiff.conftest import org_pair

    pair = org_pair(sfemu_server, seeded=False)
    OrgMetadata(pair.source.org).install_package(
        "acme",
        objects={"Widget__c": {"plural_label": "Widgets"}},
        fields={"Account": [("Score__c", "number", {"precision": 5})]},
        classes={"Util": "public class Util {}\n"},
    )
    OrgMetadata(pair.source.org).put(
        "Profile",
        "Admin",
        {"fieldPermissions": [{"editable": "true", "field": "Account.acme__Score__c", "readable": "true"}]},
    )
    included = services.diff_run_start(difference=pair.difference(name="with managed"))
    managed = {(c.type, c.full_name) for c in included.components.filter(managed=True)}
    assert {
        ("InstalledPackage", "acme"),
        ("CustomField", "Account.acme__Score__c"),
        ("ApexClass", "acme__Util"),
    } <= managed
    assert included.components.get(type="Profile", full_name="Admin").state == "different"

    excluded = services.diff_run_start(
        difference=pair.difference(name="without managed", exclude_managed=True)
    )
    assert not excluded.components.filter(managed=True).exists()
    assert not excluded.components.filter(full_name__icontains="acme__").exists()
    assert not excluded.components.exclude(state="identical").exists()
