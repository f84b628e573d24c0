"""metadiff services: create a comparison, run it, deploy from it, schedule it.

Doors (admin, commands, django-q2 tasks) call these; the work itself is plain Python in
metadiff.retrieve / compare / package. `*_start` services record the row and queue a task with
its id; `*_execute` services take up only a queued row (so a task run twice does nothing the
second time), do the work in the worker and always finalize the row. `lost_work_requeue` finds
the rows whose task was lost with the broker or its worker.
"""

import datetime
import logging
from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F, Q, TextField, Value
from django.db.models.functions import Concat
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import Schedule
from django_q.tasks import async_task

from connections.client import SalesforceClient
from connections.client_errors import SalesforceApiError
from connections.metadata_api import DeployRequest, DeployResult, MetadataType, Waiter
from connections.models import Connection, Org
from metadiff.compare import Component, ComponentDiff, State, compare, counts
from metadiff.errors import InvalidSelection, MetadiffError, RunNotReady
from metadiff.models import ComponentDifference, ConnectionMetadataSync, Deployment, DiffRun, OrgDifference
from metadiff.package import build_deploy_zip
from metadiff.retrieve import take_snapshot

logger = logging.getLogger(__name__)
SCHEDULED_FUNC = "metadiff.tasks.scheduled_get_differences"
RUN_TASK = "metadiff.tasks.get_differences"
DEPLOY_TASK = "metadiff.tasks.deploy"
DEPLOY_STATUS = {
    "Succeeded": Deployment.Status.SUCCEEDED,
    "SucceededPartial": Deployment.Status.SUCCEEDED_PARTIAL,
}


def org_difference_create(
    *,
    name: str,
    source_org: Org,
    destination_org: Org,
    exclude_managed: bool = False,
    member_differences: bool = True,
    profile_batch_size: int = 500,
    batch_size: int = 2000,
    actor: AbstractBaseUser | None = None,
) -> OrgDifference:
    """A named comparison; validates like the admin form does."""
    difference = OrgDifference(
        name=name,
        source_org=source_org,
        destination_org=destination_org,
        exclude_managed=exclude_managed,
        member_differences=member_differences,
        profile_batch_size=profile_batch_size,
        batch_size=batch_size,
        created_by=actor,
    )
    difference.full_clean()
    difference.save()
    return difference


# --- Get Differences ------------------------------------------------------------------------


def diff_run_start(
    *,
    difference: OrgDifference,
    actor: AbstractBaseUser | None = None,
    trigger: str = DiffRun.Trigger.MANUAL,
) -> DiffRun:
    """Queue a run of Get Differences (runs inline when django-q2 is in sync mode)."""
    run = DiffRun.objects.create(
        difference=difference,
        trigger=trigger,
        started_by=actor,
        exclude_managed=difference.exclude_managed,
        member_differences=difference.member_differences,
        progress_message="Queued",
    )
    task_id = async_task(RUN_TASK, run.pk, task_name=f"metadiff-run-{run.pk}")
    DiffRun.objects.filter(pk=run.pk).update(task_id=str(task_id or ""))
    run.refresh_from_db()
    return run


class _RunReporter:
    """Writes a run's progress and log lines to its row as they happen."""

    def __init__(self, run: DiffRun) -> None:
        self.run = run

    def line(self, message: str) -> None:
        logger.info("metadiff run %s: %s", self.run.pk, message)
        self.run.log += f"{timezone.now():%Y-%m-%d %H:%M:%S} {message}\n"
        self.run.progress_at = timezone.now()
        DiffRun.objects.filter(pk=self.run.pk).update(log=self.run.log, progress_at=self.run.progress_at)

    def progress(self, percent: int, message: str) -> None:
        self.run.progress, self.run.progress_message = percent, message[:200]
        self.run.progress_at = timezone.now()
        DiffRun.objects.filter(pk=self.run.pk).update(
            progress=percent, progress_message=message[:200], progress_at=self.run.progress_at
        )

    def span(self, low: int, high: int, org_label: str):
        def report(done: int, total: int, message: str) -> None:
            self.progress(low + (high - low) * done // max(total, 1), f"{org_label}: {message}")
            self.line(f"{org_label}: {message}")

        return report


def diff_run_execute(*, run_id: int, wait: Waiter | None = None) -> DiffRun:
    """Retrieve both orgs, compare, store the differences. Safe to run twice: only a queued run
    is taken up, in one statement (two workers handed the same run take it once); a running or
    finished run is left as it is. One whose worker stopped is failed by `lost_work_requeue`."""
    now = timezone.now()
    taken = DiffRun.objects.filter(pk=run_id, status=DiffRun.Status.QUEUED).update(
        status=DiffRun.Status.RUNNING, started_at=now, progress_at=now, log="", error=""
    )
    run = DiffRun.objects.select_related("difference__source_org", "difference__destination_org").get(
        pk=run_id
    )
    if not taken:
        return run
    difference = run.difference
    reporter = _RunReporter(run)
    reporter.line(
        f"Comparing {difference.source_org} (source) with {difference.destination_org} (destination)"
    )
    try:
        diffs, source_types = _differences(run, reporter, wait)
    except (SalesforceApiError, MetadiffError, ValueError) as exc:
        return _finish_run(run, reporter, error=str(exc))
    except Exception as exc:
        _finish_run(run, reporter, error=f"Unexpected error: {exc.__class__.__name__}: {exc}")
        raise
    with transaction.atomic():
        ComponentDifference.objects.bulk_create([_component_row(run, diff) for diff in diffs], batch_size=500)
        run.counts = counts(diffs)
        run.types = {name: _type_json(t) for name, t in source_types.items()}
        run.api_version = difference.destination_org.api_version
        run.save(update_fields=["counts", "types", "api_version"])
    summary = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in run.counts.items())
    reporter.line(f"Compared {len(diffs)} components: {summary}")
    return _finish_run(run, reporter)


def diff_run_record(
    *,
    difference: OrgDifference,
    diffs: list[ComponentDiff],
    source_types: dict[str, MetadataType],
    trigger: str,
    log: Iterable[str] = (),
) -> DiffRun:
    """Store differences taken elsewhere (e.g. a connection's metadata sync, which compares only
    its published objects) as a finished run, so they show in the history and can be deployed."""
    run = DiffRun.objects.create(
        difference=difference,
        trigger=trigger,
        status=DiffRun.Status.RUNNING,
        exclude_managed=difference.exclude_managed,
        member_differences=difference.member_differences,
        started_at=timezone.now(),
        progress_at=timezone.now(),
    )
    reporter = _RunReporter(run)
    for line in log:
        reporter.line(line)
    with transaction.atomic():
        ComponentDifference.objects.bulk_create([_component_row(run, diff) for diff in diffs], batch_size=500)
        run.counts = counts(diffs)
        run.types = {name: _type_json(t) for name, t in source_types.items()}
        run.api_version = difference.destination_org.api_version
        run.save(update_fields=["counts", "types", "api_version"])
    reporter.line(f"Compared {len(diffs)} components")
    return _finish_run(run, reporter)


def _differences(run: DiffRun, reporter: _RunReporter, wait: Waiter | None):
    difference = run.difference
    snapshots = []
    for low, high, org in ((0, 45, difference.source_org), (45, 90, difference.destination_org)):
        snapshot = take_snapshot(
            SalesforceClient(org),
            profile_batch_size=difference.profile_batch_size,
            batch_size=difference.batch_size,
            progress=reporter.span(low, high, org.label),
            wait=wait,
        )
        for problem in snapshot.problems:
            reporter.line(f"{org.label}: {problem}")
        snapshots.append(snapshot)
    reporter.progress(90, "Comparing")
    source, destination = snapshots
    diffs = compare(source.components, destination.components, exclude_managed=run.exclude_managed)
    return diffs, source.types


def _finish_run(run: DiffRun, reporter: _RunReporter, *, error: str = "") -> DiffRun:
    if error:
        reporter.line(f"Failed: {error}")
    run.status = DiffRun.Status.FAILED if error else DiffRun.Status.SUCCEEDED
    run.error, run.finished_at = error, timezone.now()
    run.progress, run.progress_message = (run.progress, "Failed") if error else (100, "Done")
    run.save(update_fields=["status", "error", "finished_at", "progress", "progress_message"])
    return run


def _component_row(run: DiffRun, diff: ComponentDiff) -> ComponentDifference:
    source = diff.source
    return ComponentDifference(
        run=run,
        type=diff.type,
        full_name=diff.full_name,
        state=diff.state.value,
        managed=diff.managed,
        namespace=diff.namespace,
        members=[m.as_dict() for m in diff.members] if run.member_differences else [],
        source_body=source.body if source and diff.state != State.IDENTICAL else None,
        source_content=(source.content or "") if source and diff.state != State.IDENTICAL else "",
    )


def _type_json(info: MetadataType) -> dict:
    return {
        "directory": info.directory,
        "suffix": info.suffix,
        "meta_file": info.meta_file,
        "in_folder": info.in_folder,
        "children": list(info.children),
    }


def diff_run_rerun(*, run: DiffRun, actor: AbstractBaseUser | None = None) -> DiffRun:
    """Run the same org difference again, now."""
    return diff_run_start(difference=run.difference, actor=actor)


# --- Synchronize Orgs ------------------------------------------------------------------------


def deployment_start(
    *,
    run: DiffRun,
    additions: Iterable[tuple[str, str]] = (),
    deletions: Iterable[tuple[str, str]] = (),
    validate_only: bool = False,
    test_level: str = Deployment.TestLevel.NO_TEST_RUN,
    run_tests: Iterable[str] = (),
    actor: AbstractBaseUser | None = None,
) -> Deployment:
    """Check the selection against the run and queue its deployment to the destination org."""
    if run.status != DiffRun.Status.SUCCEEDED:
        raise RunNotReady(f"Run {run.pk} has not finished successfully: there is nothing to deploy.")
    additions, deletions = _checked(run, list(additions), list(deletions))
    tests = [t.strip() for t in run_tests if t.strip()]
    if test_level not in Deployment.TestLevel.values:
        raise InvalidSelection(f"Unknown Apex test level {test_level!r}.")
    if test_level == Deployment.TestLevel.RUN_SPECIFIED_TESTS and not tests:
        raise InvalidSelection("Run specified tests needs the names of the test classes to run.")
    deployment = Deployment.objects.create(
        run=run,
        additions=additions,
        deletions=deletions,
        validate_only=validate_only,
        test_level=test_level,
        run_tests=tests if test_level == Deployment.TestLevel.RUN_SPECIFIED_TESTS else [],
        started_by=actor,
    )
    task_id = async_task(DEPLOY_TASK, deployment.pk, task_name=f"metadiff-deploy-{deployment.pk}")
    Deployment.objects.filter(pk=deployment.pk).update(task_id=str(task_id or ""))
    deployment.refresh_from_db()
    return deployment


def deployment_run(
    *, run: DiffRun, additions: Iterable[tuple[str, str]], wait: Waiter | None = None
) -> Deployment:
    """Add/update components of a run in its destination now, in this process (no test run; a
    caller that is itself a task must not wait for another task)."""
    additions, _ = _checked(run, list(additions), [])
    deployment = Deployment.objects.create(
        run=run, additions=additions, status=Deployment.Status.IN_PROGRESS, started_at=timezone.now()
    )
    return _deploy(deployment, wait)


def _checked(
    run: DiffRun, additions: list[tuple[str, str]], deletions: list[tuple[str, str]]
) -> tuple[list[list[str]], list[list[str]]]:
    if not additions and not deletions:
        raise InvalidSelection("Select at least one component to add to or delete from the destination.")
    rows = {(c.type, c.full_name.lower()): c for c in run.components.all()}
    problems, add, delete = [], [], []
    for wanted, out, allowed, verb in (
        (additions, add, "can_add", "add"),
        (deletions, delete, "can_delete", "delete"),
    ):
        for type_name, name in wanted:
            row = rows.get((type_name, name.lower()))
            if row is None or not getattr(row, allowed):
                state = row.state_label.lower() if row else "not in this run"
                problems.append(
                    f"cannot {verb} {type_name} {name} ({'managed' if row and row.managed else state})"
                )
            else:
                out.append([row.type, row.full_name])
    if problems:
        raise InvalidSelection("; ".join(problems))
    return add, delete


def deployment_execute(*, deployment_id: int, wait: Waiter | None = None) -> Deployment:
    """Build the deploy zip from the run's source files, deploy it, record the outcome. Safe to
    run twice: only a queued deployment is taken up, in one statement; one in progress or finished
    is left as it is — never deployed twice. One whose worker stopped is failed by
    `lost_work_requeue`."""
    taken = Deployment.objects.filter(pk=deployment_id, status=Deployment.Status.QUEUED).update(
        status=Deployment.Status.IN_PROGRESS, started_at=timezone.now()
    )
    deployment = Deployment.objects.select_related("run__difference__destination_org").get(pk=deployment_id)
    if not taken:
        return deployment
    return _deploy(deployment, wait)


def _deploy(deployment: Deployment, wait: Waiter | None) -> Deployment:
    run = deployment.run
    rows = {(c.type, c.full_name): c for c in run.components.all()}
    additions = [_as_component(rows[(t, n)], run.types) for t, n in deployment.additions]
    types = {
        name: MetadataType(name=name, **{**t, "children": tuple(t["children"])})
        for name, t in run.types.items()
    }
    deployment.log = _stamp(
        f"{'Validating' if deployment.validate_only else 'Deploying'} {len(additions)} additions and "
        f"{len(deployment.deletions)} deletions to {run.difference.destination_org} ({deployment.test_level})"
    )
    deployment.save(update_fields=["log"])
    request = DeployRequest(
        check_only=deployment.validate_only,
        test_level=deployment.test_level,
        run_tests=tuple(deployment.run_tests),
    )
    try:
        zipped = build_deploy_zip(additions, [tuple(d) for d in deployment.deletions], types, run.api_version)
        result = SalesforceClient(run.difference.destination_org).md_deploy(zipped, request, wait=wait)
    except SalesforceApiError as exc:
        deployment.status, deployment.error = Deployment.Status.FAILED, str(exc)
        deployment.log += _stamp(f"Failed: {exc}")
    else:
        _record(deployment, result)
    deployment.finished_at = timezone.now()
    deployment.save()
    return deployment


def _as_component(row: ComponentDifference, types: dict) -> Component:
    content = row.source_content if types.get(row.type, {}).get("meta_file") else None
    return Component(row.type, row.full_name, row.source_body or {}, content)


def _record(deployment: Deployment, result: DeployResult) -> None:
    deployment.async_id = result.id
    deployment.status = DEPLOY_STATUS.get(result.status, Deployment.Status.FAILED)
    deployment.components_total = result.components_total
    deployment.components_deployed = result.components_deployed
    deployment.tests_total = result.tests_total
    deployment.component_errors = [
        {"type": m.component_type, "name": m.full_name, "problem": m.problem}
        for m in result.component_failures
    ]
    deployment.test_failures = [
        {"class": f.class_name, "method": f.method, "message": f.message} for f in result.test_failures
    ]
    deployment.coverage_warnings = list(result.coverage_warnings)
    deployment.error = result.error_message
    deployment.log += _stamp(
        f"{result.status}: {result.components_deployed} of {result.components_total} components, "
        f"{result.component_errors} component errors, "
        f"{result.test_errors} test failures of {result.tests_total}"
        + (" (validation only: nothing was changed)" if deployment.validate_only else "")
    )
    for error in deployment.component_errors:
        deployment.log += _stamp(f"Component error: {error['type']} {error['name']}: {error['problem']}")
    for failure in deployment.test_failures:
        deployment.log += _stamp(
            f"Test failure: {failure['class']}.{failure['method']}: {failure['message']}"
        )
    if result.error_message:
        deployment.log += _stamp(f"Error: {result.error_message}")


def _stamp(message: str) -> str:
    return f"{timezone.now():%Y-%m-%d %H:%M:%S} {message}\n"


# --- Schedule --------------------------------------------------------------------------------


def org_difference_schedule(
    *, difference: OrgDifference, repeat: str | None, at: datetime.time | None = None, weekday: int = 0
) -> Schedule | None:
    """Repeat Get Differences daily or weekly (`weekday` 0 = Monday) at `at` (local time);
    `repeat=None` removes the schedule."""
    if repeat is None:
        if difference.schedule_id:
            Schedule.objects.filter(pk=difference.schedule_id).delete()
            difference.schedule = None
            difference.save(update_fields=["schedule"])
        return None
    kinds = {"daily": Schedule.DAILY, "weekly": Schedule.WEEKLY}
    if repeat not in kinds or at is None:
        raise MetadiffError("A schedule repeats daily or weekly at a time of day.")
    schedule = difference.schedule or Schedule(func=SCHEDULED_FUNC)
    schedule.name = f"Org difference {difference.pk}: {difference.name}"[:100]
    schedule.func, schedule.args = SCHEDULED_FUNC, repr((difference.pk,))
    schedule.schedule_type = kinds[repeat]
    schedule.repeats = -1
    schedule.next_run = next_run_at(at, weekday if repeat == "weekly" else None)
    schedule.save()
    if difference.schedule_id != schedule.pk:
        difference.schedule = schedule
        difference.save(update_fields=["schedule"])
    return schedule


def next_run_at(
    at: datetime.time, weekday: int | None, now: datetime.datetime | None = None
) -> datetime.datetime:
    """The next moment (current timezone) at time `at`, on `weekday` when given."""
    now = timezone.localtime(now or timezone.now())
    candidate = now.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    if weekday is not None:
        candidate += datetime.timedelta(days=(weekday - candidate.weekday()) % 7)
    if candidate <= now:
        candidate += datetime.timedelta(days=7 if weekday is not None else 1)
    return candidate


# --- Lost work -------------------------------------------------------------------------------

REQUEUE_AFTER = datetime.timedelta(minutes=2)  # a healthy cluster has taken a task up long before
RUN_LOST = "The worker running it stopped (no progress for longer than the task timeout); run it again."


def lost_work_requeue(*, now: datetime.datetime | None = None) -> int:
    """Recover metadiff work whose django-q2 task was lost: the database, not the broker, says
    what is to be done. Returns how many rows it queued again or failed.

    A task is lost with a flushed or restarted Redis, a SIGKILLed worker or a wedged cluster that
    was restarted; its run, deployment or connection metadata sync would stay Queued or Running
    for ever. It is for the watchdog of every worker cluster to call every few seconds: it is one
    indexed query when nothing is lost, and each row changes by a compare-and-set UPDATE: two
    clusters calling it at once act on a row once.

    * Queued, and (last) queued more than `REQUEUE_AFTER` ago: queued again, and not again before
      another `REQUEUE_AFTER`. Nothing of it ran, and every task takes up only a queued row, so
      a task that was merely slow to start and its copy run it once. An accepted connection in
      Metadata Sync in Progress that has no metadata sync yet lost its accept task: its sync is
      queued (the accept task is queued by `connections`, which records no row).
    * Running with no sign of life for longer than the task timeout (`Conf.TIMEOUT`): its worker
      is gone, since django-q2 kills a task that runs longer. It is failed, not run again — a
      task that outlived the timeout once would outlive it again, and run again for ever:
      - a run (no progress or log line since): failed with `RUN_LOST`; running it again is one
        click and only reads the orgs;
      - a deployment (started before): the org may have applied it, so it is never deployed
        again; its error tells the admin to check the org's deployment status first (a
        validation changes nothing: it says to run it again);
      - a connection metadata sync (started before): failed like a failed sync
        (`connection_sync.connection_metadata_sync_fail_lost`); the connection stays where it was.
    With no task timeout configured nothing running is judged lost.
    """
    from metadiff import connection_sync  # it builds on this module

    now = now or timezone.now()
    queued_before = now - REQUEUE_AFTER
    quiet_since = now - datetime.timedelta(seconds=Conf.TIMEOUT) if Conf.TIMEOUT else None
    acted = 0
    for kind, pk, status in _lost_work(queued_before, quiet_since):
        if kind == "accept":
            acted += connection_sync.connection_metadata_sync_queue_lost_accept(connection_id=pk, now=now)
        elif kind == "sync" and status == ConnectionMetadataSync.Status.QUEUED:
            acted += connection_sync.connection_metadata_sync_requeue(
                sync_id=pk, queued_before=queued_before, now=now
            )
        elif kind == "sync":
            acted += connection_sync.connection_metadata_sync_fail_lost(
                sync_id=pk, quiet_since=quiet_since, now=now
            )
        elif kind == "run" and status == DiffRun.Status.QUEUED:
            acted += _requeue(DiffRun, pk, RUN_TASK, f"metadiff-run-{pk}", queued_before, now)
        elif kind == "run":
            acted += _diff_run_fail_lost(pk, quiet_since, now)
        elif status == Deployment.Status.QUEUED:
            acted += _requeue(Deployment, pk, DEPLOY_TASK, f"metadiff-deploy-{pk}", queued_before, now)
        else:
            acted += _deployment_fail_lost(pk, quiet_since, now)
    return acted


def _lost_work(
    queued_before: datetime.datetime, quiet_since: datetime.datetime | None
) -> list[tuple[str, int, str]]:
    """(kind, id, status) of every row that looks lost, in one query (each part is on a status)."""

    def lost(model, kind: str, running: str, alive_at: str):
        condition = Q(status="queued", queued_at__lt=queued_before)
        if quiet_since is not None:
            condition |= Q(status=running, **{f"{alive_at}__lt": quiet_since})
        return model.objects.filter(condition).order_by().annotate(kind=Value(kind))

    parts = [
        lost(DiffRun, "run", DiffRun.Status.RUNNING, "progress_at"),
        lost(Deployment, "deployment", Deployment.Status.IN_PROGRESS, "started_at"),
        lost(ConnectionMetadataSync, "sync", ConnectionMetadataSync.Status.RUNNING, "started_at"),
        Connection.objects.filter(
            status=Connection.Status.METADATA_SYNC, metadata_sync__isnull=True, accepted_at__lt=queued_before
        )
        .order_by()
        .annotate(kind=Value("accept")),
    ]
    first, *others = [part.values_list("kind", "pk", "status") for part in parts]
    return list(first.union(*others, all=True))


def _requeue(model, pk: int, task: str, name: str, queued_before: datetime.datetime, now) -> bool:
    """Queue a queued row's task again unless someone (another cluster, the task) got there first."""
    if not model.objects.filter(pk=pk, status="queued", queued_at__lt=queued_before).update(queued_at=now):
        return False
    logger.warning(
        "metadiff %s %s was queued over %s ago and no worker took it up: queued again",
        model._meta.model_name,
        pk,
        REQUEUE_AFTER,
    )
    task_id = async_task(task, pk, task_name=name)
    model.objects.filter(pk=pk).update(task_id=str(task_id or ""))
    return True


def _appended(line: str) -> Concat:
    return Concat(F("log"), Value(_stamp(line)), output_field=TextField())


def _diff_run_fail_lost(pk: int, quiet_since: datetime.datetime, now: datetime.datetime) -> bool:
    failed = DiffRun.objects.filter(pk=pk, status=DiffRun.Status.RUNNING, progress_at__lt=quiet_since).update(
        status=DiffRun.Status.FAILED,
        error=RUN_LOST,
        finished_at=now,
        progress_message="Failed",
        log=_appended(f"Failed: {RUN_LOST}"),
    )
    if failed:
        logger.warning("metadiff run %s was running and its worker stopped: failed", pk)
    return bool(failed)


def _deployment_lost_error(deployment: Deployment) -> str:
    """The error of a deployment whose worker stopped while it was in progress."""
    org = deployment.run.difference.destination_org
    if deployment.validate_only:
        return (
            "The worker running this validation stopped before it recorded the outcome. A validation "
            "changes nothing: run it again."
        )
    return (
        f"The worker running this deployment stopped before it recorded the outcome, so it is not known "
        f"whether {org} applied it; it was not deployed again. Check the deployment status in {org} "
        "(Setup → Deployment Status) before deploying again."
    )


def _deployment_fail_lost(pk: int, quiet_since: datetime.datetime, now: datetime.datetime) -> bool:
    deployment = Deployment.objects.select_related("run__difference__destination_org").filter(pk=pk).first()
    if deployment is None:
        return False
    error = _deployment_lost_error(deployment)
    failed = Deployment.objects.filter(
        pk=pk, status=Deployment.Status.IN_PROGRESS, started_at__lt=quiet_since
    ).update(status=Deployment.Status.FAILED, error=error, finished_at=now, log=_appended(f"Failed: {error}"))
    if failed:
        logger.warning("metadiff deployment %s was in progress and its worker stopped: failed", pk)
    return bool(failed)
