"""The fault scenario of issue 14, reusable by the fault lane test and by ``bench/fault.py``.

Two-way connection, Account and Contact published and subscribed both ways, real ``qcluster``
processes on PostgreSQL with the Redis broker. While the clusters run cycles (the scheduled
engine tick plus a "Sync now" every few seconds), users edit both orgs at once, worker processes
are killed with SIGKILL, a whole cluster is killed and restarted, and the clusters' database
connections are terminated. Then editing stops, the connection settles, and the oracle
(`tests/replication/oracle.py`) compares the two orgs.

Users never touch one record from both orgs (that would be a conflict, decided by policy, not
an integrity failure): every Account "family" — the Account and its Contacts — is edited from
one org only, its *owner*, which is either the org it was created in or the other one (then
edits go to the copies). Contacts are reparented only between undeletable Accounts of the same
owner, and only "deletable" families lose their Account (which deletes its Contacts too), so a
delete never races an edit made in the other org. Whatever the engine does, the orgs can end up
equal; the oracle says whether they did.

Everything random comes from one seed (printed); thread interleaving and process timing still
vary from run to run.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection as db_connection
from django.db import connections

from replication import services
from replication.models import EXTERNAL_ID_FIELD, Direction, QueueStatus, RecordQueueItem
from tests.orgsync.cluster import PROJECT_DIR, child_environment
from tests.replication.oracle import Verdict, compare_orgs, key

SYNC_TASK = "replication.tasks.sync_connection"
TICK_TASK = "replication.tasks.engine_tick"
OBJECTS = {
    "Account": ["Name", "Phone", "Description"],
    "Contact": ["LastName", "Title", "Phone", "AccountId"],
}
# Names carry a token that is never edited: two records of one org with the same token are one
# record twice, whatever their markers say.
UNIQUE = {"Account": ["Name"], "Contact": ["LastName"]}
SIDES = ("primary", "secondary")
SEED_ENV = "ORGSYNC_FAULT_SEED"
_WORKER_LINE = re.compile(r"ready for work at (\d+)")


def scaled_lane() -> bool:
    engine = settings.DATABASES["default"]["ENGINE"]
    return engine == "django.db.backends.postgresql" and bool(settings.REDIS_URL)


def fault_seed() -> int:
    """The seed from ORGSYNC_FAULT_SEED, or a fresh one (printed by the caller to replay it)."""
    value = os.environ.get(SEED_ENV, "").strip()
    return int(value) if value else random.SystemRandom().randrange(1, 2**31)


@dataclass
class FaultConfig:
    seed: int
    primary_accounts: int = 1500
    primary_contacts: int = 1500
    secondary_accounts: int = 250
    secondary_contacts: int = 300
    clusters: int = 2
    workers: int = 2  # per cluster
    chaos_seconds: float = 135.0  # edits and kills
    edits_per_second: float = 4.0  # per org
    worker_kills: int = 10
    cluster_kills: int = 1
    db_kills: int = 1  # pg_terminate_backend of every other connection to the database
    sync_now_every: float = 4.0
    settle_seconds: float = 150.0  # clusters keep running until the queue is empty, at most this
    final_seconds: float = 75.0  # then sync_once in this process until the queue is empty
    deletable_fraction: float = 0.25

    @classmethod
    def scaled(cls, records: int, kills: int, seed: int, **overrides: Any) -> FaultConfig:
        """`records` in all, spread like the lane's: 90 % in the primary, Contacts ≥ Accounts."""
        config = cls(
            seed=seed,
            primary_accounts=int(records * 0.38),
            primary_contacts=int(records * 0.52),
            secondary_accounts=int(records * 0.04),
            secondary_contacts=records - int(records * 0.38) - int(records * 0.52) - int(records * 0.04),
            worker_kills=kills,
        )
        for name, value in overrides.items():
            setattr(config, name, value)
        return config

    def override_from_env(self) -> FaultConfig:
        """ORGSYNC_FAULT_<FIELD> (e.g. ORGSYNC_FAULT_CHAOS_SECONDS=300) changes one setting."""
        for f in fields(self):
            value = os.environ.get(f"ORGSYNC_FAULT_{f.name.upper()}", "").strip()
            if value and f.name != "seed":
                setattr(self, f.name, type(getattr(self, f.name))(value))
        return self

    def describe(self) -> str:
        return ", ".join(f"{f.name}={getattr(self, f.name)}" for f in fields(self))


@dataclass
class FaultResult:
    config: FaultConfig
    verdict: Verdict
    events: Counter = field(default_factory=Counter)
    settled_after: float | None = None  # seconds from the end of edits to an empty queue
    final_queue: int = 0
    timings: dict[str, float] = field(default_factory=dict)

    def figures(self) -> dict[str, int]:
        return self.verdict.counts()

    def summary(self) -> str:
        figures = ", ".join(f"{k} {v}" for k, v in self.figures().items())
        settled = (
            f"settled {self.settled_after:.0f} s after the edits stopped"
            if self.settled_after is not None
            else f"not settled within {self.config.settle_seconds:.0f} s (queue left: {self.final_queue})"
        )
        events = ", ".join(f"{k} {v}" for k, v in sorted(self.events.items()))
        return f"seed {self.config.seed}: {figures}; {settled}\n  events: {events}"


# --- processes -----------------------------------------------------------------------------


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, CPU ticks used) of a live process, from /proc (psutil is not installed)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    rest = text[text.rindex(")") + 2 :].split()
    if rest[0] == "Z":
        return None
    return int(rest[1]), int(rest[11]) + int(rest[12])


class Cluster:
    """One `manage.py runworkers` in its own session (so killpg takes all its processes)."""

    def __init__(self, name: str, workdir: Path, workers: int, env: dict[str, str] | None = None):
        self.name = name
        self.log_path = workdir / f"qcluster-{name}.log"
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "runworkers"],
            cwd=PROJECT_DIR,
            env={**child_environment(), "ORGSYNC_Q_WORKERS": str(workers), **(env or {})},
            stdout=self.log_path.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def running(self) -> bool:
        return self.process.poll() is None and " running." in self.log_path.read_text(errors="replace")

    def workers(self) -> list[int]:
        """Live worker processes (children of the cluster's sentinel, which logged them)."""
        logged = {int(m) for m in _WORKER_LINE.findall(self.log_path.read_text(errors="replace"))}
        live = []
        for pid in logged:
            stat = _stat(pid)
            parent = _stat(stat[0]) if stat else None
            if stat and parent and parent[0] == self.process.pid:
                live.append(pid)
        return sorted(live)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self, grace: float) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=grace)
        self.kill()  # and whatever is left of its workers


def holds_a_queue_lock(pid: int) -> bool:
    """True when a thread of the worker is reading or writing one of its cluster's queue pipes:
    waiting in the task queue's get() (its lock held) or sending a result. SIGKILL there would
    leave the lock held for good and wedge the cluster's other workers (a multiprocessing limit,
    not the engine's), so it is never done. A worker waiting for that lock holds nothing."""
    try:
        threads = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return False
    for thread in threads:
        try:
            call = (thread / "syscall").read_text().split()
            if call[0] in ("0", "1") and os.readlink(f"/proc/{pid}/fd/{int(call[1], 16)}").startswith(
                "pipe:"
            ):
                return True
        except (OSError, IndexError, ValueError):
            continue
    return False


_HOLDER = re.compile(r":(\d+):[0-9a-f]{12}$")


def cycle_pids(connection) -> tuple[set[int], set[int]]:
    """Processes in the middle of a cycle of `connection`, from what the engine writes: those
    holding queue claims (mid-apply), and the holder of the connection's lease. Both tokens end
    in "<host>:<pid>:<12 hex>" (`default_worker()` plus a uuid)."""
    from replication.models import EngineSchedule

    claims = RecordQueueItem.objects.filter(connection=connection, status=QueueStatus.IN_PROGRESS)
    holders = set(claims.values_list("claimed_by", flat=True).distinct())
    leases = set(EngineSchedule.objects.filter(connection=connection).values_list("lease_holder", flat=True))

    def pids(tokens: set[str]) -> set[int]:
        return {int(m.group(1)) for t in tokens if t and (m := _HOLDER.search(t))}

    return pids(holders), pids(leases)


def terminate_other_backends() -> int:
    """pg_terminate_backend of every connection to this database but this process's own."""
    with db_connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return int(cursor.fetchone()[0])


# --- users editing both orgs ---------------------------------------------------------------


@dataclass
class Entity:
    sobject: str
    token: str
    origin_side: str
    origin_id: str
    owner: str  # the org users edit it in
    deletable: bool = False  # Accounts: may be deleted (with their Contacts)
    parent: str | None = None  # Contacts: the token of their Account
    alive: bool = True


class Registry:
    """What the users created and where they may edit it (shared by the two editors)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.accounts: dict[str, Entity] = {}
        self.contacts: dict[str, Entity] = {}
        self.owned: dict[tuple[str, str], list[str]] = {(s, o): [] for s in SIDES for o in OBJECTS}
        self._counter = Counter()

    def token(self, prefix: str) -> str:
        with self.lock:
            self._counter[prefix] += 1
            return f"{prefix}{self._counter[prefix]:06d}"

    def add(self, entity: Entity) -> None:
        with self.lock:
            (self.accounts if entity.sobject == "Account" else self.contacts)[entity.token] = entity
            self.owned[(entity.owner, entity.sobject)].append(entity.token)

    def pick(self, rng: random.Random, owner: str, sobject: str, accept: Callable[[Entity], bool]):
        table = self.accounts if sobject == "Account" else self.contacts
        with self.lock:
            tokens = self.owned[(owner, sobject)]
            for _ in range(20):
                if not tokens:
                    return None
                entity = table[rng.choice(tokens)]
                if entity.alive and accept(entity):
                    return entity
        return None


class Editor(threading.Thread):
    """A user of one org: field edits, reparenting, new Account+Contact pairs, deletes."""

    OPERATIONS = (
        ("edit_account", 25),
        ("edit_contact", 30),
        ("reparent", 15),
        ("new_pair", 12),
        ("delete_contact", 10),
        ("delete_family", 8),
    )

    def __init__(self, scenario: FaultScenario, side: str, rng: random.Random, stop: threading.Event):
        super().__init__(name=f"editor-{side}", daemon=True)
        self.scenario, self.side, self.rng, self.stop_event = scenario, side, rng, stop
        self.handle = scenario.handle(side)
        self.registry = scenario.registry
        self.copies: dict[str, dict[str, str]] = {"Account": {}, "Contact": {}}
        self.done: Counter = Counter()
        self.errors: Counter = Counter()
        self._refreshed = 0.0
        # A few records edited again and again: repeated edits of one record are what a stale
        # cycle could overwrite with an older value.
        self.hot: dict[str, list[Entity]] = {"Account": [], "Contact": []}

    # Ids in this org: the record itself, or its copy once the engine wrote one.
    def here(self, entity: Entity) -> str | None:
        if entity.origin_side == self.side:
            return entity.origin_id
        return self.copies[entity.sobject].get(key(entity.origin_id))

    def refresh_copies(self) -> None:
        for sobject in OBJECTS:
            rows = self.handle.org.query(
                f"SELECT Id, {EXTERNAL_ID_FIELD} FROM {sobject} WHERE {EXTERNAL_ID_FIELD} != null",
                include_deleted=False,
                api_version="62.0",
            ).records
            self.copies[sobject] = {key(r[EXTERNAL_ID_FIELD]): r["Id"] for r in rows}
        self._refreshed = time.monotonic()

    def choose_hot(self, size: int = 6) -> None:
        for sobject in OBJECTS:
            picked = {
                e.token: e
                for _ in range(size * 3)
                if (e := self.registry.pick(self.rng, self.side, sobject, lambda e: not _deletable(self, e)))
            }
            self.hot[sobject] = list(picked.values())[:size]

    def _editable(self, sobject: str) -> Entity | None:
        hot = [e for e in self.hot[sobject] if e.alive]
        if hot and self.rng.random() < 0.4:
            return self.rng.choice(hot)
        return self.registry.pick(self.rng, self.side, sobject, lambda e: True)

    def burst(self, kind: str, count: int) -> int:
        """A mass update (one field of `count` records this org edits) or `count` new
        Account+Contact pairs at once, as a data load would: a big batch for the next cycle."""
        done = 0
        if kind == "new_pairs":
            for _ in range(count):
                done += self.new_pair()
        else:
            n = self.rng.randrange(10**6)
            for sobject in OBJECTS:
                for _ in range(count // 2):
                    entity = self.registry.pick(self.rng, self.side, sobject, lambda e: True)
                    record_id = entity and self.here(entity)
                    if record_id:
                        with contextlib.suppress(Exception):
                            field_name = "Description" if sobject == "Account" else "Title"
                            self._write("update", sobject, record_id, {field_name: f"mass {n}"})
                            done += 1
        self.done[f"burst {kind} (records)"] += done
        return done

    def run(self) -> None:
        period = 1.0 / self.scenario.config.edits_per_second
        names = [name for name, _ in self.OPERATIONS]
        weights = [weight for _, weight in self.OPERATIONS]
        while not self.stop_event.is_set():
            started = time.monotonic()
            if started - self._refreshed > 5:
                self.refresh_copies()
            for _ in range(5):  # an operation may find nothing to do yet (no copy): try another
                name = self.rng.choices(names, weights)[0]
                try:
                    if getattr(self, name)():
                        self.done[name] += 1
                        break
                except Exception as exc:  # an org refusing one edit never stops the users
                    self.errors[f"{name}: {getattr(exc, 'error_code', type(exc).__name__)}"] += 1
                    break
            self.stop_event.wait(max(0.0, period - (time.monotonic() - started)))

    def _write(self, kind: str, *args, **kwargs):
        org, user = self.handle.org, self.handle.user_id
        if kind == "create":
            return org.create(*args, user_id=user, **kwargs)
        if kind == "update":
            return org.update(*args, user_id=user, **kwargs)
        return org.delete(*args, user_id=user, **kwargs)

    def edit_account(self) -> bool:
        account = self._editable("Account")
        record_id = account and self.here(account)
        if not record_id:
            return False
        n = self.rng.randrange(10**6)
        values = self.rng.choice(
            [{"Phone": f"555-{n % 10000:04d}"}, {"Description": f"{self.side} note {n}"}]
        )
        self._write("update", "Account", record_id, values)
        return True

    def edit_contact(self) -> bool:
        contact = self._editable("Contact")
        record_id = contact and self.here(contact)
        if not record_id:
            return False
        n = self.rng.randrange(10**6)
        values = self.rng.choice(
            [{"Title": f"{self.side[0].upper()}Title {n}"}, {"Phone": f"555-{n % 10000:04d}"}]
        )
        self._write("update", "Contact", record_id, values)
        return True

    def reparent(self) -> bool:
        registry = self.registry

        def movable(contact: Entity) -> bool:
            return not registry.accounts[contact.parent].deletable

        contact = registry.pick(self.rng, self.side, "Contact", movable)
        if contact is None:
            return False
        target = registry.pick(
            self.rng, self.side, "Account", lambda a: not a.deletable and a.token != contact.parent
        )
        contact_id, account_id = self.here(contact), target and self.here(target)
        if not (contact_id and account_id):
            return False
        self._write("update", "Contact", contact_id, {"AccountId": account_id})
        with registry.lock:
            contact.parent = target.token
        return True

    def new_pair(self) -> bool:
        prefix = self.side[0].upper()
        account_token, contact_token = self.registry.token(f"{prefix}NA"), self.registry.token(f"{prefix}NC")
        n = self.rng.randrange(10**6)
        account_id = self._write(
            "create", "Account", {"Name": account_token, "Phone": f"555-{n % 10000:04d}"}
        )
        deletable = self.rng.random() < self.scenario.config.deletable_fraction
        self.registry.add(Entity("Account", account_token, self.side, account_id, self.side, deletable))
        contact_id = self._write(
            "create",
            "Contact",
            {"LastName": contact_token, "Title": f"New {n}", "AccountId": account_id},
        )
        self.registry.add(
            Entity("Contact", contact_token, self.side, contact_id, self.side, parent=account_token)
        )
        return True

    def delete_contact(self) -> bool:
        contact = self.registry.pick(self.rng, self.side, "Contact", lambda e: True)
        record_id = contact and self.here(contact)
        if not record_id:
            return False
        with self.registry.lock:
            contact.alive = False
        self._write("delete", record_id, sobject="Contact")
        return True

    def delete_family(self) -> bool:
        account = self.registry.pick(self.rng, self.side, "Account", lambda a: a.deletable)
        record_id = account and self.here(account)
        if not record_id:
            return False
        with self.registry.lock:
            account.alive = False
            for contact in self.registry.contacts.values():
                if contact.parent == account.token:
                    contact.alive = False  # the org deletes them with their Account
        self._write("delete", record_id, sobject="Account")
        return True


def _deletable(editor: Editor, entity: Entity) -> bool:
    """A record users may delete: an Account of a deletable family, or any Contact of one."""
    if entity.sobject == "Account":
        return entity.deletable
    return editor.registry.accounts[entity.parent].deletable


@dataclass
class Fault:
    at: float  # monotonic time it is due
    kind: str  # "worker", "cluster" or "database"
    burst: str | None  # changes made just before, so that a cycle has a batch to claim
    prepared_at: float | None = None  # when its burst was made


# --- the scenario ----------------------------------------------------------------------------


class FaultScenario:
    """Publish, seed, run the clusters through the faults, settle, compare."""

    def __init__(self, linked, config: FaultConfig, workdir: Path, log: Callable[[str], None] = print):
        self.linked, self.config, self.workdir = linked, config, workdir
        self.rng = random.Random(config.seed)
        self.registry = Registry()
        self.events: Counter = Counter()
        self.clusters: list[Cluster] = []
        self._started = time.monotonic()
        self._log = log
        self._generation = 0
        self._restarts: list[float] = []  # when killed clusters are started again

    def log(self, message: str) -> None:
        self._log(f"[fault {time.monotonic() - self._started:6.1f}s] {message}")

    def handle(self, side: str):
        return self.linked.primary if side == "primary" else self.linked.secondary

    # --- set-up ---

    def publish(self) -> None:
        """Account before Contact in each direction, so AccountId is published and parents go first."""
        for direction in (Direction.PRIMARY_TO_SECONDARY, Direction.SECONDARY_TO_PRIMARY):
            for sobject in OBJECTS:
                publication = services.publication_publish(
                    connection=self.linked.connection, direction=direction, source_object=sobject, actor=None
                )
                services.subscription_subscribe(publication=publication, actor=None)

    def seed(self) -> None:
        counts = {
            "primary": (self.config.primary_accounts, self.config.primary_contacts),
            "secondary": (self.config.secondary_accounts, self.config.secondary_contacts),
        }
        for side, (accounts, contacts) in counts.items():
            handle, prefix = self.handle(side), side[0].upper()
            org, user = handle.org, handle.user_id
            families: list[Entity] = []
            for _ in range(accounts):
                token = self.registry.token(f"{prefix}A")
                n = self.rng.randrange(10**6)
                record_id = org.create(
                    "Account",
                    {"Name": token, "Phone": f"555-{n % 10000:04d}", "Description": f"seed {n}"},
                    user_id=user,
                )
                owner = self.rng.choice(SIDES)
                deletable = self.rng.random() < self.config.deletable_fraction
                entity = Entity("Account", token, side, record_id, owner, deletable)
                self.registry.add(entity)
                families.append(entity)
            for _ in range(contacts):
                token = self.registry.token(f"{prefix}C")
                parent = self.rng.choice(families)
                record_id = org.create(
                    "Contact",
                    {
                        "LastName": token,
                        "Title": f"Seed {self.rng.randrange(1000)}",
                        "AccountId": parent.origin_id,
                    },
                    user_id=user,
                )
                self.registry.add(
                    Entity("Contact", token, side, record_id, parent.owner, parent=parent.token)
                )
        self.log(f"seeded {counts}")

    # --- processes ---

    def start_cluster(self) -> Cluster:
        self._generation += 1
        cluster = Cluster(str(self._generation), self.workdir, self.config.workers)
        self.clusters.append(cluster)
        return cluster

    def live_clusters(self) -> list[Cluster]:
        return [c for c in self.clusters if c.process.poll() is None]

    def wait_running(self, clusters: list[Cluster], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not all(c.running() for c in clusters):
            if time.monotonic() > deadline:
                raise RuntimeError(f"qcluster did not start: see {[str(c.log_path) for c in clusters]}")
            time.sleep(0.2)

    def sync_now(self) -> None:
        from django_q.tasks import async_task

        async_task(SYNC_TASK, self.linked.connection.pk, sync=False)
        self.events["sync now"] += 1

    def ensure_tick_schedule(self) -> None:
        """The scheduled tick (a migration creates it; a flushed test database may have lost it)."""
        from django.utils import timezone
        from django_q.models import Schedule

        Schedule.objects.update_or_create(
            func=TICK_TASK,
            defaults={
                "name": "orgsync engine",
                "schedule_type": Schedule.MINUTES,
                "minutes": 1,
                "repeats": -1,
                "next_run": timezone.now(),
            },
        )

    # --- faults: each one aims at a cycle in the middle of its work ---

    def targets(self, *, forced: bool) -> tuple[str, list[int]]:
        """Live workers to hit, and why: those holding queue claims (mid-apply) first; once
        `forced`, the lease holder (a cycle capturing or reading), else any worker (a cycle that
        died holds the connection until its lease expires, so none may be running)."""
        live = {
            pid
            for cluster in self.live_clusters()
            for pid in cluster.workers()
            if not holds_a_queue_lock(pid)
        }
        claiming, leasing = cycle_pids(self.linked.connection)
        if claiming & live:
            return "mid-apply", sorted(claiming & live)
        if forced and leasing & live:
            return "mid-cycle", sorted(leasing & live)
        return ("between cycles", sorted(live)) if forced else ("", [])

    def kill_a_worker(self, *, forced: bool) -> bool:
        why, pids = self.targets(forced=forced)
        if not pids:
            return False
        pid = self.rng.choice(pids)
        if holds_a_queue_lock(pid):  # it finished its task meanwhile
            return False
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        self.events["worker SIGKILL"] += 1
        self.events[f"worker SIGKILL {why}"] += 1
        self.log(f"SIGKILL worker {pid} ({why})")
        return True

    def kill_a_cluster(self, *, forced: bool) -> bool:
        pids = set(self.targets(forced=False)[1])
        live = self.live_clusters()
        hit = [c for c in live if pids & set(c.workers())] or (live if forced else [])
        if not hit:
            return False
        cluster = self.rng.choice(hit)
        cluster.kill()
        self.events["cluster SIGKILL"] += 1
        self.log(f"SIGKILL cluster {cluster.name} (pid {cluster.process.pid}) and all its processes")
        return True

    def terminate_backends(self, *, forced: bool) -> bool:
        if not forced and not self.targets(forced=False)[1]:
            return False
        terminated = terminate_other_backends()
        self.events["pg_terminate_backend"] += 1
        self.events["backends terminated"] += terminated
        self.log(f"pg_terminate_backend: {terminated} connection(s) of the clusters")
        return True

    def pending_items(self):
        """Queue items of the connection that are not parked for an operator."""
        parked = [QueueStatus.PENDING_ACCEPTANCE, QueueStatus.CONFLICT]
        return RecordQueueItem.objects.filter(connection=self.linked.connection).exclude(status__in=parked)

    def pending(self) -> int:
        return self.pending_items().count()

    def queue_breakdown(self) -> str:
        """What is left in the queue, by status, action and last error code (no values)."""
        from django.db.models import Count

        rows = (
            RecordQueueItem.objects.filter(connection=self.linked.connection)
            .values("status", "action", "last_error_code")
            .annotate(n=Count("id"))
            .order_by("-n")
        )
        return "; ".join(
            " ".join(str(r[k]) for k in ("n", "status", "action", "last_error_code") if r[k]) for r in rows
        )

    # --- the run ---

    def run(self) -> FaultResult:
        """The whole scenario; the request log of sfemu and django-q's "Enqueued" lines are
        quiet meanwhile (thousands of lines that would bury the verdict)."""
        noisy = [logging.getLogger(name) for name in ("sfemu.server", "django-q")]
        levels = [logger.level for logger in noisy]
        for logger in noisy:
            logger.setLevel(logging.WARNING)
        try:
            return self._run()
        finally:
            for logger, level in zip(noisy, levels, strict=True):
                logger.setLevel(level)

    def _run(self) -> FaultResult:
        config, timings = self.config, {}
        self.log(f"config: {config.describe()}")
        started = time.monotonic()
        self.publish()
        self.seed()
        timings["set-up"] = time.monotonic() - started
        self.ensure_tick_schedule()
        for _ in range(config.clusters):
            self.start_cluster()
        try:
            self.wait_running(self.clusters)
            self.log(f"{config.clusters} clusters running")
            chaos_started = time.monotonic()
            editors = self._chaos()
            timings["chaos"] = time.monotonic() - chaos_started
            settled_after = self._settle()
            timings["settle"] = time.monotonic() - chaos_started - timings["chaos"]
        finally:
            for cluster in self.clusters:
                cluster.stop(grace=10)
            connections.close_all()
        final_started = time.monotonic()
        final_queue = self._finish_in_process()
        timings["final in-process cycles"] = time.monotonic() - final_started
        for editor in editors:
            for name, count in editor.done.items():
                self.events[f"{editor.side} {name}"] += count
            for name, count in editor.errors.items():
                self.events[f"{editor.side} refused {name}"] += count
        self._count_task_outcomes()
        compare_started = time.monotonic()
        verdict = compare_orgs(self.linked, OBJECTS, unique=UNIQUE)
        timings["compare"] = time.monotonic() - compare_started
        with contextlib.suppress(Exception):
            from django_q.brokers import get_broker

            get_broker().purge_queue()
        return FaultResult(config, verdict, self.events, settled_after, final_queue, timings)

    def _faults(self, started: float) -> list[Fault]:
        """When each fault comes: the first worker kill during the initial load, the others
        spread over the edits, the cluster kill at ~40 %, the database kill at ~65 %."""
        config = self.config
        span = max(config.chaos_seconds - 25, 10)
        faults = [Fault(started + 3, "worker", burst=None)]
        for i in range(1, config.worker_kills):
            burst = self.rng.choice(["mass_update", "new_pairs"])
            faults.append(
                Fault(
                    started + 10 + span * (i - 1 + self.rng.random()) / config.worker_kills, "worker", burst
                )
            )
        for i in range(config.cluster_kills):
            faults.append(
                Fault(started + span * (0.4 + 0.25 * i / config.cluster_kills), "cluster", "mass_update")
            )
        for i in range(config.db_kills):
            faults.append(
                Fault(started + span * (0.65 + 0.25 * i / config.db_kills), "database", "new_pairs")
            )
        return sorted(faults, key=lambda f: f.at)

    def _inject(self, fault: Fault, editors: list[Editor], now: float) -> bool:
        """Prepare the fault (a burst of changes for the next cycle to claim), then strike when
        a cycle holds claims — or, after a grace period, whatever cycle is running."""
        if fault.prepared_at is None:
            if fault.burst:
                editor = self.rng.choice(editors)
                size = {"worker": 150, "cluster": 300, "database": 300}[fault.kind]
                count = size // 2 if fault.burst == "new_pairs" else size
                editor.burst(fault.burst, count)
                self.events[f"bursts ({fault.burst})"] += 1
            fault.prepared_at = now
        forced = now - fault.prepared_at > (6 if fault.kind == "worker" else 12)
        if fault.kind == "worker":
            return self.kill_a_worker(forced=forced)
        if fault.kind == "cluster":
            if self.kill_a_cluster(forced=forced):
                self._restarts.append(now + 3)
                return True
            return False
        return self.terminate_backends(forced=forced)

    def _chaos(self) -> list[Editor]:
        config = self.config
        stop = threading.Event()
        editors = [Editor(self, side, random.Random(self.rng.randrange(2**32)), stop) for side in SIDES]
        for editor in editors:
            editor.choose_hot()
            editor.start()
        started = time.monotonic()
        end = started + config.chaos_seconds
        faults = self._faults(started)
        next_sync = started
        try:
            # Faults still due at the end (no cycle ran) get 30 s more; the edits go on meanwhile.
            while time.monotonic() < end or (faults and time.monotonic() < end + 30):
                now = time.monotonic()
                if now >= next_sync:
                    self.sync_now()
                    next_sync = now + config.sync_now_every
                if faults and now >= faults[0].at and self._inject(faults[0], editors, now):
                    faults.pop(0)
                if self._restarts and now >= self._restarts[0]:
                    self._restarts.pop(0)
                    cluster = self.start_cluster()
                    self.events["cluster restarted"] += 1
                    self.log(f"started cluster {cluster.name}")
                time.sleep(0.1)
            for _ in self._restarts:
                self.start_cluster()
                self.events["cluster restarted"] += 1
        finally:
            stop.set()
            for editor in editors:
                editor.join(timeout=30)
        for fault in faults:
            self.events[f"{fault.kind} faults not injected"] += 1
        self.log(f"edits stopped: {sum(sum(e.done.values()) for e in editors)} edits; {dict(self.events)}")
        return editors

    def _settle(self) -> float | None:
        """Clusters keep running, with "Sync now" as before, until the queue is quiet for
        12 s — empty, or holding only what the last seconds queued (each capture re-reads its
        5-second overlap and queues it again; apply then finds nothing to write) — and was
        empty at least once in that time. Returns when it became quiet, or None at the deadline."""
        from datetime import timedelta

        from django.utils import timezone

        config = self.config
        started = time.monotonic()
        deadline = started + config.settle_seconds
        next_sync, quiet_since, seen_empty = started, None, False
        while time.monotonic() < deadline:
            now = time.monotonic()
            if now >= next_sync:
                self.sync_now()
                next_sync = now + config.sync_now_every
            pending = self.pending_items()
            recent = timezone.now() - timedelta(seconds=10)
            if pending.filter(enqueued_at__lt=recent).exists():
                quiet_since, seen_empty = None, False
            else:
                quiet_since = now if quiet_since is None else quiet_since
                seen_empty = seen_empty or not pending.exists()
                if seen_empty and now - quiet_since >= 12 and now - started >= 10:
                    settled = quiet_since - started
                    self.log(f"settled: queue quiet {settled:.0f} s after the edits stopped")
                    return settled
            time.sleep(1)
        self.log(f"not settled after {config.settle_seconds:.0f} s: {self.queue_breakdown()}")
        return None

    def _finish_in_process(self) -> int:
        """Clusters stopped: run cycles here until two in a row found the queue empty. Claims
        and leases of killed workers must come free by themselves — nothing is expired by hand —
        so a cycle may be coalesced (the connection still leased by a dead cycle) for a while."""
        from django.db import InterfaceError, OperationalError
        from django.db import connection as db

        from replication.engine.cycle import sync_once

        deadline = time.monotonic() + self.config.final_seconds
        empty_runs = 0
        while time.monotonic() < deadline and empty_runs < 2:
            try:
                report = sync_once(self.linked.connection)
            except Exception as exc:  # the verdict judges the orgs; the crash is only reported
                self.events[f"in-process cycle crashed: {type(exc).__name__}"] += 1
                self.log(f"in-process sync_once crashed: {type(exc).__name__}: {str(exc)[:200]}")
                if isinstance(exc, OperationalError | InterfaceError):
                    db.close()
                report = None
            if getattr(report, "coalesced", False):
                self.events["in-process cycles coalesced (connection leased)"] += 1
                time.sleep(2)
                continue
            self.events["in-process cycles"] += 1
            empty_runs = empty_runs + 1 if report is not None and self.pending() == 0 else 0
            time.sleep(1)
        left = self.pending()
        self.log(f"in-process cycles done, {left} item(s) left in the queue: {self.queue_breakdown()}")
        return left

    def _count_task_outcomes(self) -> None:
        from django_q.models import Task

        for func, label in ((SYNC_TASK, "sync now"), (TICK_TASK, "tick")):
            tasks = Task.objects.filter(func=func)
            self.events[f"{label} tasks finished"] = tasks.filter(success=True).count()
            self.events[f"{label} tasks crashed"] = tasks.filter(success=False).count()
