"""/metrics: Prometheus text behind a bearer token; absent without one."""

import re

import pytest
from django.utils import timezone

from replication.models import QueueStatus
from synclog.metrics import exposition
from synclog.selectors import connection_stats, org_usage
from tests.factories import ConnectionFactory, OrgFactory
from tests.synclog.factories import RecordQueueItemFactory, SyncRunFactory

pytestmark = pytest.mark.django_db
TOKEN = "s3cret-scrape-token"
SAMPLE = re.compile(r'^[a-z_0-9]+(\{([a-z_]+="([^"\\]|\\.)*",?)+\})? -?[0-9.e+-]+$')


@pytest.fixture
def token(settings):
    settings.ORGSYNC_METRICS_TOKEN = TOKEN


def test_unset_token_means_no_endpoint(client, settings):
    settings.ORGSYNC_METRICS_TOKEN = ""
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 404


def test_wrong_or_missing_token_is_refused(client, token):
    assert client.get("/metrics").status_code == 401
    answer = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert answer.status_code == 401 and answer["WWW-Authenticate"].startswith("Bearer")


def test_metrics_per_connection_and_org(client, token):
    org = OrgFactory(label='Prod "EU"', api_requests_used=120, api_requests_max=15000)
    connection = ConnectionFactory(name="EU to US", primary_org=org)
    RecordQueueItemFactory.create_batch(2, connection=connection)
    RecordQueueItemFactory(connection=connection, status=QueueStatus.RETRYING)
    SyncRunFactory(connection=connection, succeeded=9, failed=1)
    SyncRunFactory(connection=connection, kind="capture", finished_at=timezone.now())
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200
    assert answer["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    text = answer.content.decode()
    lines = text.splitlines()
    assert all(SAMPLE.match(line) for line in lines if not line.startswith("#")), text
    assert 'orgsync_queue_items{connection="EU to US",action="generic_update",status="queued"} 2' in lines
    assert 'orgsync_queue_depth{connection="EU to US"} 3' in lines
    assert 'orgsync_records_succeeded_24h{connection="EU to US"} 9' in lines
    assert 'orgsync_records_failed_24h{connection="EU to US"} 1' in lines
    assert 'orgsync_success_ratio_24h{connection="EU to US"} 0.9' in lines
    assert f'orgsync_org_api_requests_used{{org="Prod \\"EU\\"",org_id="{org.org_id}"}} 120' in lines
    assert any(line.startswith('orgsync_lag_seconds{connection="EU to US"} ') for line in lines)
    assert "# TYPE orgsync_queue_depth gauge" in lines


def test_every_family_has_help_and_type_once():
    ConnectionFactory()
    text = exposition(connection_stats(), org_usage())
    helps = re.findall(r"^# HELP (\S+)", text, re.M)
    types = re.findall(r"^# TYPE (\S+)", text, re.M)
    assert helps == types and len(set(helps)) == len(helps)
