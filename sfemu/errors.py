"""Errors as Salesforce reports them: an errorCode, a message and sometimes fields.

Every layer of sfemu raises :class:`SalesforceError`; the HTTP layer turns it into the
JSON shapes real Salesforce sends (REST error arrays, collection results, Bulk CSV rows).
"""

from __future__ import annotations


class SalesforceError(Exception):
    """An error Salesforce reports as JSON: errorCode + message (+ fields)."""

    message_first = False

    def __init__(
        self,
        error_code: str,
        message: str,
        *,
        status: int = 400,
        fields: list[str] | None = None,
        message_first: bool = False,
    ) -> None:
        super().__init__(f"{error_code}: {message}")
        self.error_code = error_code
        self.message = message
        self.status = status
        self.fields = fields
        self.message_first = message_first  # REST key order: never errorCode first

    def as_rest(self) -> dict:
        """One element of a REST error array.

        Real Salesforce sends the generic ``NOT_FOUND`` ("The requested resource does not
        exist") with ``errorCode`` first and every other error with ``message`` first
        (recordings in ``shared/reference/recorded``); we do the same. ``message_first`` marks
        the NOT_FOUND errors raised by the sObject layer, which come message first.
        """
        if self.error_code == "NOT_FOUND" and self.fields is None and not self.message_first:
            return {"errorCode": self.error_code, "message": self.message}
        body: dict = {"message": self.message, "errorCode": self.error_code}
        if self.fields is not None:
            body["fields"] = list(self.fields)
        return body

    def as_collection(self) -> dict:
        """One error inside an sObject Collections / composite DML result (``statusCode``)."""
        return {
            "statusCode": self.error_code,
            "message": self.message,
            "fields": list(self.fields or []),
        }

    def __repr__(self) -> str:
        return (
            f"SalesforceError({self.error_code!r}, {self.message!r}, "
            f"status={self.status}, fields={self.fields!r})"
        )


class MultipleMatchesError(SalesforceError):
    """An external-id lookup matched several records.

    REST answers HTTP 300 with a JSON array of the matching record URLs (see
    ``record_ids``); collections and Bulk report ``DUPLICATE_EXTERNAL_ID`` per record.
    """

    def __init__(self, sobject: str, field: str, value: str, record_ids: list[str]) -> None:
        super().__init__(
            "DUPLICATE_EXTERNAL_ID",
            f"{field}: more than one record found for external id field: [{', '.join(record_ids)}]",
            status=300,
            fields=[field],
        )
        self.sobject = sobject
        self.field = field
        self.value = value
        self.record_ids = record_ids

    def record_urls(self, api_version: str) -> list[str]:
        """The body of the REST 300 answer."""
        return [f"/services/data/v{api_version}/sobjects/{self.sobject}/{rid}" for rid in self.record_ids]


def not_found() -> SalesforceError:
    """404 for an unknown sObject type or record (REC:grouparoo sobject rows)."""
    return SalesforceError("NOT_FOUND", "The requested resource does not exist", status=404)


def unknown_external_id_field(field: str) -> SalesforceError:
    """404 for ``/sobjects/{Type}/{field}/{value}`` with a field that is no external id.

    ``message`` comes first, unlike the generic NOT_FOUND (REC:restforce
    external_id_field_not_found_404.json, Salesforce's own pretty-printed JSON).
    """
    return SalesforceError(
        "NOT_FOUND",
        f"Provided external ID field does not exist or is not accessible: {field}",
        status=404,
        message_first=True,
    )


def entity_is_deleted() -> SalesforceError:
    """404 ``entity is deleted`` with empty fields (REC:mohan-chinnappan-cli-dx)."""
    return SalesforceError("ENTITY_IS_DELETED", "entity is deleted", status=404, fields=[])
