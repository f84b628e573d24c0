"""Tasks of the project itself (domain tasks live in their apps)."""

import os
import socket


def worker_probe(token: str) -> dict:
    """Answer which process ran the task: used by tests and `manage.py check_workers`
    to prove a real cluster picks work up from the broker."""
    return {"token": token, "pid": os.getpid(), "host": socket.gethostname()}
