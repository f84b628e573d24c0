"""Salesforce record ids: 15-char case-sensitive base-62, 18-char case-safe form.

Layout (reference §4.1): chars 1-3 key prefix, 4-5 pod, 6 reserved ("0"), 7-15 sequence,
16-18 checksum of the case of chars 1-15.
"""

from __future__ import annotations

import random
import re

from sfemu.errors import SalesforceError

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID_RE = re.compile(r"^[0-9A-Za-z]{15}([0-9A-Za-z]{3})?$")

MASTER_RECORD_TYPE_ID = "012000000000000AAA"

KEY_PREFIXES: dict[str, str] = {
    "Account": "001",
    "Contact": "003",
    "User": "005",
    "Opportunity": "006",
    "Lead": "00Q",
    "Case": "500",
    "CaseComment": "00a",
    "Task": "00T",
    "Event": "00U",
    "Attachment": "00P",
    "EmailMessage": "02s",
    "Product2": "01t",
    "Profile": "00e",
    "UserRole": "00E",
    "RecordType": "012",
    "Organization": "00D",
    "Group": "00G",
    "Campaign": "701",
    "BulkJob": "750",
    "BulkBatch": "751",
    "QueryLocator": "01g",
    "ContentVersion": "068",
    "ContentDocument": "069",
    "ContentDocumentLink": "06A",
    "FeedItem": "0D5",
    "FeedComment": "0D7",
}
PREFIX_OBJECTS: dict[str, str] = {v: k for k, v in KEY_PREFIXES.items()}

# Pod/instance segments seen in real ids (chars 4-5).
PODS = ("4S", "5e", "7e", "3h", "55", "8c", "5J", "Dn", "Hu", "1U", "6g", "2w", "0b", "8V", "Rn")


def base62(n: int, width: int) -> str:
    """``n`` in base 62, left-padded with zeros to ``width`` chars."""
    chars = []
    while n:
        n, r = divmod(n, 62)
        chars.append(BASE62[r])
    text = "".join(reversed(chars)) or "0"
    if len(text) > width:
        raise ValueError("sequence overflow")
    return text.rjust(width, "0")


def checksum(id15: str) -> str:
    """The 3-char case-safe suffix of a 15-char id."""
    suffix = ""
    for start in (0, 5, 10):
        chunk = id15[start : start + 5]
        n = sum(1 << i for i, c in enumerate(chunk) if "A" <= c <= "Z")
        suffix += _CHECKSUM_ALPHABET[n]
    return suffix


def normalize(value: object) -> str | None:
    """The canonical 18-char form of a 15/18-char id, or None when it is not an id.

    An 18-char id is case-insensitive: the case of the first 15 chars is rebuilt from
    the checksum, so ``0014s000007nxmlqac`` normalises to ``0014S000007NxmlQAC``.
    """
    if not isinstance(value, str) or not _ID_RE.match(value):
        return None
    if len(value) == 15:
        return value + checksum(value)
    suffix = value[15:].upper()
    chars = list(value[:15])
    for block, code in enumerate(suffix):
        bits = _CHECKSUM_ALPHABET.find(code)
        if bits < 0:
            return None
        for i in range(5):
            pos = block * 5 + i
            c = chars[pos]
            if bits & (1 << i):
                if not c.isalpha():
                    return None
                chars[pos] = c.upper()
            elif c.isalpha():
                chars[pos] = c.lower()
    return "".join(chars) + suffix


def to_18(value: str) -> str:
    """18-char id; ValueError when ``value`` is not an id."""
    result = normalize(value)
    if result is None:
        raise ValueError(f"not a Salesforce id: {value!r}")
    return result


def to_15(value: str) -> str:
    """15-char case-sensitive id."""
    return to_18(value)[:15]


def is_valid(value: object) -> bool:
    """True for a syntactically valid 15/18-char id (18-char checksum verified)."""
    return normalize(value) is not None


def same_id(a: str | None, b: str | None) -> bool:
    """Compare two ids of either length."""
    if a is None or b is None:
        return a is b
    na, nb = normalize(a), normalize(b)
    return na is not None and na == nb


def prefix_of(value: str) -> str:
    """Key prefix (first 3 chars)."""
    return value[:3]


def make_id(prefix: str, pod: str, sequence: int) -> str:
    """An 18-char id built from a key prefix, a 2-char pod and a sequence number."""
    id15 = f"{prefix}{pod}0{base62(sequence, 9)}"
    return id15 + checksum(id15)


def sequence_start(rng: random.Random) -> int:
    """A realistic first sequence value (ids look like ``0014S000007NxmlQAC``)."""
    return rng.randrange(62**4 * 3, 62**4 * 60)


def random_pod(rng: random.Random) -> str:
    """A pod segment for a new org."""
    return rng.choice(PODS)


def custom_prefix(index: int) -> str:
    """Key prefix of the ``index``-th custom object prefix slot: a00, a01, ... aZz."""
    return "a" + base62(index, 2)


def malformed_id(label: str, value: object, field: str = "Id") -> SalesforceError:
    """``MALFORMED_ID`` as Salesforce words it: ``Account ID: id value of incorrect type: x``."""
    return SalesforceError(
        "MALFORMED_ID",
        f"{label}: id value of incorrect type: {value}",
        status=400,
        fields=[field],
    )
