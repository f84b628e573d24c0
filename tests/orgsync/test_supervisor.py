"""`make run`'s supervisor stops every process together."""

import os
import signal
import sys
import threading
import time

import pytest

from orgsync.supervisor import Program, Supervisor, run

SLEEPER = Program("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"])


@pytest.fixture(autouse=True)
def _restore_signal_handlers():
    previous = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGTERM, previous[0])
    signal.signal(signal.SIGINT, previous[1])


def test_one_child_dying_stops_the_others():
    failing = Program("failing", [sys.executable, "-c", "import sys; sys.exit(3)"])
    supervisor = Supervisor()
    started = time.monotonic()
    supervisor.start(SLEEPER, failing)
    try:
        assert supervisor.wait() == 3
    finally:
        supervisor.stop()
    assert time.monotonic() - started < 15
    assert all(child.poll() is not None for child in supervisor.children.values())


def test_sigterm_stops_every_child_and_exits_cleanly():
    threading.Timer(1.0, os.kill, args=(os.getpid(), signal.SIGTERM)).start()
    started = time.monotonic()
    assert run(SLEEPER, Program("other", SLEEPER.argv)) == 0
    assert time.monotonic() - started < 15


def test_grandchildren_are_stopped_with_their_program():
    """A program's own children (gunicorn's or qcluster's workers) never outlive `make run`."""
    forks = Program(
        "forks",
        [
            sys.executable,
            "-c",
            "import subprocess, sys, time; "
            "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
            "print(p.pid, flush=True); time.sleep(60)",
        ],
    )
    supervisor = Supervisor()
    import subprocess as sp

    supervisor.children["forks"] = sp.Popen(
        list(forks.argv), stdout=sp.PIPE, text=True, start_new_session=True
    )
    grandchild = int(supervisor.children["forks"].stdout.readline())
    supervisor.stop()
    assert not running(grandchild)


def running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped (which has stopped running)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().split(") ", 1)[1][0] == "Z":
                    return False
        except FileNotFoundError:
            return False
        time.sleep(0.1)
    return True


def test_a_restartable_program_is_started_again_when_it_dies(tmp_path):
    """The worker cluster is restarted when it dies; the others keep running."""
    starts = tmp_path / "starts"
    dies = Program(
        "worker",
        [sys.executable, "-c", f"open({str(starts)!r}, 'a').write('x'); import time; time.sleep(0.5)"],
        restart=True,
    )
    supervisor = Supervisor()
    threading.Timer(3.0, os.kill, args=(os.getpid(), signal.SIGTERM)).start()
    supervisor.start(SLEEPER, dies)
    try:
        assert supervisor.wait() == 0, "a restartable program's exit does not stop the others"
    finally:
        supervisor.stop()
    assert len(starts.read_text()) >= 3


def test_a_program_dying_over_and_over_is_given_up(tmp_path):
    crashing = Program("worker", [sys.executable, "-c", "import sys; sys.exit(4)"], restart=True)
    supervisor = Supervisor()
    supervisor.start(SLEEPER, crashing)
    try:
        assert supervisor.wait() == 4
    finally:
        supervisor.stop()


def test_programs_that_ignore_sigterm_are_all_killed_within_10_seconds():
    """Two stubborn programs: stopped together, not one grace period after the other."""
    stubborn = Program(
        "stubborn",
        [
            sys.executable,
            "-c",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)",
        ],
    )
    supervisor = Supervisor()
    supervisor.start(stubborn, Program("stubborn-2", stubborn.argv))
    time.sleep(0.5)
    started = time.monotonic()
    supervisor.stop()
    assert time.monotonic() - started < 10
    assert all(child.poll() is not None for child in supervisor.children.values())
