"""The sync log's knobs, read lazily from Django settings (allauth's app_settings shape)."""

from django.conf import settings


class SyncLogSettings:
    """Each property reads its setting when asked, so tests can override settings."""

    def _get(self, name: str, default):
        return getattr(settings, name, default)

    @property
    def RETENTION_DAYS(self) -> int:
        """Log entries and run summaries older than this are removed nightly."""
        return int(self._get("ORGSYNC_LOG_RETENTION_DAYS", 90))

    @property
    def ALERT_EMAILS(self) -> list[str]:
        """Addresses that get every alert, besides the Org Sync Administrators with an email."""
        return list(self._get("ORGSYNC_ALERT_EMAILS", []))

    @property
    def ALERT_FAILURE_THRESHOLD(self) -> int:
        """An alert goes out when a connection has *more than* this many failures in the window."""
        return int(self._get("ORGSYNC_ALERT_FAILURE_THRESHOLD", 10))

    @property
    def ALERT_FAILURE_WINDOW_HOURS(self) -> int:
        return int(self._get("ORGSYNC_ALERT_FAILURE_WINDOW_HOURS", 24))

    @property
    def ALERT_QUEUE_REPORT_HOURS(self) -> int:
        """While a connection stays suspended, its queue size is mailed this often (twice a day)."""
        return int(self._get("ORGSYNC_ALERT_QUEUE_REPORT_HOURS", 12))

    @property
    def CONSOLE_URL(self) -> str:
        """The console's address in alert links (e.g. https://sync.acme.com); empty: paths only."""
        return str(self._get("ORGSYNC_CONSOLE_URL", ""))

    @property
    def METRICS_TOKEN(self) -> str:
        """Bearer token of /metrics; empty: the endpoint answers 404."""
        return str(self._get("ORGSYNC_METRICS_TOKEN", ""))


app_settings = SyncLogSettings()
