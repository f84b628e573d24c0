"""A tiny local server that plays an org's token endpoint and records every request it gets.

It serves HTTPS (with its own CA, as sfemu does) or plain HTTP. `token_answer` is what
POST /services/oauth2/token answers; `userinfo` what GET /services/oauth2/userinfo answers.
Every request is kept in `requests` (method, path, headers), so a test can prove that no
Authorization header ever reached it.
"""

import json
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sfemu.tls import ensure_tls


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class Recorder:
    server: ThreadingHTTPServer
    scheme: str
    ca_pem: str = ""
    token_answer: dict = field(default_factory=dict)
    userinfo: dict = field(default_factory=dict)
    data_status: int = 404  # what /services/data/… answers: 401 makes a client refresh its token
    requests: list[Seen] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def url(self, host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}"

    def authorized(self) -> list[Seen]:
        """Requests that carried a credential (a bearer token or Basic auth)."""
        return [seen for seen in self.requests if "authorization" in seen.headers]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Handler(BaseHTTPRequestHandler):
    recorder: Recorder

    def log_message(self, *args) -> None:  # quiet
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.recorder.requests.append(Seen(self.command, self.path, headers))
        if self.command == "POST" and self.path.startswith("/services/oauth2/token"):
            status, body = 200, self.recorder.token_answer
        elif self.path.startswith("/services/oauth2/userinfo") and self.recorder.userinfo:
            status, body = 200, self.recorder.userinfo
        elif self.path.startswith("/services/data/") and self.recorder.data_status == 401:
            status, body = 401, [{"errorCode": "INVALID_SESSION_ID", "message": "Session expired"}]
        else:
            status, body = 404, [{"errorCode": "NOT_FOUND", "message": "recorder"}]
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_DELETE = _answer


def start_recorder(*, tls_dir: Path | None = None) -> Recorder:
    """A recorder on a free port of 127.0.0.1: HTTPS when `tls_dir` is given, else HTTP."""
    handler = type("Handler", (_Handler,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    recorder = Recorder(server=server, scheme="https" if tls_dir else "http")
    handler.recorder = recorder
    if tls_dir is not None:
        files = ensure_tls(tls_dir)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(files.cert_path, files.key_path)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        recorder.ca_pem = files.ca_path.read_text()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return recorder
