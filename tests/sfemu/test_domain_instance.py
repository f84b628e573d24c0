"""Instance and org setup: persistence across restarts, users, login, limits, threads."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from sfemu import ids
from sfemu.errors import SalesforceError
from sfemu.instance import Instance


def test_create_org_builds_a_usable_org() -> None:
    with Instance() as inst:
        creds = inst.create_org("Acme Prod", edition="Enterprise Edition")
        assert creds.org_id.startswith("00D") and ids.is_valid(creds.org_id)
        assert creds.username == "admin@acme-prod.sfemu.org"
        assert len(creds.security_token) == 25 and len(creds.password) >= 8
        org = inst.org(creds.org_id[:15])
        assert org is inst.org_by_name("acme prod") and org.edition == "Enterprise Edition"
        row = org.get("Organization", creds.org_id)
        assert (row["Name"], row["OrganizationType"], row["IsSandbox"]) == (
            "Acme Prod",
            "Enterprise Edition",
            False,
        )
        assert row["Address"]["country"] == "US"
        profiles = {r["Name"] for r in org.query("SELECT Name FROM Profile").records}
        assert profiles == {"System Administrator", "Standard User", "Read Only"}
        user = org.user(creds.admin_user_id)
        assert user["Username"] == creds.username and user["IsActive"] is True
        assert user["CreatedById"] == creds.admin_user_id
        admin = org.query("SELECT Profile.Name, UserRole.Name FROM User").records[0]
        assert admin["Profile"]["Name"] == "System Administrator"
        assert admin["UserRole"]["Name"] == "CEO"
        with pytest.raises(ValueError):
            inst.create_org("ACME PROD")
        with pytest.raises(KeyError):
            inst.org("00D000000000000AAA")
        sandbox = inst.org(inst.create_org("Acme Sandbox", sandbox=True).org_id)
        assert sandbox.is_sandbox and sandbox.api_usage()[1] == 5_000_000
        assert sandbox.get("Organization", sandbox.org_id)["InstanceName"].startswith("CS")


def test_authentication() -> None:
    with Instance() as inst:
        creds = inst.create_org("Login Org")
        org = inst.org(creds.org_id)
        ok = inst.authenticate(creds.username.upper(), creds.password + creds.security_token)
        assert ok.error is None and ok.org is org and ok.user["Id"] == creds.admin_user_id
        assert inst.authenticate(creds.username, creds.password).error == "INVALID_LOGIN"
        assert (
            inst.authenticate(creds.username, creds.password, require_token=False).error is None
        )  # browser login page
        assert inst.authenticate(creds.username, "wrong").error == "INVALID_LOGIN"
        unknown = inst.authenticate("nobody@x.org", "x")
        assert (unknown.org, unknown.error) == (None, "INVALID_LOGIN")
        org.set_option("require_security_token", False)
        assert inst.authenticate(creds.username, creds.password).error is None
        rep = org.add_user(first_name="Rita", last_name="Rep", profile="Read Only")
        assert inst.find_user(rep.username)[1]["Id"] == rep.user_id
        org.set_user_active(rep.user_id, False)
        assert inst.authenticate(rep.username, rep.password).error == "INACTIVE_USER"
        org.set_password_expired(creds.admin_user_id)
        assert inst.authenticate(creds.username, creds.password).password_expired is True
        fresh = org.reset_password(rep.user_id)
        assert org.verify_password(rep.user_id, fresh.password + fresh.security_token)
        assert not org.verify_password(rep.user_id, rep.password)


def test_persistence_across_restart(tmp_path: Path) -> None:
    with Instance(tmp_path) as inst:
        creds = inst.create_org("Persistent")
        org = inst.org(creds.org_id)
        org.add_custom_object("Widget__c", label="Widget")
        org.add_custom_field("Widget__c", "Size__c", "number", precision=6, scale=1)
        org.add_validation_rule(
            "Widget__c", "No_Big", field="Size__c", condition="gt", value=100, message="too big"
        )
        org.set_option("audit_fields_on_create", True)
        rt = org.add_record_type("Account", "Partner", default=True)
        acc = org.create("Account", {"Name": "Kept"}, user_id=creds.admin_user_id)
        gone = org.create("Account", {"Name": "Binned"}, user_id=creds.admin_user_id)
        org.delete(gone, user_id=creds.admin_user_id)
        wid = org.create("Widget__c", {"Size__c": 1.25}, user_id=creds.admin_user_id)
        org.count_api_call("REST")
        stamp = org.get("Account", acc)["SystemModstamp"]
        inst.session_timeout_seconds = 900
    assert (tmp_path / "sfemu.sqlite3").exists()
    with Instance(tmp_path) as inst:
        org = inst.org(creds.org_id)
        assert inst.session_timeout_seconds == 900
        assert org.get("Account", acc)["Name"] == "Kept"
        assert org.get("Account", acc)["RecordTypeId"] == rt
        assert org.get("Widget__c", wid)["Size__c"] == 1.3
        with pytest.raises(SalesforceError) as exc:
            org.create("Widget__c", {"Size__c": 101}, user_id=creds.admin_user_id)
        assert exc.value.message == "too big"
        assert org.options["audit_fields_on_create"] is True
        assert inst.authenticate(creds.username, creds.password + creds.security_token).user
        org.undelete(gone, user_id=creds.admin_user_id)
        assert org.api_usage()[0] == 1
        new = org.create("Account", {"Name": "After"}, user_id=creds.admin_user_id)
        assert org.get("Account", new)["SystemModstamp"] > stamp
        assert new != acc and new > acc[:15]


def test_limits_and_api_counter() -> None:
    with Instance() as inst:
        org = inst.org(inst.create_org("Limits Org").org_id)
        for _ in range(3):
            org.count_api_call("REST")
        org.count_api_call("bulk_batch")
        body = org.limits()
        assert body["DailyApiRequests"] == {"Max": 15000, "Remaining": 14996}
        assert body["DailyBulkApiBatches"]["Remaining"] == 14999
        assert list(body)[:3] == [
            "AnalyticsExternalDataSizeMB",
            "BOZosCalloutHourlyLimit",
            "ConcurrentAsyncGetReportInstances",
        ]
        assert set(body["PermissionSets"]) == {"Max", "Remaining", "CreateCustom"}
        assert len(body) == 47
        assert org.api_usage() == (4, 15000)
        org.set_option("api_daily_limit", 4)
        with pytest.raises(SalesforceError) as exc:
            org.check_api_limit()
        assert (exc.value.error_code, exc.value.status) == ("REQUEST_LIMIT_EXCEEDED", 403)
        assert org.record_counts(["Account", "User"]) == {"User": 1}


def test_parallel_writes_from_threads(tmp_path: Path) -> None:
    with Instance(tmp_path) as inst:
        org = inst.org(inst.create_org("Threads").org_id)
        errors: list[Exception] = []

        def work(n: int) -> None:
            try:
                for i in range(25):
                    rid = org.create("Account", {"Name": f"T{n}-{i}"}, user_id=org.admin_user_id)
                    org.update("Account", rid, {"Phone": str(i)}, user_id=org.admin_user_id)
                    org.query("SELECT COUNT() FROM Account")
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        rows = org.query("SELECT SystemModstamp FROM Account").records
        assert len(rows) == 200
        assert len({r["SystemModstamp"] for r in rows}) == 200
