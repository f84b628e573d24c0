"""Bulk API 2.0 for sfemu: ingest and query jobs run by a background worker pool.

No HTTP here: :mod:`sfemu.server.routes_bulk` maps the ``/jobs`` resources onto
:class:`~sfemu.bulk.service.BulkService`.
"""

from sfemu.bulk.jobs import Job
from sfemu.bulk.service import BulkService, service_for

__all__ = ["BulkService", "Job", "service_for"]
