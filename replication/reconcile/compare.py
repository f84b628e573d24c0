"""What differs between the two orgs for one published object in one direction, set-based.

The source's records (all live ones: the filter decides only what *should* have a copy) and the
target's are in the scratch store with the object pair's links. Records are paired by link, else
by the origin Id a copy carries (identity lives in the orgs), and what is left over, or paired but
different, is sorted into the classes of `DifferenceKind`. Records the engine has in hand — a
pending queue item, or changed within the settle window — are not judged (`in_flight`).

On a two-way connection a pair is compared once, in the direction whose source is the origin,
and a broken link once, in the first direction that meets it.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field

from replication.engine.plans import FieldMap
from replication.models import DifferenceKind
from replication.reconcile.store import Store

Kind = DifferenceKind


@dataclass(frozen=True)
class ObjectSpec:
    """One object pair in one direction, as comparison sees it."""

    direction: str
    source_object: str
    target_object: str
    compared: list[FieldMap]  # hashed fields (the owner as the owner strategy assigns it)
    lookups: list[FieldMap]  # lookups, checked through the parent's pairing
    key_prefix: str  # of the source object: a copy's origin Id starts with it
    identity: bool  # source records that carry an origin Id are copies (two-way)
    sync_created: bool
    sync_updated: bool


@dataclass
class Difference:
    kind: str
    direction: str
    source_object: str
    target_object: str
    source_id: str = ""
    target_id: str = ""
    fields: list[str] = field(default_factory=list)
    changed_last: str = ""  # "source" or "target" (the runner names the org)
    detail: str = ""
    link_id: int | None = None
    source_is_copy: bool = False  # the source record carries an origin Id
    target_is_copy: bool = False


def compare(store: Store, spec: ObjectSpec) -> Iterator[Difference]:
    """Every difference of the object pair; pairs it found are added to the store's lookup
    translation (`xlate`) for children compared later in the same direction."""
    _pair(store, spec)
    yield from _broken_links(store, spec)
    if spec.sync_created:
        yield from _missing(store, spec)
    yield from _extra(store, spec)
    if spec.sync_updated:  # otherwise copies keep the values they were created with, by design
        yield from _drift(store, spec)
        yield from _broken_lookups(store, spec)
    store.query("INSERT OR IGNORE INTO xlate SELECT src, (SELECT id FROM tgt WHERE k = pair.tgt) FROM pair")


def in_flight(store: Store) -> int:
    """Records of the object pair not judged (in the queue, or changed within the settle
    window) that no earlier object or direction of the run counted already."""
    before = store.query("SELECT COUNT(*) FROM seen_hot").fetchone()[0]
    store.query(
        "INSERT OR IGNORE INTO seen_hot SELECT k FROM src WHERE hot = 1 OR k IN pending"
        " UNION SELECT k FROM tgt WHERE hot = 1 OR k IN pending"
    )
    return store.query("SELECT COUNT(*) FROM seen_hot").fetchone()[0] - before


def pairs_compared(store: Store) -> int:
    return store.query("SELECT COUNT(*) FROM pair").fetchone()[0]


def _difference(spec: ObjectSpec, kind: str, **values) -> Difference:
    return Difference(kind, spec.direction, spec.source_object, spec.target_object, **values)


def _pair(store: Store, spec: ObjectSpec) -> None:
    store.query(
        "INSERT OR IGNORE INTO pair SELECT l.src, l.tgt, l.lid FROM link l"
        " JOIN src s ON s.k = l.src JOIN tgt t ON t.k = l.tgt WHERE l.deleted = 0"
    )
    # A copy with no link (a crash between the write and its link): the oldest copy is the one.
    store.query(
        "INSERT OR IGNORE INTO pair SELECT t.marker, MIN(t.k), NULL FROM tgt t JOIN src s ON s.k = t.marker"
        " WHERE substr(t.marker, 1, 3) = ? AND t.k NOT IN (SELECT tgt FROM pair)"
        " AND t.k NOT IN (SELECT tgt FROM link WHERE deleted = 0)"
        " AND s.k NOT IN (SELECT src FROM link WHERE deleted = 0) GROUP BY t.marker",
        (spec.key_prefix,),
    )


def _broken_links(store: Store, spec: ObjectSpec) -> Iterator[Difference]:
    rows = store.query(
        "SELECT l.lid, l.src_id, l.tgt_id, s.id, s.marker, t.id, t.marker FROM link l"
        " LEFT JOIN src s ON s.k = l.src LEFT JOIN tgt t ON t.k = l.tgt"
        " WHERE l.deleted = 0 AND (s.k IS NULL OR t.k IS NULL)"
        " AND l.src NOT IN pending AND l.tgt NOT IN pending"
        " AND coalesce(s.hot, 0) = 0 AND coalesce(t.hot, 0) = 0"
        " AND l.lid NOT IN (SELECT lid FROM seen_link)"
    ).fetchall()
    store.insert("seen_link", [(row[0],) for row in rows])
    for lid, linked_source, linked_target, source_id, source_marker, target_id, target_marker in rows:
        gone = (
            "both records are gone"
            if not (source_id or target_id)
            else (f"the {'source' if not source_id else 'target'} record is gone")
        )
        yield _difference(
            spec,
            Kind.BROKEN_LINK,
            source_id=linked_source,
            target_id=linked_target,
            detail=f"link #{lid}: {gone}",
            link_id=lid,
            source_is_copy=bool(source_marker),
            target_is_copy=bool(target_marker),
        )


def _missing(store: Store, spec: ObjectSpec) -> Iterator[Difference]:
    origin = "(s.marker = '' OR NOT :identity)"
    rows = store.query(
        f"SELECT s.id, l.lid FROM src s LEFT JOIN link l ON l.src = s.k"
        f" WHERE s.passes = 1 AND {origin} AND s.hot = 0 AND s.k NOT IN pending"
        " AND s.k NOT IN (SELECT src FROM pair) AND coalesce(l.deleted, 1) = 1",
        {"identity": spec.identity},
    )
    for source_id, lid in rows:
        detail = (
            "deleted on both sides by the link, but live in the source" if lid else "no copy in the target"
        )
        yield _difference(spec, Kind.MISSING, source_id=source_id, detail=detail, link_id=lid)


def _extra(store: Store, spec: ObjectSpec) -> Iterator[Difference]:
    """Copies in the target (they carry an origin Id of this source object) that are not the
    paired one: duplicates of a live source record, or orphans whose origin is gone."""
    rows = store.query(
        "SELECT t.id, t.marker, s.id, s.marker, p.tgt FROM tgt t LEFT JOIN src s ON s.k = t.marker"
        " LEFT JOIN pair p ON p.src = t.marker"
        " WHERE t.marker != '' AND substr(t.marker, 1, 3) = ? AND t.hot = 0 AND t.k NOT IN pending"
        " AND t.k NOT IN (SELECT tgt FROM pair) AND t.k NOT IN (SELECT tgt FROM link WHERE deleted = 0)",
        (spec.key_prefix,),
    )
    for target_id, marker, source_id, source_marker, kept in rows:
        if source_id is None:
            yield _difference(
                spec,
                Kind.ORPHAN,
                source_id=marker,
                target_id=target_id,
                detail="its origin is deleted or gone from the source org",
                target_is_copy=True,
            )
        else:
            detail = (
                "a copy of a copy" if source_marker else f"a second copy (the kept one is {kept or 'none'})"
            )
            yield _difference(
                spec,
                Kind.DUPLICATE,
                source_id=source_id,
                target_id=target_id,
                detail=detail,
                target_is_copy=True,
            )


def _judged_pairs(columns: str, joins: str = "", where: str = "") -> str:
    return (
        f"SELECT {columns} FROM pair p JOIN src s ON s.k = p.src JOIN tgt t ON t.k = p.tgt {joins}"
        " WHERE s.passes = 1 AND (s.marker = '' OR NOT :identity) AND s.hot = 0 AND t.hot = 0"
        f" AND s.k NOT IN pending AND t.k NOT IN pending {where}"
    )


def _drift(store: Store, spec: ObjectSpec) -> Iterator[Difference]:
    if not spec.compared:
        return
    rows = store.query(
        _judged_pairs("s.id, t.id, s.h, t.h, s.stamp, t.stamp, p.lid", where="AND s.h != t.h"),
        {"identity": spec.identity},
    )
    for source_id, target_id, source_h, target_h, source_stamp, target_stamp, lid in rows:
        differing = [
            m.target
            for m, mine, theirs in zip(spec.compared, source_h.split("|"), target_h.split("|"), strict=True)
            if mine != theirs
        ]
        yield _difference(
            spec,
            Kind.DRIFT,
            source_id=source_id,
            target_id=target_id,
            fields=differing,
            changed_last="target" if target_stamp > source_stamp else "source",
            link_id=lid,
        )


def _broken_lookups(store: Store, spec: ObjectSpec) -> Iterator[Difference]:
    """A target lookup that does not point at the copy of the source's parent (a parent with no
    copy can only be right when both sides hold the very same Id, as for shared records)."""
    if not spec.lookups:
        return
    wrong = (
        "AND NOT ((r.parent IS NULL AND tr.value IS NULL)"
        " OR (x.tgt IS NOT NULL AND substr(x.tgt, 1, 15) = tr.value)"
        " OR (x.tgt IS NULL AND r.parent = tr.value))"
    )
    joins = (
        "JOIN src_ref r ON r.k = p.src LEFT JOIN tgt_ref tr ON tr.k = p.tgt AND tr.field = r.field"
        " LEFT JOIN xlate x ON x.src = r.parent"
    )
    rows = store.query(
        _judged_pairs("s.id, t.id, p.lid, r.field, x.tgt IS NULL AND r.parent IS NOT NULL", joins, wrong)
        + " ORDER BY s.k",
        {"identity": spec.identity},
    )
    current: Difference | None = None
    for source_id, target_id, lid, name, unpaired_parent in rows:
        if current is None or current.source_id != source_id:
            if current is not None:
                yield current
            current = _difference(
                spec, Kind.BROKEN_LOOKUP, source_id=source_id, target_id=target_id, link_id=lid
            )
        current.fields.append(name)
        if unpaired_parent:
            current.detail = "a parent has no copy in the target"
    if current is not None:
        yield current
