"""What the replication commands share on the terminal: a rich console on the command's stdout,
and SIGTERM turned into SystemExit so a run records how it was stopped."""

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.core.management.base import OutputWrapper
from rich.console import Console


class RawStream:
    """The command's stdout for rich: written as given (OutputWrapper would add newlines)."""

    def __init__(self, out: OutputWrapper) -> None:
        self.out = out

    def write(self, text: str) -> int:
        self.out.write(text, ending="")
        return len(text)

    def flush(self) -> None:
        self.out.flush()

    def isatty(self) -> bool:
        return self.out.isatty()


def command_console(out: OutputWrapper) -> Console:
    """A rich console writing to a command's stdout: as wide as the terminal, 140 columns in a log."""
    return Console(file=RawStream(out), width=None if out.isatty() else 140)


@contextmanager
def sigterm_exits() -> Iterator[None]:
    """SIGTERM raises SystemExit, so the runner records the run as Interrupted (resumable)."""

    def stop(signum: int, frame) -> None:
        raise SystemExit(128 + signum)

    try:
        previous: Callable | int | None = signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
