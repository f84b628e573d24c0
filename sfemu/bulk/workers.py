"""The background threads that run Bulk jobs (2.0) and batches (v1), shared by both services.

Work items are ids; an id queued while it waits or runs is not queued twice. Threads start on
the first item and live with the process (daemons). A failure while the instance is closing ends
the thread quietly; any other is logged and the item counts as done.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

log = logging.getLogger("sfemu.bulk")


class WorkerPool:
    def __init__(
        self, run: Callable[[str], None], *, workers: int, name: str, closed: Callable[[], bool]
    ) -> None:
        self._run = run
        self._workers = workers
        self._name = name
        self._closed = closed
        self._queue: queue.Queue[str] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending: set[str] = set()

    def submit(self, item_id: str) -> None:
        with self._lock:
            if item_id in self._pending:
                return
            self._pending.add(item_id)
            while len(self._threads) < self._workers:
                thread = threading.Thread(
                    target=self._work, name=f"{self._name}-{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
        self._queue.put(item_id)

    def wait(self, item_id: str, timeout: float) -> bool:
        """Block until the item has run (at most ``timeout`` seconds)."""
        with self._idle:
            return self._idle.wait_for(lambda: item_id not in self._pending, timeout)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until nothing is queued or running (tests, benchmarks)."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._pending, timeout)

    def _work(self) -> None:
        while True:
            item_id = self._queue.get()
            try:
                self._run(item_id)
            except Exception:
                if self._closed():
                    return
                log.exception("%s: %s failed unexpectedly", self._name, item_id)
            finally:
                with self._idle:
                    self._pending.discard(item_id)
                    self._idle.notify_all()
