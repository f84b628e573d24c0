"""Compare two orgs' metadata, component by component and (optionally) member by member.

Plain Python: it gets two `Snapshot`s (see metadiff.retrieve) and returns `ComponentDiff`s; no
database, no client. A component's state is one of only in source, only in destination,
different or identical; two versions are different when any of their members differ
(metadiff.members), so reordering entries of a keyed list is not a difference.
"""

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from metadiff.members import MemberDiff, explode, member_diffs


class State(StrEnum):
    ONLY_SOURCE = "only_source"
    ONLY_DESTINATION = "only_destination"
    DIFFERENT = "different"
    IDENTICAL = "identical"


STATE_LABELS = {
    State.ONLY_SOURCE: "Only in source",
    State.ONLY_DESTINATION: "Only in destination",
    State.DIFFERENT: "Different",
    State.IDENTICAL: "Identical",
}
Key = tuple[str, str]  # (type, lower-cased full name)


@dataclass(frozen=True)
class Component:
    """One component as retrieved: its body (an XML dict) and, for Apex, its source."""

    type: str
    full_name: str
    body: dict[str, Any]
    content: str | None = None
    namespace: str = ""
    managed: bool = False

    @property
    def key(self) -> Key:
        return (self.type, self.full_name.lower())

    def members(self) -> dict[str, dict[str, str]]:
        return explode(self.type, self.body, self.content)


@dataclass
class ComponentDiff:
    type: str
    full_name: str
    state: State
    managed: bool = False
    namespace: str = ""
    members: list[MemberDiff] = field(default_factory=list)
    source: Component | None = None  # what a deployment sends


def compare(
    source: dict[Key, Component], destination: dict[Key, Component], *, exclude_managed: bool = False
) -> list[ComponentDiff]:
    """Every component of either org with its state, sorted by type and name.

    With `exclude_managed`, components of installed (managed) packages are left out, with those
    named after a package's namespace (`acme__Widget__c-Widget Layout`) and the members that
    name a managed component (a profile's permission on `acme__Score__c`)."""
    managed_prefixes = _managed_prefixes(source, destination) if exclude_managed else None
    out = []
    for key in sorted(set(source) | set(destination)):
        mine, theirs = source.get(key), destination.get(key)
        either = mine or theirs
        assert either is not None
        managed = bool((mine and mine.managed) or (theirs and theirs.managed))
        if managed_prefixes is not None and (managed or managed_prefixes.search(either.full_name)):
            continue  # a package's component, or one of a package's object (its layout, its fields)
        diff = ComponentDiff(
            either.type, either.full_name, State.IDENTICAL, managed, either.namespace, source=mine
        )
        if theirs is None:
            diff.state = State.ONLY_SOURCE
        elif mine is None:
            diff.state = State.ONLY_DESTINATION
        else:
            members = member_diffs(mine.members(), theirs.members())
            if managed_prefixes is not None:
                members = [m for m in members if not managed_prefixes.search(m.member)]
            diff.members = members
            diff.state = State.DIFFERENT if members else State.IDENTICAL
        out.append(diff)
    return out


def _managed_prefixes(*snapshots: dict[Key, Component]) -> re.Pattern[str]:
    names = sorted({c.namespace for s in snapshots for c in s.values() if c.managed and c.namespace})
    if not names:
        return re.compile(r"(?!x)x")  # matches nothing
    return re.compile(r"\b(?:" + "|".join(re.escape(n) for n in names) + r")__", re.IGNORECASE)


def counts(diffs: list[ComponentDiff]) -> dict[str, int]:
    """Components per state (every state present, zero when none)."""
    out = {state.value: 0 for state in State}
    for diff in diffs:
        out[diff.state.value] += 1
    return out
