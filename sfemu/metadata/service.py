"""The metadata domain API of one org (:class:`OrgMetadata`) and the async jobs of deploy and
retrieve (:class:`Jobs`): ids ``0Af…`` / ``09S…`` that report ``InProgress`` on the first status
check and run to ``Succeeded`` / ``SucceededPartial`` / ``Failed`` on the next one, so clients see
the poll loop a real org makes them go through.
"""

from __future__ import annotations

import logging
import threading
import weakref
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sfemu.errors import SalesforceError
from sfemu.metadata import apex, package
from sfemu.metadata.components import HANDLERS, ComponentError, Listed
from sfemu.metadata.mdstore import MetadataStore, new_id
from sfemu.metadata.package import DeployOptions, DeployOutcome, RetrieveOutcome, TestRun

if TYPE_CHECKING:
    from sfemu.instance import Instance
    from sfemu.org import Org

log = logging.getLogger("sfemu.metadata")


def _error(exc: ComponentError) -> SalesforceError:
    return SalesforceError("FIELD_INTEGRITY_EXCEPTION", exc.problem)


class OrgMetadata:
    """Metadata of one org: list/read/write components, Apex tests, managed packages,
    retrieve and deploy (synchronously; the SOAP layer wraps them in :class:`Jobs`)."""

    def __init__(self, org: Org) -> None:
        self.org = org
        self.store = MetadataStore(org)

    # --- components ---------------------------------------------------------------------

    def list(self, type_name: str) -> list[Listed]:
        return package.list_components(self.org, type_name)

    def read(self, type_name: str, full_name: str) -> dict[str, Any] | None:
        return package.read_component(self.org, type_name, full_name)

    def put(self, type_name: str, full_name: str, body: dict[str, Any], *, content: str | None = None) -> str:
        """Create or update a component (the body is an XML dict as in a metadata file);
        returns its id. Problems raise :class:`SalesforceError`."""
        handler = HANDLERS.get(type_name)
        if handler is None:
            raise SalesforceError("INVALID_TYPE", f"sfemu does not serve metadata type {type_name}")
        try:
            with self.org.store.write():
                if type_name in ("ApexClass", "ApexTrigger"):
                    _, comp_id = handler.apply(
                        self.org, full_name, body, self.org.admin_user_id, content=content
                    )
                else:
                    _, comp_id = handler.apply(self.org, full_name, body, self.org.admin_user_id)
        except ComponentError as exc:
            raise _error(exc) from None
        return comp_id

    def delete(self, type_name: str, full_name: str) -> None:
        handler = HANDLERS.get(type_name)
        if handler is None:
            raise SalesforceError("INVALID_TYPE", f"sfemu does not serve metadata type {type_name}")
        try:
            handler.delete(self.org, full_name)
        except ComponentError as exc:
            raise _error(exc) from None

    # --- Apex ---------------------------------------------------------------------------

    def add_apex_class(self, name: str, source: str, *, api_version: str = "62.0") -> str:
        return self.put("ApexClass", name, {"apiVersion": api_version, "status": "Active"}, content=source)

    def add_apex_trigger(self, name: str, source: str, *, api_version: str = "62.0") -> str:
        return self.put("ApexTrigger", name, {"apiVersion": api_version, "status": "Active"}, content=source)

    def add_test_class(
        self, name: str, *, passing: tuple[str, ...] | None = None, failing: dict[str, str] | None = None
    ) -> str:
        """A test class whose ``passing`` methods pass (default: one, ``itWorks``, unless
        ``failing`` is given) and whose ``failing`` methods fail with the given assertion
        messages (``System.AssertException: Assertion Failed: <message>``)."""
        return self.add_apex_class(name, apex.test_class_source(name, passing, failing))

    def run_tests(self, level: str = "RunLocalTests", names: list[str] | None = None) -> TestRun:
        return package.run_tests(self.org, level, names)

    # --- managed packages ---------------------------------------------------------------

    def install_package(
        self,
        namespace: str,
        *,
        version: str = "1.0",
        name: str | None = None,
        objects: dict[str, dict[str, Any]] | None = None,
        fields: dict[str, list[tuple[str, str, dict[str, Any]]]] | None = None,
        classes: dict[str, str] | None = None,
    ) -> None:
        """Install a managed package: its components carry ``namespace`` (``acme__Invoice__c``,
        ``Account.acme__Score__c``, class ``acme__Util``), list as ``installed`` with their
        namespace prefix, cannot be changed by deploys and keep Apex source hidden.

        ``objects``: base name → options of :meth:`Org.add_custom_object` (plus ``fields``: list
        of (name, type, options)); ``fields``: object → [(name, type, options)] on existing
        objects; ``classes``: base name → Apex source.
        """
        org = self.org
        if self.store.get("InstalledPackage", namespace) is not None:
            raise SalesforceError("DUPLICATE_VALUE", f"Package {namespace} is already installed")
        with org.store.write():
            self.store.put(
                "InstalledPackage",
                namespace,
                {"activateRSS": False, "versionNumber": version, "packageName": name or namespace},
                namespace=namespace,
            )
            for base, opts in (objects or {}).items():
                opts = dict(opts)
                obj_fields = opts.pop("fields", [])
                obj_name = f"{namespace}__{base}"
                opts.setdefault("label", base.removesuffix("__c").replace("_", " "))
                org.add_custom_object(obj_name, **opts)
                for fname, ftype, fopts in obj_fields:
                    self._managed_field(obj_name, f"{namespace}__{fname}", ftype, fopts)
            for obj_name, specs in (fields or {}).items():
                for fname, ftype, fopts in specs:
                    self._managed_field(obj_name, f"{namespace}__{fname}", ftype, fopts)
            for base, source in (classes or {}).items():
                self.store.put(
                    "ApexClass",
                    f"{namespace}__{base}",
                    {"apiVersion": "62.0", "status": "Active"},
                    content=source,
                    namespace=namespace,
                )

    def _managed_field(self, obj: str, name: str, ftype: str, options: dict[str, Any]) -> None:
        opts = dict(options)
        opts.setdefault("label", name.split("__")[1].replace("_", " "))
        self.org.add_custom_field(obj, name, ftype, **opts)

    # --- retrieve and deploy ------------------------------------------------------------

    def retrieve(
        self, types: dict[str, list[str]], *, api_version: str = "62.0", single_package: bool = True
    ) -> RetrieveOutcome:
        return package.retrieve(self.org, types, api_version=api_version, single_package=single_package)

    def deploy(
        self, zip_bytes: bytes, options: DeployOptions | None = None, *, user_id: str | None = None
    ) -> DeployOutcome:
        return package.deploy(self.org, zip_bytes, options or DeployOptions(), user_id=user_id)


# --- async jobs ---------------------------------------------------------------------------


@dataclass
class Job:
    id: str
    org_id: str
    kind: str  # deploy | retrieve
    user_id: str
    created: datetime
    params: dict[str, Any]
    polls: int = 0
    started: datetime | None = None
    completed: datetime | None = None
    deploy: DeployOutcome | None = None
    retrieve: RetrieveOutcome | None = None
    zip_taken: bool = False
    error: SalesforceError | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def done(self) -> bool:
        return self.completed is not None


class Jobs:
    """Deploy/retrieve jobs of every org of an instance (kept in memory)."""

    POLLS_IN_PROGRESS = 1  # status checks answered InProgress before the job runs

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def submit(self, org: Org, kind: str, user_id: str, params: dict[str, Any]) -> Job:
        job = Job(
            new_id(org, "0Af" if kind == "deploy" else "09S"), org.org_id, kind, user_id, org.now(), params
        )
        with self._lock:
            self._jobs[job.id] = job
        return job

    def get(self, org: Org, job_id: str) -> Job | None:
        from sfemu import ids

        canonical = ids.normalize(job_id)
        with self._lock:
            job = self._jobs.get(canonical or "")
        return job if job is not None and job.org_id == org.org_id else None

    def poll(self, org: Org, job: Job) -> Job:
        """Advance a job by one status check (runs it once it has been InProgress)."""
        with job.lock:
            if job.done:
                return job
            job.polls += 1
            if job.started is None:
                job.started = org.now()
            if job.polls <= self.POLLS_IN_PROGRESS:
                return job
            self.run(org, job)
            return job

    def run(self, org: Org, job: Job) -> None:
        md = OrgMetadata(org)
        try:
            if job.kind == "deploy":
                job.deploy = md.deploy(job.params["zip"], job.params["options"], user_id=job.user_id)
            else:
                job.retrieve = package.retrieve(
                    org,
                    job.params["types"],
                    api_version=job.params["api_version"],
                    single_package=job.params["single_package"],
                    package_names=job.params.get("package_names"),
                )
        except SalesforceError as exc:
            job.error = exc
        except Exception:  # report, do not leave the job InProgress forever
            log.exception("metadata job %s failed", job.id)
            job.error = SalesforceError("UNKNOWN_EXCEPTION", "An unexpected error occurred.")
        job.completed = org.now()


_REGISTRIES: weakref.WeakKeyDictionary[Instance, Jobs] = weakref.WeakKeyDictionary()
_REGISTRY_LOCK = threading.Lock()


def jobs_of(instance: Instance) -> Jobs:
    with _REGISTRY_LOCK:
        registry = _REGISTRIES.get(instance)
        if registry is None:
            registry = _REGISTRIES[instance] = Jobs()
        return registry
