"""What can go wrong when talking to an org, in the few kinds the engine acts on.

* RetryableError — try the same work again later (lock contention, maintenance, the daily API
  limit, timeouts, an unreachable org).
* AuthenticationError — the org no longer accepts our credentials (refresh failed).
* PermanentError — Salesforce said no for a reason retrying will not change; keeps errorCode,
  message and fields so the sync log can explain it.
"""

from dataclasses import dataclass, field

from connections.errors import ConnectionsError

RETRYABLE_CODES = frozenset(
    {
        "UNABLE_TO_LOCK_ROW",
        "SERVER_UNAVAILABLE",
        "REQUEST_LIMIT_EXCEEDED",
        "REQUEST_RUNNING_TOO_LONG",
        "QUERY_TIMEOUT",
        "CONCURRENT_REQUEST_LIMIT_EXCEEDED",
        "TIMEOUT",
        "UNREACHABLE",
    }
)


class SalesforceApiError(ConnectionsError):
    def __init__(
        self, message: str, *, error_code: str = "", status: int | None = None, fields: tuple[str, ...] = ()
    ) -> None:
        self.error_code = error_code
        self.status = status
        self.fields = tuple(fields)
        self.message = message
        super().__init__(f"{error_code}: {message}" if error_code else message)


class RetryableError(SalesforceApiError):
    """Worth trying again later; the work is not lost."""


class AuthenticationError(SalesforceApiError):
    """The org refused our credentials even after a token refresh: reconnect the org."""


class PermanentError(SalesforceApiError):
    """Salesforce refused the request; retrying unchanged will not help."""


def error_for(*, status: int | None, error_code: str, message: str, fields=()) -> SalesforceApiError:
    """The exception class for an error Salesforce answered with."""
    if error_code in RETRYABLE_CODES or status in (502, 503, 504):
        cls: type[SalesforceApiError] = RetryableError
    elif status == 401 or error_code == "INVALID_SESSION_ID":
        cls = AuthenticationError
    else:
        cls = PermanentError
    return cls(message, error_code=error_code, status=status, fields=tuple(fields or ()))


def error_from_body(
    status: int | None, body: object, *, fallback: str, prefix: str = ""
) -> SalesforceApiError:
    """The exception for a Salesforce error body (`[{"errorCode", "message", …}]`), or `fallback`
    as the message when the body says nothing usable."""
    first = body[0] if isinstance(body, list) and body and isinstance(body[0], dict) else {}
    message = first.get("message") or fallback
    return error_for(
        status=status,
        error_code=first.get("errorCode", ""),
        message=f"{prefix}{message}",
        fields=first.get("fields") or (),
    )


@dataclass(frozen=True)
class RecordError:
    status_code: str
    message: str
    fields: tuple[str, ...] = ()

    @property
    def retryable(self) -> bool:
        return self.status_code in RETRYABLE_CODES


@dataclass(frozen=True)
class RecordResult:
    """One record's outcome in a collection call (input order is kept)."""

    id: str | None
    success: bool
    errors: tuple[RecordError, ...] = field(default=())
    created: bool | None = None

    @classmethod
    def from_json(cls, item: dict) -> "RecordResult":
        errors = tuple(
            RecordError(
                status_code=e.get("statusCode") or e.get("errorCode", ""),
                message=e.get("message", ""),
                fields=tuple(e.get("fields") or ()),
            )
            for e in item.get("errors") or ()
        )
        return cls(
            id=item.get("id"), success=bool(item.get("success")), errors=errors, created=item.get("created")
        )
