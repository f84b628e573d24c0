"""SOQL for sfemu: a lark grammar, a plain-dataclass AST and an executor over a DataSource.

``parse(text)`` gives a :class:`Query`; ``execute(query_or_text, source)`` runs it and
returns a :class:`QueryResult` whose records already have Salesforce's JSON shape.
"""

from sfemu.soql.ast import Query
from sfemu.soql.errors import SoqlError
from sfemu.soql.executor import QueryResult, execute
from sfemu.soql.parser import parse
from sfemu.soql.source import DataSource, FieldInfo, ObjectInfo

__all__ = [
    "DataSource",
    "FieldInfo",
    "ObjectInfo",
    "Query",
    "QueryResult",
    "SoqlError",
    "execute",
    "parse",
]
