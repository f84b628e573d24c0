"""The mapping analyzer: every problem of one object's field mapping, before going live.

It runs S2S's type rules (:func:`check_mapping`) on each mapped pair and adds what SwiftPort's
analyzer and Organization Sync's publishing rules flag: picklist values the target lacks,
required target fields left out, read-only targets, lookups to objects that aren't synced,
possible truncation and names that don't exist.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from replication.mapping import fields as f
from replication.mapping.fields import Field, FieldIndex, did_you_mean
from replication.mapping.rules import ERROR, WARNING, Finding, check_mapping
from replication.mapping.support import field_support

# Source fields whose "unsupported" verdict has a mapping workaround check_mapping validates.
_WORKAROUND_CODES = frozenset({"record_id", "auto_number"})
_OWNER_FIELDS = frozenset({"OwnerId"})  # resolved by the connection's owner strategy


def analyze(
    source_describe: dict,
    target_describe: dict,
    mapping: Mapping[str, str | None],
    *,
    target_object_mapped: Mapping[str, str],
    published_objects: set[str],
    published_fields: Iterable[str] = (),
) -> list[Finding]:
    """All findings of ``mapping`` (source field → target field), errors first, then by field.

    ``target_object_mapped`` maps each subscribed source object to its target object;
    ``published_objects`` holds the source objects published on the connection;
    ``published_fields`` the publication's published fields: one that is gone from the source,
    or left unmapped while the target has no field of its name (what the metadata-gap check
    compares it with), is an error too.
    """
    ctx = _Context(source_describe, target_describe, target_object_mapped, published_objects)
    findings: list[Finding] = []
    pairs = [(s, t) for s, t in mapping.items() if t]
    for source_name, target_name in pairs:
        findings += ctx.pair(source_name, target_name)
    findings += ctx.published_unmapped(published_fields, mapping)
    findings += ctx.duplicate_targets(pairs)
    findings += ctx.required_unmapped(pairs)
    return sorted(set(findings), key=_order)


def _order(finding: Finding) -> tuple:
    return (
        finding.level != ERROR,
        (finding.source_field or "").lower(),
        (finding.target_field or "").lower(),
        finding.code,
        finding.message,
    )


class _Context:
    def __init__(self, source: dict, target: dict, mapped: Mapping[str, str], published: set[str]) -> None:
        self.source_object = source.get("name", "")
        self.target_object = target.get("name", "")
        self.sources = FieldIndex(source.get("fields", []))
        self.targets = FieldIndex(target.get("fields", []))
        self.mapped = mapped
        self.published = published

    # ------------------------------------------------------------------------- one pair
    def pair(self, source_name: str, target_name: str) -> list[Finding]:
        source, target = self.sources.get(source_name), self.targets.get(target_name)
        unknown = self._unknown(source_name, source, target_name, target)
        if unknown or source is None or target is None:
            return unknown
        out = list(self._source_support(source, target))
        read_only = list(self._target_writability(source, target))
        if any(x.level == ERROR for x in read_only):
            return out + read_only
        out += read_only
        typed = check_mapping(source, target, target_object_mapped=self.mapped)
        out += typed
        if not typed:
            out += self._picklist_values(source, target)
            out += self._truncation(source, target)
            out += self._lookup_synced(source, target)
        out += self._required_from_optional(source, target)
        return out

    def _unknown(
        self, source_name: str, source: Field | None, target_name: str, target: Field | None
    ) -> list[Finding]:
        out = []
        if source is None:
            hint = did_you_mean(self.sources.suggest(source_name))
            message = (
                f"{self.source_object} has no field {source_name} in the source org.{hint} "
                "Fix or remove the mapping."
            )
            out.append(Finding(ERROR, "UNKNOWN_SOURCE_FIELD", source_name, target_name, message))
        if target is None:
            hint = did_you_mean(self.targets.suggest(target_name))
            message = (
                f"{self.target_object} has no field {target_name} in the target org.{hint} Create it in the "
                "target org or map another field."
            )
            out.append(Finding(ERROR, "UNKNOWN_TARGET_FIELD", source_name, target_name, message))
        return out

    def _source_support(self, source: Field, target: Field) -> Iterator[Finding]:
        support = field_support(source, object_name=self.source_object)
        if not support.supported and support.code not in _WORKAROUND_CODES:
            yield Finding(
                ERROR,
                "SOURCE_NOT_PUBLISHABLE",
                source["name"],
                target["name"],
                f"{support.reason} Remove {source['name']} from the mapping.",
            )

    def _target_writability(self, source: Field, target: Field) -> Iterator[Finding]:
        s, t = source["name"], target["name"]
        if not f.is_writable(target):
            yield Finding(
                ERROR,
                "TARGET_READ_ONLY",
                s,
                t,
                f"{_read_only_reason(target, self.target_object)} Unmap {s} or map it to a writable field.",
            )
        elif not target.get("updateable"):
            yield Finding(
                WARNING,
                "TARGET_CREATE_ONLY",
                s,
                t,
                f"Target {t} can only be set when a record is created: later changes of {s} won't be "
                "synced. Accept this or map another field.",
            )

    # ----------------------------------------------------------------------- picklists
    def _picklist_values(self, source: Field, target: Field) -> list[Finding]:
        if f.kind(source) not in ("picklist", "multipicklist"):
            return []
        if target.get("type") not in ("picklist", "multipicklist"):
            return []
        wanted = f.active_values(source)
        have = set(f.active_values(target))
        missing = [v for v in wanted if v not in have]
        if not missing:
            return []
        s, t = source["name"], target["name"]
        listed = ", ".join(f"'{v}'" for v in missing)
        counts = f"{len(missing)} of the {len(wanted)} values of source {s}"
        add = f"Add them to {t} in the target org, or filter those records out."
        if target.get("restrictedPicklist"):
            message = (
                f"Target {t} is a restricted picklist without {listed} ({counts}): records with them "
                f"fail with INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST. {add}"
            )
            return [Finding(ERROR, "PICKLIST_RESTRICTED_MISSING", s, t, message)]
        if len(missing) == len(wanted):
            message = (
                f"Target {t} has none of the values of source {s} ({listed}): every record with a "
                f"value fails. {add}"
            )
            return [Finding(ERROR, "PICKLIST_NO_OVERLAP", s, t, message)]
        message = f"Target {t} lacks {listed} ({counts}): records with them will be rejected. {add}"
        return [Finding(WARNING, "PICKLIST_VALUES_MISSING", s, t, message)]

    # ---------------------------------------------------------------------- truncation
    def _truncation(self, source: Field, target: Field) -> list[Finding]:
        if not f.is_text(target):
            return []
        room, need = f.length(target), self._longest(source)
        if room >= need:
            return []
        s, t = source["name"], target["name"]
        return [
            Finding(
                WARNING,
                "POSSIBLE_TRUNCATION",
                s,
                t,
                f"Target {t} holds {room} characters, source {s} can hold {need}: today's values fit, "
                f"longer ones would fail with STRING_TOO_LONG. Widen {t} to {need} to be safe.",
            )
        ]

    @staticmethod
    def _longest(source: Field) -> int:
        if source.get("type") == "multipicklist":
            values = f.active_values(source)
            return max(f.length(source), len(";".join(values))) if values else f.length(source)
        return f.length(source) if f.kind(source) in ("text", "picklist") else 0

    # ------------------------------------------------------------------------- lookups
    def _lookup_synced(self, source: Field, target: Field) -> list[Finding]:
        if source.get("type") != "reference" or target.get("type") != "reference":
            return []
        if source["name"] in _OWNER_FIELDS:
            return []
        refs = source.get("referenceTo") or []
        missing = [o for o in refs if o not in self.published or o not in self.mapped]
        if not missing:
            return []
        s, t = source["name"], target["name"]
        objects = " and ".join(missing)
        fix = f"Publish {objects} and subscribe to {'them' if len(missing) > 1 else 'it'} in the target org"
        if f.is_required(target) and len(missing) == len(refs):
            message = (
                f"{s} looks up {objects}, which isn't published and subscribed: required target {t} stays "
                f"blank and every record fails with REQUIRED_FIELD_MISSING. {fix} first."
            )
            return [Finding(ERROR, "LOOKUP_OBJECT_NOT_SYNCED", s, t, message)]
        message = (
            f"{s} looks up {objects}, which isn't published and subscribed: {t} stays blank on records "
            f"pointing at {objects}. {fix}, or unmap {s}."
        )
        return [Finding(WARNING, "LOOKUP_OBJECT_NOT_SYNCED", s, t, message)]

    def _required_from_optional(self, source: Field, target: Field) -> list[Finding]:
        if not f.is_required(target) or not source.get("nillable", True):
            return []
        if source["name"] in _OWNER_FIELDS:
            return []
        s, t = source["name"], target["name"]
        message = (
            f"Target {t} is required but source {s} may be blank: such records fail with "
            f"REQUIRED_FIELD_MISSING. Add the filter '{s} is not blank' or give {t} a default value."
        )
        return [Finding(WARNING, "REQUIRED_FROM_OPTIONAL", s, t, message)]

    # ------------------------------------------------------------------- whole mapping
    def published_unmapped(
        self, published: Iterable[str], mapping: Mapping[str, str | None]
    ) -> list[Finding]:
        """Published fields without a mapping: gone from the source, or with no target field of
        their name (the metadata-gap check's reading of an unmapped field)."""
        out = []
        for name in published:
            if mapping.get(name) or f.is_orgsync_identity({"name": name}):
                continue
            if self.sources.get(name) is None:
                hint = did_you_mean(self.sources.suggest(name))
                message = (
                    f"Published field {name} is gone from {self.source_object} in the source org.{hint} "
                    "Refresh the publication's fields, or unpublish it."
                )
                out.append(Finding(ERROR, "UNKNOWN_SOURCE_FIELD", name, None, message))
            elif self.targets.get(name) is None:
                message = (
                    f"{name} is published, but {self.target_object} has no field {name} in the target "
                    f"org and {name} is mapped to nothing: its values never arrive. Create {name} in "
                    "the target org and map it, or unpublish it."
                )
                out.append(Finding(ERROR, "UNKNOWN_TARGET_FIELD", name, name, message))
        return out

    def duplicate_targets(self, pairs: list[tuple[str, str]]) -> list[Finding]:
        seen: dict[str, list[str]] = {}
        for source_name, target_name in pairs:
            target = self.targets.get(target_name)
            if target is not None:
                seen.setdefault(target["name"], []).append(source_name)
        out = []
        for target_name, sources in seen.items():
            if len(sources) > 1:
                names = ", ".join(sources)
                message = (
                    f"{names} are all mapped to {target_name}: each sync would overwrite the others. "
                    "Keep one of them."
                )
                out += [Finding(ERROR, "DUPLICATE_TARGET", s, target_name, message) for s in sources]
        return out

    def required_unmapped(self, pairs: list[tuple[str, str]]) -> list[Finding]:
        covered = {t["name"] for _, name in pairs if (t := self.targets.get(name)) is not None}
        out = []
        for target in self.targets.fields:
            if f.is_required(target) and target["name"] not in covered:
                t = target["name"]
                message = (
                    f"Target {t} is required and has no default, but no source field is mapped to it: "
                    f"every new record fails with REQUIRED_FIELD_MISSING. Map a source field to {t} "
                    "or give it a default value in the target org."
                )
                out.append(Finding(ERROR, "REQUIRED_TARGET_UNMAPPED", None, t, message))
        return out


def _read_only_reason(target: Field, object_name: str) -> str:
    t = target["name"]
    if t == "Name" and object_name in f.COMPOUND_NAME_OBJECTS:
        return f"{object_name}.Name is read-only, built from FirstName and LastName: map those instead."
    if target.get("calculated"):
        what = "a formula" if target.get("calculatedFormula") else "a roll-up summary"
        return f"Target {t} is {what} and can't be written."
    if target.get("autoNumber"):
        return f"Target {t} is an auto-number: the target org numbers its records itself."
    return f"Target {t} is read-only in the target org."
