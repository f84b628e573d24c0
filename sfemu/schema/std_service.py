"""Standard service/activity objects: Case, CaseComment, Task, Attachment, EmailMessage, Topic."""

from __future__ import annotations

from sfemu.schema.spec import (
    ObjectSpec,
    audit_fields,
    f_bool,
    f_date,
    f_datetime,
    f_deleted,
    f_email,
    f_id,
    f_int,
    f_phone,
    f_pick,
    f_ref,
    f_text,
    f_textarea,
    master_record,
    owner,
    pick,
    readonly,
    record_type_field,
    viewed_fields,
)

CASE_STATUS = pick("New", "Working", "Escalated", "Closed", default="New")
CLOSED_CASE_STATUSES = frozenset({"Closed"})
TASK_STATUS = pick(
    "Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred", default="Not Started"
)
CLOSED_TASK_STATUSES = frozenset({"Completed"})

# WhatId / ParentId targets; custom objects are appended by the org schema.
WHAT_TARGETS = ("Account", "Case", "Opportunity", "Product2")

CASE = ObjectSpec(
    "Case",
    "Case",
    "Cases",
    "500",
    feed_enabled=True,
    supported_scopes=(
        ("everything", "All cases"),
        ("mine", "My cases"),
        ("queue_owned", "My queues' cases"),
        ("team", "My team's cases"),
    ),
    extra_urls=(
        ("caseArticleSuggestions", "/suggestedArticles"),
        ("caseRowArticleSuggestions", "/{ID}/suggestedArticles"),
    ),
    fields=[
        f_id("Case ID"),
        f_deleted(),
        master_record("Case"),
        readonly(
            f_text(
                "CaseNumber",
                "Case Number",
                30,
                nillable=False,
                defaulted_on_create=True,
                auto_number=True,
                auto_number_format="{00000000}",
                id_lookup=True,
                name_field=True,
            )
        ),
        f_ref(
            "ContactId",
            "Contact ID",
            "Contact",
            "Contact",
            restricted_delete=True,
            child_relationship="Cases",
        ),
        f_ref(
            "AccountId",
            "Account ID",
            "Account",
            "Account",
            restricted_delete=True,
            child_relationship="Cases",
        ),
        f_ref("ParentId", "Parent Case ID", "Case", "Parent", child_relationship="Cases"),
        f_text("SuppliedName", "Name", 80),
        f_email("SuppliedEmail", "Email"),
        f_text("SuppliedPhone", "Phone", 40),
        f_text("SuppliedCompany", "Company", 80),
        f_pick("Type", "Case Type", pick("Mechanical", "Electrical", "Electronic", "Structural", "Other")),
        record_type_field(),
        f_pick("Status", "Status", CASE_STATUS, defaulted_on_create=True, permissionable=False),
        f_pick(
            "Reason",
            "Case Reason",
            pick(
                "Installation",
                "Equipment Complexity",
                "Performance",
                "Breakdown",
                "Equipment Design",
                "Feedback",
                "Other",
            ),
        ),
        f_pick("Origin", "Case Origin", pick("Phone", "Email", "Web")),
        f_text("Subject", "Subject", 255),
        f_pick(
            "Priority", "Priority", pick("High", "Medium", "Low", default="Medium"), defaulted_on_create=True
        ),
        f_textarea("Description", "Description"),
        readonly(f_bool("IsClosed", "Closed")),
        readonly(f_datetime("ClosedDate", "Closed Date")),
        f_bool("IsEscalated", "Escalated"),
        owner(to=("Group", "User")),
        readonly(f_bool("IsClosedOnCreate", "Closed When Created")),
        *audit_fields(),
        readonly(f_phone("ContactPhone", "Contact Phone")),
        readonly(f_phone("ContactMobile", "Contact Mobile")),
        readonly(f_email("ContactEmail", "Contact Email")),
        readonly(f_phone("ContactFax", "Contact Fax")),
        f_textarea("Comments", "Internal Comments", 4000, filterable=False, sortable=False),
        *viewed_fields(),
    ],
)

CASE_COMMENT = ObjectSpec(
    "CaseComment",
    "Case Comment",
    "Case Comments",
    "00a",
    layoutable=False,
    searchable=False,
    mru_enabled=False,
    compact_layoutable=False,
    search_layoutable=False,
    undeletable=False,
    supported_scopes=(),
    describe_urls="minimal",
    fields=[
        f_id("Case Comment ID"),
        f_ref(
            "ParentId",
            "Parent Case ID",
            "Case",
            "Parent",
            nillable=False,
            updateable=False,
            cascade_delete=True,
            child_relationship="CaseComments",
        ),
        f_bool("IsPublished", "Published"),
        f_textarea("CommentBody", "Body", 4000),
        audit_fields()[1],
        audit_fields()[0],
        audit_fields()[4],
        audit_fields()[2],
        audit_fields()[3],
        f_deleted(),
    ],
)

TASK = ObjectSpec(
    "Task",
    "Task",
    "Tasks",
    "00T",
    feed_enabled=True,
    mru_enabled=False,
    supported_scopes=(
        ("delegated", "My delegated activities"),
        ("everything", "All activities"),
        ("mine", "My activities"),
        ("team", "My team's activities"),
    ),
    fields=[
        f_id("Activity ID"),
        record_type_field(),
        f_ref(
            "WhoId",
            "Name ID",
            ("Contact", "Lead"),
            "Who",
            cascade_delete=True,
            name_pointing=True,
            child_relationship="Tasks",
        ),
        f_ref(
            "WhatId",
            "Related To ID",
            WHAT_TARGETS,
            "What",
            cascade_delete=True,
            name_pointing=True,
            role="what",
            child_relationship="Tasks",
        ),
        f_pick(
            "Subject",
            "Subject",
            pick("Call", "Send Letter", "Send Quote", "Other"),
            length=255,
            name_field=True,
        ).with_(type="combobox"),
        f_date("ActivityDate", "Due Date Only"),
        f_pick(
            "Status", "Status", TASK_STATUS, nillable=False, defaulted_on_create=True, permissionable=False
        ),
        f_pick(
            "Priority",
            "Priority",
            pick("High", "Normal", "Low", default="Normal"),
            nillable=False,
            defaulted_on_create=True,
            permissionable=False,
        ),
        readonly(f_bool("IsHighPriority", "High Priority")),
        owner("Assigned To ID", ("Group", "User")),
        f_textarea("Description", "Description"),
        f_deleted(),
        readonly(f_ref("AccountId", "Account ID", "Account", "Account")),
        readonly(f_bool("IsClosed", "Closed")),
        *audit_fields(),
        readonly(f_bool("IsArchived", "Archived")),
        f_int("CallDurationInSeconds", "Call Duration", digits=8),
        f_pick("CallType", "Call Type", pick("Internal", "Inbound", "Outbound")),
        f_text("CallDisposition", "Call Result", 255),
        f_text("CallObject", "Call Object Identifier", 255),
        f_datetime("ReminderDateTime", "Reminder Date/Time"),
        f_bool("IsReminderSet", "Reminder Set"),
        f_pick(
            "TaskSubtype",
            "Task Subtype",
            pick("Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn"),
            updateable=False,
            restricted_picklist=True,
        ),
        readonly(f_datetime("CompletedDateTime", "Completed Date/Time")),
    ],
)

ATTACHMENT = ObjectSpec(
    "Attachment",
    "Attachment",
    "Attachments",
    "00P",
    layoutable=False,
    mru_enabled=False,
    searchable=False,
    compact_layoutable=False,
    search_layoutable=False,
    supported_scopes=(),
    undeletable=True,
    describe_urls="minimal",
    fields=[
        f_id("Attachment ID"),
        f_deleted(),
        f_ref(
            "ParentId",
            "Parent ID",
            (*WHAT_TARGETS, "Contact", "Lead", "EmailMessage", "Task"),
            "Parent",
            nillable=False,
            updateable=False,
            cascade_delete=True,
            role="what",
            child_relationship="Attachments",
        ),
        f_text("Name", "File Name", 255, nillable=False, name_field=True),
        f_bool("IsPrivate", "Private"),
        f_text("ContentType", "Content Type", 120),
        readonly(f_int("BodyLength", "Body Length", digits=18)),
        f_text("Body", "Body", 0, nillable=False, role="blob").with_(type="base64"),
        owner(),
        *audit_fields(),
        f_textarea("Description", "Description", 500, extra_type_info=None),
    ],
)

EMAIL_STATUS = (
    ("0", "New"),
    ("1", "Read"),
    ("2", "Replied"),
    ("3", "Sent"),
    ("4", "Forwarded"),
    ("5", "Draft"),
)


def _email_status() -> object:
    from sfemu.schema.spec import PicklistValue

    values = tuple(PicklistValue(v, label, default=(v == "0")) for v, label in EMAIL_STATUS)
    return f_pick(
        "Status", "Status", values, nillable=False, defaulted_on_create=True, restricted_picklist=True
    )


EMAIL_MESSAGE = ObjectSpec(
    "EmailMessage",
    "Email Message",
    "Email Messages",
    "02s",
    mru_enabled=False,
    supported_scopes=(("everything", "All email messages"),),
    describe_urls="minimal",
    fields=[
        f_id("Email Message ID"),
        f_ref(
            "ParentId", "Case ID", "Case", "Parent", cascade_delete=True, child_relationship="EmailMessages"
        ),
        readonly(f_ref("ActivityId", "Activity ID", "Task", "Activity")),
        audit_fields()[1],
        audit_fields()[0],
        audit_fields()[3],
        audit_fields()[2],
        audit_fields()[4],
        f_textarea("TextBody", "Text Body", 131072),
        f_textarea("HtmlBody", "HTML Body", 131072, html_formatted=True, extra_type_info="richtextarea"),
        f_textarea("Headers", "Headers", 32000),
        f_text("Subject", "Subject", 3000, name_field=True),
        f_text("FromName", "From Name", 1000),
        f_email("FromAddress", "From Address", length=255),
        f_text("ToAddress", "To Address", 4000),
        f_text("CcAddress", "CC Address", 4000),
        f_text("BccAddress", "BCC Address", 4000),
        f_bool("Incoming", "Is Incoming"),
        readonly(f_bool("HasAttachment", "Has Attachment")),
        _email_status(),
        f_datetime("MessageDate", "Message Date"),
        f_deleted(),
        f_ref("ReplyToEmailMessageId", "Email Message ID", "EmailMessage", "ReplyToEmailMessage"),
        f_bool("IsExternallyVisible", "Is Externally Visible"),
        f_text("MessageIdentifier", "Message ID", 255),
        f_text("ThreadIdentifier", "Thread ID", 255),
        f_bool("IsClientManaged", "Is Client Managed", updateable=False),
        f_ref(
            "RelatedToId",
            "Related To ID",
            WHAT_TARGETS,
            "RelatedTo",
            role="what",
            child_relationship="Emails",
        ),
        readonly(f_bool("IsTracked", "Is Tracked")),
        readonly(f_bool("IsOpened", "Opened")),
        readonly(f_datetime("FirstOpenedDate", "First Opened")),
        readonly(f_datetime("LastOpenedDate", "Last Opened")),
        readonly(f_bool("IsBounced", "Is Bounced")),
    ],
)

# Topic (Chatter topics, prefix 0TO, REF §4.2): no owner, no last-modified audit fields, no IsDeleted.
TOPIC = ObjectSpec(
    "Topic",
    "Topic",
    "Topics",
    "0TO",
    layoutable=False,
    mru_enabled=False,
    undeletable=False,
    compact_layoutable=False,
    search_layoutable=False,
    supported_scopes=(),
    describe_urls="minimal",
    fields=[
        f_id("Topic ID"),
        f_text("Name", "Name", 99, nillable=False, name_field=True),
        f_textarea("Description", "Description", 1000),
        audit_fields()[0],
        audit_fields()[1],
        readonly(f_int("TalkingAbout", "Talking About")),
        audit_fields()[4],
    ],
)

SERVICE_OBJECTS = [CASE, CASE_COMMENT, TASK, ATTACHMENT, EMAIL_MESSAGE, TOPIC]
