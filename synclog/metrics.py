"""GET /metrics: Prometheus text exposition (format 0.0.4), written by hand.

The numbers are read from the database at scrape time (synclog.selectors), so every web worker
answers the same: no process-local registry to keep in step, hence no client library.
Behind a bearer token from ORGSYNC_METRICS_TOKEN; unset, the endpoint does not exist (404).
"""

import hmac
from collections.abc import Iterable, Iterator, Mapping, Sequence

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from connections.models import Connection
from orgsync.clusters import ClusterState, cluster_states
from synclog.conf import app_settings
from synclog.liveness import Stall, failed_cycles, stalls
from synclog.selectors import ConnectionStats, OrgUsage, connection_stats, org_usage

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
Sample = tuple[dict[str, str], float]
CLUSTER_STATES = ("live", "stalled", "lost")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def family(name: str, kind: str, help_text: str, samples: Iterable[Sample]) -> Iterator[str]:
    yield f"# HELP {name} {help_text}"
    yield f"# TYPE {name} {kind}"
    for labels, value in samples:
        rendered = ",".join(f'{k}="{_escape(str(v))}"' for k, v in labels.items())
        yield f"{name}{{{rendered}}} {_number(value)}" if rendered else f"{name} {_number(value)}"


def exposition(
    stats: list[ConnectionStats],
    orgs: list[OrgUsage],
    stalled: Sequence[Stall] = (),
    failed: Mapping[int, int] | None = None,
    clusters: Sequence[ClusterState] = (),
) -> str:
    """The text of /metrics. `stalled`: the stalled connections; `failed`: failed cycles in a
    row per connection id (synclog.liveness's `stalls` and `failed_cycles`); `clusters`: the
    worker clusters (orgsync.clusters's `cluster_states`, newest first)."""
    failed = failed or {}
    per_cluster = _one_per_name(clusters)

    def conn(s: ConnectionStats) -> dict[str, str]:
        return {"connection": s.connection.name}

    active = [s for s in stats if s.connection.status == Connection.Status.ACTIVE]
    stalled_names = {stall.connection for stall in stalled}

    lines = [
        *family(
            "orgsync_connection_status",
            "gauge",
            "1 for the connection's current status.",
            ((conn(s) | {"status": s.connection.status}, 1) for s in stats),
        ),
        *family(
            "orgsync_connection_stalled",
            "gauge",
            "1 when the active connection is stalled (reason in orgsync_connection_stall_info), else 0.",
            ((conn(s), 1 if s.connection.name in stalled_names else 0) for s in active),
        ),
        *family(
            "orgsync_connection_stall_info",
            "gauge",
            "1 per stalled connection, with why: no_cycle, failing_cycles or records_waiting.",
            (({"connection": stall.connection, "reason": str(stall.kind or "")}, 1) for stall in stalled),
        ),
        *family(
            "orgsync_connection_failed_cycles",
            "gauge",
            "Sync cycles in a row that ended in an exception (0 after one that finished).",
            ((conn(s), failed.get(s.connection.pk, 0)) for s in stats),
        ),
        *family(
            "orgsync_worker_clusters",
            "gauge",
            "Worker clusters (manage.py runworkers) by state: live, stalled, or lost within the hour.",
            (({"state": state}, sum(c.state == state for c in clusters)) for state in CLUSTER_STATES),
        ),
        *family(
            "orgsync_worker_cluster_up",
            "gauge",
            "1 when the worker cluster is live, 0 when it is stalled or lost.",
            (({"cluster": c.name}, 1 if c.state == "live" else 0) for c in per_cluster),
        ),
        *family(
            "orgsync_worker_cluster_restarts",
            "counter",
            "Restarts of the worker cluster's processes by its watchdog (a stall or a dead sentinel).",
            (({"cluster": c.name}, c.restarts) for c in per_cluster),
        ),
        *family(
            "orgsync_worker_cluster_queued",
            "gauge",
            "Tasks waiting for the worker cluster, as of its last heartbeat.",
            (({"cluster": c.name}, c.queued) for c in per_cluster),
        ),
        *family(
            "orgsync_queue_items",
            "gauge",
            "Pending record queue items by action and status.",
            (
                (conn(s) | {"action": cell.action, "status": cell.status}, cell.count)
                for s in stats
                for cell in s.queue
            ),
        ),
        *family(
            "orgsync_queue_depth",
            "gauge",
            "Pending record queue items.",
            ((conn(s), s.queue_depth) for s in stats),
        ),
        *family(
            "orgsync_queue_oldest_item_age_seconds",
            "gauge",
            "Age of the oldest pending queue item (0 when empty).",
            ((conn(s), s.oldest_item_age or 0) for s in stats),
        ),
        *family(
            "orgsync_lag_seconds",
            "gauge",
            "Larger of the oldest item age and the time since the last capture (absent before one).",
            ((conn(s), s.lag_seconds) for s in stats if s.lag_seconds is not None),
        ),
        *family(
            "orgsync_records_succeeded_24h",
            "gauge",
            "Records written by apply and bulk runs that started in the last 24 hours.",
            ((conn(s), s.succeeded_24h) for s in stats),
        ),
        *family(
            "orgsync_records_failed_24h",
            "gauge",
            "Records that failed for good in apply and bulk runs of the last 24 hours.",
            ((conn(s), s.failed_24h) for s in stats),
        ),
        *family(
            "orgsync_success_ratio_24h",
            "gauge",
            "succeeded / (succeeded + failed) over 24 hours, a retried success counting once.",
            ((conn(s), s.success.rate) for s in stats if s.success.rate is not None),
        ),
        *family(
            "orgsync_files_sent_24h",
            "gauge",
            "File and attachment bodies Sync Feeds sent in the runs of the last 24 hours.",
            ((conn(s), s.files.files) for s in stats),
        ),
        *family(
            "orgsync_file_bytes_sent_24h",
            "gauge",
            "Bytes of those files.",
            ((conn(s), s.files.bytes) for s in stats),
        ),
        *family(
            "orgsync_reconcile_differences",
            "gauge",
            "Differences the latest completed reconcile found, by class (absent before one completed).",
            (
                (conn(s) | {"class": kind}, n)
                for s in stats
                if s.drift is not None
                for kind, n in s.drift.by_class.items()
            ),
        ),
        *family(
            "orgsync_reconcile_last_run_timestamp_seconds",
            "gauge",
            "Unix time the latest completed reconcile finished (absent before one completed).",
            (
                (conn(s), s.drift.finished_at.timestamp())
                for s in stats
                if s.drift is not None and s.drift.finished_at is not None
            ),
        ),
        *family(
            "orgsync_org_api_requests_used",
            "gauge",
            "API requests the org used in the last 24 hours, as last measured.",
            (({"org": o.org.label, "org_id": o.org.org_id}, o.used) for o in orgs if o.used is not None),
        ),
        *family(
            "orgsync_org_api_requests_limit",
            "gauge",
            "The org's daily API request limit.",
            (({"org": o.org.label, "org_id": o.org.org_id}, o.limit) for o in orgs if o.limit is not None),
        ),
    ]
    return "\n".join(lines) + "\n"


def _one_per_name(clusters: Sequence[ClusterState]) -> list[ClusterState]:
    """A restarted container may come back with the same host name and pid as the cluster it
    replaced, lost: one series per name, the newest cluster's (the list comes newest first)."""
    seen: dict[str, ClusterState] = {}
    for cluster in clusters:
        seen.setdefault(cluster.name, cluster)
    return list(seen.values())


def _authorized(request: HttpRequest, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    token = app_settings.METRICS_TOKEN
    if not token:
        raise Http404("Metrics are off: set ORGSYNC_METRICS_TOKEN.")
    if not _authorized(request, token):
        response = HttpResponse("A bearer token is required.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="orgsync metrics"'
        return response
    text = exposition(connection_stats(), org_usage(), stalls(), failed_cycles(), cluster_states())
    return HttpResponse(text, content_type=CONTENT_TYPE)
