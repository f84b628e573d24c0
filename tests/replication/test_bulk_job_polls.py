"""Polling a Bulk job to its end (replication.engine.bulk_jobs.wait_for_job) against sfemu: the
next poll is timed by the job's progress since it was sent, so a job that ran while the caller
was busy elsewhere is not polled again and again as if it had only just started."""

import time

from connections.client import SalesforceClient
from replication.engine.bulk_jobs import wait_for_job
from tests.connections.emu import connect_by_password

ROWS = 20_000


class Recording:
    """The real client, with each status answer and when it came kept."""

    def __init__(self, client: SalesforceClient) -> None:
        self.client, self.answers = client, []

    def bulk_job(self, job_id: str, *, query: bool = False) -> dict:
        info = self.client.bulk_job(job_id, query=query)
        self.answers.append((time.monotonic(), info))
        return info


def test_the_next_poll_is_timed_by_the_progress_since_the_job_was_sent(db, sfemu_server, sfemu_org):
    client = Recording(SalesforceClient(connect_by_password(sfemu_server, sfemu_org)))
    job = client.client.bulk_ingest_create("Account", "insert")
    client.client.bulk_ingest_upload(
        job["id"], ("Name\n" + "".join(f"Polled {n}\n" for n in range(ROWS))).encode()
    )
    client.client.bulk_ingest_close(job["id"])
    sent_at = time.monotonic()
    time.sleep(0.5)  # the caller prepares its next job meanwhile
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    info = wait_for_job(
        client, job["id"], query=False, sleep=sleep, first_wait=0, expected=ROWS, sent_at=sent_at
    )
    assert info["state"] == "JobComplete" and info["numberRecordsProcessed"] == ROWS
    checked = 0
    for (at, answer), wait in zip(client.answers, waits[1:], strict=False):
        done = answer["numberRecordsProcessed"]
        if answer["state"] == "InProgress" and 0 < done < ROWS:
            pace = (at - sent_at) / done  # seconds per record since it was sent
            assert wait >= min(0.8 * (ROWS - done) * pace, 10.0), (wait, done, at - sent_at)
            checked += 1
    assert checked, "no poll saw the job part done"
