"""Metadata API calls of SalesforceClient: raw SOAP envelopes posted through the client's session.

Kept apart from client.py for size, like connections.bulk. Every call runs through the client's
`_call`, so token refresh (a `INVALID_SESSION_ID` fault), usage recording, metering (kind
"metadata") and error mapping are the same as for every other call. simple-salesforce's mdapi
(zeep) is not used: it brings its own HTTP session, which would bypass the org's TLS trust and
our metering.

One method per SOAP call, plus `md_retrieve` / `md_deploy`, which start an async job and poll its
status until it is done.
"""

import base64
import time
from collections.abc import Iterable
from dataclasses import dataclass
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from simple_salesforce.exceptions import SalesforceExpiredSession

from connections.client_errors import RetryableError, error_for

MD_NS = "http://soap.sforce.com/2006/04/metadata"
LIST_QUERIES_PER_CALL = 3  # listMetadata takes at most three queries
TEST_LEVELS = ("NoTestRun", "RunSpecifiedTests", "RunLocalTests", "RunAllTestsInOrg")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _kids(element: ElementTree.Element, name: str) -> list[ElementTree.Element]:
    return [c for c in element if _local(c.tag) == name]


def _text(element: ElementTree.Element | None, name: str, default: str = "") -> str:
    if element is None:
        return default
    found = next((c for c in element if _local(c.tag) == name), None)
    return default if found is None or found.text is None else found.text.strip()


def _flag(element: ElementTree.Element | None, name: str) -> bool:
    return _text(element, name).lower() == "true"


def _int(element: ElementTree.Element | None, name: str) -> int:
    try:
        return int(float(_text(element, name, "0")))
    except ValueError:
        return 0


@dataclass(frozen=True)
class MetadataType:
    """One `DescribeMetadataObject`."""

    name: str
    directory: str
    suffix: str
    meta_file: bool
    in_folder: bool
    children: tuple[str, ...] = ()


@dataclass(frozen=True)
class FileProperties:
    """One listMetadata / retrieve `FileProperties` entry."""

    type: str
    full_name: str
    file_name: str
    id: str = ""
    namespace: str = ""
    manageable_state: str = ""
    last_modified: str = ""
    last_modified_by: str = ""

    @property
    def managed(self) -> bool:
        return self.manageable_state in ("installed", "installedEditable", "released") or bool(self.namespace)


@dataclass(frozen=True)
class RetrieveResult:
    id: str
    done: bool
    status: str
    zip_bytes: bytes = b""
    files: tuple[FileProperties, ...] = ()
    messages: tuple[tuple[str, str], ...] = ()  # (fileName, problem)
    error: str = ""


@dataclass(frozen=True)
class ComponentMessage:
    """A `DeployMessage`: one component's success or failure."""

    component_type: str
    full_name: str
    file_name: str
    success: bool
    problem: str = ""
    problem_type: str = ""
    created: bool = False
    changed: bool = False
    deleted: bool = False


@dataclass(frozen=True)
class TestFailure:
    class_name: str
    method: str
    message: str
    stack_trace: str = ""


@dataclass(frozen=True)
class DeployResult:
    id: str
    done: bool
    status: str  # Pending, InProgress, Succeeded, SucceededPartial, Failed, Canceling, Canceled
    success: bool = False
    check_only: bool = False
    error_message: str = ""
    error_code: str = ""
    components_total: int = 0
    components_deployed: int = 0
    component_errors: int = 0
    tests_total: int = 0
    tests_completed: int = 0
    test_errors: int = 0
    component_failures: tuple[ComponentMessage, ...] = ()
    component_successes: tuple[ComponentMessage, ...] = ()
    test_failures: tuple[TestFailure, ...] = ()
    coverage_warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeployRequest:
    """`DeployOptions` we send (singlePackage: the zip has package.xml at its root)."""

    check_only: bool = False
    test_level: str = "NoTestRun"
    run_tests: tuple[str, ...] = ()
    rollback_on_error: bool = True
    ignore_warnings: bool = False
    purge_on_delete: bool = False

    def xml(self) -> str:
        if self.test_level not in TEST_LEVELS:
            raise ValueError(f"unknown test level {self.test_level!r}")
        tests = "".join(f"<m:runTests>{escape(t)}</m:runTests>" for t in self.run_tests)
        return (
            "<m:DeployOptions>"
            f"<m:checkOnly>{_bool(self.check_only)}</m:checkOnly>"
            f"<m:ignoreWarnings>{_bool(self.ignore_warnings)}</m:ignoreWarnings>"
            f"<m:purgeOnDelete>{_bool(self.purge_on_delete)}</m:purgeOnDelete>"
            f"<m:rollbackOnError>{_bool(self.rollback_on_error)}</m:rollbackOnError>"
            f"{tests}<m:singlePackage>true</m:singlePackage>"
            f"<m:testLevel>{escape(self.test_level)}</m:testLevel>"
            "</m:DeployOptions>"
        )


def _bool(value: bool) -> str:
    return "true" if value else "false"


class MetadataMixin:
    """Metadata API calls (needs `_call`, `_session`, `org` of the client)."""

    def md_describe(self) -> list[MetadataType]:
        version = self.org.api_version
        result = self._md("describeMetadata", f"<m:asOfVersion>{escape(version)}</m:asOfVersion>")
        return [
            MetadataType(
                name=_text(e, "xmlName"),
                directory=_text(e, "directoryName"),
                suffix=_text(e, "suffix"),
                meta_file=_flag(e, "metaFile"),
                in_folder=_flag(e, "inFolder"),
                children=tuple((c.text or "").strip() for c in _kids(e, "childXmlNames")),
            )
            for r in result
            for e in _kids(r, "metadataObjects")
        ]

    def md_list(self, types: Iterable[str]) -> list[FileProperties]:
        """Every component of the given types (three types per listMetadata call)."""
        names = list(types)
        out: list[FileProperties] = []
        for start in range(0, len(names), LIST_QUERIES_PER_CALL):
            queries = "".join(
                f"<m:queries><m:type>{escape(t)}</m:type></m:queries>"
                for t in names[start : start + LIST_QUERIES_PER_CALL]
            )
            version = f"<m:asOfVersion>{escape(self.org.api_version)}</m:asOfVersion>"
            out += [_file_properties(r) for r in self._md("listMetadata", queries + version)]
        return out

    def md_retrieve_start(self, types: dict[str, list[str]]) -> str:
        """Start an unpackaged retrieve of `types` (type → member names); returns the job id."""
        members = "".join(
            "<m:types>"
            + "".join(f"<m:members>{escape(m)}</m:members>" for m in names)
            + f"<m:name>{escape(type_name)}</m:name></m:types>"
            for type_name, names in types.items()
            if names
        )
        request = (
            f"<m:retrieveRequest><m:apiVersion>{escape(self.org.api_version)}</m:apiVersion>"
            f"<m:singlePackage>true</m:singlePackage><m:unpackaged>{members}"
            f"<m:version>{escape(self.org.api_version)}</m:version></m:unpackaged></m:retrieveRequest>"
        )
        return _text(self._md("retrieve", request)[0], "id")

    def md_retrieve_status(self, job_id: str) -> RetrieveResult:
        call = f"<m:asyncProcessId>{escape(job_id)}</m:asyncProcessId><m:includeZip>true</m:includeZip>"
        result = self._md("checkRetrieveStatus", call)[0]
        zipped = _text(result, "zipFile")
        return RetrieveResult(
            id=_text(result, "id"),
            done=_flag(result, "done"),
            status=_text(result, "status"),
            zip_bytes=base64.b64decode(zipped) if zipped else b"",
            files=tuple(_file_properties(e) for e in _kids(result, "fileProperties")),
            messages=tuple((_text(m, "fileName"), _text(m, "problem")) for m in _kids(result, "messages")),
            error=_text(result, "errorMessage"),
        )

    def md_deploy_start(self, zip_bytes: bytes, request: DeployRequest) -> str:
        zipped = base64.b64encode(zip_bytes).decode()
        return _text(self._md("deploy", f"<m:ZipFile>{zipped}</m:ZipFile>{request.xml()}")[0], "id")

    def md_deploy_status(self, job_id: str) -> DeployResult:
        call = (
            f"<m:asyncProcessId>{escape(job_id)}</m:asyncProcessId><m:includeDetails>true</m:includeDetails>"
        )
        return _deploy_result(self._md("checkDeployStatus", call)[0])

    def md_retrieve(self, types: dict[str, list[str]], *, wait: "Waiter | None" = None) -> RetrieveResult:
        """Retrieve and poll until done; a failed retrieve is a PermanentError."""
        job_id = self.md_retrieve_start(types)
        result = (wait or Waiter()).until(lambda: self.md_retrieve_status(job_id), lambda r: r.done)
        if result.status == "Failed":
            raise error_for(
                status=None, error_code="RETRIEVE_FAILED", message=result.error or "retrieve failed"
            )
        return result

    def md_deploy(
        self, zip_bytes: bytes, request: DeployRequest, *, wait: "Waiter | None" = None
    ) -> DeployResult:
        """Deploy and poll until done (the result says whether it succeeded)."""
        job_id = self.md_deploy_start(zip_bytes, request)
        return (wait or Waiter()).until(lambda: self.md_deploy_status(job_id), lambda r: r.done)

    # --- plumbing ------------------------------------------------------------------------------
    def _md(self, name: str, inner: str) -> list[ElementTree.Element]:
        return self._call("metadata", lambda sf: self._md_post(sf, name, inner))

    def _md_post(self, sf, name: str, inner: str) -> list[ElementTree.Element]:
        envelope = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            f'xmlns:m="{MD_NS}"><soapenv:Header><m:SessionHeader><m:sessionId>{escape(sf.session_id)}'
            f"</m:sessionId></m:SessionHeader></soapenv:Header><soapenv:Body><m:{name}>{inner}</m:{name}>"
            "</soapenv:Body></soapenv:Envelope>"
        )
        url = f"{self.org.instance_url}/services/Soap/m/{self.org.api_version}"
        response = self._session.post(
            url,
            data=envelope.encode(),
            headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""'},
        )
        try:
            root = ElementTree.fromstring(response.content)
        except ElementTree.ParseError:
            raise error_for(
                status=response.status_code,
                error_code="",
                message=f"Metadata API answered HTTP {response.status_code}",
            ) from None
        fault = next((e for e in root.iter() if _local(e.tag) == "Fault"), None)
        if fault is not None:
            code = _text(fault, "faultcode").split(":")[-1]
            message = _text(fault, "faultstring")
            if code == "INVALID_SESSION_ID":
                raise SalesforceExpiredSession(url, response.status_code, name, [])
            raise error_for(status=response.status_code, error_code=code, message=message)
        answer = next((e for e in root.iter() if _local(e.tag) == f"{name}Response"), None)
        if answer is None:
            raise error_for(
                status=response.status_code, error_code="", message=f"no {name}Response in the answer"
            )
        return _kids(answer, "result")


class Waiter:
    """Polls with a growing pause (first, times growth, up to most) until done or `timeout` seconds.
    The class attributes are the defaults (tests that poll an emulator make them short)."""

    FIRST, GROWTH, MOST, TIMEOUT = 0.2, 1.5, 10.0, 1800.0

    def __init__(
        self,
        *,
        first: float | None = None,
        growth: float | None = None,
        most: float | None = None,
        timeout: float | None = None,
    ) -> None:
        self.first = self.FIRST if first is None else first
        self.growth = self.GROWTH if growth is None else growth
        self.most = self.MOST if most is None else most
        self.timeout = self.TIMEOUT if timeout is None else timeout

    def until(self, check, done):
        pause, deadline = self.first, time.monotonic() + self.timeout
        while True:
            result = check()
            if done(result):
                return result
            if time.monotonic() + pause > deadline:
                raise RetryableError("the Metadata API job did not finish in time", error_code="TIMEOUT")
            time.sleep(pause)
            pause = min(pause * self.growth, self.most)


def _file_properties(e: ElementTree.Element) -> FileProperties:
    return FileProperties(
        type=_text(e, "type"),
        full_name=_text(e, "fullName"),
        file_name=_text(e, "fileName"),
        id=_text(e, "id"),
        namespace=_text(e, "namespacePrefix"),
        manageable_state=_text(e, "manageableState"),
        last_modified=_text(e, "lastModifiedDate"),
        last_modified_by=_text(e, "lastModifiedByName"),
    )


def _message(e: ElementTree.Element) -> ComponentMessage:
    return ComponentMessage(
        component_type=_text(e, "componentType"),
        full_name=_text(e, "fullName"),
        file_name=_text(e, "fileName"),
        success=_flag(e, "success"),
        problem=_text(e, "problem"),
        problem_type=_text(e, "problemType"),
        created=_flag(e, "created"),
        changed=_flag(e, "changed"),
        deleted=_flag(e, "deleted"),
    )


def _deploy_result(result: ElementTree.Element) -> DeployResult:
    details = next(iter(_kids(result, "details")), None)
    tests = next(iter(_kids(details, "runTestResult")), None) if details is not None else None
    failures = tuple(
        TestFailure(_text(f, "name"), _text(f, "methodName"), _text(f, "message"), _text(f, "stackTrace"))
        for f in (_kids(tests, "failures") if tests is not None else [])
    )
    warnings = tuple(
        _text(w, "message") for w in (_kids(tests, "codeCoverageWarnings") if tests is not None else [])
    )
    return DeployResult(
        id=_text(result, "id"),
        done=_flag(result, "done"),
        status=_text(result, "status"),
        success=_flag(result, "success"),
        check_only=_flag(result, "checkOnly"),
        error_message=_text(result, "errorMessage"),
        error_code=_text(result, "errorStatusCode"),
        components_total=_int(result, "numberComponentsTotal"),
        components_deployed=_int(result, "numberComponentsDeployed"),
        component_errors=_int(result, "numberComponentErrors"),
        tests_total=_int(result, "numberTestsTotal"),
        tests_completed=_int(result, "numberTestsCompleted"),
        test_errors=_int(result, "numberTestErrors"),
        component_failures=tuple(
            _message(m) for m in (_kids(details, "componentFailures") if details is not None else [])
        ),
        component_successes=tuple(
            _message(m) for m in (_kids(details, "componentSuccesses") if details is not None else [])
        ),
        test_failures=failures,
        coverage_warnings=warnings,
    )


__all__ = [
    "ComponentMessage",
    "DeployRequest",
    "DeployResult",
    "FileProperties",
    "MetadataMixin",
    "MetadataType",
    "RetrieveResult",
    "TestFailure",
    "Waiter",
]
