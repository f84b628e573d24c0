"""A scratch SQLite file holding what comparison needs, so memory stays flat at any size.

Records are kept as their Id key (the case-sensitive 15-character form), the origin Id they carry
(`OrgSync_Source_Id__c`), their SystemModstamp, and a keyed hash per compared field (BLAKE2b
keyed from SECRET_KEY, 8 bytes): never a field value. Lookups are kept as Ids, because checking
one means following the parent's pairing. The file is deleted when the run ends.
"""

import hashlib
import os
import sqlite3
import tempfile
from collections.abc import Iterable
from contextlib import suppress
from datetime import datetime
from itertools import islice

from django.utils.crypto import salted_hmac

from replication.engine.hashing import _normal

SCHEMA = """
CREATE TABLE xlate (src TEXT PRIMARY KEY, tgt TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE src (k TEXT PRIMARY KEY, id TEXT, marker TEXT, passes INT, stamp REAL, hot INT, h TEXT)
    WITHOUT ROWID;
CREATE TABLE tgt (k TEXT PRIMARY KEY, id TEXT, marker TEXT, stamp REAL, hot INT, h TEXT) WITHOUT ROWID;
CREATE INDEX tgt_marker ON tgt (marker);
CREATE TABLE src_ref (k TEXT, field TEXT, parent TEXT);
CREATE INDEX src_ref_k ON src_ref (k);
CREATE TABLE tgt_ref (k TEXT, field TEXT, value TEXT, PRIMARY KEY (k, field)) WITHOUT ROWID;
CREATE TABLE link (lid INT PRIMARY KEY, src TEXT, tgt TEXT, deleted INT, src_id TEXT, tgt_id TEXT);
CREATE INDEX link_src ON link (src);
CREATE INDEX link_tgt ON link (tgt);
CREATE TABLE pending (k TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE pair (src TEXT PRIMARY KEY, tgt TEXT UNIQUE, lid INT) WITHOUT ROWID;
CREATE TABLE seen_link (lid INT PRIMARY KEY);
CREATE TABLE seen_hot (k TEXT PRIMARY KEY) WITHOUT ROWID;
"""
PER_OBJECT = ("src", "tgt", "src_ref", "tgt_ref", "link", "pair")
NULL = b"\x00"


def key(record_id: str | None) -> str:
    """Salesforce Ids compare on their case-sensitive 15-character form (18 = 15 + checksum)."""
    return (record_id or "")[:15]


def stamp(value: str | None) -> float:
    """A SystemModstamp (REST's +0000 or Bulk's Z spelling) as epoch seconds; 0 when absent."""
    if not value:
        return 0.0
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


class FieldHasher:
    """Keyed 8-byte hashes of field values, one spelling per value (as the engine's state hash).

    Most values repeat (blanks, picklists, owners), so hashes are remembered per value, up to
    CACHE_SIZE of them (then the memory starts over): hashing dominates a big reconcile."""

    CACHE_SIZE = 20_000

    def __init__(self) -> None:
        self.secret = salted_hmac("orgsync.reconcile.field-hash", "key", algorithm="sha256").digest()
        self.cache: dict[object, str] = {}

    def __call__(self, value: object) -> str:
        # bool before int: True == 1 and hash(True) == hash(1), so key them apart.
        cache_key = (type(value), value) if isinstance(value, bool | int | float) else value
        try:
            return self.cache[cache_key]
        except (KeyError, TypeError):
            pass
        normal = _normal(value)
        data = NULL if normal is None else f"{type(normal).__name__}:{normal}".encode()
        digest = hashlib.blake2b(data, key=self.secret, digest_size=8).hexdigest()
        if len(self.cache) >= self.CACHE_SIZE:
            self.cache.clear()
        with suppress(TypeError):  # an unhashable value (a compound field) is not remembered
            self.cache[cache_key] = digest
        return digest

    def row(self, values: list[object]) -> str:
        """The hashes of a record's compared values, joined. Text and blank values are looked up
        in one pass (C speed); only values not remembered yet, and other types, go through
        `__call__` (numbers and booleans are remembered under their type, never found here)."""
        try:
            hashes = list(map(self.cache.get, values))
        except TypeError:  # an unhashable value somewhere: one by one
            return "|".join(map(self, values))
        if None in hashes:
            hashes = [h if h is not None else self(v) for h, v in zip(hashes, values, strict=True)]
        return "|".join(hashes)


class Store:
    def __init__(self) -> None:
        fd, self.path = tempfile.mkstemp(prefix="orgsync-reconcile-", suffix=".sqlite3")
        os.close(fd)
        self.db = sqlite3.connect(self.path, isolation_level=None)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "temp_store=FILE", "cache_size=-16000"):
            self.db.execute(f"PRAGMA {pragma}")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()
        if os.path.exists(self.path):
            os.unlink(self.path)

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def reset_object(self) -> None:
        self.db.execute("BEGIN")
        for table in PER_OBJECT:
            self.db.execute(f"DELETE FROM {table}")
        self.db.execute("COMMIT")

    def reset_direction(self) -> None:
        self.db.execute("DELETE FROM xlate")

    def insert(self, table: str, rows: list[tuple]) -> None:
        if not rows:
            return
        marks = ",".join("?" * len(rows[0]))
        self.db.execute("BEGIN")
        self.db.executemany(f"INSERT OR IGNORE INTO {table} VALUES ({marks})", rows)
        self.db.execute("COMMIT")

    def insert_all(self, table: str, rows: Iterable[tuple], *, chunk: int = 5000) -> None:
        """Insert rows from an iterator `chunk` at a time (memory stays flat)."""
        rows = iter(rows)
        while batch := list(islice(rows, chunk)):
            self.insert(table, batch)

    def query(self, sql: str, params: tuple | dict = ()) -> sqlite3.Cursor:
        return self.db.execute(sql, params)
