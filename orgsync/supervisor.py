"""Run the console's processes in the foreground and stop them all together.

`make run` uses this to start the org emulator, the web server and a worker cluster as one
foreground program: Ctrl-C or SIGTERM stops every child within `STOP_GRACE_SECONDS`, so nothing
is left running behind the operator's back. A program marked `restart` (the worker cluster) is
started again when it dies; if any other child dies, the others are stopped too.
"""

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

logger = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 9.0
RESTART_LIMIT = 5  # restarts of one program within RESTART_WINDOW before giving up
RESTART_WINDOW = 60.0


@dataclass(frozen=True)
class Program:
    name: str
    argv: Sequence[str]
    restart: bool = False


class Supervisor:
    def __init__(self) -> None:
        self.children: dict[str, subprocess.Popen] = {}
        self.programs: dict[str, Program] = {}
        self.restarts: dict[str, list[float]] = {}
        self.stopping = False
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def start(self, *programs: Program) -> None:
        for program in programs:
            logger.info("starting %s", program.name)
            self.programs[program.name] = program
            # Each program in its own process group, so stopping it also stops the processes it
            # forked (gunicorn's and the cluster's workers) even if it has to be killed.
            self.children[program.name] = subprocess.Popen(list(program.argv), start_new_session=True)

    def first_exit(self) -> tuple[str, int] | None:
        """The name and code of a child that has exited, if any."""
        for name, child in self.children.items():
            code = child.poll()
            if code is not None:
                return name, code
        return None

    def wait(self) -> int:
        """Block until a stop signal (→ 0) or the exit of a child that is not restarted (→ its
        code, at least 1)."""
        while not self.stopping:
            exited = self.first_exit()
            if exited and self._restartable(exited[0]):
                logger.error("%s exited with code %s; starting it again", *exited)
                _signal_group(self.children[exited[0]], signal.SIGKILL)  # its orphans too
                self.start(self.programs[exited[0]])
            elif exited:
                logger.error("%s exited with code %s; stopping the others", *exited)
                return exited[1] or 1
            time.sleep(0.2)
        return 0

    def _restartable(self, name: str) -> bool:
        program = self.programs.get(name)
        if program is None or not program.restart:
            return False
        now = time.monotonic()
        recent = [t for t in self.restarts.get(name, []) if now - t < RESTART_WINDOW]
        self.restarts[name] = [*recent, now]
        return len(recent) < RESTART_LIMIT

    def _on_signal(self, signum: int, frame: object) -> None:
        self.stopping = True

    def stop(self) -> None:
        """SIGTERM to every program's leader at once (each stops its own workers: the worker
        cluster lets its cycles release their connections first), then SIGKILL to each program's
        whole group, at the latest after the grace period: all gone within 10 s."""
        children = list(self.children.values())
        for child in children:
            _signal_leader(child, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in children:
            try:
                child.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("pid %s did not stop in %ss; killing it", child.pid, STOP_GRACE_SECONDS)
        for child in children:
            _signal_group(child, signal.SIGKILL)
            child.wait()


def _signal_leader(child: subprocess.Popen, signum: int) -> None:
    if child.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signum)


def _signal_group(child: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signum)


def run(*programs: Program) -> int:
    """Start `programs`, wait for the first exit or a stop signal, stop everything."""
    supervisor = Supervisor()
    try:
        supervisor.start(*programs)
        return supervisor.wait()
    finally:
        supervisor.stop()


def python_program(name: str, *args: str) -> Program:
    return Program(name, [sys.executable, *args])
