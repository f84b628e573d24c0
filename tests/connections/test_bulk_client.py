"""SalesforceClient's Bulk API 2.0 calls against sfemu: ingest and query jobs, each call metered."""

import csv
import io
import time

from connections.client import SalesforceClient
from tests.connections.emu import connect_by_password


def wait_done(client: SalesforceClient, job_id: str, *, query: bool = False) -> dict:
    for _ in range(100):
        info = client.bulk_job(job_id, query=query)
        if info["state"] in ("JobComplete", "Failed", "Aborted"):
            return info
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish")


def test_ingest_then_query_with_results(db, sfemu_server, sfemu_org):
    client = SalesforceClient(connect_by_password(sfemu_server, sfemu_org))
    job = client.bulk_ingest_create("Account", "insert")
    client.bulk_ingest_upload(job["id"], b"Name,Industry\nBulk A,Banking\n,Banking\nBulk C,\n")
    client.bulk_ingest_close(job["id"])
    info = wait_done(client, job["id"])
    assert (info["state"], info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (
        "JobComplete",
        3,
        1,
    )
    failed = list(csv.DictReader(io.StringIO(client.bulk_ingest_results(job["id"], "failedResults"))))
    assert failed[0]["sf__Error"].startswith("REQUIRED_FIELD_MISSING")
    assert (
        len(list(csv.DictReader(io.StringIO(client.bulk_ingest_results(job["id"], "successfulResults")))))
        == 2
    )

    query = client.bulk_query_create("SELECT Name FROM Account ORDER BY Name")
    wait_done(client, query["id"], query=True)
    page = client.bulk_query_results(query["id"], max_records=1)
    assert page.records == 1 and page.locator
    rest = client.bulk_query_results(query["id"], locator=page.locator, max_records=10)
    names = [r["Name"] for r in csv.DictReader(io.StringIO(page.csv))] + [
        r["Name"] for r in csv.DictReader(io.StringIO(rest.csv))
    ]
    assert names == ["Bulk A", "Bulk C"] and rest.locator is None
    assert client.calls["bulk"] >= 8


def test_bulk_errors_are_mapped(db, sfemu_server, sfemu_org):
    from connections.client_errors import PermanentError

    client = SalesforceClient(connect_by_password(sfemu_server, sfemu_org))
    try:
        client.bulk_query_create("SELECT Nope FROM Account")
    except PermanentError as exc:
        assert exc.status == 400 and exc.error_code
    else:
        raise AssertionError("a bad query must be refused")


def test_expired_session_during_bulk_is_refreshed(db, sfemu_server, sfemu_org):
    client = SalesforceClient(connect_by_password(sfemu_server, sfemu_org))
    sfemu_org.expire_sessions()
    job = client.bulk_ingest_create("Account", "insert")
    assert job["state"] == "Open"
