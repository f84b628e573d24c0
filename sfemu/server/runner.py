"""Running sfemu under uvicorn with TLS: blocking (CLI) or in a background thread (tests)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn

from sfemu.instance import Instance
from sfemu.server.app import create_app
from sfemu.server.auth_store import DEFAULT_SESSION_SECONDS, AuthStore
from sfemu.server.control import write_token
from sfemu.server.state import ServerConfig, ServerState
from sfemu.timeutil import Clock
from sfemu.tls import TlsFiles, ensure_tls

SERVER_FILE = "server.json"  # {"url", "pid"} of the server running on a data dir


def public_url(host: str, port: int) -> str:
    """The URL clients use for a server bound to ``host`` (a wildcard means this machine)."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    return f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"


def write_server_info(data_dir: Path | None, url: str) -> None:
    """Record the running server's URL in its data dir (the CLI prints it as instance_url)."""
    if data_dir is None:
        return
    path = Path(data_dir) / SERVER_FILE
    tmp = path.with_name(f".{SERVER_FILE}.{os.getpid()}")
    tmp.write_text(json.dumps({"url": url, "pid": os.getpid()}))
    os.replace(tmp, path)


def clear_server_info(data_dir: Path | None, url: str) -> None:
    """Remove the record on a clean stop (only if it is still this server's)."""
    if data_dir is None:
        return
    path = Path(data_dir) / SERVER_FILE
    with contextlib.suppress(OSError, ValueError):
        info = json.loads(path.read_text())
        if info.get("url") == url and info.get("pid") == os.getpid():
            path.unlink()


def running_server_url(data_dir: Path) -> str | None:
    """URL of the server currently running on ``data_dir``; None when none is (or it died)."""
    try:
        info = json.loads((Path(data_dir) / SERVER_FILE).read_text())
        pid, url = int(info["pid"]), str(info["url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None  # a crashed server left its record behind
    except PermissionError:
        pass  # alive, another user's
    return url


class _Server(uvicorn.Server):
    """uvicorn, minus a slow stop: idle keep-alive TLS connections are dropped at once.

    uvicorn closes them politely, which over TLS waits for the peer's close_notify; a client
    that keeps its pool open (requests does until garbage collection) holds shutdown for the
    whole graceful timeout. Requests still in flight keep their grace period.
    """

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for connection in list(self.server_state.connections):
            cycle = getattr(connection, "cycle", None)
            transport = getattr(connection, "transport", None)
            if transport is not None and (cycle is None or cycle.response_complete):
                transport.abort()
        await super().shutdown(sockets)


def build_state(
    data_dir: Path | None,
    *,
    session_seconds: int | None = None,
    login_host: str | None = None,
    clock: Clock | None = None,
) -> ServerState:
    """Pod + OAuth store for a data dir (``None`` = in memory).

    ``session_seconds`` None takes the pod's setting (``Instance.session_timeout_seconds``).
    """
    instance = Instance(data_dir, clock=clock)
    seconds = session_seconds or instance.session_timeout_seconds or DEFAULT_SESSION_SECONDS
    return ServerState(
        instance=instance,
        auth=AuthStore.in_dir(data_dir, session_seconds=seconds),
        config=ServerConfig(data_dir, seconds, login_host),
    )


def tls_dir_for(data_dir: Path | None) -> Path:
    """Certificates live in ``<data_dir>/tls``; in-memory servers use a temp dir."""
    if data_dir is not None:
        return data_dir / "tls"
    return Path(tempfile.mkdtemp(prefix="sfemu-tls-"))


def _uvicorn_config(state: ServerState, tls: TlsFiles, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(state),
        host=host,
        port=port,
        ssl_certfile=str(tls.cert_path),
        ssl_keyfile=str(tls.key_path),
        log_level="warning",
        access_log=False,  # request lines would carry SOQL values and oauth_token parameters
        server_header=False,
        date_header=False,  # app.ServerDate sends the pod clock's Date instead
        lifespan="off",
        timeout_keep_alive=30,
        timeout_graceful_shutdown=5,
    )


def serve(state: ServerState, host: str, port: int, tls: TlsFiles) -> None:
    """Serve until interrupted (Ctrl-C / SIGTERM)."""
    write_token(state)
    url = public_url(host, port)
    write_server_info(state.config.data_dir, url)
    try:
        _Server(_uvicorn_config(state, tls, host, port)).run()
    finally:
        clear_server_info(state.config.data_dir, url)


@dataclass
class RunningServer:
    """A server started by :func:`start_in_thread`."""

    state: ServerState
    tls: TlsFiles
    host: str
    port: int
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def stop(self, timeout: float = 10) -> None:
        """Stop now: idle TLS keep-alive connections would otherwise hold shutdown for ~30 s."""
        self._server.should_exit = True
        self._server.force_exit = True
        self._thread.join(timeout)
        clear_server_info(self.state.config.data_dir, self.url)


def start_in_thread(
    state: ServerState, *, host: str = "127.0.0.1", port: int = 0, tls: TlsFiles | None = None
) -> RunningServer:
    """Start serving on ``host:port`` (0 = a free port) and return once it accepts requests."""
    tls = tls or ensure_tls(tls_dir_for(state.config.data_dir), (host,))
    write_token(state)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    server = _Server(_uvicorn_config(state, tls, host, bound_port))
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve(sockets=[sock])),
        name=f"sfemu-{bound_port}",
        daemon=True,
    )
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("sfemu server did not start")
        time.sleep(0.02)
    write_server_info(state.config.data_dir, public_url(host, bound_port))
    return RunningServer(state, tls, host, bound_port, server, thread)
