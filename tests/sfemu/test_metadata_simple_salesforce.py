"""The Metadata API through unmodified simple-salesforce (``sf.mdapi``): zeep CRUD calls with the
WSDL simple-salesforce ships, and its raw deploy/retrieve envelopes.

zeep posts with its own requests session, which trusts the sfemu CA through
``REQUESTS_CA_BUNDLE`` (how a user points any requests-based client at a private CA).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

import pytest
from simple_salesforce import Salesforce

from sfemu.metadata import OrgMetadata
from sfemu.testing import OrgHandle, SfemuServer

VERSION = "62.0"
NS = "http://soap.sforce.com/2006/04/metadata"


@pytest.fixture(autouse=True)
def _trust_ca(sfemu_server: SfemuServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(sfemu_server.ca_path))


def connect(server: SfemuServer, handle: OrgHandle) -> Salesforce:
    return Salesforce(
        instance_url=handle.instance_url,
        session_id=handle.access_token,
        session=server.http_session(),
        version=VERSION,
    )


@pytest.fixture
def org(sfemu_server: SfemuServer) -> OrgHandle:
    handle = sfemu_server.create_org()
    handle.org.add_custom_field("Account", "Tier__c", "picklist", values=["Gold", "Silver"], restricted=True)
    return handle


@pytest.fixture
def sf(sfemu_server: SfemuServer, org: OrgHandle) -> Iterator[Salesforce]:
    yield connect(sfemu_server, org)


def package_xml(types: dict[str, list[str]]) -> str:
    body = "".join(
        "<types>" + "".join(f"<members>{m}</members>" for m in members) + f"<name>{name}</name></types>"
        for name, members in types.items()
    )
    head = '<?xml version="1.0" encoding="UTF-8"?>'
    return f'{head}<Package xmlns="{NS}">{body}<version>{VERSION}</version></Package>'


def make_zip(files: dict[str, str]) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    buffer.seek(0)
    return buffer


def md_file(root: str, inner: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?><{root} xmlns="{NS}">{inner}</{root}>'


CLASS_META = md_file("ApexClass", f"<apiVersion>{VERSION}</apiVersion><status>Active</status>")
SCORE_FIELD = (
    "<fields><fullName>Score__c</fullName><label>Score</label><type>Number</type>"
    "<precision>10</precision><scale>2</scale><required>false</required></fields>"
)


def deploy_and_wait(sf: Salesforce, zip_file: io.BytesIO, **kwargs) -> tuple:
    async_id, state = sf.mdapi.deploy(zip_file, sandbox=kwargs.pop("sandbox", False), **kwargs)
    assert async_id.startswith("0Af") and state == "Queued"
    first = sf.mdapi.check_deploy_status(async_id)
    assert first[0] == "InProgress"
    for _ in range(5):
        result = sf.mdapi.check_deploy_status(async_id)
        if result[0] not in ("InProgress", "Pending"):
            return result
    raise AssertionError("deploy did not finish")


def retrieve_files(sf: Salesforce, types: dict[str, list[str]]) -> dict[str, str]:
    async_id, state = sf.mdapi.retrieve("ignored", unpackaged=types)
    assert async_id.startswith("09S") and state == "Queued"
    assert sf.mdapi.check_retrieve_status(async_id)[0] == "InProgress"
    assert sf.mdapi.check_retrieve_status(async_id)[0] == "Succeeded"
    status, error, _messages, data = sf.mdapi.retrieve_zip(async_id)
    assert status == "Succeeded" and error is None
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name).decode() for name in archive.namelist()}


# --- describe, list, read, CRUD ------------------------------------------------------------


def test_describe_metadata_lists_served_types(sf: Salesforce) -> None:
    result = sf.mdapi.describe_metadata()
    by_name = {o.xmlName: o for o in result.metadataObjects}
    assert {"ApexClass", "ApexTrigger", "CustomObject", "Layout", "Profile", "PermissionSet", "Role"} <= set(
        by_name
    )
    assert by_name["CustomObject"].directoryName == "objects"
    assert "CustomField" in by_name["CustomObject"].childXmlNames
    assert by_name["ApexClass"].metaFile is True and by_name["ApexClass"].suffix == "cls"
    assert result.testRequired is True  # a production (Developer Edition) org


def test_list_metadata_reports_the_orgs_schema(sf: Salesforce) -> None:
    query = sf.mdapi.ListMetadataQuery
    fields = sf.mdapi.list_metadata([query(type="CustomField")])
    tier = next(f for f in fields if f.fullName == "Account.Tier__c")
    assert tier.id.startswith("00N") and tier.fileName == "objects/Account.object"
    assert tier.manageableState == "unmanaged" and tier.type == "CustomField"
    objects = {o.fullName for o in sf.mdapi.list_metadata([query(type="CustomObject")])}
    assert {"Account", "Contact"} <= objects
    profiles = {p.fullName for p in sf.mdapi.list_metadata([query(type="Profile")])}
    assert "Admin" in profiles


def test_read_custom_object_and_missing_component(sf: Salesforce) -> None:
    account = sf.mdapi.CustomObject.read(["Account"])
    tier = next(f for f in account.fields if f.fullName == "Tier__c")
    assert tier.type == "Picklist" and tier.valueSet.restricted is True
    assert [v.fullName for v in tier.valueSet.valueSetDefinition.value] == ["Gold", "Silver"]
    missing = sf.mdapi.CustomObject.read(["Nope__c"])
    assert missing.fullName is None


def test_create_field_appears_in_describe_and_takes_values(sf: Salesforce) -> None:
    md = sf.mdapi
    md.CustomField.create(
        [
            md.CustomField(
                fullName="Account.Rating_Score__c", label="Rating Score", type="Number", precision=5, scale=1
            )
        ]
    )
    field = md.CustomField.read(["Account.Rating_Score__c"])
    assert field.type == "Number" and field.precision == 5 and field.scale == 1
    described = {f["name"]: f for f in sf.Account.describe()["fields"]}
    assert described["Rating_Score__c"]["type"] == "double"
    record = sf.Account.create({"Name": "Acme", "Rating_Score__c": 4.5})
    assert sf.Account.get(record["id"])["Rating_Score__c"] == 4.5
    md.CustomField.update(
        [
            md.CustomField(
                fullName="Account.Rating_Score__c", label="Rating", type="Number", precision=5, scale=1
            )
        ]
    )
    described = {f["name"]: f for f in sf.Account.describe()["fields"]}
    assert described["Rating_Score__c"]["label"] == "Rating"
    with pytest.raises(Exception, match="DUPLICATE_DEVELOPER_NAME"):
        md.CustomField.create(
            [md.CustomField(fullName="Account.Tier__c", label="Tier", type="Text", length=10)]
        )


def test_apex_class_create_and_read(sf: Salesforce) -> None:
    md = sf.mdapi
    source = b"public class Greeter {\n    public static String hi() { return 'hi'; }\n}\n"
    md.ApexClass.create([md.ApexClass(fullName="Greeter", apiVersion=62.0, status="Active", content=source)])
    read = md.ApexClass.read(["Greeter"])
    assert read.content == source and read.status == "Active"
    with pytest.raises(Exception, match="Class name mismatch"):
        md.ApexClass.create(
            [md.ApexClass(fullName="Other", apiVersion=62.0, status="Active", content=source)]
        )


# --- deploy ----------------------------------------------------------------------------------


def test_deploy_adds_schema_used_by_rest(sf: Salesforce, org: OrgHandle) -> None:
    invoice = md_file(
        "CustomObject",
        "<label>Invoice</label><pluralLabel>Invoices</pluralLabel><deploymentStatus>Deployed</deploymentStatus>"
        "<sharingModel>ReadWrite</sharingModel>"
        "<nameField><label>Invoice Number</label><type>Text</type></nameField>"
        "<fields><fullName>Amount__c</fullName><label>Amount</label><type>Currency</type>"
        "<precision>16</precision><scale>2</scale></fields>"
        "<recordTypes><fullName>Retail</fullName><active>true</active><label>Retail</label></recordTypes>"
        "<validationRules><fullName>Positive_Amount</fullName><active>true</active>"
        "<errorConditionFormula>Amount__c &lt; 0</errorConditionFormula>"
        "<errorDisplayField>Amount__c</errorDisplayField><errorMessage>Amount must be positive</errorMessage>"
        "</validationRules>",
    )
    account = md_file("CustomObject", SCORE_FIELD)
    profile = md_file(
        "Profile",
        "<fieldPermissions><editable>true</editable><field>Account.Score__c</field>"
        "<readable>true</readable></fieldPermissions>",
    )
    files = {
        "package.xml": package_xml(
            {"CustomObject": ["Invoice__c"], "CustomField": ["Account.Score__c"], "Profile": ["Admin"]}
        ),
        "objects/Invoice__c.object": invoice,
        "objects/Account.object": account,
        "profiles/Admin.profile": profile,
    }
    state, _detail, deployment, tests = deploy_and_wait(sf, make_zip(files))
    assert state == "Succeeded", deployment
    assert deployment["failed_count"] == "0" and deployment["deployed_count"] == "3"
    assert tests["total_count"] == "0"
    account_fields = {f["name"] for f in sf.Account.describe()["fields"]}
    assert "Score__c" in account_fields
    described = sf.Invoice__c.describe()
    assert {r["developerName"] for r in described["recordTypeInfos"]} >= {"Retail"}
    created = sf.Invoice__c.create({"Name": "INV-1", "Amount__c": 12.5})
    assert sf.Invoice__c.get(created["id"])["Amount__c"] == 12.5
    with pytest.raises(Exception, match="Amount must be positive"):
        sf.Invoice__c.create({"Name": "INV-2", "Amount__c": -1})
    perms = sf.mdapi.Profile.read(["Admin"]).fieldPermissions
    assert [(p.field, p.editable) for p in perms] == [("Account.Score__c", True)]


def test_check_only_deploy_changes_nothing(sf: Salesforce) -> None:
    files = {
        "package.xml": package_xml({"CustomField": ["Account.Score__c"]}),
        "objects/Account.object": md_file("CustomObject", SCORE_FIELD),
    }
    state, _detail, deployment, _tests = deploy_and_wait(sf, make_zip(files), checkOnly=True)
    assert state == "Succeeded" and deployment["deployed_count"] == "1"
    assert "Score__c" not in {f["name"] for f in sf.Account.describe()["fields"]}
    assert sf.mdapi.CustomField.read(["Account.Score__c"]).fullName is None


def test_component_failure_rolls_back_the_whole_deploy(sf: Salesforce) -> None:
    files = {
        "package.xml": package_xml({"CustomField": ["Account.Score__c"], "Profile": ["Admin"]}),
        "objects/Account.object": md_file("CustomObject", SCORE_FIELD),
        "profiles/Admin.profile": md_file(
            "Profile",
            "<fieldPermissions><editable>true</editable><field>Account.Missing__c</field>"
            "<readable>true</readable></fieldPermissions>",
        ),
    }
    state, _detail, deployment, _tests = deploy_and_wait(sf, make_zip(files))
    assert state == "Failed"
    assert deployment["errors"] == [
        {
            "type": "Profile",
            "file": "profiles/Admin.profile",
            "status": "Error",
            "message": "In field: field - no CustomField named Account.Missing__c found",
        }
    ]
    assert "Score__c" not in {f["name"] for f in sf.Account.describe()["fields"]}


def test_missing_member_is_reported(sf: Salesforce) -> None:
    files = {"package.xml": package_xml({"ApexClass": ["Ghost"]})}
    state, _detail, deployment, _tests = deploy_and_wait(sf, make_zip(files), testLevel="RunLocalTests")
    assert state == "Failed"
    assert (
        "was named in package.xml, but was not found in zipped directory"
        in deployment["errors"][0]["message"]
    )


def _apex_files(classes: dict[str, str], extra_types: dict[str, list[str]] | None = None) -> dict[str, str]:
    files = {"package.xml": package_xml({"ApexClass": sorted(classes), **(extra_types or {})})}
    for name, source in classes.items():
        files[f"classes/{name}.cls"] = source
        files[f"classes/{name}.cls-meta.xml"] = CLASS_META
    return files


CALC = "public class Calc {\n    public static Integer twice(Integer n) { return n * 2; }\n}\n"
CALC_TEST = (
    "@isTest\nprivate class CalcTest {\n    @isTest\n    static void doubles() {\n"
    "        System.assertEquals(4, Calc.twice(2));\n    }\n}\n"
)
BROKEN_TEST = (
    "@isTest\nprivate class BrokenTest {\n    @isTest\n    static void fine() { Calc.twice(1); }\n"
    "    @isTest\n    static void breaks() {\n        System.assert(false, 'totals differ');\n    }\n}\n"
)


def test_failing_apex_test_fails_a_run_local_tests_deploy(sf: Salesforce) -> None:
    files = _apex_files(
        {"Calc": CALC, "CalcTest": CALC_TEST, "BrokenTest": BROKEN_TEST},
        {"CustomField": ["Account.Score__c"]},
    )
    files["objects/Account.object"] = md_file("CustomObject", SCORE_FIELD)
    state, _detail, deployment, tests = deploy_and_wait(sf, make_zip(files), testLevel="RunLocalTests")
    assert state == "Failed"
    assert deployment["failed_count"] == "0"
    assert tests["total_count"] == "3" and tests["failed_count"] == "1" and tests["completed_count"] == "2"
    assert tests["errors"] == [
        {
            "class": "BrokenTest",
            "method": "breaks",
            "message": "System.AssertException: Assertion Failed: totals differ",
            "stack_trace": "Class.BrokenTest.breaks: line 7, column 1",
        }
    ]
    assert "Score__c" not in {f["name"] for f in sf.Account.describe()["fields"]}
    assert sf.mdapi.ApexClass.read(["Calc"]).fullName is None


def test_passing_tests_deploy_apex(sf: Salesforce) -> None:
    files = _apex_files({"Calc": CALC, "CalcTest": CALC_TEST})
    state, _detail, _deployment, tests = deploy_and_wait(sf, make_zip(files), testLevel="RunLocalTests")
    assert state == "Succeeded"
    assert tests["total_count"] == "1" and tests["failed_count"] == "0"
    assert {c.fullName for c in sf.mdapi.list_metadata([sf.mdapi.ListMetadataQuery(type="ApexClass")])} == {
        "Calc",
        "CalcTest",
    }


def test_run_specified_tests_runs_only_those(sf: Salesforce, org: OrgHandle) -> None:
    OrgMetadata(org.org).add_test_class("AlwaysFails", failing={"boom": "expected failure"})
    files = _apex_files({"Calc": CALC, "CalcTest": CALC_TEST})
    state, *_rest, tests = deploy_and_wait(
        sf, make_zip(files), testLevel="RunSpecifiedTests", tests=["CalcTest"]
    )
    assert state == "Succeeded" and tests["total_count"] == "1"
    state, *_rest, tests = deploy_and_wait(sf, make_zip(files), testLevel="RunLocalTests")
    assert state == "Failed" and tests["errors"][0]["class"] == "AlwaysFails"


def test_no_test_run_with_apex_is_refused_in_production(sfemu_server: SfemuServer, sf: Salesforce) -> None:
    files = _apex_files({"Calc": CALC})
    state, *_rest = deploy_and_wait(sf, make_zip(files), testLevel="NoTestRun")
    assert state == "Failed"
    sandbox = sfemu_server.create_org(sandbox=True)
    state, *_rest = deploy_and_wait(
        connect(sfemu_server, sandbox), make_zip(files), testLevel="NoTestRun", sandbox=True
    )
    assert state == "Succeeded"


def test_uncovered_apex_fails_in_production(sf: Salesforce) -> None:
    files = _apex_files({"Calc": CALC})
    state, *_rest, tests = deploy_and_wait(sf, make_zip(files))  # default: RunLocalTests in production
    assert state == "Failed" and tests["total_count"] == "0"


# --- retrieve ---------------------------------------------------------------------------------


def test_retrieve_returns_classic_mdapi_files(sf: Salesforce, org: OrgHandle) -> None:
    OrgMetadata(org.org).add_apex_class("Calc", CALC)
    files = retrieve_files(
        sf, {"CustomObject": ["Account"], "ApexClass": ["*"], "CustomField": ["Account.Tier__c"]}
    )
    assert set(files) == {
        "package.xml",
        "objects/Account.object",
        "classes/Calc.cls",
        "classes/Calc.cls-meta.xml",
    }
    assert files["classes/Calc.cls"] == CALC
    assert "<fullName>Tier__c</fullName>" in files["objects/Account.object"]
    assert files["objects/Account.object"].startswith('<?xml version="1.0" encoding="UTF-8"?>\n<CustomObject')
    assert (
        "<members>*</members>" in files["package.xml"]
        and f"<version>{VERSION}</version>" in files["package.xml"]
    )


def test_retrieve_of_two_orgs_differs_where_they_differ(sfemu_server: SfemuServer) -> None:
    first, second = sfemu_server.create_org(), sfemu_server.create_org()
    for handle in (first, second):
        handle.org.add_custom_field("Account", "Region__c", "text", length=40)
    second.org.add_custom_field("Account", "Segment__c", "picklist", values=["SMB", "Enterprise"])
    types = {"CustomObject": ["Account"]}
    one = retrieve_files(connect(sfemu_server, first), types)["objects/Account.object"]
    two = retrieve_files(connect(sfemu_server, second), types)["objects/Account.object"]
    assert one != two
    assert "Segment__c" in two and "Segment__c" not in one
    third = sfemu_server.create_org()
    third.org.add_custom_field("Account", "Region__c", "text", length=40)
    assert retrieve_files(connect(sfemu_server, third), types)["objects/Account.object"] == one


def test_retrieve_then_deploy_to_another_org(sfemu_server: SfemuServer, sf: Salesforce) -> None:
    files = retrieve_files(sf, {"CustomField": ["Account.Tier__c"]})
    target = sfemu_server.create_org()
    target_sf = connect(sfemu_server, target)
    state, *_rest = deploy_and_wait(target_sf, make_zip(files))
    assert state == "Succeeded"
    tier = next(f for f in target_sf.Account.describe()["fields"] if f["name"] == "Tier__c")
    assert [v["value"] for v in tier["picklistValues"]] == ["Gold", "Silver"]


# --- managed packages -------------------------------------------------------------------------


def test_managed_package_components(sf: Salesforce, org: OrgHandle) -> None:
    OrgMetadata(org.org).install_package(
        "acme",
        version="2.3",
        objects={"Invoice__c": {"plural_label": "Invoices", "fields": [("Total__c", "currency", {})]}},
        fields={"Account": [("Score__c", "number", {"precision": 5})]},
        classes={
            "Util": "public class Util {}\n",
            "UtilTest": "@isTest\nprivate class UtilTest {\n"
            "    @isTest static void t() { System.assert(false); }\n}\n",
        },
    )
    query = sf.mdapi.ListMetadataQuery
    fields = {f.fullName: f for f in sf.mdapi.list_metadata([query(type="CustomField")])}
    score = fields["Account.acme__Score__c"]
    assert score.namespacePrefix == "acme" and score.manageableState == "installed"
    assert fields["Account.Tier__c"].manageableState == "unmanaged"
    packages = sf.mdapi.list_metadata([query(type="InstalledPackage")])
    assert [(p.fullName, p.namespacePrefix) for p in packages] == [("acme", "acme")]
    assert sf.mdapi.InstalledPackage.read(["acme"]).versionNumber == "2.3"
    record = sf.acme__Invoice__c.create({"Name": "X", "acme__Total__c": 3})
    assert record["success"]
    assert sf.mdapi.ApexClass.read(["acme__Util"]).content == b"(hidden)"
    # managed components cannot be changed by a deploy
    files = {
        "package.xml": package_xml({"CustomField": ["Account.acme__Score__c"]}),
        "objects/Account.object": md_file(
            "CustomObject",
            "<fields><fullName>acme__Score__c</fullName><label>Mine</label><type>Number</type>"
            "<precision>5</precision><scale>0</scale></fields>",
        ),
    }
    state, _d, deployment, _t = deploy_and_wait(sf, make_zip(files))
    assert state == "Failed" and "Cannot modify managed object" in deployment["errors"][0]["message"]
    # RunLocalTests skips the package's tests, RunAllTestsInOrg runs them
    local = _apex_files({"Calc": CALC, "CalcTest": CALC_TEST})
    assert deploy_and_wait(sf, make_zip(local), testLevel="RunLocalTests", checkOnly=True)[0] == "Succeeded"
    state, *_rest, tests = deploy_and_wait(sf, make_zip(local), testLevel="RunAllTestsInOrg", checkOnly=True)
    assert state == "Failed" and tests["errors"][0]["class"] == "UtilTest"
