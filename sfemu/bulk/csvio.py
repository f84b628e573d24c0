"""CSV as Bulk API 2.0 reads and writes it: six column delimiters, LF or CRLF line endings.

Uploaded data is parsed one row at a time from the spooled upload file; result files are
written with every value double-quoted (the ``sf__`` columns and the echoed values), the
original header echoed exactly as uploaded.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import IO, Any

from sfemu.errors import SalesforceError

DELIMITERS = {
    "COMMA": ",",
    "TAB": "\t",
    "PIPE": "|",
    "SEMICOLON": ";",
    "CARET": "^",
    "BACKQUOTE": "`",
}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
NULL_MARKER = "#N/A"


class CsvFormatError(Exception):
    """Data that fails the whole job (``errorMessage`` of a Failed job)."""


def rows_with_offsets(stream: IO[bytes], delimiter: str) -> Iterator[tuple[list[str], int]]:
    """(row, byte offset just after it) for each row of a binary upload stream.

    The csv reader pulls lines lazily, so after it yields a row the line iterator has consumed
    exactly that row's bytes (quoted values may span lines): the offset is exact, which lets a
    resumed job seek past what it already processed and lets ``unprocessedrecords`` echo the
    raw remainder.
    """
    position = stream.tell()
    consumed = [position]

    def lines() -> Iterator[str]:
        for raw in stream:
            consumed[0] += len(raw)
            yield raw.decode("utf-8", errors="replace")

    rows = csv.reader(lines(), delimiter=DELIMITERS[delimiter], strict=True)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error:
            raise CsvFormatError(
                "InvalidBatch : Failed to parse CSV. Found unescaped quote. "
                "A value with quote should be within a quote"
            ) from None
        yield row, consumed[0]


def header_line(first_bytes: bytes, line_ending: str) -> bytes:
    """The raw header line of an upload (without its terminator); checks the line ending."""
    end = first_bytes.find(b"\n")
    line = first_bytes if end < 0 else first_bytes[:end]
    has_cr = line.endswith(b"\r")
    if end >= 0 and has_cr != (line_ending == "CRLF"):
        raise CsvFormatError(
            "ClientInputError : LineEnding is invalid on user data. "
            f"Current LineEnding setting is {line_ending}"
        )
    return line[:-1] if has_cr else line


def quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


class ResultWriter:
    """Appends quoted rows to a result file."""

    def __init__(self, stream: IO[str], delimiter: str, line_ending: str) -> None:
        self.stream = stream
        self.sep = DELIMITERS[delimiter]
        self.eol = LINE_ENDINGS[line_ending]

    def row(self, values: Iterable[str]) -> None:
        self.stream.write(self.sep.join(map(quote, values)) + self.eol)


def result_header(prefix: Iterable[str], original_header: str, delimiter: str, line_ending: str) -> str:
    """``"sf__Id","sf__Created",<original header as uploaded>`` plus the line ending."""
    sep = DELIMITERS[delimiter]
    head = sep.join(quote(p) for p in prefix)
    return f"{head}{sep}{original_header}{LINE_ENDINGS[line_ending]}" if original_header else head + "\n"


def format_value(value: Any) -> str:
    """A wire value as Bulk query CSV shows it (null and empty are both empty)."""
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        if len(value) == 28 and value.endswith("+0000") and value[10] == "T":
            return value[:-5] + "Z"  # dateTime: 2024-01-31T12:00:00.000Z
        return value
    return str(value)


def encode_rows(rows: Iterable[list[str]], delimiter: str, line_ending: str) -> str:
    buf = io.StringIO()
    writer = ResultWriter(buf, delimiter, line_ending)
    for row in rows:
        writer.row(row)
    return buf.getvalue()


def bad_delimiter(value: Any) -> SalesforceError:
    return SalesforceError(
        "INVALIDJOB", f"Invalid column delimiter: {value}. Valid values are {', '.join(DELIMITERS)}"
    )
