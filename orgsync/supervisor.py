"""Run the console's processes in the foreground and stop them all together.

`make run` uses this to start the web server and a worker cluster (and the org emulator) as
one foreground program: Ctrl-C or SIGTERM stops every child, and if one child dies the others
are stopped too, so nothing is left running behind the operator's back.
"""

import logging
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
    def __init__(self, programs: Sequence[Program]) -> None:
        self.programs = programs
        self.children: dict[str, subprocess.Popen] = {}
        self._stopping = False

    def run(self) -> int:
        """Start every program; wait for a stop signal or the first exit; return an exit code."""
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        for program in self.programs:
            logger.info("starting %s", program.name)
            self.children[program.name] = subprocess.Popen(list(program.argv))
        try:
            code = self._wait_for_first_exit()
        finally:
            self.stop()
        return code

    def _wait_for_first_exit(self) -> int:
        while not self._stopping:
            for name, child in self.children.items():
                code = child.poll()
                if code is not None:
                    logger.error("%s exited with code %s; stopping the others", name, code)
                    return code or 1
            time.sleep(0.2)
        return 0

    def _on_signal(self, signum: int, frame: object) -> None:
        self._stopping = True

    def stop(self) -> None:
        """SIGTERM every live child, then SIGKILL whatever is still alive after the grace period."""
        live = [c for c in self.children.values() if c.poll() is None]
        for child in live:
            child.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in live:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def python_program(name: str, *args: str) -> Program:
    return Program(name, [sys.executable, *args])
