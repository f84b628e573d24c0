"""Standard file and feed objects: ContentVersion, ContentDocument, ContentDocumentLink,
FeedItem, FeedComment (what feed and file sync reads and writes).

Lookups, cascade flags and child relationships follow a real Account describe
(REC:cumulusci/GET_sobjects_Account_describe.yaml): ``FeedItem.ParentId`` and
``ContentDocumentLink.LinkedEntityId`` cascade, ``ContentVersion.FirstPublishLocationId`` and
``FeedComment.ParentId`` do not, and only the link has a relationship name (``ContentDocumentLinks``).
"""

from __future__ import annotations

from sfemu.schema.spec import (
    ObjectSpec,
    audit_fields,
    f_bool,
    f_datetime,
    f_deleted,
    f_id,
    f_int,
    f_pick,
    f_ref,
    f_text,
    f_textarea,
    f_url,
    owner,
    pick,
    readonly,
    viewed_fields,
)
from sfemu.schema.std_service import WHAT_TARGETS

# Records files and feeds hang off; custom objects are appended by the org schema.
RECORD_TARGETS = (*WHAT_TARGETS, "Contact", "Lead")
FEED_TYPES = pick("TextPost", "LinkPost", "ContentPost")
_MINIMAL = {
    "layoutable": False,
    "mru_enabled": False,
    "searchable": False,
    "compact_layoutable": False,
    "search_layoutable": False,
    "supported_scopes": (),
    "describe_urls": "minimal",
}
_CREATED_DATE, _CREATED_BY, _MODIFIED_DATE, _MODIFIED_BY, _MODSTAMP = audit_fields()


def _file_fields() -> list:
    """Fields a ContentDocument mirrors from its latest version."""
    return [
        readonly(f_int("ContentSize", "Size", digits=9)),
        readonly(f_text("FileType", "File Type", 20)),
        readonly(f_text("FileExtension", "File Extension", 40)),
        f_pick(
            "SharingOption",
            "Prevent others from sharing and unsharing",
            pick("A", "R", default="A"),
            defaulted_on_create=True,
        ),
        f_pick(
            "SharingPrivacy", "File Privacy on Records", pick("N", "P", default="N"), defaulted_on_create=True
        ),
        readonly(f_datetime("ContentModifiedDate", "Content Modified Date")),
    ]


CONTENT_DOCUMENT = ObjectSpec(
    "ContentDocument",
    "Content Document",
    "Content Documents",
    "069",
    createable=False,
    **_MINIMAL,
    fields=[
        f_id("ContentDocument ID"),
        _CREATED_BY,
        _CREATED_DATE,
        _MODIFIED_BY,
        _MODIFIED_DATE,
        readonly(f_bool("IsArchived", "Is Archived")),
        readonly(f_ref("ArchivedById", "User ID", "User", "ArchivedBy")),
        readonly(f_datetime("ArchivedDate", "Archived Date")),
        f_deleted(),
        owner(),
        _MODSTAMP,
        f_text("Title", "Title", 255, nillable=False, name_field=True),
        readonly(f_pick("PublishStatus", "Publish Status", pick("U", "P", "R"))),
        readonly(
            f_ref(
                "LatestPublishedVersionId",
                "Latest Published Version ID",
                "ContentVersion",
                "LatestPublishedVersion",
            )
        ),
        f_textarea("Description", "Description", 1000),
        *_file_fields(),
        *viewed_fields(),
    ],
)

CONTENT_VERSION = ObjectSpec(
    "ContentVersion",
    "Content Version",
    "Content Versions",
    "068",
    deletable=False,
    undeletable=False,
    **_MINIMAL,
    fields=[
        f_id("ContentVersion ID"),
        f_ref(
            "ContentDocumentId",
            "ContentDocument ID",
            "ContentDocument",
            "ContentDocument",
            updateable=False,
            cascade_delete=True,
            child_relationship="ContentVersions",
        ),
        readonly(f_bool("IsLatest", "Is Latest")),
        f_url("ContentUrl", "Content URL", length=1300),
        readonly(f_text("VersionNumber", "Version Number", 20)),
        f_text("Title", "Title", 255, nillable=False, name_field=True),
        f_textarea("Description", "Description", 1000),
        f_text("ReasonForChange", "Reason For Change", 1000),
        f_text("PathOnClient", "Path On Client", 500, nillable=False, updateable=False),
        readonly(f_int("RatingCount", "Rating Count")),
        f_deleted(),
        readonly(f_ref("ContentModifiedById", "User ID", "User", "ContentModifiedBy")),
        owner(),
        _CREATED_BY,
        _CREATED_DATE,
        _MODIFIED_BY,
        _MODIFIED_DATE,
        _MODSTAMP,
        f_textarea("TagCsv", "Tags", 2000),
        readonly(f_pick("PublishStatus", "Publish Status", pick("U", "P", "R"))),
        f_text("VersionData", "Version Data", 0, nillable=False, updateable=False).with_(type="base64"),
        f_ref(
            "FirstPublishLocationId",
            "First Publish Location ID",
            (*RECORD_TARGETS, "User"),
            "FirstPublishLocation",
            updateable=False,
        ),
        f_pick("Origin", "Content Origin", pick("C", "H", default="C"), defaulted_on_create=True),
        f_pick(
            "ContentLocation", "Content Location", pick("S", "E", "L", default="S"), defaulted_on_create=True
        ),
        readonly(f_text("Checksum", "Checksum", 50)),
        f_bool("IsMajorVersion", "Major Version", default=True, updateable=False),
        *_file_fields(),
    ],
)

CONTENT_DOCUMENT_LINK = ObjectSpec(
    "ContentDocumentLink",
    "Content Document Link",
    "Content Document Links",
    "06A",
    replicateable=False,
    undeletable=False,
    **_MINIMAL,
    fields=[
        f_id("ContentDocument Link ID"),
        f_ref(
            "LinkedEntityId",
            "Linked Entity ID",
            (*RECORD_TARGETS, "User"),
            "LinkedEntity",
            nillable=False,
            updateable=False,
            cascade_delete=True,
            child_relationship="ContentDocumentLinks",
        ),
        f_ref(
            "ContentDocumentId",
            "ContentDocument ID",
            "ContentDocument",
            "ContentDocument",
            nillable=False,
            updateable=False,
            cascade_delete=True,
            child_relationship="ContentDocumentLinks",
        ),
        f_deleted(),
        _MODSTAMP,
        f_pick("ShareType", "Share Type", pick("V", "C", "I", default="V"), defaulted_on_create=True),
        f_pick(
            "Visibility",
            "Visibility",
            pick("AllUsers", "InternalUsers", "SharedUsers", default="AllUsers"),
            defaulted_on_create=True,
        ),
    ],
)

FEED_ITEM = ObjectSpec(
    "FeedItem",
    "Feed Item",
    "Feed Items",
    "0D5",
    undeletable=False,
    **_MINIMAL,
    fields=[
        f_id("Feed Item ID"),
        f_ref(
            "ParentId",
            "Parent ID",
            (*RECORD_TARGETS, "User"),
            "Parent",
            nillable=False,
            updateable=False,
            cascade_delete=True,
        ),
        f_pick("Type", "Feed Item Type", FEED_TYPES, restricted_picklist=True, updateable=False),
        _CREATED_BY,
        _CREATED_DATE,
        f_deleted(),
        _MODIFIED_DATE,
        _MODSTAMP,
        readonly(f_int("Revision", "Revision")),
        readonly(f_ref("LastEditById", "Last Edit By ID", "User", "LastEditBy")),
        readonly(f_datetime("LastEditDate", "Last Edit Date")),
        readonly(f_int("CommentCount", "Comment Count")),
        readonly(f_int("LikeCount", "Like Count")),
        f_text("Title", "Title", 255),
        f_textarea("Body", "Body", 10000),
        f_url("LinkUrl", "Link Url", length=1000),
        f_bool("IsRichText", "Is Rich Text"),
        f_ref("RelatedRecordId", "Related Record ID", "ContentVersion", None, updateable=False),
        readonly(f_ref("InsertedById", "InsertedBy ID", "User", "InsertedBy")),
        f_pick(
            "Visibility",
            "Visibility",
            pick("AllUsers", "InternalUsers", default="AllUsers"),
            defaulted_on_create=True,
            restricted_picklist=True,
        ),
        readonly(f_bool("HasContent", "Has Content")),
        readonly(f_bool("HasLink", "Has Link")),
        readonly(f_pick("Status", "Status", pick("Published", "PendingReview", "Draft"))),
    ],
)

FEED_COMMENT = ObjectSpec(
    "FeedComment",
    "Feed Comment",
    "Feed Comments",
    "0D7",
    undeletable=False,
    **_MINIMAL,
    fields=[
        f_id("Feed Comment ID"),
        f_ref(
            "FeedItemId",
            "Feed Item ID",
            "FeedItem",
            None,
            nillable=False,
            updateable=False,
            cascade_delete=True,
            child_relationship="FeedComments",
        ),
        readonly(f_ref("ParentId", "Parent ID", (*RECORD_TARGETS, "User"), "Parent")),
        _CREATED_BY,
        _CREATED_DATE,
        _MODSTAMP,
        readonly(f_int("Revision", "Revision")),
        readonly(f_ref("LastEditById", "Last Edit By ID", "User", "LastEditBy")),
        readonly(f_datetime("LastEditDate", "Last Edit Date")),
        f_textarea("CommentBody", "Comment Body", 10000),
        f_deleted(),
        readonly(f_ref("InsertedById", "InsertedBy ID", "User", "InsertedBy")),
        readonly(
            f_pick(
                "CommentType",
                "Feed Comment Type",
                pick("TextComment", "ContentComment"),
                restricted_picklist=True,
            )
        ),
        f_ref("RelatedRecordId", "Related Record ID", "ContentVersion", None, updateable=False),
        f_bool("IsRichText", "Is Rich Text"),
        readonly(f_pick("Status", "Status", pick("Published", "PendingReview"))),
    ],
)

FILE_OBJECTS = [CONTENT_DOCUMENT, CONTENT_VERSION, CONTENT_DOCUMENT_LINK, FEED_ITEM, FEED_COMMENT]
