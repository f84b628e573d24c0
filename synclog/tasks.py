"""django-q2 doors (scheduled by migration 0005); each is safe to run twice."""

from synclog.alerts import alerts_send_due as _alerts_send_due
from synclog.conf import app_settings
from synclog.services import sync_log_purge as _sync_log_purge


def alerts_send_due() -> int:
    """Every five minutes: mail the alerts that are due; returns how many went out."""
    return len(_alerts_send_due())


def sync_log_purge() -> dict:
    """Nightly: remove log entries, runs and alert memory older than the retention."""
    result = _sync_log_purge(older_than_days=app_settings.RETENTION_DAYS)
    return {"entries": result.entries, "runs": result.runs, "alerts": result.alerts}
