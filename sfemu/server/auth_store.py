"""Connected apps, authorization codes and OAuth sessions, kept in SQLite next to the org data.

Only SHA-256 digests of tokens, codes and secrets-in-transit are stored, so a copy of the data dir
does not leak usable sessions. The client secret itself is kept (Salesforce shows it again in
Setup, and the token ``signature`` is keyed with it).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import string
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

DB_FILE = "auth.sqlite3"
DEFAULT_SESSION_SECONDS = 7200
CODE_SECONDS = 15 * 60
_TOKEN_ALPHABET = string.ascii_letters + string.digits + "._"
_KEY_ALPHABET = string.ascii_letters + string.digits + "._"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS apps (
    client_id TEXT PRIMARY KEY, org_id TEXT NOT NULL, name TEXT NOT NULL,
    client_secret TEXT NOT NULL, callback_urls TEXT NOT NULL, cert_pem TEXT,
    run_as_user_id TEXT, scopes TEXT NOT NULL, require_secret INTEGER NOT NULL,
    preauthorized INTEGER NOT NULL, created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS codes (
    code_hash TEXT PRIMARY KEY, client_id TEXT NOT NULL, org_id TEXT NOT NULL,
    user_id TEXT NOT NULL, redirect_uri TEXT NOT NULL, code_challenge TEXT,
    scope TEXT NOT NULL, expires_at REAL NOT NULL, used INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS tokens (
    token_hash TEXT PRIMARY KEY, kind TEXT NOT NULL, org_id TEXT NOT NULL,
    user_id TEXT NOT NULL, client_id TEXT, scope TEXT NOT NULL, issued_at REAL NOT NULL,
    last_used REAL NOT NULL, refresh_hash TEXT, revoked INTEGER NOT NULL DEFAULT 0,
    password_expired INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS tokens_refresh ON tokens(refresh_hash);
CREATE INDEX IF NOT EXISTS tokens_org ON tokens(org_id);
"""


def digest(secret: str) -> str:
    """SHA-256 hex digest used as the storage key of a token or code."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


@dataclass(frozen=True)
class ConnectedApp:
    """A connected app (consumer key/secret, callbacks, optional JWT certificate)."""

    client_id: str
    org_id: str
    name: str
    client_secret: str
    callback_urls: tuple[str, ...]
    cert_pem: str | None
    run_as_user_id: str | None
    scopes: tuple[str, ...]
    require_secret: bool
    preauthorized: bool


@dataclass(frozen=True)
class Session:
    """A valid access token's owner: which org and user, through which app, with which scopes."""

    org_id: str
    user_id: str
    client_id: str | None
    scope: str
    issued_at: float
    password_expired: bool = False


@dataclass(frozen=True)
class AuthCode:
    """A consumed authorization code (web-server flow)."""

    client_id: str
    org_id: str
    user_id: str
    redirect_uri: str
    code_challenge: str | None
    scope: str


@dataclass
class AuthStore:
    """Persistence of OAuth state. ``path`` None keeps everything in memory (tests)."""

    path: Path | None = None
    session_seconds: int = DEFAULT_SESSION_SECONDS
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _db: sqlite3.Connection = field(init=False, repr=False)

    def __post_init__(self) -> None:
        target = ":memory:" if self.path is None else str(self.path)
        self._db = sqlite3.connect(target, check_same_thread=False, timeout=30)
        self._db.row_factory = sqlite3.Row
        if self.path is not None:
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._db.commit()

    @classmethod
    def in_dir(cls, data_dir: Path | None, **kwargs: int) -> AuthStore:
        """The store of a data dir (``None`` = in memory)."""
        if data_dir is None:
            return cls(None, **kwargs)
        data_dir.mkdir(parents=True, exist_ok=True)
        return cls(data_dir / DB_FILE, **kwargs)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _execute(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            cur = self._db.execute(sql, params)
            rows = cur.fetchall()
            self._db.commit()
            return rows

    # -- connected apps -------------------------------------------------------------------------

    def create_app(
        self,
        org_id: str,
        name: str,
        callback_urls: list[str] | tuple[str, ...] = (),
        *,
        cert_pem: str | None = None,
        run_as_user_id: str | None = None,
        scopes: tuple[str, ...] = ("api", "refresh_token", "openid", "id", "web", "full"),
        require_secret: bool = True,
        preauthorized: bool = True,
    ) -> ConnectedApp:
        """Register a connected app in an org and return it with fresh consumer key/secret."""
        app = ConnectedApp(
            client_id="3MVG9" + _random(_KEY_ALPHABET, 80),
            org_id=org_id,
            name=name,
            client_secret=secrets.token_hex(32).upper(),
            callback_urls=tuple(callback_urls),
            cert_pem=cert_pem,
            run_as_user_id=run_as_user_id,
            scopes=tuple(scopes),
            require_secret=require_secret,
            preauthorized=preauthorized,
        )
        self._execute(
            "INSERT INTO apps VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                app.client_id,
                org_id,
                name,
                app.client_secret,
                json.dumps(list(app.callback_urls)),
                cert_pem,
                run_as_user_id,
                " ".join(scopes),
                int(require_secret),
                int(preauthorized),
                time.time(),
            ),
        )
        return app

    def app(self, client_id: str) -> ConnectedApp | None:
        rows = self._execute("SELECT * FROM apps WHERE client_id = ?", (client_id,))
        return _app_from_row(rows[0]) if rows else None

    def apps(self, org_id: str | None = None) -> list[ConnectedApp]:
        if org_id is None:
            rows = self._execute("SELECT * FROM apps ORDER BY created_at")
        else:
            rows = self._execute("SELECT * FROM apps WHERE org_id = ? ORDER BY created_at", (org_id,))
        return [_app_from_row(r) for r in rows]

    def app_by_name(self, org_id: str, name: str) -> ConnectedApp | None:
        rows = self._execute(
            "SELECT * FROM apps WHERE org_id = ? AND name = ? ORDER BY created_at", (org_id, name)
        )
        return _app_from_row(rows[0]) if rows else None

    # -- authorization codes --------------------------------------------------------------------

    def issue_code(
        self,
        app: ConnectedApp,
        org_id: str,
        user_id: str,
        redirect_uri: str,
        code_challenge: str | None,
        scope: str,
    ) -> str:
        code = "aPrx" + _random(string.ascii_letters + string.digits, 80) + "=="
        self._execute(
            "INSERT INTO codes VALUES (?,?,?,?,?,?,?,?,0)",
            (
                digest(code),
                app.client_id,
                org_id,
                user_id,
                redirect_uri,
                code_challenge,
                scope,
                time.time() + CODE_SECONDS,
            ),
        )
        return code

    def consume_code(self, code: str) -> AuthCode | None:
        """Return the code's grant and mark it used; None when unknown, used or expired."""
        key = digest(code)
        with self._lock:
            row = self._db.execute("SELECT * FROM codes WHERE code_hash = ?", (key,)).fetchone()
            if row is None or row["used"] or row["expires_at"] < time.time():
                return None
            self._db.execute("UPDATE codes SET used = 1 WHERE code_hash = ?", (key,))
            self._db.commit()
        return AuthCode(
            row["client_id"],
            row["org_id"],
            row["user_id"],
            row["redirect_uri"],
            row["code_challenge"],
            row["scope"],
        )

    # -- tokens ---------------------------------------------------------------------------------

    def issue_access_token(
        self,
        org_id: str,
        user_id: str,
        *,
        client_id: str | None = None,
        scope: str = "api",
        refresh_token: str | None = None,
        password_expired: bool = False,
    ) -> str:
        """A new access token ``00D…!AQ…`` (org id 15 + ``!`` + opaque part)."""
        token = f"{org_id[:15]}!AQ" + _random(_TOKEN_ALPHABET, 108)
        now = time.time()
        self._execute(
            "INSERT INTO tokens VALUES (?,?,?,?,?,?,?,?,?,0,?)",
            (
                digest(token),
                "access",
                org_id,
                user_id,
                client_id,
                scope,
                now,
                now,
                digest(refresh_token) if refresh_token else None,
                int(password_expired),
            ),
        )
        return token

    def issue_refresh_token(self, org_id: str, user_id: str, client_id: str, scope: str) -> str:
        token = "5Aep861" + _random(string.ascii_letters + string.digits + ".", 80)
        now = time.time()
        self._execute(
            "INSERT INTO tokens VALUES (?,?,?,?,?,?,?,?,NULL,0,0)",
            (digest(token), "refresh", org_id, user_id, client_id, scope, now, now),
        )
        return token

    def session(self, token: str) -> Session | None:
        """The live session of an access token, or None (unknown, revoked or timed out).

        The timeout slides like Salesforce's: activity after half of the timeout renews it.
        """
        key = digest(token)
        now = time.time()
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM tokens WHERE token_hash = ? AND kind = 'access'", (key,)
            ).fetchone()
            if row is None or row["revoked"] or now - row["last_used"] > self.session_seconds:
                return None
            if now - row["last_used"] > self.session_seconds / 2:
                self._db.execute("UPDATE tokens SET last_used = ? WHERE token_hash = ?", (now, key))
                self._db.commit()
        return Session(
            row["org_id"],
            row["user_id"],
            row["client_id"],
            row["scope"],
            row["issued_at"],
            bool(row["password_expired"]),
        )

    def refresh_grant(self, token: str) -> tuple[str, str, str, str] | None:
        """(org_id, user_id, client_id, scope) of a live refresh token."""
        rows = self._execute(
            "SELECT * FROM tokens WHERE token_hash = ? AND kind = 'refresh' AND revoked = 0",
            (digest(token),),
        )
        if not rows:
            return None
        row = rows[0]
        return row["org_id"], row["user_id"], row["client_id"], row["scope"]

    def revoke(self, token: str) -> bool:
        """Revoke an access or refresh token; a refresh token takes its access tokens along."""
        key = digest(token)
        with self._lock:
            row = self._db.execute(
                "SELECT kind FROM tokens WHERE token_hash = ? AND revoked = 0", (key,)
            ).fetchone()
            if row is None:
                return False
            self._db.execute("UPDATE tokens SET revoked = 1 WHERE token_hash = ?", (key,))
            if row["kind"] == "refresh":
                self._db.execute("UPDATE tokens SET revoked = 1 WHERE refresh_hash = ?", (key,))
            self._db.commit()
        return True

    def expire(self, token: str) -> None:
        """Make an access token time out now (as if the session had been idle too long)."""
        self._execute(
            "UPDATE tokens SET last_used = ? WHERE token_hash = ?",
            (time.time() - self.session_seconds - 1, digest(token)),
        )

    def expire_org_sessions(self, org_id: str) -> None:
        """Time out every access token of an org."""
        self._execute(
            "UPDATE tokens SET last_used = ? WHERE org_id = ? AND kind = 'access'",
            (time.time() - self.session_seconds - 1, org_id),
        )


def _app_from_row(row: sqlite3.Row) -> ConnectedApp:
    return ConnectedApp(
        client_id=row["client_id"],
        org_id=row["org_id"],
        name=row["name"],
        client_secret=row["client_secret"],
        callback_urls=tuple(json.loads(row["callback_urls"])),
        cert_pem=row["cert_pem"],
        run_as_user_id=row["run_as_user_id"],
        scopes=tuple(row["scopes"].split()),
        require_secret=bool(row["require_secret"]),
        preauthorized=bool(row["preauthorized"]),
    )
