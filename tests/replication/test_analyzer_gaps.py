"""Issue 17: the mapping analyzer sees every field the metadata-gap check reports missing."""

from metadiff.gaps import GapKind, connection_metadata_gaps
from replication import services
from replication.models import Direction


def test_analyzer_reports_what_the_gap_check_reports_missing(linked):
    for org in (linked.primary.org, linked.secondary.org):
        org.add_custom_field("Account", "Code__c", type="string", length=40)
        org.add_custom_field("Account", "Zone__c", type="string", length=40)
    linked.primary.org.add_custom_field("Account", "Late__c", type="string", length=40)
    publication = services.publication_publish(
        connection=linked.connection,
        direction=Direction.PRIMARY_TO_SECONDARY,
        source_object="Account",
        actor=None,
    )
    subscription = services.subscription_subscribe(publication=publication, actor=None)
    assert subscription.fields.get(source_field="Late__c").target_field == "", "nothing to map it to"
    linked.secondary.org.delete_custom_field("Account", "Zone__c")  # mapped, then gone in the target
    linked.primary.org.delete_custom_field("Account", "Code__c")  # mapped, then gone in the source

    gaps = {
        g.source_field for g in connection_metadata_gaps(linked.connection) if g.kind == GapKind.MISSING_FIELD
    }
    assert gaps == {"Late__c", "Zone__c"}
    findings = services.subscription_analyze(subscription=subscription)
    errors = {(f.code, f.source_field) for f in findings if f.level == "error"}
    assert {("UNKNOWN_TARGET_FIELD", "Late__c"), ("UNKNOWN_TARGET_FIELD", "Zone__c")} <= errors
    assert ("UNKNOWN_SOURCE_FIELD", "Code__c") in errors
