"""Replay every recorded real Salesforce interaction against sfemu and compare the answers.

Recordings live in ``../shared/reference/recorded`` (beside the project; see its README). Each file
is replayed in order against a fresh org: first the records and fields the recording presupposes
are created (``SETUP``), then each interaction is sent with the same method, path and body, with
recorded ids, org ids, host, credentials and ``vxx.0`` versions rewritten to sfemu's. The answer
must have the recorded status, JSON key sets, key order (where the recording fixes it) and values
(ids and datetimes by format), and the headers that matter. Files or interactions that cannot be
replayed are listed in ``OUT_OF_SCOPE`` with the reason; ``test_every_recording_is_accounted_for``
fails when a recording appears that is neither replayed nor listed. Where the folder is absent (a
fresh clone) these tests skip and say so; under ``CI=true`` they fail (``tests/shared_reference.py``).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from sfemu.testing import AppHandle, OrgHandle, SfemuServer
from tests.sfemu.replay.checks import JSON_CONTENT_TYPE, LIMIT_INFO, valid_id18
from tests.sfemu.replay.compare import Comparer, IdMap
from tests.sfemu.replay.recordings import RECORDED, Interaction, load, recording_files
from tests.shared_reference import require_shared

DEFAULT_VERSION = "62.0"

# --- what is not replayed, and why ------------------------------------------------------------

OUT_OF_SCOPE: dict[str, str] = {
    "mohan-chinnappan-cli-dx/bulk2_ingest_update_and_query_lifecycle.yaml": (
        "Bulk API 2.0 jobs run asynchronously and this file was transcribed from console output "
        "(methods and paths inferred), so it is checked key by key, with polling, in "
        "tests/sfemu/test_bulk_http.py rather than replayed call for call here"
    ),
    "cumulusci/composite_304_if_modified_since_MANUALEDIT.yaml": (
        "CumulusCI marks this cassette as manually edited (ManualEditTest…): its 304 bodies and "
        "ETag/Last-Modified headers were written by hand, so they are no evidence of Salesforce's answer"
    ),
}
OUT_OF_SCOPE_INTERACTIONS: dict[tuple[str, int], str] = {
    ("cumulusci/collections_upsert_by_Id_and_query.yaml", 0): (
        "recordCount is a cached estimate: the recorded org says 1 Account while the query of #1 finds "
        "none, so no org state reproduces both; the recordCount shape is replayed by #6 and #10"
    ),
    ("cumulusci/collections_upsert_by_Id_and_query.yaml", 3): (
        "recordCount is a cached estimate: the recorded org says 2 Contacts while the query of #4 finds "
        "none; the recordCount shape is replayed by #6 and #10"
    ),
    (
        "mohan-chinnappan-cli-dx/rest_misc_real_responses.yaml",
        0,
    ): "Bulk API 2.0 job list: checked in tests/sfemu/test_bulk_http.py (see the bulk2 file's reason)",
    (
        "mohan-chinnappan-cli-dx/rest_misc_real_responses.yaml",
        1,
    ): "Bulk API 2.0 job abort: checked in tests/sfemu/test_bulk_http.py (see the bulk2 file's reason)",
}


def _replayed() -> list[Interaction]:
    out = []
    for file in recording_files():
        if file in OUT_OF_SCOPE:
            continue
        out.extend(i for i in load(file) if (i.file, i.index) not in OUT_OF_SCOPE_INTERACTIONS)
    return out


INTERACTIONS = _replayed() if RECORDED.is_dir() else []
# Without the recordings one placeholder stands for them, so the replay says why it did not run.
REPLAY_PARAMS = [pytest.param(i, id=i.param_id) for i in INTERACTIONS] or [
    pytest.param(None, id="recordings-missing")
]


def test_recordings_are_present() -> None:
    require_shared(RECORDED)
    assert RECORDED.is_dir(), f"recorded reference data at {RECORDED} is not a folder"
    assert len(recording_files()) >= 30


def test_every_recording_is_accounted_for() -> None:
    require_shared(RECORDED)
    replayed = {i.file for i in INTERACTIONS}
    for file in recording_files():
        assert file in replayed or file in OUT_OF_SCOPE, f"{file} is neither replayed nor out of scope"
    for file in OUT_OF_SCOPE:
        assert (RECORDED / file).is_file(), f"stale out-of-scope entry {file}"
    for file, index in OUT_OF_SCOPE_INTERACTIONS:
        assert index < len(load(file)), f"stale out-of-scope entry {file}#{index}"


# --- per-file preconditions -------------------------------------------------------------------

# Custom fields of the orgs the recordings come from (types from the recorded describes, or the
# Developer Edition sample fields they are named after).
GROUPAROO_ACCOUNT_FIELDS = {
    "CustomerPriority__c": ("picklist", {"values": ["High", "Low", "Medium"]}),
    "SLA__c": ("picklist", {"values": ["Gold", "Silver", "Platinum", "Bronze"]}),
    "Active__c": ("picklist", {"values": ["No", "Yes"]}),
    "NumberofLocations__c": ("number", {"precision": 3, "scale": 0}),
    "UpsellOpportunity__c": ("picklist", {"values": ["Maybe", "No", "Yes"]}),
    "SLASerialNumber__c": ("text", {"length": 10}),
    "SLAExpirationDate__c": ("date", {}),
    "email_field__c": ("email", {"label": "email_field"}),
    "Custom_External_ID__c": ("text", {"length": 255, "external_id": True}),
}
GROUPAROO_CONTACT_FIELDS = {
    "Level__c": ("picklist", {"values": ["Secondary", "Tertiary", "Primary"]}),
    "Languages__c": ("text", {"length": 100}),
    "Custom_External_ID__c": ("text", {"length": 255, "external_id": True}),
    "checkbox_field__c": ("checkbox", {}),
    "datetime_field__c": ("datetime", {}),
    "number_field__c": ("number", {"precision": 18, "scale": 0}),
    "percent_field__c": ("percent", {}),
    "phone_field__c": ("phone", {}),
    "picklist_field__c": ("picklist", {"values": ["a", "b"]}),
    "text_field__c": ("text", {"length": 255}),
    "textarea_field__c": ("textarea", {}),
    "url_field__c": ("url", {}),
    "email_field__c": ("email", {}),
    "date_field__c": ("date", {}),
    "currency_field__c": ("currency", {}),
    "float_field__c": ("number", {"precision": 18, "scale": 2}),
}
GROUPAROO_LEAD_FIELDS = {
    "SICCode__c": ("text", {"length": 15, "label": "SIC Code"}),
    "ProductInterest__c": ("picklist", {"label": "Product Interest", "values": ["GC1000 series"]}),
    "Primary__c": ("picklist", {"label": "Primary", "values": ["No", "Yes"]}),
    "CurrentGenerators__c": ("text", {"length": 100, "label": "Current Generator(s)"}),
    "NumberofLocations__c": ("number", {"precision": 3, "scale": 0, "label": "Number of Locations"}),
}


@dataclass
class Replay:
    """State of one recording file's replay: its org, credentials and the recorded→sfemu id map."""

    server: SfemuServer
    org: OrgHandle
    http: requests.Session
    version: str
    ids: IdMap = field(default_factory=IdMap)
    token: str = ""
    app: AppHandle | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    results: dict[int, list[str]] = field(default_factory=dict)

    @property
    def domain(self) -> Any:
        return self.org.org

    def create(self, sobject: str, recorded_id: str | None, values: dict) -> str:
        new_id = self.domain.create(sobject, values, user_id=self.org.user_id)
        if recorded_id:
            self.ids.add(recorded_id, new_id)
        return new_id

    def fields(self, sobject: str, specs: dict[str, tuple[str, dict]]) -> None:
        for name, (kind, options) in specs.items():
            self.domain.add_custom_field(sobject, name, kind, **options)


def _grouparoo_fields(r: Replay) -> None:
    r.fields("Account", GROUPAROO_ACCOUNT_FIELDS)
    r.fields("Contact", GROUPAROO_CONTACT_FIELDS)
    r.fields("Lead", GROUPAROO_LEAD_FIELDS)
    r.ids.add("0054S000000JFmhQAG", r.org.user_id)  # the recording org's admin
    r.ids.add("0054S000000JQeqQAG", r.org.user_id)
    r.ids.add("00D4S000000oz4eUAA", r.org.org_id)


def setup_partial_errors(r: Replay) -> None:
    _grouparoo_fields(r)
    r.create("Account", "0014S000007NxmlQAC", {"Name": "Test"})
    r.create("Account", "0014S000007Nx5BQAS", {"Name": "Simpson"})
    r.create("Account", "0014S000007NeKxQAK", {"Name": "Jones Inc"})
    r.create("Contact", "0034S000005YJVlQAO", {"LastName": "Chang"})
    r.create("Contact", "0034S000005YJX5QAO", {"LastName": "Jones"})
    lead = r.domain._system_insert(
        "Lead", {"LastName": "NoEdit", "Company": "ConvertedCorp", "IsConverted": True}
    )
    r.ids.add("00Q4S000002sSacUAE", lead)


def setup_collections_delete(r: Replay) -> None:
    for rid in ("0014S000007NxmlQAC", "0014S000007Nx5BQAS", "0014S000007NxlpQAC", "0014S000007Ny26QAC"):
        r.create("Account", rid, {"Name": f"To delete {rid[-4:]}"})


def setup_rows(r: Replay) -> None:
    _grouparoo_fields(r)
    r.create("Account", "0014S000007NxgWQAS", {"Name": "Smith", "Custom_External_ID__c": "1id"})
    r.create(
        "Contact",
        "0034S000005YJYwQAO",
        {"LastName": "Smith", "Custom_External_ID__c": "1id", "checkbox_field__c": False},
    )
    r.create(
        "Lead",
        "00Q4S000002sSacUAE",
        {"LastName": "Smith", "Company": "SmithCorp", "Email": "leadbrian@demo.com"},
    )
    gone = r.create("Account", "0014S000007Ny26QAC", {"Name": "Deleted"})
    r.domain.delete(gone, user_id=r.org.user_id)
    gone = r.create("Contact", "0034S000005YJX9QAO", {"LastName": "Deleted"})
    r.domain.delete(gone, user_id=r.org.user_id)


def setup_query_results(r: Replay) -> None:
    _grouparoo_fields(r)
    recorded = load("grouparoo/query_results.json")
    for rec in recorded[0].response["records"]:
        r.create("Account", rec["Id"], {"Name": f"Account {rec['Id'][-6:]}"})
    for rec in recorded[2].response["records"]:
        r.create("Contact", rec["Id"], {"LastName": "Float", "float_field__c": rec["float_field__c"]})
    r.create("Contact", None, {"LastName": "Other float", "float_field__c": 3})
    # The CampaignMember query (#3) needs the Lead, the Campaign and the member it recorded.
    lead = r.create("Lead", "00Q4S000002sSacUAE", {"LastName": "Smith", "Company": "SmithCorp"})
    campaign = r.create("Campaign", "7014S00000097HcQAI", {"Name": "(test) High Value4"})
    r.create("CampaignMember", None, {"CampaignId": campaign, "LeadId": lead})


def setup_lead_describe(r: Replay) -> None:
    _grouparoo_fields(r)


def setup_soap_expired(r: Replay) -> None:
    r.domain.set_password_expired(r.org.user_id)


def setup_custom_describe(r: Replay) -> None:
    r.domain.add_custom_object("Custom__c", label="Custom", plural_label="Customs")
    r.domain.add_custom_field("Custom__c", "CustomField__c", "text", length=80, label="Custom Field")


def setup_organization(r: Replay) -> None:
    r.ids.add("00D0xORGID00000000", r.org.org_id)


def setup_count_17(r: Replay) -> None:
    for i in range(17):
        r.create("Account", None, {"Name": f"Counted {i}"})


def setup_deleted_twice(r: Replay) -> None:
    gone = r.create("Account", "0013h00000Fz0GzAAJ", {"Name": "Deleted already"})
    r.domain.delete(gone, user_id=r.org.user_id)


def setup_upsert_300(r: Replay) -> None:
    r.domain.add_custom_field("Account", "Legacy_Key__c", "text", length=40, external_id=True)
    r.create("Account", None, {"Name": "One", "Legacy_Key__c": "L-300"})
    r.create("Account", None, {"Name": "Two", "Legacy_Key__c": "L-300"})


def setup_replication(r: Replay) -> None:
    """restforce's getUpdated fixture lists Contacts, its getDeleted one a custom object's rows."""
    r.domain.add_custom_object("Whizbang__c")
    clock = r.server.clock
    start = clock.advance(minutes=1)
    kept = r.create("Contact", None, {"LastName": "Replicated"})
    gone = r.create("Contact", None, {"LastName": "Removed"})
    r.domain.delete(gone, user_id=r.org.user_id)
    custom_kept = r.create("Whizbang__c", None, {"Name": "Replicated"})
    custom_gone = r.create("Whizbang__c", None, {"Name": "Removed"})
    r.domain.delete(custom_gone, user_id=r.org.user_id)
    r.extra.update(custom_kept=custom_kept, custom_gone=custom_gone)
    end = clock.advance(minutes=2)
    r.extra.update(start=start, end=end, kept=kept, gone=gone)


def setup_oauth(r: Replay) -> None:
    r.app = r.server.create_app(r.org, "replay")


SETUP: dict[str, Callable[[Replay], None]] = {
    "grouparoo/composite_sobjects_create_update_partial_errors.json": setup_partial_errors,
    "grouparoo/composite_sobjects_delete.json": setup_collections_delete,
    "grouparoo/sobject_rows_get_create_notfound.json": setup_rows,
    "grouparoo/query_results.json": setup_query_results,
    "grouparoo/describe_Lead_v42.json": setup_lead_describe,
    "grouparoo/soap_login_password_expired_then_401.json": setup_soap_expired,
    "cumulusci/GET_sobjects_Custom__c_describe.yaml": setup_custom_describe,
    "cumulusci/GET_sobjects_Organization.yaml": setup_organization,
    "cumulusci/composite_query_count_with_INVALID_TYPE.yaml": setup_count_17,
    "mohan-chinnappan-cli-dx/rest_misc_real_responses.yaml": setup_deleted_twice,
    "restforce/upsert_external_id_300_multiple_choices.json": setup_upsert_300,
    "restforce/get_updated.json": setup_replication,
    "restforce/get_deleted.json": setup_replication,
    "cold-storage-sb2/oauth_password_token_and_identity.json": setup_oauth,
    "restforce/oauth_password_error.json": setup_oauth,
    "restforce/oauth_refresh_error.json": setup_oauth,
}

# --- how each file's answers are compared ------------------------------------------------------

# describe `urls` keys of a full object describe (REC:cumulusci/GET_sobjects_Account_describe.yaml)
DESCRIBE_URL_KEYS = {
    "compactLayouts",
    "rowTemplate",
    "approvalLayouts",
    "uiDetailTemplate",
    "uiEditTemplate",
    "defaultValues",
    "listviews",
    "describe",
    "uiNewRecord",
    "quickActions",
    "layouts",
    "sobject",
}
# the recorded Organization is a scratch org: IsSandbox true
SANDBOX_ORGS = {"cumulusci/GET_sobjects_Organization.yaml"}

DESCRIBES = {
    "cumulusci/GET_sobjects_Account_describe.yaml",
    "cumulusci/GET_sobjects_Contact_describe.yaml",
    "cumulusci/GET_sobjects_Custom__c_describe.yaml",
    "cumulusci/GET_sobjects_Global_describe.yaml",
    "grouparoo/describe_Lead_v42.json",
}


def comparer_for(r: Replay, it: Interaction) -> Comparer:
    host = r.server.url
    rewrites = [
        ("/vxx.0/", f"/v{r.version}/"),
        ("https://orgname.my.salesforce.com", host),
        ("https://d4s000000oz4euaa-dev-ed.my.salesforce.com", host),
        ("https://login.salesforce.com", host),
        ("https://na30.salesforce.com", host),
    ]
    cmp = Comparer(ids=r.ids, text_rewrites=rewrites)
    if it.file in DESCRIBES:
        # describe values are org data (labels, picklists, relationship lists): compare shapes
        cmp.shape = True
        cmp.sample_lists = True
    if it.file in (
        "cumulusci/GET_sobjects_Account_describe.yaml",
        "cumulusci/GET_sobjects_Contact_describe.yaml",
    ):
        # captured in 2020, before Salesforce added sobjectDescribeOption to every describe (the
        # 2021 capture at v42.0, grouparoo/describe_Lead_v42.json, and Custom__c have it)
        cmp.allow_extra = {"$": {"sobjectDescribeOption"}}
    if it.file.startswith("cold-storage-sb2/"):
        cmp.check_order = False  # the README: keys were sorted by the author's pretty printer
        cmp.shape = True
    if it.file == "cumulusci/GET_sobjects_Custom__c_describe.yaml":
        # CumulusCI trimmed this cassette: 3 fields, empty urls/childRelationships/recordTypeInfos
        cmp.trimmed_lists = True
        cmp.allow_extra = {"$.urls": DESCRIBE_URL_KEYS}
    if it.file == "cumulusci/GET_sobjects_Organization.yaml":
        # org data of the recorded scratch org (name, contact, pod, trial end) is not sfemu's
        cmp.loose_values = {"Name", "PrimaryContact", "InstanceName", "TrialExpirationDate"}
    if it.file == "mohan-chinnappan-cli-dx/limits_v50.json":
        cmp.loose_values = {"Remaining", "Max"}
        # per-connected-app sub-objects are keyed by the recorded org's app names
        apps = {k for v in it.response.values() for k in v if k not in ("Max", "Remaining")}
        cmp.allow_missing = {f"$.{name}": apps for name, v in it.response.items() if set(v) & apps}
    if it.file == "restforce/oauth_password_error.json":
        # "authentication failure" is the documented text; restforce recorded a variant with a suffix
        cmp.loose_values = {"error_description"}
    if it.file in ("restforce/get_updated.json", "restforce/get_deleted.json"):
        cmp.sample_lists = True
    if it.file == "restforce/upsert_external_id_300_multiple_choices.json":
        cmp.shape = True
    if it.file == "cumulusci/collections_upsert_by_Id_and_query.yaml":
        cmp.loose_values = {"count"}  # recordCount is a cached estimate on real orgs (stale here)
    return cmp


# --- sending ------------------------------------------------------------------------------------


def _version_of(it: Interaction) -> str:
    if it.file.startswith("restforce/"):
        return DEFAULT_VERSION  # bare bodies; the 300 fixture's v23.0 URLs are restforce placeholders
    match = re.search(r"/v(\d\d\.\d)(?:/|$)", it.path)
    if match:
        return match.group(1)
    # cumulusci rewrote versions to vxx.0; its shared describes still say v48.0 inside
    inner = re.search(r"/services/data/v(\d\d\.\d)/", json.dumps(it.response))
    return inner.group(1) if inner else DEFAULT_VERSION


def _request(r: Replay, it: Interaction) -> requests.Response:
    url = r.server.url + r.ids.rewrite(it.path.replace("/vxx.0/", f"/v{r.version}/"))
    query = [(k, r.ids.rewrite(v)) for k, v in it.query]
    headers = {"Authorization": f"Bearer {r.token}"}
    headers.update(it.request_headers)
    data: Any = None
    if it.file in ("restforce/get_updated.json", "restforce/get_deleted.json"):
        query = [("start", r.extra["start"].isoformat()), ("end", r.extra["end"].isoformat())]
    if it.body_kind == "json":
        body = r.ids.rewrite_json(it.body)
        data = json.dumps(body).replace("/vxx.0/", f"/v{r.version}/")
        headers["Content-Type"] = "application/json"
    elif it.body_kind == "text":  # SOAP login envelope: the recording's user → ours
        data = re.sub(r"<username>[^<]*</username>", f"<username>{r.org.username}</username>", it.body)
        data = re.sub(r"<password>[^<]*</password>", f"<password>{r.org.login_password}</password>", data)
        headers = {"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""'}
    elif it.body_kind == "form":
        assert r.app is not None
        data = _token_form(r, it)
        headers = {}
    if it.path.startswith("/id/"):
        url = f"{r.server.url}/id/{r.org.org_id}/{r.org.user_id}"
        headers = {"Authorization": f"Bearer {r.extra['token']['access_token']}"}
    return r.http.request(it.method, url, params=query or None, data=data, headers=headers, timeout=30)


def _token_form(r: Replay, it: Interaction) -> dict[str, str]:
    app = r.app
    assert app is not None
    if it.file == "restforce/oauth_refresh_error.json":
        return {
            "grant_type": "refresh_token",
            "refresh_token": "5Aep861revokedRefreshToken",
            "client_id": app.client_id,
            "client_secret": app.client_secret,
        }
    password = r.org.login_password
    if it.file == "restforce/oauth_password_error.json":
        password += "-wrong"
    return {
        "grant_type": "password",
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "username": r.org.username,
        "password": password,
    }


def _xml_children(text: str, tag: str) -> list[str]:
    root = ET.fromstring(text)
    for el in root.iter():
        if el.tag.rsplit("}", 1)[-1] == tag:
            return [c.tag.rsplit("}", 1)[-1] for c in el]
    return []


def _check_headers(it: Interaction, resp: requests.Response, problems: list[str]) -> None:
    content_type = resp.headers.get("Content-Type", "")
    recorded = it.headers.get("Content-Type")
    if it.response_kind == "json" and resp.status_code != 204:
        want = recorded or JSON_CONTENT_TYPE
        if it.path == "/services/oauth2/token" or it.path.startswith("/id/"):
            want = JSON_CONTENT_TYPE
        if content_type != want:
            problems.append(f"Content-Type {content_type!r}, recorded {want!r}")
    elif recorded and content_type.lower().replace(" ", "") != recorded.lower().replace(" ", ""):
        problems.append(f"Content-Type {content_type!r}, recorded {recorded!r}")
    rest = it.path.startswith("/services/data/v") and resp.status_code != 401
    if rest:
        info = resp.headers.get("Sforce-Limit-Info")
        if info is None or not LIMIT_INFO.match(info):
            problems.append(f"Sforce-Limit-Info missing or malformed: {info!r}")
    if "Location" in it.headers:
        location = resp.headers.get("Location", "")
        if not re.fullmatch(r"/services/data/v\d\d\.0/sobjects/\w+/\w{18}", location):
            problems.append(f"Location header {location!r}, recorded {it.headers['Location']!r}")


def _compare(r: Replay, it: Interaction, resp: requests.Response) -> list[str]:
    problems: list[str] = []
    if resp.status_code != it.status:
        problems.append(f"status {resp.status_code}, recorded {it.status}: {resp.text[:300]}")
        return problems
    _check_headers(it, resp, problems)
    if it.response_kind == "xml":
        for tag in ("result", "userInfo"):
            want, got = _xml_children(it.response, tag), _xml_children(resp.text, tag)
            if want != got:
                problems.append(f"SOAP <{tag}> children {got}, recorded {want}")
        return problems
    if it.response_kind == "empty":
        if resp.content:
            problems.append(f"expected no body, got {resp.text[:200]}")
        return problems
    try:
        actual = resp.json()
    except ValueError:
        return [*problems, f"answer is not JSON: {resp.text[:200]}"]
    expected = it.response
    if it.file == "restforce/upsert_external_id_300_multiple_choices.json":
        # restforce's placeholder "Whizbang" URLs: the shape is a list of record URLs
        return (
            problems
            + [
                f"not a record URL: {u}"
                for u in actual
                if not re.fullmatch(rf"/services/data/v{r.version}/sobjects/Account/\w{{18}}", str(u))
            ]
            + ([] if len(actual) == len(expected) else [f"{len(actual)} URLs, recorded {len(expected)}"])
        )
    cmp = comparer_for(r, it)
    problems += cmp.compare(expected, actual)
    problems += _extra_checks(r, it, actual)
    if it.path == "/services/oauth2/token" and resp.status_code == 200:
        r.extra["token"] = actual
    return problems


def _extra_checks(r: Replay, it: Interaction, actual: Any) -> list[str]:
    """Value checks that the generic comparison leaves to format only."""
    out: list[str] = []
    ids = actual.get("ids", []) if isinstance(actual, dict) else []
    if it.file == "restforce/get_updated.json" and (r.extra["kept"] not in ids or r.extra["gone"] in ids):
        out.append(f"updated ids {actual.get('ids')} should hold {r.extra['kept']} only")
    if it.file == "restforce/get_deleted.json":
        gone = [d.get("id") for d in actual.get("deletedRecords", [])]
        if gone != [r.extra["custom_gone"]]:
            out.append(f"deletedRecords {gone}, expected [{r.extra['custom_gone']}]")
    description = str(actual.get("error_description")) if isinstance(actual, dict) else ""
    if it.file == "restforce/oauth_password_error.json" and not description.startswith(
        "authentication failure"
    ):
        out.append(f"error_description {description!r}")
    if it.file == "cold-storage-sb2/oauth_password_token_and_identity.json" and it.index == 0:
        if not re.fullmatch(r"\d{13}", actual.get("issued_at", "")):
            out.append(f"issued_at {actual.get('issued_at')!r} is not epoch millis as a string")
        if not actual.get("access_token", "").startswith(r.org.org_id[:15] + "!"):
            out.append("access_token does not start with the 15-char org id and '!'")
        if actual.get("token_type") != "Bearer":
            out.append(f"token_type {actual.get('token_type')!r}")
        if not actual.get("id", "").endswith(f"/id/{r.org.org_id}/{r.org.user_id}"):
            out.append(f"id {actual.get('id')!r}")
    for path, value in _ids_in(actual):
        if len(value) == 18 and not valid_id18(value):
            out.append(f"{path}: id {value} has a bad checksum")
    return out


def _ids_in(doc: Any, path: str = "$") -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            if isinstance(v, str) and (k in ("id", "Id") or (k.endswith("Id") and len(v) == 18)):
                out.append((f"{path}.{k}", v))
            else:
                out.extend(_ids_in(v, f"{path}.{k}"))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out.extend(_ids_in(v, f"{path}[{i}]"))
    return out


# --- the replay itself --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def replays(sfemu_server: SfemuServer) -> dict[str, Replay]:
    return {}


def _replay_for(replays: dict[str, Replay], server: SfemuServer, file: str) -> Replay:
    if file not in replays:
        interactions = load(file)
        org = server.create_org(f"replay-{len(replays)}", sandbox=file in SANDBOX_ORGS)
        r = Replay(server, org, server.http_session(), _version_of(interactions[0]))
        r.token = org.access_token
        if file in SETUP:
            SETUP[file](r)
        replays[file] = r
    return replays[file]


def _run(r: Replay, it: Interaction) -> list[str]:
    """Replay ``it`` after every earlier interaction of its file (ids learned there are needed)."""
    for earlier in load(it.file)[: it.index]:
        if earlier.index not in r.results and (earlier.file, earlier.index) not in OUT_OF_SCOPE_INTERACTIONS:
            r.results[earlier.index] = _send(r, earlier)
    if it.index not in r.results:
        r.results[it.index] = _send(r, it)
    return r.results[it.index]


def _send(r: Replay, it: Interaction) -> list[str]:
    resp = _request(r, it)
    if it.response_kind == "xml" and resp.status_code == 200:
        match = re.search(r"<sessionId>([^<]+)</sessionId>", resp.text)
        if match:
            r.token = match.group(1)
    return _compare(r, it, resp)


@pytest.mark.parametrize("interaction", REPLAY_PARAMS)
def test_replay(interaction: Interaction | None, sfemu_server: SfemuServer, replays) -> None:
    if interaction is None:
        require_shared(RECORDED)
        pytest.fail(f"no replayable recording in {RECORDED}", pytrace=False)
    r = _replay_for(replays, sfemu_server, interaction.file)
    problems = _run(r, interaction)
    assert not problems, f"{interaction.param_id} differs from the recording:\n  " + "\n  ".join(problems)
