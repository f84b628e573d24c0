"""``GET /limits`` body shaped like a real Developer Edition answer
(REC:mohan-chinnappan-cli-dx/limits_v50.json), with live API usage and data storage."""

from __future__ import annotations

import math
from typing import Any

DAILY_API = {
    "Developer Edition": 15_000,
    "Professional Edition": 15_000,
    "Enterprise Edition": 100_000,
    "Unlimited Edition": 100_000,
    "Performance Edition": 100_000,
}
SANDBOX_DAILY_API = 5_000_000
DATA_STORAGE_MB = {"Developer Edition": 5}
# Editions whose orgs are cut off at the daily limit (paid production orgs get an overage).
HARD_LIMIT_EDITIONS = frozenset({"Developer Edition", "Trial"})

_STATIC: tuple[tuple[str, int], ...] = (
    ("AnalyticsExternalDataSizeMB", 40960),
    ("BOZosCalloutHourlyLimit", 20000),
    ("ConcurrentAsyncGetReportInstances", 200),
    ("ConcurrentEinsteinDataInsightsStoryCreation", 5),
    ("ConcurrentEinsteinDiscoveryStoryCreation", 2),
    ("ConcurrentSyncReportRuns", 20),
    ("DailyAnalyticsDataflowJobExecutions", 60),
    ("DailyAnalyticsUploadedFilesSizeMB", 51200),
    ("DailyApiRequests", 0),
    ("DailyAsyncApexExecutions", 250000),
    ("DailyBulkApiBatches", 15000),
    ("DailyBulkV2QueryFileStorageMB", 976562),
    ("DailyBulkV2QueryJobs", 10000),
    ("DailyDurableGenericStreamingApiEvents", 10000),
    ("DailyDurableStreamingApiEvents", 10000),
    ("DailyEinsteinDataInsightsStoryCreation", 1000),
    ("DailyEinsteinDiscoveryPredictAPICalls", 50000),
    ("DailyEinsteinDiscoveryPredictionsByCDC", 500000),
    ("DailyEinsteinDiscoveryStoryCreation", 100),
    ("DailyGenericStreamingApiEvents", 10000),
    ("DailyManagedContentPublicRequests", 50000),
    ("DailyStandardVolumePlatformEvents", 10000),
    ("DailyStreamingApiEvents", 10000),
    ("DailyWorkflowEmails", 405),
    ("DataStorageMB", 0),
    ("DurableStreamingApiConcurrentClients", 20),
    ("FileStorageMB", 20),
    ("HourlyAsyncReportRuns", 1200),
    ("HourlyDashboardRefreshes", 200),
    ("HourlyDashboardResults", 5000),
    ("HourlyDashboardStatuses", 999999999),
    ("HourlyLongTermIdMapping", 100000),
    ("HourlyODataCallout", 1000),
    ("HourlyPublishedPlatformEvents", 50000),
    ("HourlyPublishedStandardVolumePlatformEvents", 1000),
    ("HourlyShortTermIdMapping", 100000),
    ("HourlySyncReportRuns", 500),
    ("HourlyTimeBasedWorkflow", 50),
    ("MassEmail", 10),
    ("MonthlyEinsteinDiscoveryStoryCreation", 500),
    ("MonthlyPlatformEventsUsageEntitlement", 0),
    ("Package2VersionCreates", 6),
    ("Package2VersionCreatesWithoutValidation", 500),
    ("PermissionSets", 1500),
    ("PrivateConnectOutboundCalloutHourlyLimitMB", 0),
    ("SingleEmail", 15),
    ("StreamingApiConcurrentClients", 20),
)


def daily_api_max(edition: str, sandbox: bool) -> int:
    if sandbox:
        return SANDBOX_DAILY_API
    return DAILY_API.get(edition, 100_000)


def limits_body(
    *,
    api_max: int,
    api_used: int,
    edition: str,
    record_count: int,
    bulk_batches_used: int = 0,
    bulk_query_jobs_used: int = 0,
) -> dict[str, Any]:
    """The limits JSON; data storage counts 2 KB per record like Salesforce."""
    storage_max = DATA_STORAGE_MB.get(edition, 10240)
    storage_used = math.ceil(record_count * 2 / 1024)
    body: dict[str, Any] = {}
    for name, max_value in _STATIC:
        body[name] = {"Max": max_value, "Remaining": max_value}
    body["DailyApiRequests"] = {"Max": api_max, "Remaining": api_max - api_used}
    body["DataStorageMB"] = {"Max": storage_max, "Remaining": storage_max - storage_used}
    body["DailyBulkApiBatches"]["Remaining"] -= bulk_batches_used
    body["DailyBulkV2QueryJobs"]["Remaining"] -= bulk_query_jobs_used
    body["PermissionSets"]["CreateCustom"] = {"Max": 1000, "Remaining": 1000}
    return body
