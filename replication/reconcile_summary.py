"""What the console shows of reconcile runs (the run page, the connection hub, the dashboard,
/metrics and the drift alert read these): counts by object and class, the latest completed run
of each connection, and a run's progress. Plain reads over `ReconcileRun`; the runner
(`replication.reconcile`) writes the runs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import F, OuterRef, Subquery

from replication.models import DifferenceKind, ReconcileRun

KINDS: tuple[str, ...] = tuple(DifferenceKind.values)  # the columns, in the model's order
KIND_LABELS: dict[str, str] = dict(DifferenceKind.choices)


def _count(value: object) -> int:
    """A stored count as a non-negative int (anything else, e.g. a hand-edited row, is 0)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _per_object(counts: object) -> dict[str, dict[str, int]]:
    """`counts` ({object: {class: n}}) with only well-formed entries."""
    if not isinstance(counts, Mapping):
        return {}
    return {
        str(name): {str(k): _count(n) for k, n in kinds.items()}
        for name, kinds in counts.items()
        if isinstance(kinds, Mapping)
    }


def totals_by_kind(counts: object) -> dict[str, int]:
    """Differences per class summed over objects; every known class present (0 when none)."""
    totals = dict.fromkeys(KINDS, 0)
    for kinds in _per_object(counts).values():
        for kind, n in kinds.items():
            totals[kind] = totals.get(kind, 0) + n
    return totals


@dataclass(frozen=True)
class CountRow:
    """One object's line of the run page's table: a count per class, in KINDS order."""

    source_object: str
    cells: tuple[int, ...]

    @property
    def total(self) -> int:
        return sum(self.cells)


def count_rows(counts: object) -> list[CountRow]:
    """The table of objects by class, objects by name."""
    return [
        CountRow(name, tuple(kinds.get(kind, 0) for kind in KINDS))
        for name, kinds in sorted(_per_object(counts).items())
    ]


def repair_rows(repairs: object) -> list[tuple[str, int]]:
    """The run's repair actions ({label: n}), largest first."""
    if not isinstance(repairs, Mapping):
        return []
    return sorted(((str(k), _count(n)) for k, n in repairs.items()), key=lambda row: (-row[1], row[0]))


def run_mode(run: ReconcileRun) -> str:
    """Compare only, repair, or a dry run (repair planned, nothing changed)."""
    if run.dry_run:
        mode = "Dry run"
    elif run.repair:
        mode = "Repair"
    else:
        return "Compare only"
    return f"{mode}, deleting duplicates and orphans" if run.delete_extra else mode


def progress_percent(run: ReconcileRun) -> int:
    """Records read of the records to read, 0 to 100 (100 once the run is over)."""
    if run.status == ReconcileRun.Status.COMPLETED:
        return 100
    if not run.records_total:
        return 0
    return min(100, run.records_read * 100 // run.records_total)


def duration(run: ReconcileRun, now: datetime) -> timedelta | None:
    """From start to finish (to now while it runs); None before it started."""
    if run.started_at is None:
        return None
    return (run.finished_at or now) - run.started_at


def short_duration(span: timedelta | None) -> str:
    """1 h 02 min, 3 min 05 s, 12 s; "—" for None."""
    if span is None:
        return "—"
    seconds = max(int(span.total_seconds()), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


def latest_completed(connection_ids: Iterable[int]) -> dict[int, ReconcileRun]:
    """Each connection's newest completed run (by finish time), in one query."""
    newest = (
        ReconcileRun.objects.filter(
            connection_id=OuterRef("connection_id"), status=ReconcileRun.Status.COMPLETED
        )
        .order_by(F("finished_at").desc(nulls_last=True), "-created_at", "-pk")
        .values("pk")[:1]
    )
    runs = ReconcileRun.objects.filter(
        connection_id__in=list(connection_ids), status=ReconcileRun.Status.COMPLETED, pk=Subquery(newest)
    )
    return {run.connection_id: run for run in runs}
