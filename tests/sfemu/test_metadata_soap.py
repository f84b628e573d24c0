"""Metadata API calls simple-salesforce does not make for us (or whose faults it hides), as raw
SOAP; plus the domain helpers (``OrgMetadata``: Apex test simulation, managed packages)."""

from __future__ import annotations

import base64
import io
import re
import zipfile
from xml.etree import ElementTree

import pytest
import requests
from simple_salesforce import Salesforce

from sfemu.metadata import DeployOptions, OrgMetadata
from sfemu.metadata import apex as apex_sim
from sfemu.testing import OrgHandle, SfemuServer

VERSION = "62.0"
NS = "http://soap.sforce.com/2006/04/metadata"
NSMAP = {"soapenv": "http://schemas.xmlsoap.org/soap/envelope/", "m": NS}


def envelope(session_id: str, call: str) -> str:
    return (
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        f'xmlns:met="{NS}"><soapenv:Header><met:SessionHeader><met:sessionId>{session_id}'
        f"</met:sessionId></met:SessionHeader></soapenv:Header><soapenv:Body>{call}</soapenv:Body>"
        "</soapenv:Envelope>"
    )


def call(http: requests.Session, url: str, token: str, body: str) -> tuple[int, ElementTree.Element]:
    response = http.post(
        url, data=envelope(token, body), headers={"Content-Type": "text/xml", "SOAPAction": '""'}
    )
    return response.status_code, ElementTree.fromstring(response.content)


def md_url(server: SfemuServer) -> str:
    return f"{server.url}/services/Soap/m/{VERSION}"


def make_zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def package_xml(types: dict[str, list[str]]) -> str:
    body = "".join(
        "<types>" + "".join(f"<members>{m}</members>" for m in members) + f"<name>{name}</name></types>"
        for name, members in types.items()
    )
    return f'<Package xmlns="{NS}">{body}<version>{VERSION}</version></Package>'


def md_file(root: str, inner: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?><{root} xmlns="{NS}">{inner}</{root}>'


def deploy_raw(
    http: requests.Session, url: str, token: str, data: bytes, options: str = ""
) -> ElementTree.Element:
    zipped = base64.b64encode(data).decode()
    status, root = call(
        http,
        url,
        token,
        f"<met:deploy><met:ZipFile>{zipped}</met:ZipFile><met:DeployOptions>{options}"
        "<met:singlePackage>true</met:singlePackage></met:DeployOptions></met:deploy>",
    )
    assert status == 200
    async_id = root.findtext(".//m:deployResponse/m:result/m:id", namespaces=NSMAP)
    for _ in range(4):
        status, root = call(
            http,
            url,
            token,
            f"<met:checkDeployStatus><met:asyncProcessId>{async_id}</met:asyncProcessId>"
            "<met:includeDetails>true</met:includeDetails></met:checkDeployStatus>",
        )
        result = root.find(".//m:checkDeployStatusResponse/m:result", NSMAP)
        assert result is not None
        if result.findtext("m:done", namespaces=NSMAP) == "true":
            return result
    raise AssertionError("deploy did not finish")


def fault_code(root: ElementTree.Element) -> str | None:
    return root.findtext(".//faultcode")


# --- faults and access --------------------------------------------------------------------------


def test_invalid_session_is_a_soap_fault(sfemu_server: SfemuServer, http: requests.Session) -> None:
    status, root = call(
        http,
        md_url(sfemu_server),
        "bogus",
        f"<met:describeMetadata><met:asOfVersion>{VERSION}</met:asOfVersion></met:describeMetadata>",
    )
    assert status == 500
    assert fault_code(root) == "sf:INVALID_SESSION_ID"
    assert root.findtext(f".//{{{NS}}}exceptionCode") == "INVALID_SESSION_ID"


def test_metadata_api_needs_modify_metadata(sfemu_server: SfemuServer, sfemu_org: OrgHandle, http) -> None:
    user = sfemu_org.create_user("Standard User")
    status, root = call(http, md_url(sfemu_server), user.access_token, "<met:describeMetadata/>")
    assert status == 500 and fault_code(root) == "sf:INSUFFICIENT_ACCESS"


def test_unknown_call_and_bad_version(sfemu_server: SfemuServer, sfemu_org: OrgHandle, http) -> None:
    status, root = call(http, md_url(sfemu_server), sfemu_org.access_token, "<met:cancelDeploy/>")
    assert status == 500 and fault_code(root) == "sf:UNSUPPORTED_API_CALL"
    status, root = call(
        http, f"{sfemu_server.url}/services/Soap/m/7.0", sfemu_org.access_token, "<met:describeMetadata/>"
    )
    assert status == 500 and fault_code(root) == "soapenv:Client"


def test_login_metadata_server_url_is_served(sfemu_server: SfemuServer, sfemu_org: OrgHandle, http) -> None:
    login = (
        '<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"><env:Body>'
        '<n1:login xmlns:n1="urn:partner.soap.sforce.com">'
        f"<n1:username>{sfemu_org.username}</n1:username><n1:password>{sfemu_org.login_password}</n1:password>"
        "</n1:login></env:Body></env:Envelope>"
    )
    answer = http.post(
        f"{sfemu_server.url}/services/Soap/u/{VERSION}",
        data=login,
        headers={"Content-Type": "text/xml", "SOAPAction": "login"},
    )
    root = ElementTree.fromstring(answer.content)
    ns = {"p": "urn:partner.soap.sforce.com"}
    url = root.findtext(".//p:metadataServerUrl", namespaces=ns)
    token = root.findtext(".//p:sessionId", namespaces=ns)
    status, root = call(
        http,
        url,
        token,
        f"<met:describeMetadata><met:asOfVersion>{VERSION}</met:asOfVersion></met:describeMetadata>",
    )
    assert status == 200
    names = [e.text for e in root.iterfind(".//m:metadataObjects/m:xmlName", NSMAP)]
    assert "CustomObject" in names


# --- retrieve -----------------------------------------------------------------------------------


def test_retrieve_zip_is_deleted_once_fetched(sfemu_server: SfemuServer, sfemu_org: OrgHandle, http) -> None:
    url, token = md_url(sfemu_server), sfemu_org.access_token
    status, root = call(
        http,
        url,
        token,
        "<met:retrieve><met:retrieveRequest><met:apiVersion>62.0</met:apiVersion>"
        "<met:singlePackage>false</met:singlePackage><met:unpackaged><met:types><met:members>Admin</met:members>"
        "<met:members>Ghost</met:members><met:name>Profile</met:name></met:types></met:unpackaged>"
        "</met:retrieveRequest></met:retrieve>",
    )
    async_id = root.findtext(".//m:result/m:id", namespaces=NSMAP)
    check = (
        f"<met:checkRetrieveStatus><met:asyncProcessId>{async_id}</met:asyncProcessId>"
        "<met:includeZip>true</met:includeZip></met:checkRetrieveStatus>"
    )
    _, root = call(http, url, token, check)
    assert root.findtext(".//m:result/m:status", namespaces=NSMAP) == "InProgress"
    assert root.find(".//m:result/m:zipFile", NSMAP) is None
    _, root = call(http, url, token, check)
    result = root.find(".//m:result", NSMAP)
    assert result.findtext("m:status", namespaces=NSMAP) == "Succeeded"
    problems = [m.findtext("m:problem", namespaces=NSMAP) for m in result.iterfind("m:messages", NSMAP)]
    assert problems == ["Entity of type 'Profile' named 'Ghost' cannot be found"]
    names = [p.findtext("m:fileName", namespaces=NSMAP) for p in result.iterfind("m:fileProperties", NSMAP)]
    assert names == ["unpackaged/package.xml", "unpackaged/profiles/Admin.profile"]
    with zipfile.ZipFile(
        io.BytesIO(base64.b64decode(result.findtext("m:zipFile", namespaces=NSMAP)))
    ) as archive:
        assert sorted(archive.namelist()) == ["unpackaged/package.xml", "unpackaged/profiles/Admin.profile"]
    status, root = call(http, url, token, check)
    assert status == 500 and fault_code(root) == "sf:INVALID_ID_FIELD"


# --- deploy -------------------------------------------------------------------------------------


def test_destructive_changes_delete_a_field(sfemu_server: SfemuServer, sfemu_org: OrgHandle, http) -> None:
    sfemu_org.org.add_custom_field("Account", "Old__c", "text", length=20)
    data = make_zip(
        {
            "package.xml": package_xml({}),
            "destructiveChanges.xml": package_xml({"CustomField": ["Account.Old__c"]}),
        }
    )
    result = deploy_raw(http, md_url(sfemu_server), sfemu_org.access_token, data)
    assert result.findtext("m:status", namespaces=NSMAP) == "Succeeded"
    deleted = [
        e.findtext("m:fullName", namespaces=NSMAP)
        for e in result.iterfind("m:details/m:componentSuccesses", NSMAP)
        if e.findtext("m:deleted", namespaces=NSMAP) == "true"
    ]
    assert deleted == ["Account.Old__c"]
    assert sfemu_org.org.schema.field("Account", "Old__c") is None


def test_fields_deployed_with_their_new_object_are_created(sfemu_server: SfemuServer, http) -> None:
    """The Salesforce CLI deploys a new object with its fields inline in ``objects/X.object`` and
    lists both types in package.xml: every new component is ``created`` (the CLI's state
    "Created"), an existing one only ``changed``."""
    org = sfemu_server.create_org()
    org.org.add_custom_field("Account", "Had__c", "text", length=10)
    data = make_zip(
        {
            "package.xml": package_xml(
                {
                    "CustomField": ["Gadget__c.Size__c", "Account.Had__c", "Account.Fresh__c"],
                    "CustomObject": ["Account", "Gadget__c"],
                }
            ),
            "objects/Gadget__c.object": md_file(
                "CustomObject",
                "<deploymentStatus>Deployed</deploymentStatus><label>Gadget</label><pluralLabel>Gadgets</pluralLabel>"
                "<nameField><label>Gadget Name</label><type>Text</type></nameField>"
                "<sharingModel>ReadWrite</sharingModel>"
                "<fields><fullName>Size__c</fullName><label>Size</label><type>Number</type>"
                "<precision>8</precision><scale>0</scale></fields>",
            ),
            "objects/Account.object": md_file(
                "CustomObject",
                "<fields><fullName>Had__c</fullName><label>Had</label><type>Text</type><length>20</length></fields>"
                "<fields><fullName>Fresh__c</fullName><label>Fresh</label><type>Text</type><length>20</length></fields>",
            ),
        }
    )
    result = deploy_raw(http, md_url(sfemu_server), org.access_token, data)
    assert result.findtext("m:status", namespaces=NSMAP) == "Succeeded"
    states = {
        e.findtext("m:fullName", namespaces=NSMAP): (
            e.findtext("m:created", namespaces=NSMAP),
            e.findtext("m:changed", namespaces=NSMAP),
        )
        for e in result.iterfind("m:details/m:componentSuccesses", NSMAP)
    }
    assert states["Gadget__c"] == ("true", "false")
    assert states["Gadget__c.Size__c"] == ("true", "false")
    assert states["Account.Fresh__c"] == ("true", "false")
    assert states["Account.Had__c"] == ("false", "true")
    assert org.org.schema.field("Gadget__c", "Size__c") is not None


def test_sandbox_partial_deploy_without_rollback(sfemu_server: SfemuServer, http) -> None:
    sandbox = sfemu_server.create_org(sandbox=True)
    data = make_zip(
        {
            "package.xml": package_xml({"CustomField": ["Account.Good__c", "Account.Bad__c"]}),
            "objects/Account.object": md_file(
                "CustomObject",
                "<fields><fullName>Good__c</fullName><label>Good</label><type>Text</type><length>10</length></fields>"
                "<fields><fullName>Bad__c</fullName><label>Bad</label><type>Text</type><length>999</length></fields>",
            ),
        }
    )
    result = deploy_raw(
        http,
        md_url(sfemu_server),
        sandbox.access_token,
        data,
        "<met:rollbackOnError>false</met:rollbackOnError>",
    )
    assert result.findtext("m:status", namespaces=NSMAP) == "SucceededPartial"
    failure = result.find("m:details/m:componentFailures", NSMAP)
    assert failure.findtext("m:fullName", namespaces=NSMAP) == "Account.Bad__c"
    assert (
        failure.findtext("m:problem", namespaces=NSMAP) == "Length: you must enter a value between 1 and 255"
    )
    assert sandbox.org.schema.field("Account", "Good__c") is not None
    assert sandbox.org.schema.field("Account", "Bad__c") is None


def test_roles_layouts_and_permission_sets(sfemu_server: SfemuServer, sfemu_org: OrgHandle, http) -> None:
    role = (
        "<caseAccessLevel>Edit</caseAccessLevel><contactAccessLevel>Edit</contactAccessLevel>"
        "<mayForecastManagerShare>false</mayForecastManagerShare><opportunityAccessLevel>Read</opportunityAccessLevel>"
    )
    data = make_zip(
        {
            "package.xml": package_xml(
                {
                    "Role": ["Sales_VP", "Sales_Rep_West"],
                    "Layout": ["Account-Account Layout"],
                    "PermissionSet": ["Billing"],
                }
            ),
            "roles/Sales_VP.role": md_file("Role", f"{role}<name>Sales VP</name>"),
            "roles/Sales_Rep_West.role": md_file(
                "Role", f"{role}<name>Sales Rep West</name><parentRole>Sales_VP</parentRole>"
            ),
            "layouts/Account-Account Layout.layout": md_file(
                "Layout",
                "<layoutSections><customLabel>false</customLabel><detailHeading>false</detailHeading>"
                "<editHeading>true</editHeading><label>Main</label><layoutColumns><layoutItems>"
                "<behavior>Required</behavior><field>Name</field></layoutItems></layoutColumns>"
                "<style>OneColumn</style></layoutSections>",
            ),
            "permissionsets/Billing.permissionset": md_file(
                "PermissionSet",
                "<label>Billing</label><objectPermissions><allowCreate>true</allowCreate><allowDelete>false</allowDelete>"
                "<allowEdit>true</allowEdit><allowRead>true</allowRead><modifyAllRecords>false</modifyAllRecords>"
                "<object>Account</object><viewAllRecords>false</viewAllRecords></objectPermissions>",
            ),
        }
    )
    result = deploy_raw(http, md_url(sfemu_server), sfemu_org.access_token, data)
    assert result.findtext("m:status", namespaces=NSMAP) == "Succeeded", ElementTree.tostring(result)
    org = sfemu_org.org
    rows = org.query("SELECT Id, Name, DeveloperName, ParentRoleId FROM UserRole").records
    by_dev = {r["DeveloperName"]: r for r in rows}
    assert by_dev["Sales_Rep_West"]["ParentRoleId"] == by_dev["Sales_VP"]["Id"]
    assert by_dev["Sales_Rep_West"]["Name"] == "Sales Rep West"
    md = OrgMetadata(org)
    layout = md.read("Layout", "Account-Account Layout")
    assert layout["layoutSections"][0]["label"] == "Main"
    assert md.read("PermissionSet", "Billing")["objectPermissions"][0]["object"] == "Account"
    bad = make_zip(
        {
            "package.xml": package_xml({"Layout": ["Account-Account Layout"]}),
            "layouts/Account-Account Layout.layout": md_file(
                "Layout",
                "<layoutSections><label>X</label><layoutColumns><layoutItems><behavior>Edit</behavior>"
                "<field>Nope__c</field></layoutItems></layoutColumns><style>OneColumn</style></layoutSections>",
            ),
        }
    )
    result = deploy_raw(http, md_url(sfemu_server), sfemu_org.access_token, bad)
    assert result.findtext("m:status", namespaces=NSMAP) == "Failed"
    assert "Nope__c" in result.findtext("m:details/m:componentFailures/m:problem", namespaces=NSMAP)


def test_crud_delete_and_upsert_through_zeep(
    sfemu_server: SfemuServer, sfemu_org: OrgHandle, monkeypatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(sfemu_server.ca_path))
    sf = Salesforce(
        instance_url=sfemu_org.instance_url,
        session_id=sfemu_org.access_token,
        session=sfemu_server.http_session(),
        version=VERSION,
    )
    md = sf.mdapi
    md.ValidationRule.upsert(
        [
            md.ValidationRule(
                fullName="Account.Needs_Phone",
                active=True,
                errorConditionFormula="ISBLANK(Phone)",
                errorMessage="Phone please",
            )
        ]
    )
    with pytest.raises(Exception, match="Phone please"):
        sf.Account.create({"Name": "No phone"})
    rule = md.ValidationRule.read(["Account.Needs_Phone"])
    assert rule.errorConditionFormula == "ISBLANK(Phone)" and rule.active is True
    md.ValidationRule.delete(["Account.Needs_Phone"])
    assert sf.Account.create({"Name": "No phone"})["success"]
    with pytest.raises(Exception, match="INVALID_CROSS_REFERENCE_KEY"):
        md.CustomField.update([md.CustomField(fullName="Account.Ghost__c", label="G", type="Text", length=5)])


# --- domain helpers -----------------------------------------------------------------------------


def test_apex_test_simulation() -> None:
    source = apex_sim.test_class_source("MixedTest", ("ok",), {"bad": "boom"})
    outcomes = apex_sim.run_test_class("MixedTest", source, "01p000000000001AAA")
    assert [(o.method, o.passed, o.message) for o in outcomes] == [
        ("ok", True, None),
        ("bad", False, "System.AssertException: Assertion Failed: boom"),
    ]
    marker = (
        "@isTest\nprivate class M {\n  static testMethod void x() {\n"
        "    // sfemu:fail System.NullPointerException: oops\n  }\n}\n"
    )
    (only,) = apex_sim.run_test_class("M", marker, "id")
    assert (
        only.message == "System.NullPointerException: oops"
        and only.stack_trace == "Class.M.x: line 4, column 1"
    )
    assert (
        apex_sim.run_test_class("Plain", "public class Plain { void x() { System.assert(false); } }", "id")
        == []
    )
    assert (
        apex_sim.check_class("Broken", "public class Broken {\n  void x() {\n}\n").message
        == "Missing '}' at '<EOF>'"
    )
    assert apex_sim.check_class("Fine", "public class Fine { String s = '}'; }") is None


def test_domain_helpers_run_tests_and_deploy(sfemu_server: SfemuServer) -> None:
    handle = sfemu_server.create_org(sandbox=True)
    md = OrgMetadata(handle.org)
    md.add_test_class("GoodTest", passing=("a", "b"))
    md.add_test_class("BadTest", failing={"c": "nope"})
    run = md.run_tests("RunLocalTests")
    assert len(run.successes) == 2 and [(f.class_name, f.method) for f in run.failures] == [("BadTest", "c")]
    assert [f.method for f in md.run_tests("RunSpecifiedTests", ["GoodTest"]).successes] == ["a", "b"]
    outcome = md.deploy(
        make_zip(
            {
                "package.xml": package_xml({"CustomField": ["Contact.Nick__c"]}),
                "objects/Contact.object": md_file(
                    "CustomObject",
                    "<fields><fullName>Nick__c</fullName><label>Nick</label><type>Text</type><length>30</length></fields>",
                ),
            }
        ),
        DeployOptions(test_level="RunLocalTests"),
    )
    assert outcome.status == "Failed" and outcome.tests.failures[0].class_name == "BadTest"
    assert handle.org.schema.field("Contact", "Nick__c") is None
    md.delete("ApexClass", "BadTest")
    assert (
        md.deploy(outcome_zip := make_zip({"package.xml": package_xml({})}), DeployOptions()).status
        == "Succeeded"
    )
    assert outcome_zip


def test_listed_ids_are_stable(sfemu_server: SfemuServer) -> None:
    handle = sfemu_server.create_org()
    md = OrgMetadata(handle.org)
    first = {c.full_name: c.id for c in md.list("Layout")}
    assert first == {c.full_name: c.id for c in md.list("Layout")}
    assert all(re.match(r"^00h", i) for i in first.values())
    assert "Account-Account Layout" in first
