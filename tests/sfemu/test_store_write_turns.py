"""The store's writers take turns in the order they asked: a thread that commits and begins again
at once (a Bulk job's 200-record chunks) cannot keep another thread's write waiting."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from sfemu import store as store_module
from sfemu.store import Store, WriteTurns

ROUNDS = 60


def test_a_write_asked_for_during_a_busy_writers_transaction_goes_next() -> None:
    """The busy writer runs transaction after transaction; another thread asks to write while
    one is open. It must get the next turn, not wait for the busy writer to finish all of them
    (SQLite's busy handler alone slept and retried, and lost nearly every time)."""
    store = Store()
    store.meta_set("round", "0")
    inside, asked = threading.Event(), threading.Event()
    order: list[str] = []

    def busy_writer() -> None:
        for n in range(1, ROUNDS + 1):
            with store.write() as conn:
                conn.execute("UPDATE meta SET value=? WHERE key='round'", (str(n),))
                order.append(f"busy {n}")
                if n == 1:
                    inside.set()
                    asked.wait(10)
                    deadline = time.monotonic() + 5
                    while store._turns._issued < 2 and time.monotonic() < deadline:
                        time.sleep(0.001)  # until the other thread waits for its turn

    busy = threading.Thread(target=busy_writer)
    busy.start()
    try:
        assert inside.wait(10)
        asked.set()
        with store.write() as conn:
            seen = conn.execute("SELECT value FROM meta WHERE key='round'").fetchone()[0]
            order.append("other")
    finally:
        busy.join(30)
        store.close()
    assert order.index("other") == 1, order[:5]  # right after the transaction it asked during
    assert seen == "1"
    assert order[-1] == f"busy {ROUNDS}" and len(order) == ROUNDS + 1


def test_a_writer_that_gives_up_does_not_hold_up_the_ones_after_it(monkeypatch) -> None:
    """A turn not given within the timeout raises 'database is locked' (as SQLite does), and the
    turns asked for after it are still served in order."""
    monkeypatch.setattr(store_module, "LOCK_TIMEOUT", 0.2)
    turns = WriteTurns()
    holding, release = threading.Event(), threading.Event()
    served: list[str] = []

    def holder() -> None:
        with turns.turn():
            holding.set()
            release.wait(10)
            served.append("holder")

    first = threading.Thread(target=holder)
    first.start()
    assert holding.wait(10)
    with pytest.raises(sqlite3.OperationalError, match="database is locked"), turns.turn():
        served.append("gave up")  # never runs

    def latecomer() -> None:
        with turns.turn():
            served.append("latecomer")

    monkeypatch.setattr(store_module, "LOCK_TIMEOUT", 10.0)
    late = threading.Thread(target=latecomer)
    late.start()
    release.set()
    first.join(10)
    late.join(10)
    assert served == ["holder", "latecomer"]
