"""Synchronize Orgs: deployments built from a run, validate-only, Apex test levels."""

import pytest

from metadiff import services
from metadiff.errors import InvalidSelection
from metadiff.models import Deployment, DiffRun
from sfemu.metadata import OrgMetadata
from tests.metadiff.conftest import org_pair


def everything(run: DiffRun) -> dict:
    rows = list(run.components.all())
    return {
        "additions": [(c.type, c.full_name) for c in rows if c.can_add],
        "deletions": [(c.type, c.full_name) for c in rows if c.can_delete],
    }


def account_fields(handle) -> dict[str, dict]:
    obj = handle.org.schema.require("Account")
    return {
        f.name: {"type": f.type, "length": f.length, "values": [v.value for v in f.picklist]}
        for f in obj.fields
        if f.custom
    }


@pytest.fixture
def sandbox_pair(db, sfemu_server):
    """Seeded orgs whose destination is a sandbox (NoTestRun is refused for Apex in production)."""
    return org_pair(sfemu_server, sandbox=True)


def test_validate_only_changes_nothing(sandbox_pair):
    """A validation deploys with checkOnly: it succeeds and the destination stays as it was."""
    before = account_fields(sandbox_pair.destination)
    run = services.diff_run_start(difference=sandbox_pair.difference())
    deployment = services.deployment_start(run=run, validate_only=True, **everything(run))
    assert deployment.status == Deployment.Status.SUCCEEDED, deployment.log
    assert deployment.components_total > 0 and "validation only" in deployment.log
    assert account_fields(sandbox_pair.destination) == before
    assert sandbox_pair.destination.org.schema.get("Invoice__c") is None
    again = services.diff_run_start(difference=run.difference)
    assert again.counts == run.counts


def test_deployment_makes_destination_match_source(sandbox_pair):
    """After deploying every difference the orgs describe alike and a new diff finds nothing."""
    run = services.diff_run_start(difference=sandbox_pair.difference())
    deployment = services.deployment_start(run=run, **everything(run))
    assert deployment.status == Deployment.Status.SUCCEEDED, deployment.log
    assert deployment.component_errors == []
    assert account_fields(sandbox_pair.destination) == account_fields(sandbox_pair.source)
    assert sandbox_pair.destination.org.schema.get("Invoice__c") is not None
    again = services.diff_run_start(difference=run.difference)
    assert again.status == DiffRun.Status.SUCCEEDED
    assert list(again.components.exclude(state="identical").values_list("type", "full_name", "members")) == []


def test_failing_apex_test_fails_deployment_under_run_local_tests_only(db, sfemu_server):
    """A destination test class that fails blocks a RunLocalTests deployment, not a NoTestRun one."""
    pair = org_pair(sfemu_server, seeded=False)
    pair.source.org.add_custom_field("Account", "Region__c", "string", length=40)
    OrgMetadata(pair.destination.org).add_test_class("BrokenTest", failing={"itBreaks": "boom"})
    run = services.diff_run_start(difference=pair.difference())
    field = [("CustomField", "Account.Region__c")]

    tested = services.deployment_start(run=run, additions=field, test_level="RunLocalTests")
    assert tested.status == Deployment.Status.FAILED
    assert tested.test_failures == [
        {
            "class": "BrokenTest",
            "method": "itBreaks",
            "message": "System.AssertException: Assertion Failed: boom",
        }
    ]
    assert pair.destination.org.schema.field("Account", "Region__c") is None

    untested = services.deployment_start(run=run, additions=field, test_level="NoTestRun")
    assert untested.status == Deployment.Status.SUCCEEDED, untested.log
    assert pair.destination.org.schema.field("Account", "Region__c") is not None


def test_component_errors_are_recorded(db, sfemu_server):
    """A profile granting access to a field the destination lacks fails with the org's words."""
    pair = org_pair(sfemu_server)
    OrgMetadata(pair.source.org).put(
        "Profile",
        "Admin",
        {"fieldPermissions": [{"editable": "true", "field": "Account.Region__c", "readable": "true"}]},
    )
    run = services.diff_run_start(difference=pair.difference())
    deployment = services.deployment_start(run=run, additions=[("Profile", "Admin")])
    assert deployment.status == Deployment.Status.FAILED
    assert deployment.component_errors == [
        {
            "type": "Profile",
            "name": "Admin",
            "problem": "In field: field - no CustomField named Account.Region__c found",
        }
    ]
    assert "Component error: Profile Admin" in deployment.log


def test_selection_is_checked_against_the_run(pair):
    run = services.diff_run_start(difference=pair.difference())
    with pytest.raises(InvalidSelection, match="cannot add Role Sales"):
        services.deployment_start(run=run, additions=[("Role", "Sales")])
    with pytest.raises(InvalidSelection, match=r"cannot delete CustomField Account\.Region__c"):
        services.deployment_start(run=run, deletions=[("CustomField", "Account.Region__c")])
    with pytest.raises(InvalidSelection, match="names of the test classes"):
        services.deployment_start(
            run=run, additions=[("CustomField", "Account.Region__c")], test_level="RunSpecifiedTests"
        )
    assert not Deployment.objects.exists()
