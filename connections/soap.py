"""The few partner SOAP answers orgsync reads (undelete), parsed without a WSDL."""

from xml.etree import ElementTree

import requests

from connections.client_errors import AuthenticationError, RecordError, RecordResult, error_for


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child_text(element: ElementTree.Element, name: str) -> str:
    for child in element:
        if _local(child.tag) == name:
            return (child.text or "").strip()
    return ""


def parse_undelete_response(response: requests.Response) -> list[RecordResult]:
    """`<result>` per id in input order; a SOAP fault becomes the matching exception."""
    root = ElementTree.fromstring(response.content)
    fault = next((e for e in root.iter() if _local(e.tag) == "Fault"), None)
    if fault is not None:
        code = _child_text(fault, "faultcode").split(":")[-1]
        message = _child_text(fault, "faultstring")
        if code == "INVALID_SESSION_ID":
            raise AuthenticationError(message, error_code=code, status=response.status_code)
        raise error_for(status=response.status_code, error_code=code, message=message)
    return [_result(e) for e in root.iter() if _local(e.tag) == "result"]


def _result(element: ElementTree.Element) -> RecordResult:
    errors = tuple(
        RecordError(status_code=_child_text(e, "statusCode"), message=_child_text(e, "message"))
        for e in element
        if _local(e.tag) == "errors"
    )
    return RecordResult(
        id=_child_text(element, "id") or None,
        success=_child_text(element, "success") == "true",
        errors=errors,
    )
