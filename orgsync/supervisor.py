"""Run the console's processes in the foreground and stop them all together.

`make run` uses this to start the org emulator, the web server and a worker cluster as one
foreground program: Ctrl-C or SIGTERM stops every child, and if one child dies the others are
stopped too, so nothing is left running behind the operator's back.
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

STOP_GRACE_SECONDS = 10.0


@dataclass(frozen=True)
class Program:
    name: str
    argv: Sequence[str]


class Supervisor:
    def __init__(self) -> None:
        self.children: dict[str, subprocess.Popen] = {}
        self.stopping = False
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def start(self, *programs: Program) -> None:
        for program in programs:
            logger.info("starting %s", program.name)
            # Each program in its own process group, so stopping it also stops the processes it
            # forked (gunicorn's and qcluster's workers) even if it has to be killed.
            self.children[program.name] = subprocess.Popen(list(program.argv), start_new_session=True)

    def first_exit(self) -> tuple[str, int] | None:
        """The name and code of a child that has exited, if any."""
        for name, child in self.children.items():
            code = child.poll()
            if code is not None:
                return name, code
        return None

    def wait(self) -> int:
        """Block until a stop signal (→ 0) or a child's exit (→ its code, at least 1)."""
        while not self.stopping:
            exited = self.first_exit()
            if exited:
                logger.error("%s exited with code %s; stopping the others", *exited)
                return exited[1] or 1
            time.sleep(0.2)
        return 0

    def _on_signal(self, signum: int, frame: object) -> None:
        self.stopping = True

    def stop(self) -> None:
        """Stop programs in reverse start order (the emulator last, so the console does not see
        its orgs vanish): SIGTERM to each program's group, SIGKILL to it after the grace period."""
        for child in reversed(list(self.children.values())):
            _signal_group(child, signal.SIGTERM)
            try:
                child.wait(timeout=STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                logger.warning("pid %s did not stop in %ss; killing it", child.pid, STOP_GRACE_SECONDS)
            _signal_group(child, signal.SIGKILL)
            child.wait()


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
