"""CSV/PDF reports, the management commands and the schedule."""

import csv
import datetime
import io

import pytest
from django.core.management import CommandError, call_command
from django_q.models import Schedule
from pypdf import PdfReader

from metadiff import services, tasks
from metadiff.models import Deployment, DiffRun
from metadiff.reports import diff_run_csv, diff_run_pdf


@pytest.fixture
def run(pair) -> DiffRun:
    return services.diff_run_start(difference=pair.difference())


def test_csv_report_lists_every_difference(run):
    rows = list(csv.DictReader(io.StringIO(diff_run_csv(run=run))))
    assert {(r["Type"], r["Component"]) for r in rows} == {
        (c.type, c.full_name) for c in run.components.exclude(state="identical")
    }
    tier = next(r for r in rows if r["Component"] == "Account.Tier__c")
    assert (tier["Member"], tier["Member state"]) == ("Picklist value Bronze", "Only in source")
    code = next(r for r in rows if r["Component"] == "Account.Code__c")
    assert code["Changes"] == "length 80 in source, 40 in destination"


def test_pdf_report_contains_the_differences(run):
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(diff_run_pdf(run=run))).pages)
    for expected in (
        run.difference.name,
        "Account.Region__c - Only in source",
        "Account.Legacy__c - Only in destination",
        "Picklist value Bronze: only in source",
        "length 80 in source, 40 in destination",
        "Field permission Account.Code__c: different",
    ):
        assert expected in text


def test_org_diff_command_prints_and_writes_reports(pair, tmp_path):
    out = io.StringIO()
    call_command(
        "org_diff",
        pair.source_org.label,
        pair.destination_org.org_id,
        "--members",
        "--csv",
        str(tmp_path / "d.csv"),
        "--pdf",
        str(tmp_path / "d.pdf"),
        stdout=out,
    )
    assert "Only in source       CustomField      Account.Region__c" in out.getvalue()
    assert "Picklist value Bronze: only source" in out.getvalue()
    assert "Account.Legacy__c" in (tmp_path / "d.csv").read_text()
    assert (tmp_path / "d.pdf").read_bytes().startswith(b"%PDF")
    assert DiffRun.objects.get().trigger == DiffRun.Trigger.COMMAND


def test_org_diff_command_refuses_unknown_orgs(db):
    with pytest.raises(CommandError, match="No connected org"):
        call_command("org_diff", "nowhere", "nothing")


def test_org_sync_metadata_command_shows_plan_then_validates(run):
    out = io.StringIO()
    call_command("org_sync_metadata", str(run.pk), stdout=out)
    assert "add/update  CustomField Account.Region__c" in out.getvalue()
    assert "delete" not in out.getvalue().replace("Nothing deployed", "")
    assert not Deployment.objects.exists()
    with pytest.raises(CommandError, match="failed"):
        # the production destination refuses NoTestRun for a deployment with Apex in it
        call_command("org_sync_metadata", str(run.pk), "--validate-only", stdout=io.StringIO())
    deployment = Deployment.objects.get()
    assert deployment.validate_only and "NoTestRun cannot be used in production" in deployment.log


def test_schedule_runs_get_differences(pair):
    """A daily schedule calls the scheduled task, which records a new run."""
    difference = pair.difference()
    schedule = services.org_difference_schedule(
        difference=difference, repeat="daily", at=datetime.time(2, 30)
    )
    assert schedule.schedule_type == Schedule.DAILY and schedule.func == services.SCHEDULED_FUNC
    assert (schedule.next_run.hour, schedule.next_run.minute) == (2, 30)
    run_id = tasks.scheduled_get_differences(*eval(schedule.args))  # what django-q2 does
    run = DiffRun.objects.get(pk=run_id)
    assert run.trigger == DiffRun.Trigger.SCHEDULE and run.status == DiffRun.Status.SUCCEEDED
    services.org_difference_schedule(difference=difference, repeat=None)
    assert not Schedule.objects.filter(func=services.SCHEDULED_FUNC).exists()


def test_next_run_at_weekly():
    now = datetime.datetime(2026, 1, 7, 12, 0, tzinfo=datetime.UTC)  # a Wednesday
    assert services.next_run_at(datetime.time(9, 0), 0, now) == datetime.datetime(
        2026, 1, 12, 9, 0, tzinfo=datetime.UTC
    )
    assert services.next_run_at(datetime.time(13, 0), None, now).day == 7
