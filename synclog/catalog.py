"""Salesforce error codes in plain words, with the fix: what the log's entry page shows.

Explanations speak about fields and settings, never about a record's values (the log has none).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Explanation:
    code: str
    title: str
    meaning: str
    fix: str
    retried_automatically: bool = False


_ENTRIES = (
    Explanation(
        "INVALID_CROSS_REFERENCE_KEY",
        "A reference points to a record the target org does not have",
        "A lookup or owner Id in the payload does not exist in the target org. Most often the owner: "
        "user Ids differ between orgs, so Pass Through only works when the same user Id exists on "
        "both sides. It can also be a parent record that was deleted in the target.",
        "Use the owner strategy Match by username, Fixed or Round robin and pick real target-org "
        "users; make sure the parent object is published and subscribed so parents travel first. "
        "Then retry the entry.",
    ),
    Explanation(
        "REQUIRED_FIELD_MISSING",
        "The target object requires a field the mapping does not fill",
        "The target org marks a field as required (on the field or in the page's data rules), and "
        "the subscription maps nothing into it, or the source record leaves it blank.",
        "Map a source field into it in the subscription, or give the field a default value in the "
        "target org. The field names are in the entry's Fields. Then retry.",
    ),
    Explanation(
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        "A mapped field cannot be written in the target org",
        "The field is read-only there: a formula, an auto-number, a system field, or a compound "
        "field such as Name on Contact (built from FirstName and LastName), or the integration "
        "user lacks edit access to it.",
        "Remove the field from the mapping (map FirstName and LastName instead of Contact Name), "
        "or grant the integration user field-level edit access. Then retry.",
    ),
    Explanation(
        "MALFORMED_QUERY",
        "orgsync's query of the source org was refused",
        "The source org could not run the SOQL that reads the record, usually because the "
        "subscription maps no fields, or a published field no longer exists in the source.",
        "Open the subscription, map at least one field and run the analyzer; unpublish fields that "
        "were deleted in the source. Then retry.",
    ),
    Explanation(
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "A validation rule in the target org rejected the record",
        "The target object has a validation rule the incoming record does not satisfy. The "
        "message is the rule's own error text.",
        "Review the validation rules of the target object: fix the source record, relax the rule "
        "for the integration user, or add a publication filter that leaves such records out. "
        "Then retry.",
    ),
    Explanation(
        "STRING_TOO_LONG",
        "A text value is longer than the target field allows",
        "A mapped source field is longer than its target field (the message names the maximum).",
        "Lengthen the target field, or map into a longer field; the mapping analyzer flags such "
        "pairs. Then retry.",
    ),
    Explanation(
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "A picklist value does not exist in the target org",
        "The target field is a restricted picklist and the incoming value is not one of its "
        "values (or is blank where a value is needed).",
        "Add the missing values to the target picklist (the analyzer lists them), or make it "
        "unrestricted. Then retry.",
    ),
    Explanation(
        "DUPLICATE_VALUE",
        "A unique field already holds this value in another target record",
        "A field marked unique (or an external Id) in the target org has the same value on "
        "another record, often one created there by hand before the sync.",
        "Merge or delete the duplicate in the target org, or stop mapping into the unique field. "
        "The message names the record the value collides with. Then retry.",
    ),
    Explanation(
        "UNABLE_TO_LOCK_ROW",
        "The target record was locked by another process",
        "Another transaction (a user, a trigger, a data load) held the record or its parent at the "
        "same moment. This is temporary.",
        "Nothing, usually: orgsync retries it with a growing delay. If it keeps failing, look for "
        "long-running jobs touching the same parent records.",
        retried_automatically=True,
    ),
    Explanation(
        "REQUEST_LIMIT_EXCEEDED",
        "The org has used up its daily API requests",
        "Salesforce refuses API calls until the rolling 24-hour request count drops below the "
        "org's limit. orgsync suspends the connection automatically and resumes it when the org "
        "answers again.",
        "Wait, or raise the org's API limit; look at the dashboard's API usage to find what is "
        "spending requests. Retry once the connection is active again.",
        retried_automatically=True,
    ),
    Explanation(
        "ENTITY_IS_DELETED",
        "The target record is in the recycle bin",
        "The linked record was deleted in the target org. An update re-creates it; a delete of an "
        "already deleted record counts as done.",
        "Undelete it in the target org if it was deleted by mistake, or retry to let orgsync "
        "re-create it from the source.",
    ),
    Explanation(
        "INVALID_SESSION_ID",
        "The org refused orgsync's session",
        "The access token expired or was revoked, and refreshing it failed: the refresh token was "
        "revoked, the connected app changed, or the integration user was frozen or lost API access.",
        "Open the org in Orgs and press Reconnect (or test it). Then retry.",
        retried_automatically=True,
    ),
    # orgsync's own codes (docs/engine.md, "The integrity rules")
    Explanation(
        "SYNC_CONFLICT",
        "The record changed in both orgs since it was last synced",
        "Both orgs changed the same record between two syncs, or the target changed after orgsync "
        "read the source. The connection's conflict policy decided which change won (Resolved), "
        "or held both changes for review (Failed, the queue items are Held).",
        "Nothing to do for a decided conflict: the winner's values are in both orgs. For a held "
        "one, make the record right in the org whose values should win, then retry the entry.",
    ),
    Explanation(
        "ORIGIN_NOT_FOUND",
        "A copy orgsync made has lost its original",
        "The record carries an origin Id in OrgSync_Source_Id__c (orgsync copied it from the other "
        "org), but that origin exists nowhere in the other org, not even in its recycle bin. "
        "orgsync never copies a copy back, so the record stays where it is.",
        "Delete the copy if its origin was deleted on purpose; or clear its OrgSync_Source_Id__c "
        "to make it a record of its own, which then syncs as a new record.",
    ),
    Explanation(
        "DUPLICATE_COPY",
        "Two records claim to be the copy of one origin",
        "The record carries an origin Id in OrgSync_Source_Id__c that another record of the same "
        "org already stands for: one of them is a duplicate (left by an earlier version, a data "
        "load or a manual copy).",
        "Delete the duplicate, then run manage.py rebuild_links for the connection and retry.",
    ),
    Explanation(
        "LINK_CONFLICT",
        "The record's link conflicts with another record's link",
        "orgsync keeps a link between each record and its copy. Saving this one would make two "
        "records share one copy, so it was refused and the record was not recorded as synced.",
        "Run manage.py rebuild_links for the connection (it rebuilds every link from the "
        "OrgSync_Source_Id__c both orgs hold and lists duplicates), then retry the entry.",
    ),
    Explanation(
        "CYCLE_FAILED",
        "The connection's sync cycle failed",
        "A whole sync cycle of the connection ended in an exception: the message names it and "
        "where it was raised. One entry stands for the connection's failing cycles; after three "
        "in a row the connection is stalled: /healthz, the dashboard and /metrics say so and an "
        "alert goes out. It turns Resolved when a cycle finishes again.",
        "Read the message: an org that cannot be reached or a database outage usually passes by "
        "itself; otherwise report it with the worker log's traceback.",
        retried_automatically=True,
    ),
    Explanation(
        "IGNORED",
        "Ignored by an operator",
        "Someone chose Ignore on the record's queue item: the change was not sent and the item "
        "left the queue. The entry says who and when, and the last error before it.",
        "Nothing, unless it was a mistake: the record is queued again the next time it changes "
        "in the source org, or forward it now (manage.py forward).",
    ),
    # why a connection is stalled (synclog/liveness.py), besides CYCLE_FAILED
    Explanation(
        "NO_SYNC_CYCLE",
        "No sync cycle of the connection ran lately",
        "No cycle of the connection finished for 18 poll intervals (at least three minutes). "
        "Cycles run from the django-q2 schedule “orgsync engine” every minute: no worker cluster is "
        "taking that task (clusters stopped, the broker unreachable, a cluster that stopped picking "
        "up work), or one cycle hangs. Nothing syncs meanwhile; changes wait in the orgs.",
        "Look at /healthz's workers and broker parts and at the worker log; start or restart the "
        "worker clusters (manage.py qcluster) and check that the schedule “orgsync engine” exists "
        "in Django Q's scheduled tasks. The connection catches up by itself once cycles run.",
        retried_automatically=True,
    ),
    Explanation(
        "QUEUE_STUCK",
        "Records wait in the queue and nothing is written",
        "Records have been ready in the connection's record queue for more than three poll "
        "intervals and no apply run wrote anything since they were queued: a cycle hangs on a "
        "slow org while holding the connection's lease, apply stops before it writes, or every "
        "record it sends fails.",
        "Open the connection's runs (the latest apply runs, their outcome and error) and its "
        "Failed sync log entries, and the worker log for a cycle that hangs. A hung worker's "
        "lease lapses within 30 seconds once it is stopped: restart it.",
    ),
    Explanation(
        "FILE_TOO_LARGE",
        "A file or attachment is over the size limit and was not synced",
        "With Sync Feeds on, a record's files and attachments follow it, up to "
        "ORGSYNC_FILE_SIZE_LIMIT_MB (38 MB by default, Organization Sync's limit). This one is "
        "larger, so it stays in its own org, and so does a file post that carries it.",
        "Raise ORGSYNC_FILE_SIZE_LIMIT_MB (the Salesforce limit for a file is 2 GB) and change the "
        "file (a new version) so it is looked at again; or share the file another way.",
    ),
    Explanation(
        "ORGSYNC_ERROR",
        "orgsync failed on this record",
        "Something orgsync did not expect happened while it handled this record; the message "
        "names the kind of error. The other records of the batch went on.",
        "orgsync retries it with backoff. If it keeps failing, report it with the message; the "
        "worker log has the traceback.",
        retried_automatically=True,
    ),
)

CATALOG: dict[str, Explanation] = {e.code: e for e in _ENTRIES}

GENERIC = Explanation(
    "",
    "Salesforce refused the record",
    "The target org answered with an error this catalog does not describe yet. The code and the "
    "message come from Salesforce as they were (without record values).",
    "Look the code up in Salesforce's API error reference, fix the cause in the org or in the "
    "mapping, then retry the entry.",
)


def explain(code: str) -> Explanation:
    """The explanation of `code`, or the generic one."""
    return CATALOG.get(code.strip().upper(), GENERIC)
