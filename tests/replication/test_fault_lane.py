"""The fault lane of issue 14: two-way sync under concurrent edits, SIGKILLs and a terminated
database connection loses nothing, duplicates nothing, leaves nothing stale and nothing stuck.

Two `qcluster`s (2 workers each) on PostgreSQL with the Redis broker run the scheduled tick and a
"Sync now" every 4 s for a two-way connection (Account and Contact both ways, 3,550 seeded records
with lookups). For 2¼ minutes both orgs are edited at once (field edits, reparenting, new
Account+Contact pairs, deletes, mass updates), 10 workers are SIGKILLed (in the middle of a cycle
whenever one runs), a whole cluster is SIGKILLed and restarted, and the clusters' database
connections are terminated. After settling, the oracle compares the orgs field by field
(`tests/replication/oracle.py`). About 3½ minutes when the engine settles, at most 7.

Replay a run with ORGSYNC_FAULT_SEED=<seed printed>. Scaled-out lane only (`.ci/run`).
"""

import pytest

from tests.replication.conftest import linked_orgs
from tests.replication.fault_scenario import FaultConfig, FaultScenario, fault_seed, scaled_lane

pytestmark = [
    pytest.mark.scaled,
    pytest.mark.skipif(
        not scaled_lane(), reason="scaled-out lane only: DATABASE_URL=postgres://… and REDIS_URL=redis://…"
    ),
]


@pytest.mark.timeout(480)
@pytest.mark.django_db(transaction=True)
def test_two_way_sync_survives_kills_and_concurrent_edits(sfemu_server, tmp_path):
    seed = fault_seed()
    print(f"\nfault lane seed: {seed} (replay with ORGSYNC_FAULT_SEED={seed})")
    config = FaultConfig(seed=seed).override_from_env()
    result = FaultScenario(linked_orgs(sfemu_server, two_way=True), config, tmp_path).run()
    print(f"fault lane: {result.summary()}")
    print("timings: " + ", ".join(f"{k} {v:.0f} s" for k, v in result.timings.items()))

    # The harness did what the lane promises, or its verdict means nothing.
    assert result.events["worker SIGKILL"] >= config.worker_kills, result.summary()
    assert result.events["cluster SIGKILL"] >= 1 and result.events["cluster restarted"] >= 1
    assert result.events["pg_terminate_backend"] >= 1

    figures = result.figures()
    assert figures == {"missing": 0, "duplicated": 0, "stale": 0, "stuck": 0}, (
        f"seed {seed} (ORGSYNC_FAULT_SEED={seed} replays it): {figures}\n{result.verdict.report()}"
    )
    # A pass means something only if the orgs were compared for real.
    compared = result.verdict.compared
    assert compared["Account"] >= config.primary_accounts // 2, compared
    assert compared["Contact"] >= config.primary_contacts // 2, compared
