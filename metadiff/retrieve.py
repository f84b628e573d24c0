"""Take a metadata snapshot of one org: describe → listMetadata per type → retrieve in batches →
parse the zips into components.

Profiles and permission sets ("profile components") go in their own, smaller batches, each
with the names of the objects, classes, layouts and record types it may refer to: a retrieve
only returns the permissions of components that are in the same retrieve, so a profile fetched
alone would look empty. Objects come back as one file with their fields, record types and
validation rules inside; those children are split off into components of their own types.
"""

import io
import logging
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from connections.metadata_api import FileProperties, MetadataType, Waiter
from metadiff.compare import Component, Key
from metadiff.mdxml import as_list, parse

logger = logging.getLogger(__name__)

PROFILE_TYPES = ("Profile", "PermissionSet")
# Types a profile component grants access to: retrieved with it so its permissions come along.
PERMISSION_CONTEXT = ("CustomObject", "ApexClass", "ApexPage", "Layout", "RecordType", "CustomTab")
# Child type → the element that holds it in its object's file.
CHILD_TAGS = {
    "CustomField": "fields",
    "RecordType": "recordTypes",
    "ValidationRule": "validationRules",
    "ListView": "listViews",
    "WebLink": "webLinks",
    "FieldSet": "fieldSets",
    "CompactLayout": "compactLayouts",
    "BusinessProcess": "businessProcesses",
    "SharingReason": "sharingReasons",
    "Index": "indexes",
}


class MetadataReader(Protocol):
    """The part of SalesforceClient a snapshot needs (tests may hand in anything like it)."""

    def md_describe(self) -> list[MetadataType]: ...
    def md_list(self, types: list[str]) -> list[FileProperties]: ...
    def md_retrieve(self, types: dict[str, list[str]], *, wait: Waiter | None = None): ...


Progress = Callable[[int, int, str], None]  # (batches done, batches in all, message)


@dataclass
class Snapshot:
    components: dict[Key, Component] = field(default_factory=dict)
    types: dict[str, MetadataType] = field(default_factory=dict)  # top-level types by name
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Batch:
    kind: str  # "profile" or "other"
    wanted: dict[str, list[str]]  # what we keep from it
    context: dict[str, list[str]]  # retrieved alongside, not kept

    def package(self) -> dict[str, list[str]]:
        types = {t: list(names) for t, names in self.context.items()}
        for type_name, names in self.wanted.items():
            types[type_name] = sorted(set(types.get(type_name, [])) | set(names))
        return types

    @property
    def size(self) -> int:
        return sum(len(n) for n in self.wanted.values())


def plan_batches(
    listing: list[FileProperties], *, profile_batch_size: int, batch_size: int, child_types: set[str]
) -> list[Batch]:
    """Retrieve batches: other components `batch_size` at a time, profile components
    `profile_batch_size` at a time with their permission context."""
    by_type: dict[str, list[str]] = {}
    for entry in listing:
        by_type.setdefault(entry.type, []).append(entry.full_name)
    context = {t: sorted(by_type[t]) for t in PERMISSION_CONTEXT if by_type.get(t)}
    others = [
        (t, n) for t in sorted(by_type) if t not in PROFILE_TYPES and t not in child_types for n in by_type[t]
    ]
    profiles = [(t, n) for t in PROFILE_TYPES for n in sorted(by_type.get(t, []))]
    batches = [Batch("other", _group(chunk), {}) for chunk in _chunks(others, batch_size)]
    batches += [Batch("profile", _group(chunk), context) for chunk in _chunks(profiles, profile_batch_size)]
    return batches


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), max(1, size)):
        yield items[start : start + max(1, size)]


def _group(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for type_name, name in pairs:
        out.setdefault(type_name, []).append(name)
    return out


def take_snapshot(
    client: MetadataReader,
    *,
    profile_batch_size: int = 500,
    batch_size: int = 2000,
    progress: Progress | None = None,
    wait: Waiter | None = None,
) -> Snapshot:
    """All components of the org behind `client` (types kept in folders are not compared)."""
    snapshot = Snapshot()
    described = client.md_describe()
    snapshot.types = {t.name: t for t in described if not t.in_folder}
    skipped = sorted(t.name for t in described if t.in_folder)
    if skipped:
        snapshot.problems.append(f"Types kept in folders are not compared: {', '.join(skipped)}")
    child_types = {c for t in snapshot.types.values() for c in t.children if c in CHILD_TAGS}
    listing = client.md_list(sorted(snapshot.types) + sorted(child_types))
    listed = {(f.type, f.full_name.lower()): f for f in listing}
    batches = plan_batches(
        listing, profile_batch_size=profile_batch_size, batch_size=batch_size, child_types=child_types
    )
    for number, batch in enumerate(batches, 1):
        if progress:
            progress(number - 1, len(batches), f"Retrieving {batch.kind} batch {number} of {len(batches)}")
        result = client.md_retrieve(batch.package(), wait=wait)
        snapshot.problems += [f"{name}: {problem}" for name, problem in result.messages]
        for component in parse_zip(result.zip_bytes, snapshot.types, listed):
            if component.type in batch.wanted or (batch.kind == "other" and component.type in child_types):
                snapshot.components[component.key] = component
    if progress:
        progress(len(batches), len(batches), f"Retrieved {len(snapshot.components)} components")
    return snapshot


def parse_zip(
    data: bytes, types: dict[str, MetadataType], listed: dict[tuple[str, str], FileProperties]
) -> Iterator[Component]:
    """The components in a retrieve zip (package.xml at the root: singlePackage)."""
    by_directory = {t.directory: t for t in types.values()}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        files = {name: archive.read(name) for name in archive.namelist() if not name.endswith("/")}
    for path, data_bytes in sorted(files.items()):
        directory, _, file_name = path.partition("/")
        info = by_directory.get(directory)
        if info is None or not file_name or path.endswith("-meta.xml"):
            continue
        suffix = f".{info.suffix}" if info.suffix else ""
        if suffix and not file_name.endswith(suffix):
            continue
        full_name = file_name[: -len(suffix)] if suffix else file_name
        if info.meta_file:
            meta = files.get(path + "-meta.xml")
            body = parse(meta)[1] if meta else {}
            content = data_bytes.decode("utf-8", "replace")
            yield _component(info.name, full_name, body, listed, content)
            continue
        _, body = parse(data_bytes)
        if info.name == "CustomObject":
            yield from _split_object(full_name, body, info, listed)
        else:
            yield _component(info.name, full_name, body, listed)


def _split_object(
    name: str, body: dict, info: MetadataType, listed: dict[tuple[str, str], FileProperties]
) -> Iterator[Component]:
    own = dict(body)
    for child_type in info.children:
        tag = CHILD_TAGS.get(child_type)
        if tag is None or tag not in own:
            continue
        for child in as_list(own.pop(tag)):
            if isinstance(child, dict) and child.get("fullName"):
                yield _component(child_type, f"{name}.{child['fullName']}", child, listed)
    yield _component("CustomObject", name, own, listed)


def _component(
    type_name: str,
    full_name: str,
    body: dict,
    listed: dict[tuple[str, str], FileProperties],
    content: str | None = None,
) -> Component:
    entry = listed.get((type_name, full_name.lower()))
    return Component(
        type=type_name,
        full_name=entry.full_name if entry else full_name,
        body=body,
        content=content,
        namespace=entry.namespace if entry else "",
        managed=entry.managed if entry else False,
    )
