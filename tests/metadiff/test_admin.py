"""Admin pages of metadiff: every page opens, Get Differences and Synchronize Orgs go through."""

import pytest
from django.urls import reverse

from metadiff.models import Deployment, DiffRun, OrgDifference
from orgsync.roles import ADMINISTRATORS, OPERATORS
from tests.factories import OrgFactory, UserFactory


@pytest.fixture
def admin_client(client, pair):
    client.force_login(UserFactory(groups=[ADMINISTRATORS]))
    return client


def test_get_differences_from_the_add_form(admin_client, pair):
    answer = admin_client.post(
        reverse("admin:metadiff_orgdifference_add"),
        {
            "name": "Prod to UAT",
            "source_org": pair.source_org.pk,
            "destination_org": pair.destination_org.pk,
            "member_differences": "on",
            "profile_batch_size": 500,
            "batch_size": 2000,
            "_getdiff": "Get Differences",
        },
    )
    run = DiffRun.objects.get()
    assert answer.status_code == 302 and answer.url == reverse("admin:metadiff_diffrun_change", args=[run.pk])
    assert run.status == DiffRun.Status.SUCCEEDED and OrgDifference.objects.get().created_by is not None


def test_same_org_twice_is_refused(admin_client, pair):
    answer = admin_client.post(
        reverse("admin:metadiff_orgdifference_add"),
        {
            "name": "x",
            "source_org": pair.source_org.pk,
            "destination_org": pair.source_org.pk,
            "profile_batch_size": 500,
            "batch_size": 2000,
        },
    )
    assert answer.status_code == 200 and "Choose an org other than the source org" in answer.text


def test_an_org_never_connected_cannot_be_compared(admin_client, pair):
    """A failed browser sign-in leaves an org without an org id: it is not offered."""
    half = OrgFactory(label="half-connected", org_id="")
    page = admin_client.get(reverse("admin:metadiff_orgdifference_add")).text
    assert "half-connected" not in page and str(pair.source_org) in page
    answer = admin_client.post(
        reverse("admin:metadiff_orgdifference_add"),
        {
            "name": "x",
            "source_org": half.pk,
            "destination_org": pair.destination_org.pk,
            "profile_batch_size": 500,
            "batch_size": 2000,
        },
    )
    assert answer.status_code == 200 and "Select a valid choice" in answer.text
    assert not OrgDifference.objects.exists()


def test_every_page_opens_and_synchronize_deploys(admin_client, pair):
    from metadiff import services

    run = services.diff_run_start(difference=pair.difference())
    for name in ("result", "log", "change", "delete", "csv", "pdf"):
        answer = admin_client.get(reverse(f"admin:metadiff_diffrun_{name}", args=[run.pk]))
        assert answer.status_code == 200, name
    result = admin_client.get(reverse("admin:metadiff_diffrun_result", args=[run.pk])).text
    assert "Picklist value Bronze" in result and "length 80 in source, 40 in destination" in result
    changelist = admin_client.get(reverse("admin:metadiff_diffrun_changelist")).text
    for link in ("Info", "Delete", "Schedule", "Run", "Report", "CSV", "PDF", "Log"):
        assert f">{link}</a>" in changelist
    assert (
        admin_client.get(
            reverse("admin:metadiff_orgdifference_schedule", args=[run.difference_id])
        ).status_code
        == 200
    )

    url = reverse("admin:metadiff_diffrun_synchronize", args=[run.pk])
    selection = {"add": ["CustomField|Account.Region__c"], "delete": ["Role|Sales"]}
    confirm = admin_client.post(url, selection)
    assert confirm.status_code == 200 and "Delete Role Sales" in confirm.text
    answer = admin_client.post(
        url, {**selection, "test_level": "NoTestRun", "validate_only": "on", "deploy": "Deploy"}
    )
    deployment = Deployment.objects.get()
    assert answer.url == reverse("admin:metadiff_deployment_change", args=[deployment.pk])
    assert deployment.validate_only and deployment.status == Deployment.Status.SUCCEEDED
    page = admin_client.get(answer.url).text
    assert "validation only" in page
    assert admin_client.get(reverse("admin:metadiff_deployment_changelist")).status_code == 200


def test_schedule_form_saves_a_weekly_schedule(admin_client, pair):
    difference = pair.difference()
    url = reverse("admin:metadiff_orgdifference_schedule", args=[difference.pk])
    answer = admin_client.post(url, {"repeat": "weekly", "at": "06:15", "weekday": 4})
    assert answer.status_code == 302
    difference.refresh_from_db()
    assert difference.schedule.schedule_type == "W" and difference.schedule.next_run.weekday() == 4


def test_rerun_and_delete(admin_client, pair):
    from metadiff import services

    run = services.diff_run_start(difference=pair.difference())
    admin_client.post(reverse("admin:metadiff_diffrun_rerun", args=[run.pk]))
    assert DiffRun.objects.count() == 2
    admin_client.post(reverse("admin:metadiff_diffrun_delete", args=[run.pk]), {"post": "yes"})
    assert DiffRun.objects.count() == 1


def test_operators_cannot_deploy(client, pair):
    from metadiff import services

    run = services.diff_run_start(difference=pair.difference())
    client.force_login(UserFactory(groups=[OPERATORS]))
    url = reverse("admin:metadiff_diffrun_synchronize", args=[run.pk])
    answer = client.post(
        url, {"add": ["CustomField|Account.Region__c"], "deploy": "Deploy", "test_level": "NoTestRun"}
    )
    assert answer.status_code in (302, 403) and not Deployment.objects.exists()
