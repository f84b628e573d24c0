"""jsforce's less common calls, unmodified, against sfemu: ``tests/sfemu/js/extras.mjs`` runs under
node (composite/batch and composite/tree through ``conn.requestPost``, ``conn.recent()``,
``conn.tooling.executeAnonymous``, ``conn.metadata.retrieve`` — which sends the
``<retrieve><request>`` element — and ``conn.logout()`` for an OAuth and a SOAP session) and
writes each step's outcome as JSON. Needs ``npm ci --prefix tests/sfemu/js``."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from typing import Any

import pytest

from sfemu.testing import OrgHandle, SfemuServer
from tests.sfemu.jsforce_runner import failed, ok, run_script
from tests.sfemu.replay.checks import valid_id18

VERSION = "62.0"


@pytest.fixture(scope="module")
def org(sfemu_server: SfemuServer) -> OrgHandle:
    handle = sfemu_server.create_org("jsforce-extras")
    handle.org.add_custom_field("Account", "JS_Key__c", "text", length=30, external_id=True)
    return handle


@pytest.fixture(scope="module")
def js(sfemu_server: SfemuServer, org: OrgHandle, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    app = sfemu_server.create_app(org, "jsforce extras")
    out = tmp_path_factory.mktemp("jsforce-extras") / "extras.json"
    config = {
        "url": sfemu_server.url,
        "username": org.username,
        "password": org.login_password,
        "clientId": app.client_id,
        "clientSecret": app.client_secret,
        "version": VERSION,
    }
    return run_script(sfemu_server, "extras.mjs", config, out)


def test_composite_batch(js) -> None:
    value = ok(js, "batch")
    answer = value["answer"]
    assert answer["hasErrors"] is True  # the GET of a missing record is a 404
    assert [r["statusCode"] for r in answer["results"]] == [204, 200, 404, 200]
    assert answer["results"][0]["result"] is None
    assert answer["results"][1]["result"]["Name"] == "JS Batch Renamed"
    assert answer["results"][2]["result"] == [
        {"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}
    ]
    query = answer["results"][3]["result"]
    assert query["totalSize"] == 1 and query["records"][0]["Id"] == value["id"]


def test_composite_batch_halt_on_error(js) -> None:
    answer = ok(js, "batchHalted")
    assert answer["hasErrors"] is True
    assert [r["statusCode"] for r in answer["results"]] == [400, 412]
    assert answer["results"][0]["result"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert answer["results"][1]["result"][0]["errorCode"] == "BATCH_PROCESSING_HALTED"
    assert ok(js, "batchHaltedSurvivors") == 0


def test_composite_tree(js) -> None:
    value = ok(js, "tree")
    answer = value["answer"]
    assert answer["hasErrors"] is False
    assert [r["referenceId"] for r in answer["results"]] == ["acc1", "con1", "con2"]
    ids = {r["referenceId"]: r["id"] for r in answer["results"]}
    assert all(valid_id18(i) for i in ids.values())
    assert value["children"] == [
        {"Id": ids["con1"], "AccountId": ids["acc1"], "parent": "JS Tree Parent"},
        {"Id": ids["con2"], "AccountId": ids["acc1"], "parent": "JS Tree Parent"},
    ]


def test_composite_tree_failure_rolls_back(js) -> None:
    value = ok(js, "treeFailure")
    # jsforce names a non-array error body ERROR_HTTP_<status> and keeps the body as the message,
    # which is what the Salesforce CLI parses back into the tree result
    assert value["name"] == "ERROR_HTTP_400"
    assert json.loads(value["message"]) == {
        "hasErrors": True,
        "results": [
            {
                "referenceId": "bad",
                "errors": [
                    {
                        "statusCode": "REQUIRED_FIELD_MISSING",
                        "message": "Required fields are missing: [Name]",
                        "fields": ["Name"],
                    }
                ],
            }
        ],
    }
    assert value["survivors"] == 0


def test_recent(js) -> None:
    assert ok(js, "recent") == []
    assert ok(js, "recentLimit") == []


def test_execute_anonymous_is_a_clean_compile_failure(js) -> None:
    result = ok(js, "executeAnonymous")
    assert list(result) == [
        "line",
        "column",
        "compiled",
        "success",
        "compileProblem",
        "exceptionStackTrace",
        "exceptionMessage",
    ]
    assert (result["compiled"], result["success"], result["line"], result["column"]) == (False, False, 1, 1)
    assert "sfemu does not run Apex" in result["compileProblem"]
    assert result["exceptionMessage"] is None and result["exceptionStackTrace"] is None


def test_metadata_retrieve_with_the_request_element(js) -> None:
    value = ok(js, "metadataRetrieve")
    assert (value["done"], value["success"], value["status"]) == (True, True, "Succeeded")
    assert value["fileNames"] == ["unpackaged/objects/Account.object", "unpackaged/package.xml"]
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(value["zipFile"]))) as archive:
        assert sorted(archive.namelist()) == value["fileNames"]
        account = archive.read("unpackaged/objects/Account.object").decode()
        package = archive.read("unpackaged/package.xml").decode()
    assert "<fullName>JS_Key__c</fullName>" in account
    assert "<externalId>true</externalId>" in account
    assert "<members>Account.JS_Key__c</members>" in package and "<name>CustomField</name>" in package


def test_oauth_logout_revokes_the_token(js) -> None:
    assert ok(js, "oauthLogout") == {"accessTokenAfter": None}
    err = failed(js, "afterOauthLogout")
    assert err["errorCode"] == "INVALID_SESSION_ID" and err["message"] == "Session expired or invalid"


def test_soap_logout_ends_the_session(js) -> None:
    ok(js, "soapLogin")
    assert ok(js, "beforeSoapLogout") is True
    assert ok(js, "soapLogout") == {"accessTokenAfter": None}
    err = failed(js, "afterSoapLogout")
    assert err["errorCode"] == "INVALID_SESSION_ID" and err["message"] == "Session expired or invalid"
    again = failed(js, "soapLogoutAgain")  # jsforce throws Error(<faultstring>)
    assert (
        again["message"] == "INVALID_SESSION_ID: Invalid Session ID found in SessionHeader: Illegal Session"
    )


def test_apex_soap_as_the_salesforce_cli_reads_it(js) -> None:
    """``sf apex run`` reads ``soapenv:Envelope/soapenv:Body/executeAnonymousResponse/result`` and
    ``soapenv:Header/DebuggingInfo/debugLog`` from jsforce's parse of the XML."""
    envelope = ok(js, "apexSoap")["soapenv:Envelope"]
    result = envelope["soapenv:Body"]["executeAnonymousResponse"]["result"]
    assert list(result) == [
        "column",
        "compileProblem",
        "compiled",
        "exceptionMessage",
        "exceptionStackTrace",
        "line",
        "success",
    ]
    assert (result["compiled"], result["success"], result["line"], result["column"]) == (
        "false",
        "false",
        "1",
        "1",
    )
    assert "sfemu does not run Apex" in result["compileProblem"]
    log = envelope["soapenv:Header"]["DebuggingInfo"]["debugLog"]
    assert log.startswith(f"{VERSION} APEX_CODE,")
    assert "Execute Anonymous: System.debug('<b> & c');\nExecute Anonymous: Integer i = 1;" in log
