"""The mapping analyzer on two sfemu orgs whose Account metadata differ."""

from __future__ import annotations

import copy

import pytest

from replication.mapping import analyze, auto_map

SUBSCRIBED = {"Account": "Account", "Invoice__c": "Invoice__c"}


@pytest.fixture(scope="module")
def source_org(sfemu_server):
    """The publishing org."""
    handle = sfemu_server.create_org()
    o = handle.org
    add = o.add_custom_field
    add("Account", "Region__c", "picklist", values=["North", "South", "East", "West"])
    add("Account", "Tier__c", "picklist", values=["Gold", "Silver", "Bronze"])
    add("Account", "Category__c", "picklist", values=["Retail", "Wholesale"])
    add("Account", "Segment__c", "picklist", values=["Small", "Large"])
    add("Account", "Code__c", "text", length=100)
    add("Account", "Total__c", "formula", formula="AnnualRevenue * 2", formula_type="currency")
    add("Account", "Seq__c", "autonumber", format="A-{0000}")
    add("Account", "Notes__c", "richtextarea")
    add("Account", "Partner__c", "lookup", reference_to="Contact")
    o.add_custom_object("Invoice__c")
    add("Invoice__c", "Account__c", "masterdetail", reference_to="Account")
    return handle


@pytest.fixture(scope="module")
def target_org(sfemu_server):
    """The subscribing org: narrower, fewer values, a restricted picklist, an extra required field."""
    handle = sfemu_server.create_org()
    o = handle.org
    add = o.add_custom_field
    add("Account", "Region__c", "picklist", values=["North", "South"])
    add("Account", "Tier__c", "picklist", values=["Gold", "Silver"], restricted=True)
    add("Account", "Category__c", "picklist", values=["Consumer", "Business"])
    add("Account", "Segment__c", "text", length=40)
    add("Account", "Code__c", "text", length=50)
    add("Account", "Total__c", "formula", formula="AnnualRevenue * 2", formula_type="currency")
    add("Account", "Seq_Text__c", "text", length=30)
    add("Account", "Notes__c", "textarea")
    add("Account", "Partner__c", "lookup", reference_to="Contact")
    add("Account", "Legacy_Key__c", "text", length=40, required=True)
    o.add_custom_object("Invoice__c")
    add("Invoice__c", "Account__c", "masterdetail", reference_to="Account")
    o.add_validation_rule(
        "Account", "Needs_Code", message="Code is required", field="Code__c", condition="blank"
    )
    return handle


@pytest.fixture(scope="module")
def source(source_org) -> dict:
    return source_org.org.describe("Account", "62.0")


@pytest.fixture(scope="module")
def target(target_org) -> dict:
    return target_org.org.describe("Account", "62.0")


def run(source: dict, target: dict, mapping: dict, *, published=frozenset({"Account"}), mapped=None) -> list:
    """Analyze ``mapping`` plus Name → Name and the required Legacy_Key__c, unless overridden."""
    base = {"Name": "Name", "AccountNumber": "Legacy_Key__c"} if target["name"] == "Account" else {}
    return analyze(
        source,
        target,
        {**base, **mapping},
        target_object_mapped=SUBSCRIBED if mapped is None else mapped,
        published_objects=set(published),
    )


def codes(findings) -> list[tuple[str, str, str | None]]:
    return [(f.level, f.code, f.source_field) for f in findings]


def only(findings, code: str):
    [finding] = [f for f in findings if f.code == code]
    return finding


def test_identical_objects_auto_mapped_have_no_findings(source_org) -> None:
    """Account auto-mapped onto the same org's Account, with every object it looks up synced
    too, is clean: no noise from the analyzer."""
    describe = source_org.org.describe("Account", "62.0")
    mapping = auto_map(describe["fields"], describe["fields"], object_name="Account")
    referenced = {name for f in describe["fields"] for name in f.get("referenceTo") or ()} | {"Account"}
    findings = analyze(
        describe,
        describe,
        mapping,
        target_object_mapped={name: name for name in referenced},
        published_objects=referenced,
    )
    assert findings == []


def test_base_mapping_is_clean(source, target) -> None:
    """The helper's base mapping on its own raises nothing but AccountNumber's optional source."""
    assert codes(run(source, target, {})) == [("warning", "REQUIRED_FROM_OPTIONAL", "AccountNumber")]


def test_partial_picklist_overlap_is_a_warning_listing_missing_values(source, target) -> None:
    """Source values the target lacks, some shared: warning naming the missing values and the fix."""
    finding = only(run(source, target, {"Region__c": "Region__c"}), "PICKLIST_VALUES_MISSING")
    assert finding.level == "warning"
    assert "'East', 'West'" in finding.message and "2 of the 4 values" in finding.message
    assert "Add them to Region__c in the target org" in finding.message


def test_no_picklist_overlap_is_an_error(source, target) -> None:
    """No source value exists in the target: every record with a value would fail."""
    finding = only(run(source, target, {"Category__c": "Category__c"}), "PICKLIST_NO_OVERLAP")
    assert finding.level == "error" and "'Retail', 'Wholesale'" in finding.message


def test_restricted_target_picklist_missing_values_is_an_error(source, target) -> None:
    """A restricted target rejects missing values with INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST."""
    finding = only(run(source, target, {"Tier__c": "Tier__c"}), "PICKLIST_RESTRICTED_MISSING")
    assert finding.level == "error"
    assert "'Bronze'" in finding.message and "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" in finding.message


def test_inactive_values_are_compared_as_missing(source, target) -> None:
    """Only active values count: an inactive target value is missing, an inactive source one is ignored."""
    src, tgt = copy.deepcopy(source), copy.deepcopy(target)
    region = lambda d: next(f for f in d["fields"] if f["name"] == "Region__c")  # noqa: E731
    for value in region(src)["picklistValues"]:
        value["active"] = value["value"] in ("North", "South")
    assert "PICKLIST_VALUES_MISSING" not in [f.code for f in run(src, tgt, {"Region__c": "Region__c"})]
    region(tgt)["picklistValues"][1]["active"] = False
    finding = only(run(src, tgt, {"Region__c": "Region__c"}), "PICKLIST_VALUES_MISSING")
    assert "'South'" in finding.message and "'North'" not in finding.message


def test_required_target_field_unmapped_is_an_error(source, target) -> None:
    """A required target field without default and without a mapped source fails every create."""
    findings = analyze(
        source, target, {"Name": "Name"}, target_object_mapped=SUBSCRIBED, published_objects={"Account"}
    )
    finding = only(findings, "REQUIRED_TARGET_UNMAPPED")
    assert (finding.level, finding.source_field, finding.target_field) == ("error", None, "Legacy_Key__c")
    assert "REQUIRED_FIELD_MISSING" in finding.message


def test_required_target_from_optional_source_is_a_warning(source, target) -> None:
    """A nillable source into a required target: suggest an 'is not blank' filter or a default."""
    finding = only(run(source, target, {}), "REQUIRED_FROM_OPTIONAL")
    assert "AccountNumber is not blank" in finding.message


def test_read_only_formula_target_is_an_error(source, target) -> None:
    """A formula target can't be written (and the formula source can't be published either)."""
    findings = run(source, target, {"AnnualRevenue": "Total__c"})
    assert ("error", "TARGET_READ_ONLY", "AnnualRevenue") in codes(findings)
    assert "formula" in only(findings, "TARGET_READ_ONLY").message


def test_contact_name_target_is_read_only(source_org, target_org) -> None:
    """Contact.Name is compound: map FirstName and LastName instead."""
    src = source_org.org.describe("Contact", "62.0")
    tgt = target_org.org.describe("Contact", "62.0")
    findings = analyze(
        src,
        tgt,
        {"Name": "Name", "LastName": "LastName"},
        target_object_mapped={"Contact": "Contact"},
        published_objects={"Contact"},
    )
    finding = only(findings, "TARGET_READ_ONLY")
    assert "FirstName and LastName" in finding.message
    assert ("error", "SOURCE_NOT_PUBLISHABLE", "Name") in codes(findings)


def test_formula_source_is_not_publishable(source, target) -> None:
    """Mapping a source formula is refused with Org Sync's workaround."""
    finding = only(run(source, target, {"Total__c": "Code__c"}), "SOURCE_NOT_PUBLISHABLE")
    assert "create the same formula in the target org" in finding.message


def test_auto_number_into_text_is_the_accepted_workaround(source, target) -> None:
    """Auto-number → text of 30 is the documented workaround, not an unsupported field."""
    assert codes(run(source, target, {"Seq__c": "Seq_Text__c"})) == codes(run(source, target, {}))


def test_narrower_text_is_an_error_naming_the_fix(source, target) -> None:
    """Text of 100 into text of 50: error with both fields and the length to widen to."""
    finding = only(run(source, target, {"Code__c": "Code__c"}), "TEXT_TOO_SHORT")
    assert (
        "Target Code__c holds 50 characters, source Code__c up to 100: widen Code__c to 100"
        in finding.message
    )


def test_picklist_into_shorter_text_warns_of_truncation(source, target) -> None:
    """Values fit today but the picklist allows longer ones: a warning, not an error."""
    finding = only(run(source, target, {"Segment__c": "Segment__c"}), "POSSIBLE_TRUNCATION")
    assert finding.level == "warning" and "holds 40 characters" in finding.message


def test_rich_text_source_is_not_publishable(source, target) -> None:
    """Rich text area fields aren't synced."""
    finding = only(run(source, target, {"Notes__c": "Notes__c"}), "SOURCE_NOT_PUBLISHABLE")
    assert "rich text" in finding.message


def test_lookup_to_unpublished_object_is_a_warning(source, target) -> None:
    """Partner__c looks up Contact, which isn't published: the lookup stays blank."""
    finding = only(run(source, target, {"Partner__c": "Partner__c"}), "LOOKUP_OBJECT_NOT_SYNCED")
    assert finding.level == "warning" and "Publish Contact" in finding.message


def test_lookup_to_published_and_subscribed_object_is_clean(source, target) -> None:
    """Once Contact is published and subscribed the same mapping is clean."""
    findings = run(
        source,
        target,
        {"Partner__c": "Partner__c"},
        published={"Account", "Contact"},
        mapped={**SUBSCRIBED, "Contact": "Contact"},
    )
    assert "LOOKUP_OBJECT_NOT_SYNCED" not in [f.code for f in findings]


def test_required_lookup_to_unpublished_object_is_an_error(source_org, target_org) -> None:
    """A master-detail whose parent object isn't synced fails every record; it is also create-only."""
    src = source_org.org.describe("Invoice__c", "62.0")
    tgt = target_org.org.describe("Invoice__c", "62.0")
    findings = analyze(
        src,
        tgt,
        {"Name": "Name", "Account__c": "Account__c"},
        target_object_mapped={"Invoice__c": "Invoice__c"},
        published_objects={"Invoice__c"},
    )
    assert codes(findings) == [
        ("error", "LOOKUP_OBJECT_NOT_SYNCED", "Account__c"),
        ("warning", "TARGET_CREATE_ONLY", "Account__c"),
    ]


def test_unknown_field_names_are_errors_with_suggestions(source, target) -> None:
    """Names missing from either describe are errors, with close names suggested."""
    findings = run(source, target, {"Regon__c": "Region__c", "Code__c": "Kode__c"})
    assert "Did you mean Region__c" in only(findings, "UNKNOWN_SOURCE_FIELD").message
    assert "Did you mean Code__c" in only(findings, "UNKNOWN_TARGET_FIELD").message


def test_two_sources_into_one_target_is_an_error(source, target) -> None:
    """Each target field takes one source field."""
    findings = run(source, target, {"Site": "Code__c", "TickerSymbol": "Code__c"})
    assert [(f.code, f.source_field) for f in findings if f.code == "DUPLICATE_TARGET"] == [
        ("DUPLICATE_TARGET", "Site"),
        ("DUPLICATE_TARGET", "TickerSymbol"),
    ]


def test_type_mismatch_is_reported(source, target) -> None:
    """Currency into a picklist is refused with both field names."""
    finding = only(run(source, target, {"AnnualRevenue": "Region__c"}), "TYPE_MISMATCH")
    assert "AnnualRevenue" in finding.message and "Region__c" in finding.message


def test_findings_are_ordered_errors_first_and_deterministic(source, target) -> None:
    """Errors come before warnings, then by field; the mapping's order doesn't matter."""
    mapping = {
        "Region__c": "Region__c",
        "Tier__c": "Tier__c",
        "Code__c": "Code__c",
        "Partner__c": "Partner__c",
    }
    findings = run(source, target, mapping)
    reversed_findings = run(source, target, dict(reversed(list(mapping.items()))))
    assert findings == reversed_findings
    levels = [f.level for f in findings]
    assert levels == sorted(levels, key=lambda level: level != "error")
    assert codes(findings) == [
        ("error", "TEXT_TOO_SHORT", "Code__c"),
        ("error", "PICKLIST_RESTRICTED_MISSING", "Tier__c"),
        ("warning", "REQUIRED_FROM_OPTIONAL", "AccountNumber"),
        ("warning", "LOOKUP_OBJECT_NOT_SYNCED", "Partner__c"),
        ("warning", "PICKLIST_VALUES_MISSING", "Region__c"),
    ]


def test_published_fields_missing_on_either_side_are_errors(source, target) -> None:
    """Issue 17: what the metadata-gap check compares an unmapped published field with (the
    target field of its name) and a published field gone from the source are errors too."""
    findings = analyze(
        source,
        target,
        {"Name": "Name", "AccountNumber": "Legacy_Key__c", "Seq__c": None},
        target_object_mapped=SUBSCRIBED,
        published_objects={"Account"},
        published_fields=["Name", "AccountNumber", "Seq__c", "Gone__c", "OrgSync_Source_Id__c"],
    )
    missing = only(findings, "UNKNOWN_TARGET_FIELD")
    assert (missing.level, missing.source_field, missing.target_field) == ("error", "Seq__c", "Seq__c")
    assert "has no field Seq__c in the target org" in missing.message
    gone = only(findings, "UNKNOWN_SOURCE_FIELD")
    assert (gone.level, gone.source_field) == ("error", "Gone__c")
    assert "gone from Account in the source org" in gone.message
    assert not [f for f in findings if f.source_field in ("Name", "OrgSync_Source_Id__c")]
