"""Factories for the sync log's rows (made without an engine run, for the numbers' own tests)."""

import factory

from replication.models import QueueAction, RecordQueueItem
from synclog.models import SyncLog, SyncRun
from tests.factories import ConnectionFactory


class SyncRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SyncRun

    connection = factory.SubFactory(ConnectionFactory)
    kind = SyncRun.Kind.APPLY
    direction = "p2s"
    outcome = SyncRun.Outcome.FINISHED


class SyncLogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SyncLog

    connection = factory.SubFactory(ConnectionFactory)
    run = factory.SubFactory(SyncRunFactory, connection=factory.SelfAttribute("..connection"), failed=1)
    direction = "p2s"
    source_object = "Account"
    source_id = factory.Sequence(lambda n: f"001000000000{n:03d}AAA")
    action = QueueAction.GENERIC_INSERT
    status = SyncLog.Status.FAILED
    error_code = "REQUIRED_FIELD_MISSING"
    message = "Required fields are missing: [Region__c]"
    fields = "Region__c"


class RecordQueueItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RecordQueueItem

    connection = factory.SubFactory(ConnectionFactory)
    direction = "p2s"
    source_object = "Account"
    source_id = factory.Sequence(lambda n: f"001000000001{n:03d}AAA")
    action = QueueAction.GENERIC_UPDATE
