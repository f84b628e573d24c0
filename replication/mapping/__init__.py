"""Field support, auto-mapping, S2S mapping rules and the mapping analyzer (plain Python).

Everything takes describe JSON (``GET /sobjects/{Type}/describe`` bodies, or their ``fields``)
and returns plain results; no Django, no HTTP.
"""

from replication.mapping.analyzer import analyze
from replication.mapping.automap import auto_map
from replication.mapping.rules import ERROR, WARNING, Finding, check_mapping
from replication.mapping.support import Support, field_support, object_publishable

__all__ = [
    "ERROR",
    "WARNING",
    "Finding",
    "Support",
    "analyze",
    "auto_map",
    "check_mapping",
    "field_support",
    "object_publishable",
]
