"""Field support, object publishability, auto-mapping and S2S's data type matching rules,
on describes of real sfemu orgs."""

from __future__ import annotations

import pytest

from replication.mapping import auto_map, check_mapping, field_support, object_publishable


@pytest.fixture(scope="module")
def org(sfemu_server):
    """An org whose Account carries one custom field of every kind the rules care about."""
    handle = sfemu_server.create_org()
    o = handle.org
    o.add_custom_object("Company__c", label="Company")
    add = o.add_custom_field
    add("Account", "Secret__c", "encryptedtext")
    add("Account", "Notes__c", "richtextarea")
    add("Account", "Total__c", "formula", formula="AnnualRevenue * 2", formula_type="currency")
    add("Account", "Seq__c", "autonumber", format="A-{0000}")
    add("Account", "Code__c", "text", length=80)
    add("Account", "Short__c", "text", length=40)
    add("Account", "Tiny__c", "text", length=15)
    add("Account", "Long__c", "text", length=255)
    add("Account", "Memo__c", "longtextarea", length=32000)
    add("Account", "Email__c", "email")
    add("Account", "Big__c", "number", precision=18, scale=2)
    add("Account", "Mid__c", "number", precision=10, scale=2)
    add("Account", "Whole__c", "number", precision=10, scale=0)
    add("Account", "Rate__c", "percent", precision=5, scale=2)
    add("Account", "Flag__c", "checkbox")
    add("Account", "Day__c", "date")
    add("Account", "Moment__c", "datetime")
    add("Account", "Tier__c", "picklist", values=["Gold", "Silver", "Platinum Plus Premier"])
    add("Account", "Tags__c", "multipicklist", values=["A", "B"])
    add("Account", "Company__c", "lookup", reference_to="Company__c")
    return handle


@pytest.fixture(scope="module")
def account(org) -> dict[str, dict]:
    return {f["name"]: f for f in org.org.describe("Account", "62.0")["fields"]}


@pytest.fixture(scope="module")
def contact(org) -> dict[str, dict]:
    return {f["name"]: f for f in org.org.describe("Contact", "62.0")["fields"]}


def _support(fields: dict, name: str, object_name: str = "Account"):
    return field_support(fields[name], object_name=object_name)


# -------------------------------------------------------------------------- field support
@pytest.mark.parametrize(
    "name", ["Name", "Code__c", "Industry", "ParentId", "OwnerId", "BillingCity", "Tier__c"]
)
def test_ordinary_fields_are_supported(account, name) -> None:
    """Writable text, picklist, lookup and address-part fields can be published."""
    assert _support(account, name).supported


@pytest.mark.parametrize(
    ("name", "code", "words"),
    [
        ("Secret__c", "encrypted", "encrypted"),
        ("Notes__c", "rich_text", "rich text"),
        ("Total__c", "formula", "create the same formula in the target org"),
        ("Seq__c", "auto_number", "map it to a custom text field"),
        ("BillingAddress", "compound_address", "publish its parts"),
        ("CreatedDate", "audit_field", "Sync Feeds and Audit Fields option"),
        ("SystemModstamp", "audit_field", "Sync Feeds and Audit Fields option"),
        ("LastModifiedById", "audit_field", "Sync Feeds and Audit Fields option"),
        ("Id", "record_id", "OrgSync_Source_Id__c"),
        ("IsDeleted", "is_deleted", "delete operations"),
        ("PhotoUrl", "read_only", "system field"),
        ("LastActivityDate", "read_only", "system field"),
    ],
)
def test_unsupported_fields_say_why(account, name, code, words) -> None:
    """Each unsupported kind of field is refused with its own reason."""
    support = _support(account, name)
    assert (support.supported, support.code) == (False, code)
    assert words in support.reason


def test_contact_compound_name_is_unsupported(contact) -> None:
    """Contact.Name is built from its parts: publish FirstName and LastName instead."""
    support = _support(contact, "Name", "Contact")
    assert support.code == "compound_name" and "FirstName" in support.reason
    assert _support(contact, "LastName", "Contact").supported


def test_account_name_is_not_compound(account) -> None:
    """Only Contact and Lead have a compound Name; Account.Name is an ordinary field."""
    assert _support(account, "Name", "Account").supported


def test_roll_up_summary_is_unsupported(account) -> None:
    """A calculated field without a formula is a roll-up summary (sfemu has none: faked)."""
    rollup = {**account["Big__c"], "calculated": True, "calculatedFormula": None, "createable": False}
    support = field_support(rollup, object_name="Account")
    assert support.code == "rollup_summary" and "roll-up summary" in support.reason


def test_geolocation_is_unsupported(account) -> None:
    """Geolocation fields and their latitude/longitude parts aren't synced."""
    location = {**account["BillingAddress"], "name": "Site__c", "type": "location"}
    latitude = {**account["Big__c"], "name": "Site__Latitude__s"}
    assert field_support(location, object_name="Account").code == "geolocation"
    assert field_support(latitude, object_name="Account").code == "geolocation"


# ------------------------------------------------------------------------ objects
def _entry(org, name: str) -> dict:
    return next(e for e in org.org.describe_global() if e["name"] == name)


@pytest.mark.parametrize("name", ["Account", "Contact", "Case", "Opportunity", "Company__c"])
def test_business_objects_are_publishable(org, name) -> None:
    """Standard business objects and deployed custom objects can be published."""
    assert object_publishable(_entry(org, name)).supported


@pytest.mark.parametrize("name", ["User", "Profile", "RecordType", "Organization"])
def test_setup_objects_are_not_publishable(org, name) -> None:
    """Setup objects are left to the owner strategy and metadiff."""
    support = object_publishable(_entry(org, name))
    assert not support.supported and name in support.reason


def test_not_replicateable_object_is_not_publishable(org) -> None:
    """An object Salesforce won't replicate can't be published."""
    entry = {**_entry(org, "Account"), "replicateable": False}
    assert object_publishable(entry).code == "not_replicateable"


def test_not_queryable_object_is_not_publishable(org) -> None:
    """An object that can't be queried can't be captured."""
    entry = {**_entry(org, "Account"), "queryable": False}
    assert object_publishable(entry).code == "not_queryable"


def test_custom_metadata_and_share_objects_are_not_publishable(org) -> None:
    """Custom metadata types and sharing objects aren't record data."""
    base = _entry(org, "Company__c")
    assert object_publishable({**base, "name": "Setting__mdt"}).code == "special_object"
    assert object_publishable({**base, "name": "AccountShare", "custom": False}).code == "special_object"


# ---------------------------------------------------------------------------- auto-map
@pytest.fixture(scope="module")
def target_org(sfemu_server):
    """A target org whose Account names some fields differently."""
    handle = sfemu_server.create_org()
    add = handle.org.add_custom_field
    add("Account", "CODE__c", "text", length=80)  # same API name, other case
    add("Account", "Tier_Level__c", "picklist", label="Tier", values=["Gold"])  # same label
    add("Account", "Total__c", "formula", formula="1", formula_type="number")  # read-only
    add("Account", "Tags_A__c", "multipicklist", label="Tags", values=["A"])  # ambiguous label
    add("Account", "Tags_B__c", "multipicklist", label="Tags", values=["A"])
    add("Account", "Seq__c", "text", length=30)
    return handle


@pytest.fixture(scope="module")
def automapped(org, target_org) -> dict[str, str | None]:
    source = org.org.describe("Account")["fields"]
    target = target_org.org.describe("Account")["fields"]
    return auto_map(source, target, object_name="Account")


def test_auto_map_by_api_name_ignoring_case(automapped) -> None:
    """Fields with the same API name map, whatever its case."""
    assert automapped["Name"] == "Name"
    assert automapped["Code__c"] == "CODE__c"


def test_auto_map_by_label_when_name_differs(automapped) -> None:
    """Failing a name match, a field maps to the target field with the same label."""
    assert automapped["Tier__c"] == "Tier_Level__c"


def test_auto_map_skips_read_only_targets(org, target_org) -> None:
    """A target formula isn't writable, so a same-named writable source field stays unmapped."""
    source = [{**org.org.describe("Account")["fields"][3], "name": "Total__c", "label": "Total"}]
    assert auto_map(source, target_org.org.describe("Account")["fields"]) == {"Total__c": None}


def test_auto_map_leaves_ambiguous_label_unmapped(automapped) -> None:
    """Two target fields labelled like the source field: no guess."""
    assert automapped["Tags__c"] is None


def test_auto_map_leaves_unsupported_sources_unmapped(automapped) -> None:
    """Audit fields, formulas and auto-numbers aren't auto-mapped (auto-number needs an explicit text map)."""
    assert automapped["CreatedDate"] is None
    assert automapped["Total__c"] is None
    assert automapped["Seq__c"] is None


def test_auto_map_uses_each_target_once(automapped) -> None:
    """No target field receives two source fields."""
    targets = [t for t in automapped.values() if t]
    assert len(targets) == len(set(targets))


def test_auto_map_keeps_every_source_key(org, automapped) -> None:
    """Every source field appears in the result, mapped or None, in describe order."""
    names = [f["name"] for f in org.org.describe("Account")["fields"]]
    assert list(automapped) == names


# ------------------------------------------------------------------- S2S type rules
def _check(source: dict, target: dict, mapped: dict | None = None) -> list:
    return check_mapping(source, target, target_object_mapped=mapped or {})


def test_text_into_shorter_text_is_an_error(account) -> None:
    """Text maps to text of equal or greater length; the message names both and the fix."""
    [finding] = _check(account["Long__c"], account["Code__c"])
    assert (finding.level, finding.code) == ("error", "TEXT_TOO_SHORT")
    assert finding.message == (
        "Target Code__c holds 80 characters, source Long__c up to 255: "
        "widen Code__c to 255 or map another field."
    )


def test_text_into_equal_or_longer_text_is_fine(account) -> None:
    """Same or greater length is accepted, across text kinds (email into text)."""
    assert _check(account["Code__c"], account["Code__c"]) == []
    assert _check(account["Email__c"], account["Long__c"]) == []


def test_long_text_into_text_suggests_long_text_area(account) -> None:
    """Past 255 characters a text field can't widen: the fix is a long text area."""
    [finding] = _check(account["Memo__c"], account["Long__c"])
    assert "make Long__c a long text area of 32000" in finding.message


def test_lookup_into_text_needs_80_characters(account) -> None:
    """A lookup copied as text needs a text field of 80 or more."""
    assert _check(account["ParentId"], account["Code__c"]) == []
    [finding] = _check(account["ParentId"], account["Short__c"])
    assert finding.code == "TEXT_TOO_SHORT" and "needs 80" in finding.message


def test_lookup_into_lookup_to_the_mapped_object(account) -> None:
    """A lookup may map to a lookup to the object its referenced object is subscribed as."""
    mapped = {"Company__c": "Account"}
    assert _check(account["Company__c"], account["ParentId"], mapped) == []


def test_lookup_into_lookup_to_another_object_is_an_error(account, contact) -> None:
    """An Account lookup can't feed a Contact lookup."""
    [finding] = _check(account["ParentId"], contact["ReportsToId"], {"Account": "Account"})
    assert finding.code == "LOOKUP_OBJECT_MISMATCH"
    assert "looks up Account" in finding.message and "ReportsToId looks up Contact" in finding.message


def test_auto_number_into_text_of_30(account) -> None:
    """The auto-number workaround: a text field of 30 or more characters."""
    assert _check(account["Seq__c"], account["Code__c"]) == []
    [finding] = _check(account["Seq__c"], account["Tiny__c"])
    assert "auto-number" in finding.message and "widen Tiny__c to 30" in finding.message


def test_number_with_too_few_integer_digits_is_an_error(account) -> None:
    """Target precision - scale must hold the source's integer digits."""
    [finding] = _check(account["Big__c"], account["Mid__c"])
    assert finding.code == "NUMBER_TOO_LARGE"
    assert "allows 8 digits before the decimal point, source Big__c up to 16" in finding.message
    assert "precision to 18" in finding.message


def test_number_with_fewer_decimals_explains_rounding(account) -> None:
    """A smaller target scale rounds decimals away: the message shows how."""
    [finding] = _check(account["Mid__c"], account["Whole__c"])
    assert finding.code == "SCALE_TRUNCATED"
    assert "1.22 would be stored as 1" in finding.message and "scale to 2" in finding.message


def test_number_into_wider_number_of_another_kind_is_fine(account) -> None:
    """Currency, number and percent map among themselves when they fit."""
    assert _check(account["Whole__c"], account["Big__c"]) == []
    assert _check(account["Rate__c"], account["Mid__c"]) == []
    assert _check(account["Mid__c"], account["AnnualRevenue"])[0].code == "SCALE_TRUNCATED"


def test_number_into_text_is_a_type_mismatch(account) -> None:
    """Currency → Text is refused (the seeds' example)."""
    [finding] = _check(account["AnnualRevenue"], account["Long__c"])
    assert finding.code == "TYPE_MISMATCH" and "AnnualRevenue" in finding.message


def test_picklist_into_picklist_or_text(account) -> None:
    """A picklist maps to a picklist, or to text long enough for its values."""
    assert _check(account["Tier__c"], account["Industry"]) == []
    assert _check(account["Tier__c"], account["Short__c"]) == []
    [finding] = _check(account["Tier__c"], account["Tiny__c"])
    assert "values up to 21" in finding.message


def test_multipicklist_into_single_picklist_is_an_error(account) -> None:
    """Several selected values can't fit a single-select picklist."""
    [finding] = _check(account["Tags__c"], account["Tier__c"])
    assert finding.code == "MULTI_INTO_SINGLE_PICKLIST"


@pytest.mark.parametrize(
    ("source", "good", "bad"),
    [
        ("Flag__c", "Flag__c", "Code__c"),
        ("Day__c", "Day__c", "Moment__c"),
        ("Moment__c", "Moment__c", "Day__c"),
    ],
)
def test_checkbox_date_datetime_map_only_to_themselves(account, source, good, bad) -> None:
    """Checkbox ↔ checkbox, date → date, datetime → datetime."""
    assert _check(account[source], account[good]) == []
    assert [f.code for f in _check(account[source], account[bad])] == ["TYPE_MISMATCH"]


def test_record_id_into_text_of_18(account) -> None:
    """A record ID maps to a text field of 18 or more (ideally an external ID)."""
    assert _check(account["Id"], account["Code__c"]) == []
    [finding] = _check(account["Id"], account["Tiny__c"])
    assert "widen Tiny__c to 18" in finding.message
    assert _check(account["Id"], account["Big__c"])[0].code == "TYPE_MISMATCH"


# ------------------------------------------- orgsync's own identity field (issue 14, item 6)
IDENTITY = "OrgSync_Source_Id__c"


def _with_identity_field(handle, sobject: str = "Account"):
    handle.org.add_custom_field(
        sobject, IDENTITY, "text", label="OrgSync Source Id", length=18, external_id=True, unique=True
    )
    return handle


@pytest.fixture(scope="module")
def identity_source(sfemu_server):
    """A source org whose Account has orgsync's field (a two-way connection's primary)."""
    return _with_identity_field(sfemu_server.create_org())


@pytest.fixture(scope="module")
def identity_target(sfemu_server):
    return _with_identity_field(sfemu_server.create_org())


def _fields(handle, sobject: str = "Account") -> dict[str, dict]:
    return {f["name"]: f for f in handle.org.describe(sobject, "62.0")["fields"]}


def test_the_mapping_package_names_the_field_orgsync_writes() -> None:
    from replication.mapping.fields import ORGSYNC_ID_FIELD
    from replication.models import EXTERNAL_ID_FIELD

    assert ORGSYNC_ID_FIELD == EXTERNAL_ID_FIELD


def test_orgsync_identity_field_is_never_publishable(identity_source) -> None:
    """It is writable text, so it looked like any field; it is orgsync's, whatever its case."""
    field = _fields(identity_source)[IDENTITY]
    support = field_support(field, object_name="Account")
    assert (support.supported, support.code) == (False, "orgsync_identity")
    assert "orgsync's own record identity" in support.reason
    assert "never synced as a field" in support.reason
    lower = field_support({**field, "name": IDENTITY.lower()}, object_name="Account")
    assert lower.code == "orgsync_identity"


def test_auto_map_never_maps_onto_the_identity_field(identity_source, identity_target, sfemu_server) -> None:
    """Neither by API name (its own twin) nor by label (another field labelled like it)."""
    mapped = auto_map(
        list(_fields(identity_source).values()),
        list(_fields(identity_target).values()),
        object_name="Account",
    )
    assert mapped[IDENTITY] is None
    assert mapped["Name"] == "Name"
    labelled = sfemu_server.create_org()
    labelled.org.add_custom_field("Account", "Origin__c", "text", label="OrgSync Source Id", length=18)
    mapped = auto_map(
        list(_fields(labelled).values()), list(_fields(identity_target).values()), object_name="Account"
    )
    assert mapped["Origin__c"] is None
    assert IDENTITY not in mapped.values()


def test_no_source_field_may_be_mapped_onto_the_identity_field(account, identity_target) -> None:
    """A record Id or text fits its type, but orgsync alone writes it."""
    identity = _fields(identity_target)[IDENTITY]
    for source in ("Id", "Code__c", "Name"):
        [finding] = _check(account[source], identity)
        assert (
            finding.code == "TARGET_ORGSYNC_IDENTITY" and "orgsync's own record identity" in finding.message
        )
    [finding] = _check(account["Code__c"], {**identity, "name": IDENTITY.upper()})
    assert finding.code == "TARGET_ORGSYNC_IDENTITY"


def test_the_analyzer_flags_mappings_of_the_identity_field(identity_source, identity_target) -> None:
    from replication.mapping import analyze

    source = identity_source.org.describe("Account", "62.0")
    target = identity_target.org.describe("Account", "62.0")
    findings = analyze(
        source,
        target,
        {IDENTITY: IDENTITY, "Name": "Name", "Description": IDENTITY.lower()},
        target_object_mapped={"Account": "Account"},
        published_objects={"Account"},
    )
    errors = {(f.code, f.source_field) for f in findings if f.level == "error"}
    assert ("SOURCE_NOT_PUBLISHABLE", IDENTITY) in errors
    assert ("TARGET_ORGSYNC_IDENTITY", IDENTITY) in errors
    assert ("TARGET_ORGSYNC_IDENTITY", "Description") in errors
    assert not [f for f in findings if f.source_field == "Name"]
