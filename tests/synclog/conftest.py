from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.db.models import F

from replication import services
from replication.engine.cycle import sync_once
from replication.models import ChangeCursor, Direction
from synclog.models import SyncLog, SyncRun
from tests.replication.conftest import LinkedOrgs, linked_orgs

MINUTE = timedelta(minutes=1)


@dataclass
class Failing:
    """Linked orgs whose Accounts failed for good: a real engine run wrote the log."""

    linked: LinkedOrgs
    source_ids: list[str]
    run: SyncRun

    @property
    def connection(self):
        return self.linked.connection

    def entries(self):
        return SyncLog.objects.filter(connection=self.connection)


def subscribe(linked: LinkedOrgs, name: str) -> None:
    publication = services.publication_publish(
        connection=linked.connection, direction=Direction.PRIMARY_TO_SECONDARY, source_object=name, actor=None
    )
    services.subscription_subscribe(publication=publication, actor=None)


def fail_accounts(linked: LinkedOrgs, names: list[str]) -> Failing:
    """Write Accounts while every write in the target hits a locked row, with no retries left:
    each ends Failed (UNABLE_TO_LOCK_ROW) in one apply run. Clearing the fault fixes them."""
    subscribe(linked, "Account")
    linked.connection.max_retry_attempts = 0
    linked.connection.save(update_fields=["max_retry_attempts"])
    ids = [
        linked.primary.org.create("Account", {"Name": name}, user_id=linked.primary.user_id) for name in names
    ]
    linked.secondary.set_faults(lock_fraction=1.0, lock_seed=1)
    sync_once(linked.connection)
    run = SyncRun.objects.filter(kind=SyncRun.Kind.APPLY, failed__gt=0).get()
    # Later cycles would capture these records again (capture re-reads the few seconds before its
    # last query, for late commits) and write them by themselves; a minute later they would not.
    ChangeCursor.objects.filter(connection=linked.connection).update(
        modstamp=F("modstamp") + MINUTE, server_time=F("server_time") + MINUTE
    )
    return Failing(linked, ids, run)


@pytest.fixture
def failing(db, sfemu_server) -> Failing:
    """Three Accounts failed for good in one real apply run; the target is healthy again."""
    result = fail_accounts(linked_orgs(sfemu_server), ["Acme", "Globex", "Initech"])
    result.linked.secondary.clear_faults()
    return result


def target_names(linked: LinkedOrgs) -> list[str]:
    from connections.client import SalesforceClient

    rows = SalesforceClient(linked.connection.secondary_org).query_page("SELECT Name FROM Account").records
    return sorted(r["Name"] for r in rows)


__all__ = ["Failing", "fail_accounts", "sync_once", "target_names"]
