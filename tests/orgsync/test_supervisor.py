"""`make run`'s supervisor stops every process together."""

import os
import signal
import sys
import threading
import time

from orgsync.supervisor import Program, Supervisor

SLEEPER = Program("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"])


def test_one_child_dying_stops_the_others():
    failing = Program("failing", [sys.executable, "-c", "import sys; sys.exit(3)"])
    supervisor = Supervisor([SLEEPER, failing])
    started = time.monotonic()
    assert supervisor.run() == 3
    assert time.monotonic() - started < 15
    assert all(child.poll() is not None for child in supervisor.children.values())


def test_sigterm_stops_every_child_and_exits_cleanly():
    supervisor = Supervisor([SLEEPER, Program("other", SLEEPER.argv)])
    threading.Timer(1.0, os.kill, args=(os.getpid(), signal.SIGTERM)).start()
    previous = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    try:
        assert supervisor.run() == 0
    finally:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])
    assert [child.poll() for child in supervisor.children.values()] == [-15, -15]
