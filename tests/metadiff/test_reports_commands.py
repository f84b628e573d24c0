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


# ------------------------------------------------------------------ commands with workers
@pytest.fixture
def workers_later(monkeypatch):
    """Queue runs as with real workers (nothing runs at once); `org_diff`'s first pause lets
    "the workers" run the queued run, as they would while the command waits."""
    from metadiff.management.commands import org_diff

    monkeypatch.setattr(services, "async_task", lambda *args, **kwargs: "task-1")
    pauses = []

    def pause(seconds):
        if not pauses:
            tasks.get_differences(DiffRun.objects.get(status=DiffRun.Status.QUEUED).pk)
        pauses.append(seconds)

    monkeypatch.setattr(org_diff, "pause", pause)
    return pauses


def reports(tmp_path) -> list[str]:
    return ["--csv", str(tmp_path / "d.csv"), "--pdf", str(tmp_path / "d.pdf")]


def test_org_diff_waits_for_the_workers_then_writes_the_reports(pair, tmp_path, workers_later):
    out = io.StringIO()
    call_command(
        "org_diff", pair.source_org.label, pair.destination_org.label, *reports(tmp_path), stdout=out
    )
    text = out.getvalue()
    run = DiffRun.objects.get()
    assert f"Run {run.pk} queued (task task-1); waiting for the workers to run it." in text
    assert f"Run {run.pk}: Queued, 0 % Queued" in text, "progress while waiting"
    assert workers_later, "it waited"
    assert "Only in source       CustomField      Account.Region__c" in text
    assert "Account.Legacy__c" in (tmp_path / "d.csv").read_text()
    assert (tmp_path / "d.pdf").read_bytes().startswith(b"%PDF")
    assert f"CSV written to {tmp_path / 'd.csv'}" in text


def test_org_diff_no_wait_says_the_reports_were_not_written_and_how_to_get_them(
    pair, tmp_path, workers_later, monkeypatch
):
    out = io.StringIO()
    call_command(
        "org_diff",
        pair.source_org.label,
        pair.destination_org.label,
        *reports(tmp_path),
        "--no-wait",
        stdout=out,
    )
    run = DiffRun.objects.get()
    assert run.status == DiffRun.Status.QUEUED
    assert not (tmp_path / "d.csv").exists() and not (tmp_path / "d.pdf").exists()
    text = out.getvalue()
    assert "the reports were not written" in text
    later = f"manage.py org_diff --run {run.pk} --csv {tmp_path / 'd.csv'} --pdf {tmp_path / 'd.pdf'}"
    assert later in text
    # ... and that is how to get them, once the workers have run it.
    with pytest.raises(CommandError, match=f"Run {run.pk} has not finished yet"):
        call_command("org_diff", "--run", str(run.pk), *reports(tmp_path), stdout=io.StringIO())
    tasks.get_differences(run.pk)
    out = io.StringIO()
    call_command("org_diff", "--run", str(run.pk), *reports(tmp_path), stdout=out)
    assert "Account.Legacy__c" in (tmp_path / "d.csv").read_text()
    assert (tmp_path / "d.pdf").read_bytes().startswith(b"%PDF")
    assert "Account.Region__c" in out.getvalue()


def test_org_diff_gives_up_waiting_after_the_timeout(pair, tmp_path, monkeypatch):
    monkeypatch.setattr(services, "async_task", lambda *args, **kwargs: "task-1")
    with pytest.raises(CommandError, match=r"has not finished after 0 s .* goes on in the workers") as caught:
        call_command(
            "org_diff",
            pair.source_org.label,
            pair.destination_org.label,
            *reports(tmp_path),
            "--timeout",
            "0",
            stdout=io.StringIO(),
        )
    assert "--run" in str(caught.value) and "\n" not in str(caught.value)
    assert not (tmp_path / "d.csv").exists()


# ---------------------------------------------------------------- bad arguments: one line
def one_line_error(*args) -> str:
    with pytest.raises(CommandError) as caught:
        call_command(*args, stdout=io.StringIO(), stderr=io.StringIO())
    message = str(caught.value)
    assert "\n" not in message.strip() and "Traceback" not in message, message
    return message


def test_org_diff_of_an_org_with_itself_is_a_one_line_error(pair):
    label = pair.source_org.label
    assert "the same org" in one_line_error("org_diff", label, label)
    assert not DiffRun.objects.exists()


def test_org_diff_bad_arguments(pair, tmp_path):
    source, destination = pair.source_org.label, pair.destination_org.label
    assert "No connected org" in one_line_error("org_diff", source, "nowhere")
    assert "Name the SOURCE and DESTINATION" in one_line_error("org_diff", source)
    assert "does not exist" in one_line_error(
        "org_diff", source, destination, "--csv", str(tmp_path / "no" / "d.csv")
    )
    assert "is a directory" in one_line_error("org_diff", source, destination, "--pdf", str(tmp_path))
    assert "at most 120 characters" in one_line_error("org_diff", source, destination, "--name", "x" * 300)
    assert "No differences run 999" in one_line_error("org_diff", "--run", "999")
    assert "not both" in one_line_error("org_diff", source, destination, "--run", "1")
    assert "invalid int value" in one_line_error("org_diff", "--run", "abc")
    assert not DiffRun.objects.exists(), "a bad argument starts nothing"


def test_org_diff_of_a_failed_run_is_a_one_line_error(pair, monkeypatch):
    run = services.diff_run_start(difference=pair.difference())
    DiffRun.objects.filter(pk=run.pk).update(status=DiffRun.Status.FAILED, error="Login failed:\n  expired")
    assert one_line_error("org_diff", "--run", str(run.pk)) == f"Run {run.pk} failed: Login failed: expired"


def test_org_sync_metadata_bad_arguments(pair):
    assert "No differences run 999" in one_line_error("org_sync_metadata", "999")
    assert "invalid int value" in one_line_error("org_sync_metadata", "abc")
    queued = DiffRun.objects.create(difference=pair.difference())
    assert "has not finished successfully" in one_line_error("org_sync_metadata", str(queued.pk))
    assert "invalid choice" in one_line_error("org_sync_metadata", str(queued.pk), "--test-level", "Some")


def test_org_sync_metadata_specified_tests_without_names(run):
    assert "needs the names" in one_line_error(
        "org_sync_metadata", str(run.pk), "--validate-only", "--test-level", "RunSpecifiedTests"
    )


def test_connection_metadata_gaps_bad_arguments(db):
    assert "No connection named or numbered" in one_line_error("connection_metadata_gaps", "nowhere")
    assert "No connection named or numbered" in one_line_error("connection_metadata_gaps", "9" * 30)
    assert "the following arguments are required" in one_line_error("connection_metadata_gaps")
