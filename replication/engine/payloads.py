"""Turning a source record into what is written into the target org."""

from dataclasses import dataclass, field
from functools import cached_property

from replication.engine.hashing import state_hash
from replication.engine.links import LinkIndex
from replication.engine.plans import AUDIT_USER_FIELDS, OWNER_FIELD, ObjectPlan


@dataclass
class Payload:
    values: dict[str, object]
    missing_parents: list[tuple[str, str]] = field(default_factory=list)  # (source object, id)
    source_digest: str = ""  # two-way: the source's own state in the reverse direction's fields
    audit: dict[str, object] = field(default_factory=dict)  # on create only; not part of the digest
    # Two-way: the digest covers the plan's state fields only (the shape both directions hash).
    state_fields: list[str] | None = None

    @cached_property
    def digest(self) -> str:
        """Keyed hash of what is written (read several times per record; `values` is complete
        once `build_payload` returns)."""
        if self.state_fields is None:
            return state_hash(self.values)
        return state_hash({name: self.values.get(name) for name in self.state_fields})

    def forget_values(self) -> None:
        """Once a Bulk job has the values: keep the digest (computed now) and let the values go,
        so a batch in flight holds little while the next batch is planned (`apply.py`). A payload
        with audit values keeps them all: its create may be sent again without those fields."""
        if not self.audit:
            _ = self.digest
            self.values = {}


def build_payload(plan: ObjectPlan, record: dict, links: LinkIndex, owner: str | None = None) -> Payload:
    """Mapped values with lookups translated to the target's ids and the owner given by the
    owner strategy (`owner`; None leaves the owner out). A lookup whose parent is not linked
    yet is reported in `missing_parents` (the record waits for it) and left out."""
    payload = Payload(values={}, state_fields=plan.state_fields or None)
    for mapping in plan.fields:
        value = record.get(mapping.source)
        if mapping.source == OWNER_FIELD:
            if owner:
                payload.values[mapping.target] = owner
            continue
        if mapping.references and value:
            target_id = links.target_of(value)
            if target_id is None:
                payload.missing_parents.append((_object_of(mapping.references, value), value))
                continue
            value = target_id
        payload.values[mapping.target] = value
    return payload


def _object_of(references: tuple[str, ...], record_id: str) -> str:
    return references[0] if len(references) == 1 else f"?{record_id[:3]}"


def target_digest(plan: ObjectPlan, target_record: dict) -> str:
    """Two-way: what the target holds now in the fields this direction writes (same shape as
    `Payload.digest` and as the other direction's `source_digest`)."""
    return state_hash({name: target_record.get(name) for name in plan.state_fields})


def referenced_ids(plan: ObjectPlan, records: list[dict]) -> set[str]:
    return {r.get(m.source) for r in records for m in plan.fields if m.references and r.get(m.source)}


def source_digest(plan: ObjectPlan, record: dict) -> str:
    """What the source holds in the fields the other direction writes into it ("" one-way)."""
    if not plan.reverse_fields:
        return ""
    return state_hash({name: record.get(name) for name in plan.reverse_fields})


def audit_values(plan: ObjectPlan, record: dict, users: dict[str, str]) -> dict[str, object]:
    """The record's audit fields for its creation in the target: dates as they are, users by
    `users` (source → target user by username); a user with no match there is left out, and
    the target sets it (the connection's integration user)."""
    values: dict[str, object] = {}
    for name in plan.audit_fields:
        value = record.get(name)
        if name in AUDIT_USER_FIELDS:
            value = users.get(value) if value else None
        if value:
            values[name] = value
    return values


def audit_user_ids(plan: ObjectPlan, records: list[dict]) -> set[str]:
    return {
        r[name] for r in records for name in plan.audit_fields if name in AUDIT_USER_FIELDS and r.get(name)
    }
