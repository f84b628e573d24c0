"""`/healthz`: is the database reachable, the broker answering, a worker cluster alive?"""

import logging

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_q.brokers import get_broker
from django_q.status import Stat

logger = logging.getLogger(__name__)

# States of a cluster that is up (django-q2's Conf.STARTING … Conf.WORKING).
_LIVE_CLUSTER_STATES = {"Starting", "Idle", "Working"}


def check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True, "vendor": connection.vendor}
    except Exception as exc:  # any failure is the answer, not a crash
        logger.warning("healthz: database check failed: %s", exc.__class__.__name__)
        return {"ok": False, "vendor": connection.vendor, "error": exc.__class__.__name__}


def check_broker() -> dict:
    broker = get_broker()
    name = broker.__class__.__name__
    try:
        return {"ok": bool(broker.ping()), "name": name}
    except Exception as exc:
        logger.warning("healthz: broker check failed: %s", exc.__class__.__name__)
        return {"ok": False, "name": name, "error": exc.__class__.__name__}


def check_workers() -> dict:
    try:
        clusters = [s for s in Stat.get_all(get_broker()) if s.status in _LIVE_CLUSTER_STATES]
    except Exception as exc:
        return {"ok": False, "clusters": 0, "workers": 0, "error": exc.__class__.__name__}
    workers = sum(len(s.workers) for s in clusters)
    return {"ok": workers > 0, "clusters": len(clusters), "workers": workers}


def check_engine() -> dict:
    """Stalled connections (`replication/engine/health.py`): no cycle finished for a long while
    (a cluster that stopped picking up work: django-q2 issue #23), cycles failing in a row, or
    records waiting with nothing written. Each with its reason and last error."""
    from replication.engine.health import stalls

    stalled = [stall.as_dict() for stall in stalls()]
    return {"ok": not stalled, "stalled_connections": stalled}


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when all three are fine, else 503; the body says which part is down."""
    report = {"database": check_database(), "broker": check_broker(), "workers": check_workers()}
    if report["database"]["ok"]:
        report["engine"] = check_engine()
    healthy = all(part["ok"] for part in report.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", **report}, status=200 if healthy else 503
    )
