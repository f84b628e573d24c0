"""The Metadata API SOAP endpoint: ``POST /services/Soap/m/NN.0[/…]``.

Served calls: ``describeMetadata``, ``listMetadata``, ``readMetadata``, ``createMetadata``,
``updateMetadata``, ``upsertMetadata``, ``deleteMetadata``, ``deploy`` + ``checkDeployStatus``,
``retrieve`` + ``checkRetrieveStatus``. Envelopes are read by local names (simple-salesforce's raw
``met:`` envelopes and zeep's ``ns0:`` ones alike); answers use the metadata namespace as the
default namespace and ``xsi:type`` on ``readMetadata`` records, as a real org does. There is no
WSDL to fetch: simple-salesforce and jsforce bring their own copy of the metadata WSDL.

Anything after the version in the path is ignored (``…/m/62.0/{orgId}`` from the login answer,
``…/m/62.0/deployRequest/{id}`` that simple-salesforce posts to).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sfemu import tooling
from sfemu.errors import SalesforceError
from sfemu.metadata import DeployOptions, OrgMetadata, jobs_of
from sfemu.metadata.components import HANDLERS, ComponentError, Listed
from sfemu.metadata.package import DeployMessage, DeployOutcome, TestRun
from sfemu.metadata.service import Job
from sfemu.metadata.types import describe_entries
from sfemu.metadata.xmlio import MD_NS, flag, inline, local, to_value, xsi_type
from sfemu.server import faults_api
from sfemu.server.http import XML_TYPE
from sfemu.server.users import live_session

if TYPE_CHECKING:
    from sfemu.org import Org
    from sfemu.server.auth_store import Session
    from sfemu.server.state import ServerState

log = logging.getLogger("sfemu.server.metadata")
_VERSION_RE = re.compile(r"^(\d{1,2})\.0$")
_HEADERS = {"Cache-Control": "no-cache,must-revalidate,max-age=0,no-store,private"}
INVALID_SESSION = "Invalid Session ID found in SessionHeader: Illegal Session"
NO_ACCESS = "use of the Metadata API requires a user with the ModifyAllData or ModifyMetadata permissions"
MAX_CRUD = 10
MAX_LIST_QUERIES = 3
XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'


class Fault(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def fault_response(code: str, message: str, *, client: bool = False) -> Response:
    faultcode = "soapenv:Client" if client else f"sf:{code}"
    detail = (
        ""
        if client
        else (
            f'<detail><sf:UnexpectedErrorFault xsi:type="sf:UnexpectedErrorFault">'
            f"<sf:exceptionCode>{escape(code)}</sf:exceptionCode>"
            f"<sf:exceptionMessage>{escape(message)}</sf:exceptionMessage>"
            "</sf:UnexpectedErrorFault></detail>"
        )
    )
    text = message if client else f"{code}: {message}"
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        f'xmlns:sf="{MD_NS}" {XSI}>'
        f"<soapenv:Body><soapenv:Fault><faultcode>{faultcode}</faultcode>"
        f"<faultstring>{escape(text)}</faultstring>{detail}</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    return Response(body, status_code=500, media_type=XML_TYPE, headers=_HEADERS)


def _envelope(name: str, inner: str) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        f'xmlns="{MD_NS}" {XSI}>'
        f"<soapenv:Body><{name}Response>{inner}</{name}Response></soapenv:Body></soapenv:Envelope>"
    )
    return Response(body, status_code=200, media_type=XML_TYPE, headers=_HEADERS)


def _t(name: str, value: Any) -> str:
    """``<name>value</name>``; None → ``xsi:nil``."""
    if value is None:
        return f'<{name} xsi:nil="true"/>'
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"<{name}>{escape(str(value))}</{name}>"


def _opt(name: str, value: Any) -> str:
    return "" if value is None else _t(name, value)


def _children(call: ElementTree.Element, name: str) -> list[ElementTree.Element]:
    return [c for c in call if local(c.tag) == name]


def _child_text(element: ElementTree.Element | None, name: str) -> str | None:
    if element is None:
        return None
    found = next((c for c in element if local(c.tag) == name), None)
    return None if found is None else (found.text or "").strip()


# --- the endpoint -------------------------------------------------------------------------


async def metadata_endpoint(request: Request) -> Response:
    state: ServerState = request.app.state.sfemu
    version = request.path_params["version"]
    match = _VERSION_RE.match(version)
    if match is None or not 20 <= int(match.group(1)) <= 66:
        return fault_response("", f"Unsupported API version: {version}", client=True)
    body = await request.body()
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return fault_response("", "Unable to parse the SOAP envelope", client=True)
    return await run_in_threadpool(_serve, state, root, version)


def _parse(root: ElementTree.Element) -> tuple[str | None, ElementTree.Element | None]:
    session_id = None
    call = None
    for element in root:
        name = local(element.tag)
        if name == "Header":
            for item in element.iter():
                if local(item.tag) == "sessionId" and item.text:
                    session_id = item.text.strip()
        elif name == "Body":
            call = next(iter(element), None)
    return session_id, call


def _serve(state: ServerState, root: ElementTree.Element, version: str) -> Response:
    session_id, call = _parse(root)
    if call is None:
        return fault_response("INVALID_SOAP_REQUEST", "no call in the SOAP body")
    name = local(call.tag)
    handler = CALLS.get(name)
    if handler is None:
        return fault_response("UNSUPPORTED_API_CALL", f"sfemu does not serve {name}() on the Metadata API")
    found = live_session(state, session_id)
    if found is None:
        return fault_response("INVALID_SESSION_ID", INVALID_SESSION)
    session, org = found
    if session.password_expired:
        return fault_response(
            "INVALID_OPERATION_WITH_EXPIRED_PASSWORD",
            "The users password has expired, you must call SetPassword before attempting any other "
            "API operations",
        )
    unavailable = faults_api.gate(org, "metadata")
    if unavailable is not None:
        return fault_response(unavailable.error_code, unavailable.message)
    try:
        org.check_api_limit()
        org.count_api_call("metadata")
        if not tooling.can_customize(org, session.user_id):
            raise Fault("INSUFFICIENT_ACCESS", NO_ACCESS)
        inner = handler(state, org, session, call, version)
    except Fault as exc:
        return fault_response(exc.code, exc.message)
    except SalesforceError as exc:
        return fault_response(exc.error_code, exc.message)
    log.info("Metadata API %s served", name)
    return _envelope(name, inner)


# --- describe, list, read -----------------------------------------------------------------


def describe_metadata(state: ServerState, org: Org, session: Session, call: Any, version: str) -> str:
    objects = "".join(
        "<metadataObjects>"
        + "".join(_t("childXmlNames", c) for c in t.children)
        + _t("directoryName", t.directory)
        + _t("inFolder", False)
        + _t("metaFile", t.meta_file)
        + _opt("suffix", t.suffix)
        + _t("xmlName", t.name)
        + "</metadataObjects>"
        for t in describe_entries()
    )
    return (
        f"<result>{objects}<organizationNamespace></organizationNamespace>"
        f"{_t('partialSaveAllowed', org.is_sandbox)}{_t('testRequired', not org.is_sandbox)}</result>"
    )


class _Names:
    def __init__(self, org: Org) -> None:
        self.org = org
        self.cache: dict[str, str] = {}

    def __call__(self, user_id: str) -> str:
        if not user_id:
            return ""
        if user_id not in self.cache:
            try:
                self.cache[user_id] = str(self.org.user(user_id).get("Name") or "")
            except SalesforceError:
                self.cache[user_id] = ""
        return self.cache[user_id]


def file_properties(entry: Listed, names: _Names, tag: str = "result") -> str:
    return (
        f"<{tag}>"
        + _t("createdById", entry.created_by)
        + _t("createdByName", names(entry.created_by))
        + _t("createdDate", entry.created)
        + _t("fileName", entry.file_name)
        + _t("fullName", entry.full_name)
        + _t("id", entry.id)
        + _t("lastModifiedById", entry.modified_by)
        + _t("lastModifiedByName", names(entry.modified_by))
        + _t("lastModifiedDate", entry.modified)
        + _t("manageableState", "installed" if entry.managed else "unmanaged")
        + _opt("namespacePrefix", entry.namespace)
        + _t("type", entry.type)
        + f"</{tag}>"
    )


def list_metadata(state: ServerState, org: Org, session: Session, call: Any, version: str) -> str:
    queries = _children(call, "queries")
    if len(queries) > MAX_LIST_QUERIES:
        raise Fault("INVALID_ARGUMENT", f"Too many queries: at most {MAX_LIST_QUERIES} per listMetadata call")
    md = OrgMetadata(org)
    names = _Names(org)
    out = []
    for query in queries:
        type_name = _child_text(query, "type") or ""
        out += [file_properties(e, names) for e in md.list(type_name)]
    return "".join(out)


def _record_xml(type_name: str, body: dict[str, Any] | None) -> str:
    if body is None:
        return f'<records xsi:type="{type_name}"/>'
    body = dict(body)
    if "content" in body and body["content"] is not None:
        body["content"] = base64.b64encode(str(body["content"]).encode()).decode()
    return inline("records", body, attrs=f' xsi:type="{type_name}"')


def read_metadata(state: ServerState, org: Org, session: Session, call: Any, version: str) -> str:
    type_name = _child_text(call, "type") or ""
    full_names = [(c.text or "").strip() for c in _children(call, "fullNames")]
    if type_name not in HANDLERS:
        raise Fault("INVALID_TYPE", f"Unknown type name '{type_name}' specified")
    if len(full_names) > MAX_CRUD:
        raise Fault("INVALID_ARGUMENT", f"Cannot read more than {MAX_CRUD} components at a time")
    md = OrgMetadata(org)
    records = "".join(_record_xml(type_name, md.read(type_name, name)) for name in full_names)
    return f"<result>{records}</result>"


# --- CRUD ---------------------------------------------------------------------------------


def _error_xml(code: str, message: str) -> str:
    return f"<errors>{_t('message', message)}{_t('statusCode', code)}</errors>"


def _records(call: ElementTree.Element) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for element in _children(call, "metadata"):
        type_name = xsi_type(element) or ""
        value = to_value(element)
        body = value if isinstance(value, dict) else {}
        if body.get("content"):
            with contextlib.suppress(binascii.Error, ValueError):
                body["content"] = base64.b64decode(str(body["content"])).decode("utf-8", "replace")
        out.append((type_name, body))
    if len(out) > MAX_CRUD:
        raise Fault("INVALID_ARGUMENT", f"Cannot process more than {MAX_CRUD} components at a time")
    if len({t for t, _ in out}) > 1:
        raise Fault("INVALID_ARGUMENT", "All components in a call must be of the same type")
    return out


def _save(org: Org, session: Session, type_name: str, body: dict[str, Any], mode: str) -> tuple[str, bool]:
    """Apply one component of a CRUD call; (result XML inner, created)."""
    full_name = str(body.get("fullName") or "")
    handler = HANDLERS.get(type_name)
    if handler is None:
        raise SalesforceError("INVALID_TYPE", f"Unknown type name '{type_name}' specified")
    if not full_name:
        raise SalesforceError("REQUIRED_FIELD_MISSING", "Required field is missing: fullName")
    exists = handler.read(org, full_name) is not None
    if mode == "create" and exists:
        code = (
            "DUPLICATE_DEVELOPER_NAME" if type_name in ("CustomField", "CustomObject") else "DUPLICATE_VALUE"
        )
        raise SalesforceError(code, f"There is already a {type_name} named {full_name}.")
    if mode == "update" and not exists:
        raise SalesforceError(
            "INVALID_CROSS_REFERENCE_KEY", f"In field: fullName - no {type_name} named {full_name} found"
        )
    payload = {k: v for k, v in body.items() if k != "fullName"}
    try:
        with org.store.write():
            if type_name in ("ApexClass", "ApexTrigger"):
                handler.apply(org, full_name, payload, session.user_id, content=payload.pop("content", None))
            else:
                handler.apply(org, full_name, payload, session.user_id)
    except ComponentError as exc:
        raise SalesforceError("FIELD_INTEGRITY_EXCEPTION", exc.problem) from None
    return full_name, not exists


def _crud(mode: str) -> Callable[..., str]:
    def call_handler(state: ServerState, org: Org, session: Session, call: Any, version: str) -> str:
        out = []
        for type_name, body in _records(call):
            full_name = str(body.get("fullName") or "")
            try:
                _, created = _save(org, session, type_name, body, mode)
            except SalesforceError as exc:
                out.append(
                    f"<result>{_error_xml(exc.error_code, exc.message)}{_t('fullName', full_name)}"
                    f"{_t('success', False)}</result>"
                )
                continue
            created_xml = _t("created", created) if mode == "upsert" else ""
            out.append(f"<result>{created_xml}{_t('fullName', full_name)}{_t('success', True)}</result>")
        return "".join(out)

    return call_handler


def delete_metadata(state: ServerState, org: Org, session: Session, call: Any, version: str) -> str:
    type_name = _child_text(call, "type") or ""
    full_names = [(c.text or "").strip() for c in _children(call, "fullNames")]
    if type_name not in HANDLERS:
        raise Fault("INVALID_TYPE", f"Unknown type name '{type_name}' specified")
    md = OrgMetadata(org)
    out = []
    for name in full_names[:MAX_CRUD]:
        try:
            with org.store.write():
                md.delete(type_name, name)
        except SalesforceError as exc:
            out.append(
                f"<result>{_error_xml(exc.error_code, exc.message)}{_t('fullName', name)}"
                f"{_t('success', False)}</result>"
            )
            continue
        out.append(f"<result>{_t('fullName', name)}{_t('success', True)}</result>")
    return "".join(out)


# --- deploy -------------------------------------------------------------------------------


def _async_result(job: Job) -> str:
    return f"<result>{_t('done', False)}{_t('id', job.id)}{_t('state', 'Queued')}</result>"


def deploy(state: ServerState, org: Org, session: Session, call: Any, version: str) -> str:
    zip_text = _child_text(call, "ZipFile") or ""
    try:
        data = base64.b64decode(zip_text, validate=False)
    except (binascii.Error, ValueError):
        raise Fault("INVALID_ARGUMENT", "ZipFile is not base64") from None
    opts_el = next(iter(_children(call, "DeployOptions")), None)

    def opt(name: str, default: bool = False) -> bool:
        return flag(_child_text(opts_el, name), default)

    level = _child_text(opts_el, "testLevel") or None
    options = DeployOptions(
        check_only=opt("checkOnly"),
        test_level=level,
        run_tests=[(c.text or "").strip() for c in _children(opts_el, "runTests")]
        if opts_el is not None
        else [],
        rollback_on_error=opt("rollbackOnError", True),
        ignore_warnings=opt("ignoreWarnings"),
        single_package=opt("singlePackage"),
        allow_missing_files=opt("allowMissingFiles"),
        purge_on_delete=opt("purgeOnDelete"),
    )
    job = jobs_of(org.instance).submit(org, "deploy", session.user_id, {"zip": data, "options": options})
    return _async_result(job)


def _message_xml(tag: str, msg: DeployMessage, created_date: str) -> str:
    return (
        f"<{tag}>"
        + _t("changed", msg.changed)
        + _opt("columnNumber", msg.column)
        + _t("componentType", msg.component_type)
        + _t("created", msg.created)
        + _t("createdDate", created_date)
        + _t("deleted", msg.deleted)
        + _t("fileName", msg.file_name)
        + _t("fullName", msg.full_name)
        + (_t("id", msg.id) if msg.id else "")
        + _opt("lineNumber", msg.line)
        + _opt("problem", msg.problem)
        + _opt("problemType", msg.problem_type)
        + _t("success", msg.success)
        + f"</{tag}>"
    )


def _tests_xml(run: TestRun) -> str:
    coverage = "".join(
        "<codeCoverage>"
        + _t("id", c["id"])
        + _t("name", c["name"])
        + _t("namespace", c["namespace"])
        + _t("numLocations", c["numLocations"])
        + _t("numLocationsNotCovered", c["numLocationsNotCovered"])
        + _t("type", c["type"])
        + "</codeCoverage>"
        for c in run.coverage
    )
    warnings = "".join(
        "<codeCoverageWarnings>"
        + _t("id", w["id"])
        + _t("message", w["message"])
        + _t("name", w["name"])
        + _t("namespace", w["namespace"])
        + "</codeCoverageWarnings>"
        for w in run.coverage_warnings
    )
    failures = "".join(
        "<failures>"
        + _t("id", f.class_id)
        + _t("message", f.message)
        + _t("methodName", f.method)
        + _t("name", f.class_name)
        + _t("namespace", f.namespace)
        + _t("seeAllData", False)
        + _t("stackTrace", f.stack_trace)
        + _t("time", f.time_ms)
        + _t("type", "Class")
        + "</failures>"
        for f in run.failures
    )
    successes = "".join(
        "<successes>"
        + _t("id", s.class_id)
        + _t("methodName", s.method)
        + _t("name", s.class_name)
        + _t("namespace", s.namespace)
        + _t("seeAllData", False)
        + _t("time", s.time_ms)
        + "</successes>"
        for s in run.successes
    )
    return (
        f"<runTestResult>{coverage}{warnings}{failures}{_t('numFailures', len(run.failures))}"
        f"{_t('numTestsRun', run.count)}{successes}{_t('totalTime', run.total_ms)}</runTestResult>"
    )


def _iso(value: Any) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def deploy_result_xml(org: Org, job: Job, include_details: bool) -> str:
    options: DeployOptions = job.params["options"]
    outcome: DeployOutcome | None = job.deploy
    created = _iso(job.created)
    user_name = _Names(org)(job.user_id)
    parts = [_t("checkOnly", options.check_only)]
    if job.done:
        parts.append(_t("completedDate", _iso(job.completed)))
    parts += [_t("createdBy", job.user_id[:15]), _t("createdByName", user_name), _t("createdDate", created)]
    if outcome is not None and include_details:
        failures = "".join(_message_xml("componentFailures", m, created) for m in outcome.failures)
        successes = "".join(_message_xml("componentSuccesses", m, created) for m in outcome.successes)
        parts.append(f"<details>{failures}{successes}{_tests_xml(outcome.tests)}</details>")
    elif include_details:
        parts.append("<details/>")
    parts.append(_t("done", job.done))
    if outcome is not None and outcome.error_message:
        parts += [_t("errorMessage", outcome.error_message), _t("errorStatusCode", outcome.error_status_code)]
    if job.error is not None:
        parts += [_t("errorMessage", job.error.message), _t("errorStatusCode", job.error.error_code)]
    deployed = len([m for m in outcome.successes if m.full_name != "package.xml"]) if outcome else 0
    tests = outcome.tests if outcome else TestRun()
    status = outcome.status if outcome else ("Failed" if job.error else "InProgress")
    parts += [
        _t("id", job.id),
        _t("ignoreWarnings", options.ignore_warnings),
        _t("lastModifiedDate", _iso(job.completed or job.started or job.created)),
        _t("numberComponentErrors", len(outcome.failures) if outcome else 0),
        _t("numberComponentsDeployed", deployed),
        _t("numberComponentsTotal", outcome.components_total if outcome else 0),
        _t("numberTestErrors", len(tests.failures)),
        _t("numberTestsCompleted", len(tests.successes)),
        _t("numberTestsTotal", tests.count),
        _t("rollbackOnError", options.rollback_on_error or not org.is_sandbox),
        _t("runTestsEnabled", bool(outcome and outcome.tests_enabled)),
    ]
    if job.started is not None:
        parts.append(_t("startDate", _iso(job.started)))
    if not job.done:
        parts.append(_t("stateDetail", "Processing Type: CustomObject"))
    parts += [_t("status", status), _t("success", bool(outcome and outcome.success))]
    return "<result>" + "".join(parts) + "</result>"


def _job(org: Org, call: Any, kind: str) -> Job:
    job_id = _child_text(call, "asyncProcessId") or ""
    job = jobs_of(org.instance).get(org, job_id)
    if job is None or job.kind != kind:
        raise Fault("INVALID_ID_FIELD", f"invalid id: {job_id}")
    return job


def check_deploy_status(state: ServerState, org: Org, session: Session, call: Any, version: str) -> str:
    job = _job(org, call, "deploy")
    jobs_of(org.instance).poll(org, job)
    return deploy_result_xml(org, job, flag(_child_text(call, "includeDetails")))


# --- retrieve -----------------------------------------------------------------------------


def retrieve(state: ServerState, org: Org, session: Session, call: Any, version: str) -> str:
    # The WSDL names the element ``retrieveRequest`` (simple-salesforce, zeep); jsforce and the
    # Salesforce CLI send ``<retrieve><request>…</request></retrieve>``, which Salesforce serves too.
    request = next(iter(_children(call, "retrieveRequest") or _children(call, "request")), None)
    if request is None:
        raise Fault("INVALID_ARGUMENT", "retrieveRequest is required")
    api_version = _child_text(request, "apiVersion") or version
    single = flag(_child_text(request, "singlePackage"))
    package_names = [(c.text or "").strip() for c in _children(request, "packageNames")]
    unpackaged = next(iter(_children(request, "unpackaged")), None)
    types: dict[str, list[str]] = {}
    if unpackaged is not None:
        for entry in _children(unpackaged, "types"):
            name = _child_text(entry, "name") or ""
            types.setdefault(name, []).extend((m.text or "").strip() for m in _children(entry, "members"))
    if not types and not package_names and not _children(request, "specificFiles"):
        raise Fault("INVALID_ARGUMENT", "No package.xml or packageNames specified")
    try:
        api = str(float(api_version))
    except ValueError:
        api = version
    params = {"types": types, "api_version": api, "single_package": single, "package_names": package_names}
    job = jobs_of(org.instance).submit(org, "retrieve", session.user_id, params)
    return _async_result(job)


def check_retrieve_status(state: ServerState, org: Org, session: Session, call: Any, version: str) -> str:
    job = _job(org, call, "retrieve")
    if job.zip_taken:
        raise Fault("INVALID_ID_FIELD", "Retrieve result has been deleted.")
    jobs_of(org.instance).poll(org, job)
    include_zip = flag(_child_text(call, "includeZip"), True)
    outcome = job.retrieve
    parts = [_t("done", job.done)]
    if job.error is not None:
        parts += [_t("errorMessage", job.error.message), _t("errorStatusCode", job.error.error_code)]
    if outcome is not None:
        names = _Names(org)
        parts += [file_properties(p, names, "fileProperties") for p in outcome.files]
    parts.append(_t("id", job.id))
    if outcome is not None:
        parts += [f"<messages>{_t('fileName', f)}{_t('problem', p)}</messages>" for f, p in outcome.messages]
    status = "InProgress" if not job.done else ("Failed" if job.error else "Succeeded")
    parts += [_t("status", status), _t("success", job.done and job.error is None)]
    if outcome is not None and include_zip:
        parts.append(_t("zipFile", base64.b64encode(outcome.zip_bytes).decode()))
        job.zip_taken = True
    return "<result>" + "".join(parts) + "</result>"


CALLS: dict[str, Callable[..., str]] = {
    "describeMetadata": describe_metadata,
    "listMetadata": list_metadata,
    "readMetadata": read_metadata,
    "createMetadata": _crud("create"),
    "updateMetadata": _crud("update"),
    "upsertMetadata": _crud("upsert"),
    "deleteMetadata": delete_metadata,
    "deploy": deploy,
    "checkDeployStatus": check_deploy_status,
    "retrieve": retrieve,
    "checkRetrieveStatus": check_retrieve_status,
}

ROUTES = [
    Route("/services/Soap/m/{version}", metadata_endpoint, methods=["POST"]),
    Route("/services/Soap/m/{version}/{rest:path}", metadata_endpoint, methods=["POST"]),
]
