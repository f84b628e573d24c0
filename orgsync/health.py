"""`/healthz`: is the database reachable, the broker answering, a worker cluster alive?"""

import logging

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_q.brokers import get_broker

from orgsync.clusters import cluster_states
from synclog.liveness import stalls

logger = logging.getLogger(__name__)


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
    """Worker clusters as their heartbeats in the database tell it (`orgsync.clusters`): at
    least one must be live, and none stalled. A lost cluster (killed outright) is listed; it
    fails the check only when no other cluster is live."""
    try:
        states = cluster_states()
    except Exception as exc:
        return {"ok": False, "clusters": 0, "workers": 0, "error": exc.__class__.__name__}
    live = [s for s in states if s.state != "lost"]
    stalled = [s.as_dict() for s in states if s.state == "stalled"]
    return {
        "ok": bool(live) and not stalled,
        "clusters": len(live),
        "workers": sum(s.workers for s in live),
        "stalled_clusters": stalled,
        "lost_clusters": [s.as_dict() for s in states if s.state == "lost"],
    }


def check_engine() -> dict:
    """Stalled connections (`synclog/liveness.py`): no cycle finished for a long while (a cluster
    that stopped picking up work: django-q2 issue #23), cycles failing in a row, or records
    waiting with nothing written. Each with its reason, last error, since when, and the error
    catalogue's explanation and fix."""
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
