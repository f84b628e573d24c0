"""Load the recorded real Salesforce traffic of ``shared/reference/recorded/`` into one shape.

The folder mixes four formats (see its README): CumulusCI VCR cassettes (YAML), grouparoo nock
recordings converted to JSON, hand transcriptions (YAML/JSON) and bare restforce response bodies.
:func:`load` turns each file into a list of :class:`Interaction`; bare bodies get their request
from :data:`BARE_BODY_REQUESTS` (what the README says the fixture is the answer to).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import yaml

from tests.shared_reference import reference_path

RECORDED = reference_path("recorded")  # may be absent: tests call require_shared(RECORDED)


@dataclass
class Interaction:
    file: str  # path relative to RECORDED, e.g. "grouparoo/query_results.json"
    index: int  # position among the file's replayable interactions
    method: str
    path: str  # as recorded (may hold vxx.0), without host
    query: list[tuple[str, str]] = field(default_factory=list)
    body: Any = None  # JSON value, raw text (SOAP) or form dict (token)
    body_kind: str = "json"  # json | text | form | none
    status: int = 200
    status_inferred: bool = False
    headers: dict[str, str] = field(default_factory=dict)  # response headers worth checking
    response: Any = None  # parsed JSON, or text for XML
    response_kind: str = "json"  # json | xml | empty
    request_headers: dict[str, str] = field(default_factory=dict)

    @property
    def param_id(self) -> str:
        short = re.sub(r"^/services/data/v[^/]+", "", self.path) or self.path
        return f"{self.file}#{self.index}-{self.method}-{short}"


def _parse_body_text(text: str | None) -> tuple[Any, str]:
    if text is None or text == "":
        return None, "empty"
    try:
        return json.loads(text), "json"
    except ValueError:
        return text, "xml" if text.lstrip().startswith("<") else "text"


def _split(uri: str) -> tuple[str, list[tuple[str, str]]]:
    parts = urlsplit(uri)
    return parts.path, parse_qsl(parts.query, keep_blank_values=True)


def _vcr_interaction(file: str, index: int, raw: dict) -> Interaction:
    req, resp = raw["request"], raw["response"]
    path, query = _split(req["uri"])
    body, kind = _parse_body_text(req.get("body"))
    headers: dict[str, str] = {}
    raw_headers = resp.get("headers") or {}
    raw_headers = raw_headers.get("Response-Headers", raw_headers)
    if isinstance(raw_headers, dict):
        for name, value in raw_headers.items():
            if name.lower() == "content-type":
                headers["Content-Type"] = value[0] if isinstance(value, list) else value
    response, rkind = _parse_body_text((resp.get("body") or {}).get("string"))
    return Interaction(
        file=file,
        index=index,
        method=req["method"],
        path=path,
        query=query,
        body=body,
        body_kind="none" if kind == "empty" else kind,
        status=resp["status"]["code"],
        headers=headers,
        response=response,
        response_kind=rkind,
    )


def _load_vcr(file: str, doc: dict) -> list[Interaction]:
    if "request" in doc:  # a shared cassette: one interaction
        return [_vcr_interaction(file, 0, doc)]
    out = []
    for raw in doc["interactions"]:
        if "include_file" in raw:
            continue  # shared cassettes are replayed as files of their own
        out.append(_vcr_interaction(file, len(out), raw))
    return out


def _load_nock(file: str, doc: dict) -> list[Interaction]:
    out = []
    for raw in doc["interactions"]:
        req, resp = raw["request"], raw["response"]
        query = list((req.get("query") or {}).items())
        body = req.get("body")
        kind = "none" if body is None else ("text" if isinstance(body, str) else "json")
        response = resp.get("body")
        rkind = "xml" if isinstance(response, str) and response.startswith("<") else "json"
        out.append(
            Interaction(
                file=file,
                index=len(out),
                method=req["method"],
                path=req["path"],
                query=query,
                body=body,
                body_kind=kind,
                status=resp["status"],
                headers=dict(resp.get("headers") or {}),
                response=response,
                response_kind=rkind,
            )
        )
    return out


def _load_transcribed(file: str, doc: dict) -> list[Interaction]:
    """mohan-chinnappan-cli-dx: {request: {method, path, body}, response: {status|status_inferred, body}}."""
    raws = doc.get("interactions", [doc])
    out = []
    for raw in raws:
        req, resp = raw["request"], raw["response"]
        path, query = _split(req["path"])
        inferred = "status" not in resp
        body = req.get("body")
        out.append(
            Interaction(
                file=file,
                index=len(out),
                method=req["method"],
                path=path,
                query=query,
                body=body,
                body_kind="none" if body is None else ("text" if isinstance(body, str) else "json"),
                status=int(resp["status_inferred"] if inferred else resp["status"]),
                status_inferred=inferred,
                response=resp.get("body"),
                response_kind="json" if not isinstance(resp.get("body"), str) else "text",
            )
        )
    return out


def _load_cold_storage(file: str, doc: dict) -> list[Interaction]:
    token, identity = doc["interactions"]
    return [
        Interaction(
            file=file,
            index=0,
            method="POST",
            path="/services/oauth2/token",
            body=token["request"]["form"],
            body_kind="form",
            status=token["response"]["status"],
            response=token["response"]["body"],
        ),
        Interaction(
            file=file,
            index=1,
            method="GET",
            path=urlsplit(identity["request"]["url"]).path,
            body_kind="none",
            status=identity["response"]["status"],
            response=identity["response"]["body"],
            request_headers={"Authorization": "Bearer ***"},
        ),
    ]


# restforce fixtures are bare response bodies: the request each answers (from the README table
# and restforce's specs) and its status. getUpdated lists Contact ids (003), getDeleted rows of a
# custom object (a00…), replayed on a custom object Whizbang__c; the 300 fixture's "Whizbang" is
# restforce's placeholder, replayed on Account.
BARE_BODY_REQUESTS: dict[str, dict[str, Any]] = {
    "restforce/composite_sobjects_delete_without_ids_400.json": {
        "method": "DELETE",
        "path": "/services/data/vxx.0/composite/sobjects",
        "status": 400,
    },
    "restforce/expired_session_401.json": {
        "method": "GET",
        "path": "/services/data/vxx.0/sobjects",
        "status": 401,
        "request_headers": {"Authorization": "Bearer 00Dxx0000000000!AQexpired"},
    },
    "restforce/external_id_field_not_found_404.json": {
        "method": "GET",
        "path": "/services/data/vxx.0/sobjects/Account/23foo/some-value",
        "status": 404,
    },
    "restforce/get_deleted.json": {
        "method": "GET",
        "path": "/services/data/vxx.0/sobjects/Whizbang__c/deleted/",
        "status": 200,
    },
    "restforce/get_updated.json": {
        "method": "GET",
        "path": "/services/data/vxx.0/sobjects/Contact/updated/",
        "status": 200,
    },
    "restforce/oauth_password_error.json": {
        "method": "POST",
        "path": "/services/oauth2/token",
        "status": 400,
        "body_kind": "form",
    },
    "restforce/oauth_refresh_error.json": {
        "method": "POST",
        "path": "/services/oauth2/token",
        "status": 400,
        "body_kind": "form",
    },
    "restforce/upsert_external_id_300_multiple_choices.json": {
        "method": "PATCH",
        "path": "/services/data/vxx.0/sobjects/Account/Legacy_Key__c/L-300",
        "status": 300,
        "body": {"Name": "which one?"},
    },
}


def _load_bare(file: str, doc: Any) -> list[Interaction]:
    spec = dict(BARE_BODY_REQUESTS[file])
    return [
        Interaction(
            file=file,
            index=0,
            method=spec["method"],
            path=spec["path"],
            body=spec.get("body"),
            body_kind=spec.get("body_kind", "json" if spec.get("body") is not None else "none"),
            status=spec["status"],
            response=doc,
            request_headers=spec.get("request_headers", {}),
        )
    ]


def recording_files() -> list[str]:
    return sorted(
        str(p.relative_to(RECORDED))
        for p in RECORDED.rglob("*")
        if p.is_file() and p.suffix in (".json", ".yaml", ".yml")
    )


def load(file: str) -> list[Interaction]:
    path = RECORDED / file
    text = path.read_text()
    doc = yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else json.loads(text)
    if file.startswith("cumulusci/"):
        return _load_vcr(file, doc)
    if file.startswith("grouparoo/"):
        return _load_nock(file, doc)
    if file.startswith("cold-storage-sb2/"):
        return _load_cold_storage(file, doc)
    if file.startswith("restforce/"):
        return _load_bare(file, doc)
    if file.startswith("mohan-chinnappan-cli-dx/"):
        return _load_transcribed(file, doc)
    raise ValueError(f"unknown recording format: {file}")
