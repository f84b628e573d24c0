"""SQLite persistence for an sfemu instance (all orgs of a "pod" in one database).

One file per data dir (``data_dir/sfemu.sqlite3``, WAL mode); ``None`` uses a private
temporary file that is removed on :meth:`Store.close`, so tests get the same concurrency
semantics as a real data dir. Each thread gets its own connection; writes run in
``BEGIN IMMEDIATE`` transactions (re-entrant per thread), so the server's threadpool can
read in parallel while writes are serialised. The threads of one process take turns at writing
in the order they asked (:class:`WriteTurns`): SQLite's own busy handler retries a locked
database by sleeping, so a Bulk job committing chunk after chunk used to keep an API call
waiting for seconds, where Salesforce answers it while the job runs.

Rows are JSON (non-null fields only) plus indexed columns for what is looked up:
id, (org, object, deleted, id), (org, object, SystemModstamp), unique/external-id keys
(``keys``), parent → child links used by cascade delete (``refs``) and the bytes of base64
fields in chunks (``blobs``: a file is never one JSON value or one SQLite value).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

DB_FILE = "sfemu.sqlite3"
SCHEMA_VERSION = "1"
LOCK_TIMEOUT = 60.0  # seconds, as the connections' busy_timeout

_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orgs (
    org_id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE COLLATE NOCASE, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sequences (
    pod TEXT NOT NULL, prefix TEXT NOT NULL, next INTEGER NOT NULL,
    PRIMARY KEY (pod, prefix)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS counters (
    org_id TEXT NOT NULL, name TEXT NOT NULL, value INTEGER NOT NULL,
    PRIMARY KEY (org_id, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS schema_defs (
    org_id TEXT NOT NULL, kind TEXT NOT NULL, object TEXT NOT NULL, name TEXT NOT NULL,
    seq INTEGER NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (org_id, kind, object, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY, org_id TEXT NOT NULL, sobject TEXT NOT NULL,
    is_deleted INTEGER NOT NULL DEFAULT 0, modstamp TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS records_by_object ON records (org_id, sobject, is_deleted, id);
CREATE INDEX IF NOT EXISTS records_by_modstamp ON records (org_id, sobject, modstamp);
CREATE TABLE IF NOT EXISTS keys (
    org_id TEXT NOT NULL, sobject TEXT NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL,
    id TEXT NOT NULL, PRIMARY KEY (org_id, sobject, field, value, id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS keys_by_id ON keys (id);
CREATE INDEX IF NOT EXISTS keys_global ON keys (sobject, field, value);
CREATE TABLE IF NOT EXISTS refs (
    parent_id TEXT NOT NULL, child_id TEXT NOT NULL, field TEXT NOT NULL,
    PRIMARY KEY (parent_id, child_id, field)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS refs_by_child ON refs (child_id);
CREATE TABLE IF NOT EXISTS deleted_log (
    org_id TEXT NOT NULL, sobject TEXT NOT NULL, deleted_at TEXT NOT NULL, id TEXT NOT NULL,
    PRIMARY KEY (org_id, sobject, deleted_at, id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS deleted_log_by_id ON deleted_log (id);
CREATE TABLE IF NOT EXISTS recycle_bin (
    id TEXT PRIMARY KEY, org_id TEXT NOT NULL, root_id TEXT NOT NULL, sobject TEXT NOT NULL,
    deleted_at TEXT NOT NULL, cleared TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS recycle_by_root ON recycle_bin (root_id);
CREATE INDEX IF NOT EXISTS recycle_by_org ON recycle_bin (org_id, deleted_at);
CREATE TABLE IF NOT EXISTS credentials (
    user_id TEXT PRIMARY KEY, org_id TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blobs (
    id TEXT NOT NULL, field TEXT NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY (id, field, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS api_usage (
    org_id TEXT NOT NULL, hour INTEGER NOT NULL, kind TEXT NOT NULL, count INTEGER NOT NULL,
    PRIMARY KEY (org_id, hour, kind)) WITHOUT ROWID;
"""


def dumps(data: dict[str, Any]) -> str:
    """Compact JSON of the non-null values of a row."""
    return json.dumps({k: v for k, v in data.items() if v is not None}, separators=(",", ":"))


class WriteTurns:
    """First come, first served: each top-level write transaction of this process waits for
    the ones asked for before it, so a writer that commits and begins again at once (a Bulk
    job's chunks) cannot keep another thread waiting."""

    def __init__(self) -> None:
        self._changed = threading.Condition(threading.Lock())
        self._issued = 0
        self._serving = 0
        self._finished: set[int] = set()  # tickets done or given up, not yet passed by _serving

    @contextmanager
    def turn(self) -> Iterator[None]:
        with self._changed:
            ticket = self._issued
            self._issued += 1
            if not self._changed.wait_for(lambda: self._serving == ticket, timeout=LOCK_TIMEOUT):
                self._finish(ticket)
                raise sqlite3.OperationalError("database is locked")
        try:
            yield
        finally:
            with self._changed:
                self._finish(ticket)

    def _finish(self, ticket: int) -> None:
        """`ticket` is done or gave up: serve the next one that still waits."""
        self._finished.add(ticket)
        while self._serving in self._finished:
            self._finished.discard(self._serving)
            self._serving += 1
        self._changed.notify_all()


class Store:
    """Thread-safe access to the instance database."""

    def __init__(self, data_dir: Path | None = None) -> None:
        self._tmpdir: str | None = None
        if data_dir is None:
            self._tmpdir = tempfile.mkdtemp(prefix="sfemu-")
            data_dir = Path(self._tmpdir)
        data_dir = Path(data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / DB_FILE
        self.ephemeral = self._tmpdir is not None
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._turns = WriteTurns()
        self._closed = False
        self.conn.executescript(_DDL)
        self.conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))

    # --- connections and transactions ------------------------------------------------------

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection (autocommit; use :meth:`write` for transactions)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self._closed:
                raise RuntimeError("store is closed")
            conn = sqlite3.connect(
                self.path, timeout=LOCK_TIMEOUT, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=" + ("OFF" if self.ephemeral else "NORMAL"))
            conn.execute(f"PRAGMA busy_timeout={int(LOCK_TIMEOUT * 1000)}")
            conn.execute("PRAGMA cache_size=-32000")
            self._local.conn = conn
            self._local.depth = 0
            with self._all_lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction. Nested use opens a savepoint: an exception inside rolls back
        only the inner block (so one failed DML inside a batch leaves the others intact)."""
        conn = self.conn
        depth = self._local.depth
        if depth:
            name = f"sp{depth}"
            conn.execute(f"SAVEPOINT {name}")
            self._local.depth = depth + 1
            try:
                yield conn
            except BaseException:
                conn.execute(f"ROLLBACK TO {name}")
                conn.execute(f"RELEASE {name}")
                raise
            finally:
                self._local.depth = depth
            conn.execute(f"RELEASE {name}")
            return
        with self._turns.turn():
            conn.execute("BEGIN IMMEDIATE")
            self._local.depth = 1
            try:
                yield conn
            except BaseException:
                self._local.depth = 0
                conn.execute("ROLLBACK")
                raise
            self._local.depth = 0
            conn.execute("COMMIT")

    def close(self) -> None:
        """Close every connection; remove the database when it was a temporary one."""
        self._closed = True
        with self._all_lock:
            for conn in self._all:
                with suppress(sqlite3.ProgrammingError):
                    conn.close()
            self._all.clear()
        self._local = threading.local()
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    # --- meta, orgs, counters ----------------------------------------------------------------

    def meta_get(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def meta_set(self, key: str, value: str) -> None:
        with self.write() as conn:
            conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def insert_org(self, org_id: str, name: str, data: dict) -> None:
        with self.write() as conn:
            conn.execute("INSERT INTO orgs VALUES (?, ?, ?)", (org_id, name, json.dumps(data)))

    def update_org(self, org_id: str, data: dict) -> None:
        with self.write() as conn:
            conn.execute("UPDATE orgs SET data=? WHERE org_id=?", (json.dumps(data), org_id))

    def list_orgs(self) -> list[tuple[str, str, dict]]:
        rows = self.conn.execute("SELECT org_id, name, data FROM orgs ORDER BY rowid")
        return [(r[0], r[1], json.loads(r[2])) for r in rows]

    def allocate_sequence(self, pod: str, prefix: str, count: int, start: int) -> int:
        """Reserve ``count`` sequence numbers for ids with ``pod``/``prefix``; first one."""
        with self.write() as conn:
            row = conn.execute(
                "SELECT next FROM sequences WHERE pod=? AND prefix=?", (pod, prefix)
            ).fetchone()
            first = row[0] if row else start
            conn.execute("INSERT OR REPLACE INTO sequences VALUES (?, ?, ?)", (pod, prefix, first + count))
        return first

    def next_counter(self, org_id: str, name: str, start: int = 1, count: int = 1) -> int:
        """Auto-number style counter per org; returns the first reserved value."""
        with self.write() as conn:
            row = conn.execute(
                "SELECT value FROM counters WHERE org_id=? AND name=?", (org_id, name)
            ).fetchone()
            first = row[0] if row else start
            conn.execute("INSERT OR REPLACE INTO counters VALUES (?, ?, ?)", (org_id, name, first + count))
        return first

    # --- schema definitions -----------------------------------------------------------------

    def put_def(self, org_id: str, kind: str, obj: str, name: str, body: dict) -> None:
        with self.write() as conn:
            row = conn.execute(
                "SELECT seq FROM schema_defs WHERE org_id=? AND kind=? AND object=? AND name=?",
                (org_id, kind, obj, name),
            ).fetchone()
            seq = (
                row[0]
                if row
                else conn.execute(
                    "SELECT COALESCE(MAX(seq), 0) + 1 FROM schema_defs WHERE org_id=?", (org_id,)
                ).fetchone()[0]
            )
            conn.execute(
                "INSERT OR REPLACE INTO schema_defs VALUES (?, ?, ?, ?, ?, ?)",
                (org_id, kind, obj, name, seq, json.dumps(body)),
            )

    def delete_def(self, org_id: str, kind: str, obj: str, name: str) -> None:
        with self.write() as conn:
            conn.execute(
                "DELETE FROM schema_defs WHERE org_id=? AND kind=? AND object=? AND name=?",
                (org_id, kind, obj, name),
            )

    def list_defs(self, org_id: str, kind: str) -> list[dict]:
        rows = self.conn.execute(
            "SELECT body FROM schema_defs WHERE org_id=? AND kind=? ORDER BY seq", (org_id, kind)
        )
        return [json.loads(r[0]) for r in rows]

    # --- records ----------------------------------------------------------------------------

    def insert_records(self, rows: Iterable[tuple[str, str, str, bool, str, dict]]) -> None:
        """Insert (id, org, sobject, is_deleted, modstamp, data) rows."""
        with self.write() as conn:
            conn.executemany(
                "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?)",
                ((i, o, s, int(d), m, dumps(data)) for i, o, s, d, m, data in rows),
            )

    def replace_record(self, record_id: str, is_deleted: bool, modstamp: str, data: dict) -> None:
        with self.write() as conn:
            conn.execute(
                "UPDATE records SET is_deleted=?, modstamp=?, data=? WHERE id=?",
                (int(is_deleted), modstamp, dumps(data), record_id),
            )

    def delete_records(self, record_ids: Sequence[str]) -> None:
        """Physically remove rows (hard delete / recycle bin purge) with their keys/refs."""
        with self.write() as conn:
            for chunk in _chunks(record_ids):
                marks = ",".join("?" * len(chunk))
                conn.execute(f"DELETE FROM records WHERE id IN ({marks})", chunk)
                conn.execute(f"DELETE FROM keys WHERE id IN ({marks})", chunk)
                conn.execute(f"DELETE FROM refs WHERE child_id IN ({marks})", chunk)
                conn.execute(f"DELETE FROM recycle_bin WHERE id IN ({marks})", chunk)
                conn.execute(f"DELETE FROM blobs WHERE id IN ({marks})", chunk)

    def get_record(self, record_id: str) -> tuple[str, str, bool, dict] | None:
        """(org_id, sobject, is_deleted, data) of a row."""
        row = self.conn.execute(
            "SELECT org_id, sobject, is_deleted, data FROM records WHERE id=?", (record_id,)
        ).fetchone()
        if row is None:
            return None
        return row[0], row[1], bool(row[2]), json.loads(row[3])

    def get_records(self, record_ids: Sequence[str]) -> dict[str, tuple[str, str, bool, dict]]:
        out: dict[str, tuple[str, str, bool, dict]] = {}
        for chunk in _chunks(record_ids):
            marks = ",".join("?" * len(chunk))
            rows = self.conn.execute(
                f"SELECT id, org_id, sobject, is_deleted, data FROM records WHERE id IN ({marks})", chunk
            )
            for r in rows:
                out[r[0]] = (r[1], r[2], bool(r[3]), json.loads(r[4]))
        return out

    def iter_records(
        self, org_id: str, sobject: str, *, include_deleted: bool, batch: int = 2000
    ) -> Iterator[dict]:
        """Rows of one object in id order, streamed in batches (no full-table load)."""
        sql = (
            "SELECT id, data FROM records WHERE org_id=? AND sobject=? AND id>? "
            + ("" if include_deleted else "AND is_deleted=0 ")
            + "ORDER BY id LIMIT ?"
        )
        last = ""
        while True:
            rows = self.conn.execute(sql, (org_id, sobject, last, batch)).fetchall()
            for _, data in rows:
                yield json.loads(data)
            if len(rows) < batch:
                return
            last = rows[-1][0]

    def count_records(self, org_id: str, sobject: str | None = None) -> dict[str, int]:
        """Live (not deleted) rows per object."""
        sql = "SELECT sobject, COUNT(*) FROM records WHERE org_id=? AND is_deleted=0"
        params: tuple = (org_id,)
        if sobject:
            sql += " AND sobject=?"
            params += (sobject,)
        return dict(self.conn.execute(sql + " GROUP BY sobject", params).fetchall())

    def modified_between(
        self, org_id: str, sobject: str, start: str, end: str, limit: int
    ) -> list[tuple[str, bool]]:
        """(id, is_deleted) with start <= SystemModstamp < end, at most ``limit`` rows."""
        rows = self.conn.execute(
            "SELECT id, is_deleted FROM records WHERE org_id=? AND sobject=? "
            "AND modstamp>=? AND modstamp<? ORDER BY modstamp, id LIMIT ?",
            (org_id, sobject, start, end, limit),
        )
        return [(r[0], bool(r[1])) for r in rows]

    def max_modstamp(self, org_id: str) -> str | None:
        row = self.conn.execute("SELECT MAX(modstamp) FROM records WHERE org_id=?", (org_id,)).fetchone()
        return row[0] if row else None

    # --- unique / external id keys and references ------------------------------------------

    def set_keys(self, org_id: str, sobject: str, record_id: str, entries: Iterable[tuple[str, str]]) -> None:
        with self.write() as conn:
            conn.execute("DELETE FROM keys WHERE id=?", (record_id,))
            conn.executemany(
                "INSERT OR IGNORE INTO keys VALUES (?, ?, ?, ?, ?)",
                ((org_id, sobject, f, v, record_id) for f, v in entries),
            )

    def add_keys(self, rows: Iterable[tuple[str, str, str, str, str]]) -> None:
        with self.write() as conn:
            conn.executemany("INSERT OR IGNORE INTO keys VALUES (?, ?, ?, ?, ?)", rows)

    def find_keys(
        self, org_id: str | None, sobject: str, field: str, value: str, *, include_deleted: bool = False
    ) -> list[str]:
        """Ids whose ``field`` key equals ``value`` (org None = every org)."""
        sql = (
            "SELECT k.id FROM keys k JOIN records r ON r.id = k.id "
            "WHERE k.sobject=? AND k.field=? AND k.value=?"
        )
        params: tuple = (sobject, field, value)
        if org_id is not None:
            sql += " AND k.org_id=?"
            params += (org_id,)
        if not include_deleted:
            sql += " AND r.is_deleted=0"
        return [r[0] for r in self.conn.execute(sql + " ORDER BY k.id", params)]

    def find_by_value(
        self, org_id: str, sobject: str, field: str, value: str, *, nocase: bool = True
    ) -> list[str]:
        """Live ids whose JSON ``field`` equals ``value`` (a scan, for non-indexed lookups)."""
        path = '$."' + field.replace('"', "") + '"'
        expr = "lower(json_extract(data, ?)) = lower(?)" if nocase else "json_extract(data, ?) = ?"
        rows = self.conn.execute(
            f"SELECT id FROM records WHERE org_id=? AND sobject=? AND is_deleted=0 AND {expr} ORDER BY id",
            (org_id, sobject, path, value),
        )
        return [r[0] for r in rows]

    def set_refs(self, child_id: str, entries: Iterable[tuple[str, str]]) -> None:
        """Replace the (field, parent_id) links of a child row."""
        with self.write() as conn:
            conn.execute("DELETE FROM refs WHERE child_id=?", (child_id,))
            conn.executemany(
                "INSERT OR IGNORE INTO refs VALUES (?, ?, ?)", ((p, child_id, f) for f, p in entries)
            )

    def add_refs(self, rows: Iterable[tuple[str, str, str]]) -> None:
        """Insert (parent_id, child_id, field) links."""
        with self.write() as conn:
            conn.executemany("INSERT OR IGNORE INTO refs VALUES (?, ?, ?)", rows)

    def children_of(self, parent_ids: Sequence[str]) -> list[tuple[str, str, str]]:
        """(parent_id, child_id, field) for every row pointing at one of ``parent_ids``."""
        out: list[tuple[str, str, str]] = []
        for chunk in _chunks(parent_ids):
            marks = ",".join("?" * len(chunk))
            out += self.conn.execute(
                f"SELECT parent_id, child_id, field FROM refs WHERE parent_id IN ({marks})", chunk
            ).fetchall()
        return out

    # --- blob field contents -------------------------------------------------------------

    def put_blob(self, record_id: str, field: str, chunks: Iterable[bytes]) -> None:
        """Replace the bytes of ``record_id``'s ``field`` with ``chunks`` (stored one row each)."""
        with self.write() as conn:
            conn.execute("DELETE FROM blobs WHERE id=? AND field=?", (record_id, field))
            for seq, chunk in enumerate(chunks):
                conn.execute("INSERT INTO blobs VALUES (?, ?, ?, ?)", (record_id, field, seq, chunk))

    def iter_blob(self, record_id: str, field: str) -> Iterator[bytes]:
        """The stored chunks in order, one query each: the iterator may be consumed from
        several threads (a streamed HTTP answer), each using its own connection."""
        seq = 0
        while True:
            row = self.conn.execute(
                "SELECT data FROM blobs WHERE id=? AND field=? AND seq=?", (record_id, field, seq)
            ).fetchone()
            if row is None:
                return
            yield bytes(row[0])
            seq += 1

    # --- delete log and recycle bin --------------------------------------------------------

    def log_deleted(self, rows: Iterable[tuple[str, str, str, str]]) -> None:
        """(org_id, sobject, deleted_at, id) rows for getDeleted."""
        with self.write() as conn:
            conn.executemany("INSERT OR REPLACE INTO deleted_log VALUES (?, ?, ?, ?)", rows)

    def unlog_deleted(self, record_ids: Sequence[str]) -> None:
        with self.write() as conn:
            for chunk in _chunks(record_ids):
                marks = ",".join("?" * len(chunk))
                conn.execute(f"DELETE FROM deleted_log WHERE id IN ({marks})", chunk)

    def deleted_between(
        self, org_id: str, sobject: str, start: str, end: str, limit: int
    ) -> list[tuple[str, str]]:
        rows = self.conn.execute(
            "SELECT id, deleted_at FROM deleted_log WHERE org_id=? AND sobject=? "
            "AND deleted_at>=? AND deleted_at<? ORDER BY deleted_at, id LIMIT ?",
            (org_id, sobject, start, end, limit),
        )
        return [(r[0], r[1]) for r in rows]

    def purge_deleted_log(self, org_id: str, before: str) -> int:
        with self.write() as conn:
            return conn.execute(
                "DELETE FROM deleted_log WHERE org_id=? AND deleted_at<?", (org_id, before)
            ).rowcount

    def bin_add(self, rows: Iterable[tuple[str, str, str, str, str, list]]) -> None:
        """(id, org_id, root_id, sobject, deleted_at, cleared lookups) recycle-bin rows."""
        with self.write() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO recycle_bin VALUES (?, ?, ?, ?, ?, ?)",
                ((i, o, r, s, d, json.dumps(c)) for i, o, r, s, d, c in rows),
            )

    def bin_entry(self, record_id: str) -> tuple[str, str] | None:
        """(root_id, org_id) of a recycle-bin row."""
        row = self.conn.execute("SELECT root_id, org_id FROM recycle_bin WHERE id=?", (record_id,)).fetchone()
        return (row[0], row[1]) if row else None

    def bin_group(self, root_id: str) -> list[tuple[str, str, list]]:
        """(id, sobject, cleared) of every row deleted together with ``root_id``."""
        rows = self.conn.execute(
            "SELECT id, sobject, cleared FROM recycle_bin WHERE root_id=? ORDER BY rowid", (root_id,)
        )
        return [(r[0], r[1], json.loads(r[2])) for r in rows]

    def bin_remove(self, record_ids: Sequence[str]) -> None:
        with self.write() as conn:
            for chunk in _chunks(record_ids):
                marks = ",".join("?" * len(chunk))
                conn.execute(f"DELETE FROM recycle_bin WHERE id IN ({marks})", chunk)

    def bin_expired(self, org_id: str, before: str) -> list[str]:
        rows = self.conn.execute(
            "SELECT id FROM recycle_bin WHERE org_id=? AND deleted_at<?", (org_id, before)
        )
        return [r[0] for r in rows]

    # --- credentials and API usage ---------------------------------------------------------

    def put_credentials(self, user_id: str, org_id: str, data: dict) -> None:
        with self.write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO credentials VALUES (?, ?, ?)", (user_id, org_id, json.dumps(data))
            )

    def get_credentials(self, user_id: str) -> dict | None:
        row = self.conn.execute("SELECT data FROM credentials WHERE user_id=?", (user_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def count_api(self, org_id: str, hour: int, kind: str, n: int = 1) -> None:
        with self.write() as conn:
            conn.execute(
                "INSERT INTO api_usage VALUES (?, ?, ?, ?) ON CONFLICT (org_id, hour, kind) "
                "DO UPDATE SET count = count + excluded.count",
                (org_id, hour, kind, n),
            )

    def api_usage(self, org_id: str, since_hour: int) -> dict[str, int]:
        rows = self.conn.execute(
            "SELECT kind, SUM(count) FROM api_usage WHERE org_id=? AND hour>=? GROUP BY kind",
            (org_id, since_hour),
        )
        return {r[0]: int(r[1]) for r in rows}


def _chunks(items: Sequence[str], size: int = 500) -> Iterator[list[str]]:
    items = list(items)
    for i in range(0, len(items), size):
        yield items[i : i + size]
