"""What the engine needs from its surroundings: clients per org, describes, a clock."""

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from connections.client import SalesforceClient
from connections.models import Org
from replication.engine.lease import ConnectionLease

DESCRIBE_TTL_SECONDS = 600
# Describes change rarely and cost an API call each: kept per process for DESCRIBE_TTL_SECONDS,
# shared by every cycle (keyed by org and object; never record data).
_DESCRIBES: dict[tuple[str, str], tuple[float, dict]] = {}
_RESOLVERS: dict[tuple, tuple[float, object]] = {}


def forget_describes() -> None:
    _DESCRIBES.clear()
    _RESOLVERS.clear()


@dataclass
class EngineContext:
    """One per cycle (or per worker): caches clients and describes, never record values."""

    worker: str = "engine"
    clients: dict[str, SalesforceClient] = field(default_factory=dict)
    describes: dict[tuple[str, str], tuple[float, dict]] = field(default_factory=lambda: _DESCRIBES)
    resolvers: dict[tuple, tuple[float, object]] = field(default_factory=lambda: _RESOLVERS)
    # The connection's lease while a cycle (or bulk sync) writes: `fence()` before each write.
    lease: ConnectionLease | None = None
    # Tests inject crashes here: called with the name of each point a worker could die at.
    on_checkpoint: Callable[[str], None] | None = None

    def fence(self) -> None:
        """Before a write batch: renew the lease, or stop (LeaseLost) if another writer has it."""
        if self.lease is not None:
            self.lease.renew()

    def checkpoint(self, point: str) -> None:
        if self.on_checkpoint is not None:
            self.on_checkpoint(point)

    def client(self, org: Org) -> SalesforceClient:
        key = str(org.pk)
        if key not in self.clients:
            self.clients[key] = SalesforceClient(org)
        return self.clients[key]

    def describe(self, org: Org, sobject: str) -> dict:
        key = (str(org.pk), sobject)
        cached = self.describes.get(key)
        if cached and time.monotonic() - cached[0] < DESCRIBE_TTL_SECONDS:
            return cached[1]
        answer = self.client(org).describe(sobject)
        self.describes[key] = (time.monotonic(), answer)
        return answer

    def owner_resolver(self, publication):
        """One owner resolver per publication, reused (with its user cache) for DESCRIBE_TTL_SECONDS."""
        from replication.owners import OwnerResolver

        # Keyed by everything the answer depends on: a changed strategy (updated_at) or other
        # orgs never reuse a resolver.
        key = (
            publication.pk,
            publication.updated_at,
            str(publication.source_org.pk),
            str(publication.target_org.pk),
        )
        cached = self.resolvers.get(key)
        if cached and time.monotonic() - cached[0] < DESCRIBE_TTL_SECONDS:
            return cached[1]
        resolver = OwnerResolver.for_publication(
            publication,
            source=self.client(publication.source_org),
            target=self.client(publication.target_org),
        )
        self.resolvers[key] = (time.monotonic(), resolver)
        return resolver

    def api_calls(self) -> int:
        return sum(sum(c.calls.values()) for c in self.clients.values())
