"""`make run` (`manage.py runconsole`) then SIGTERM: sfemu, gunicorn and the worker cluster, with
every process they forked, are gone within 10 s; it said where dev mail goes."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from orgsync.models import WorkerCluster
from orgsync.workers import descendants
from tests.orgsync.cluster import PROJECT_DIR, child_environment, wait_for
from tests.orgsync.test_runworkers import alive


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.django_db(transaction=True)
def test_sigterm_stops_every_process_of_the_console_within_10_seconds(tmp_path):
    web = free_port()
    log = tmp_path / "runconsole.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "runconsole",
            "--bind",
            f"127.0.0.1:{web}",
            "--web-workers",
            "1",
            "--emulator-port",
            str(free_port()),
        ],
        cwd=PROJECT_DIR,
        env={**child_environment(), "ORGSYNC_VAR_DIR": str(tmp_path / "var")},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    try:

        def web_answers() -> bool:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{web}/healthz", timeout=2)
            except urllib.error.HTTPError:
                return True  # 503 until the cluster's first heartbeat: it answers
            except OSError:
                return False
            return True

        wait_for(web_answers, timeout=90, interval=0.5)
        wait_for(lambda: WorkerCluster.objects.filter(stopped_at__isnull=True).exists(), timeout=60)

        def whole_tree() -> list[int]:
            """runconsole, sfemu, gunicorn and its worker, runworkers and its cluster: the last
            forks can come a moment after the cluster's first heartbeat."""
            tree = [process.pid, *descendants(process.pid)]
            return tree if len(tree) >= 8 else []

        tree = wait_for(whole_tree, timeout=30)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        while time.monotonic() - started < 15 and any(alive(pid) for pid in tree):
            time.sleep(0.1)
            process.poll()
        elapsed = time.monotonic() - started
        survivors = [pid for pid in tree if alive(pid)]
    finally:
        if process.poll() is None:  # the test failed before its SIGTERM: stop it all the same
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                for pid in descendants(process.pid):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                process.kill()
        process.wait()
    assert not survivors, f"still running: {survivors}\n{log.read_text()[-3000:]}"
    assert elapsed < 10, f"took {elapsed:.1f}s"
    assert process.returncode == 0
    assert f"dev mail (partner invitations, alerts) is written as files to {tmp_path / 'var' / 'mail'}/" in (
        log.read_text()
    ), "make run's demo says where dev mail goes"
    assert WorkerCluster.objects.get().stopped_at is not None, "the cluster stopped cleanly"
