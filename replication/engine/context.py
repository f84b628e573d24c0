"""What the engine needs from its surroundings: clients per org, describes, a clock."""

import time
from dataclasses import dataclass, field

from connections.client import SalesforceClient
from connections.models import Org

DESCRIBE_TTL_SECONDS = 600
# Describes change rarely and cost an API call each: kept per process for DESCRIBE_TTL_SECONDS,
# shared by every cycle (keyed by org and object; never record data).
_DESCRIBES: dict[tuple[str, str], tuple[float, dict]] = {}


def forget_describes() -> None:
    _DESCRIBES.clear()


@dataclass
class EngineContext:
    """One per cycle (or per worker): caches clients and describes, never record values."""

    worker: str = "engine"
    clients: dict[str, SalesforceClient] = field(default_factory=dict)
    describes: dict[tuple[str, str], tuple[float, dict]] = field(default_factory=lambda: _DESCRIBES)

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

    def api_calls(self) -> int:
        return sum(sum(c.calls.values()) for c in self.clients.values())
