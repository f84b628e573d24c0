"""All-or-none batches over the domain's transactions.

Salesforce semantics (sObject Collections, composite ``allOrNone``): with ``allOrNone=false``
every record succeeds or fails on its own; with ``allOrNone=true`` one failure rolls back the
whole request, the failing records keep their own errors and the others report
``ALL_OR_NONE_OPERATION_ROLLED_BACK``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sfemu.errors import SalesforceError

ROLLED_BACK = SalesforceError(
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using AllOrNone header",
    fields=[],
)


class _Rollback(Exception):
    """Raised inside a transaction block to undo it."""


@contextlib.contextmanager
def atomic(org: Any) -> Iterator[None]:
    """The org's transaction (``Org.transaction()``; nested use joins the outer one)."""
    block = getattr(org, "transaction", None)
    if block is None:
        yield
        return
    with block():
        yield


@dataclass
class Outcome:
    """Result of one operation of a batch: a value or an error."""

    value: Any = None
    error: SalesforceError | None = None


def run_batch(
    org: Any, operations: list[Callable[[], Any]], *, all_or_none: bool
) -> tuple[list[Outcome], bool]:
    """Run operations with Salesforce's rollback rules; returns outcomes and rolled_back."""
    outcomes: list[Outcome] = []
    rolled_back = False
    try:
        with atomic(org):
            for operation in operations:
                outcomes.append(_run_one(org, operation))
            if all_or_none and any(o.error for o in outcomes):
                raise _Rollback
    except _Rollback:
        rolled_back = True
    if rolled_back:
        outcomes = [o if o.error else Outcome(error=ROLLED_BACK) for o in outcomes]
    return outcomes, rolled_back


def _run_one(org: Any, operation: Callable[[], Any]) -> Outcome:
    """One operation; the domain validates a record completely before writing it."""
    try:
        return Outcome(value=operation())
    except SalesforceError as exc:
        return Outcome(error=exc)
