"""The deploy zip of a synchronization: package.xml and the source org's files of the components
to add or update, and destructiveChanges.xml for the components to delete from the destination.

An object's file holds only what was selected: its own settings when the object itself is
selected, and the selected fields, record types and validation rules — never children nobody
chose (a deploy of an object file applies every child inside it).
"""

import io
import zipfile
from collections.abc import Iterable

from connections.metadata_api import MetadataType
from metadiff.compare import Component
from metadiff.mdxml import MD_NS, document
from metadiff.retrieve import CHILD_TAGS


def package_xml(types: dict[str, list[str]], api_version: str) -> bytes:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f'<Package xmlns="{MD_NS}">']
    for type_name in sorted(types):
        lines.append("    <types>")
        lines += [f"        <members>{_escape(m)}</members>" for m in sorted(types[type_name])]
        lines += [f"        <name>{type_name}</name>", "    </types>"]
    lines += [f"    <version>{api_version}</version>", "</Package>"]
    return ("\n".join(lines) + "\n").encode()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def build_deploy_zip(
    additions: Iterable[Component],
    deletions: Iterable[tuple[str, str]],
    types: dict[str, MetadataType],
    api_version: str,
) -> bytes:
    """The zip to deploy (singlePackage: package.xml at the root)."""
    files: dict[str, bytes] = {}
    members: dict[str, list[str]] = {}
    objects: dict[str, dict] = {}
    for component in additions:
        members.setdefault(component.type, []).append(component.full_name)
        if component.type in CHILD_TAGS:
            object_name, _, child = component.full_name.partition(".")
            body = objects.setdefault(object_name, {})
            body.setdefault(CHILD_TAGS[component.type], []).append(
                {"fullName": child, **_without_name(component)}
            )
        elif component.type == "CustomObject":
            objects.setdefault(component.full_name, {}).update(_without_name(component))
        else:
            info = types[component.type]
            path = f"{info.directory}/{component.full_name}" + (f".{info.suffix}" if info.suffix else "")
            if info.meta_file:
                files[path] = (component.content or "").encode()
                files[path + "-meta.xml"] = document(component.type, _without_name(component))
            else:
                files[path] = document(component.type, _without_name(component))
    object_dir = types["CustomObject"].directory if "CustomObject" in types else "objects"
    for name, body in objects.items():
        # own settings first, then children, the way a retrieved object file reads
        ordered = {k: v for k, v in body.items() if k not in CHILD_TAGS.values()}
        ordered.update({k: v for k, v in body.items() if k in CHILD_TAGS.values()})
        files[f"{object_dir}/{name}.object"] = document("CustomObject", ordered)
    files["package.xml"] = package_xml(members, api_version)
    destructive: dict[str, list[str]] = {}
    for type_name, name in deletions:
        destructive.setdefault(type_name, []).append(name)
    if destructive:
        files["destructiveChanges.xml"] = package_xml(destructive, api_version)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(files):
            archive.writestr(path, files[path])
    return buffer.getvalue()


def _without_name(component: Component) -> dict:
    return {k: v for k, v in component.body.items() if k != "fullName"}
