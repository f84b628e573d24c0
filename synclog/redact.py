"""Salesforce error messages sometimes quote the record's value; the log keeps them out."""

import re

# (pattern, replacement): the value Salesforce quotes is dropped, the rest of the message kept.
_VALUE_PATTERNS = (
    (re.compile(r"data value too large: .*?(\(max length=\d+\))", re.S), r"data value too large \1"),
    (re.compile(r"(bad value for restricted picklist field): .*", re.S), r"\1"),
    (re.compile(r"(invalid email address): .*", re.S), r"\1"),
    (re.compile(r"(value not of required type): .*", re.S), r"\1"),
    (re.compile(r"(invalid date): .*", re.S), r"\1"),
    (
        re.compile(r"(duplicate value found: \S+) .*?(duplicates value on record with id: \w+)", re.S),
        r"\1 \2",
    ),
)


def safe_message(message: str) -> str:
    """The message without record values, at most 1000 characters."""
    for pattern, replacement in _VALUE_PATTERNS:
        message = pattern.sub(replacement, message)
    return message[:1000]
