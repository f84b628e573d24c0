"""Progress and outcome words that do not claim work that was not done: a bulk sync's page says
what was read and what was written; a validation's page says nothing was deployed."""

import pytest
from django.urls import reverse

from metadiff.models import Deployment, DiffRun, OrgDifference
from orgsync.roles import ADMINISTRATORS
from replication.models import BulkSync, BulkSyncObject
from tests.factories import ConnectionFactory, OrgFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(groups=[ADMINISTRATORS]))
    return client


def test_bulk_progress_says_read_and_written_apart(admin_client):
    bulk = BulkSync.objects.create(connection=ConnectionFactory(), status=BulkSync.Status.RUNNING)
    BulkSyncObject.objects.create(
        bulk_sync=bulk,
        source_object="Contact",
        target_object="Contact",
        total=13334,
        processed=4000,
        failed=2,
    )
    page = admin_client.get(reverse("admin:replication_bulksync_change", args=[bulk.pk])).content.decode()
    line = page.split('id="read-written-Contact"')[1].split("</li>")[0]
    assert "Read 4,000 of 13,334" in line
    assert "inserted 0" in line and "linked 0" in line and "failed 2" in line
    assert "Processed / total" not in page and "Read / total" in page


def test_bulk_dry_run_progress_says_would(admin_client):
    bulk = BulkSync.objects.create(
        connection=ConnectionFactory(), dry_run=True, status=BulkSync.Status.COMPLETED
    )
    BulkSyncObject.objects.create(
        bulk_sync=bulk, source_object="Account", target_object="Account", total=10, processed=10, inserted=7
    )
    page = admin_client.get(reverse("admin:replication_bulksync_change", args=[bulk.pk])).content.decode()
    assert "Read 10 of 10" in page and "would insert 7" in page


def deployment(**values) -> Deployment:
    difference = OrgDifference.objects.create(
        name="Sandbox to prod", source_org=OrgFactory(), destination_org=OrgFactory()
    )
    return Deployment.objects.create(run=DiffRun.objects.create(difference=difference), **values)


@pytest.mark.parametrize(
    ("values", "words"),
    [
        (
            {"validate_only": True, "status": Deployment.Status.FAILED},
            "0 deployed (validation only) · 4 of 6 passed validation",
        ),
        (
            {"validate_only": True, "status": Deployment.Status.SUCCEEDED, "components_deployed": 6},
            "0 deployed (validation only) · 6 of 6 passed validation",
        ),
        (
            {"status": Deployment.Status.FAILED},
            "0 deployed (failed, rolled back) · 4 of 6 passed before it failed",
        ),
        ({"status": Deployment.Status.SUCCEEDED, "components_deployed": 6}, "6 of 6 deployed"),
    ],
)
def test_deployment_page_never_calls_validated_components_deployed(admin_client, values, words):
    shown = deployment(**{"components_total": 6, "components_deployed": 4, **values})
    page = admin_client.get(reverse("admin:metadiff_deployment_change", args=[shown.pk])).content.decode()
    assert words in page
    assert "Components deployed" not in page
