"""Record ids: checksum against real ids from the recordings, 15/18 conversion, validation."""

from __future__ import annotations

import random
import re

import pytest

from sfemu import ids
from sfemu.errors import SalesforceError
from tests.shared_reference import reference_path, require_shared

RECORDED = reference_path("recorded")
_CANDIDATE = re.compile(r"(?<![0-9A-Za-z])([0-9A-Za-z]{15}[A-Z0-5]{3})(?![0-9A-Za-z])")
_PREFIXES = (
    "001",
    "003",
    "005",
    "006",
    "00Q",
    "500",
    "00D",
    "00E",
    "00e",
    "012",
    "701",
    "00v",
    "0TO",
    "750",
    "00K",
    "00U",
    "0WO",
    "0FT",
    "a00",
    "aB5",
)
_PLACEHOLDERS = {"00D0xORGID00000000", "0010xACCOUNTID0000"}


def recorded_ids() -> set[str]:
    found: set[str] = set()
    for path in require_shared(RECORDED).rglob("*"):
        if path.is_file() and path.suffix in (".json", ".yaml"):
            for m in _CANDIDATE.finditer(path.read_text(errors="replace")):
                value = m.group(1)
                if value.startswith(_PREFIXES) and value not in _PLACEHOLDERS:
                    found.add(value)
    return found


def test_checksum_matches_every_real_id_in_the_recordings() -> None:
    real = recorded_ids()
    assert len(real) > 100
    wrong = [i for i in real if ids.checksum(i[:15]) != i[15:]]
    assert wrong == []


def test_documented_examples() -> None:
    assert ids.checksum("0015500001QdQWa") == "AAN"
    assert ids.checksum("0037e00001WZ30q") == "AAD"
    assert ids.to_18("0014S000007Nxml") == "0014S000007NxmlQAC"
    assert ids.to_15("0014S000007NxmlQAC") == "0014S000007Nxml"


def test_18_char_ids_are_case_insensitive() -> None:
    assert ids.normalize("0014s000007nxmlqac") == "0014S000007NxmlQAC"
    assert ids.normalize("0014S000007NXMLQAC") == "0014S000007NxmlQAC"
    assert ids.same_id("0014S000007Nxml", "0014s000007nxmlqac")
    assert not ids.same_id("0014S000007Nxml", "0014S000007NxmL")


@pytest.mark.parametrize(
    "value",
    [
        "",
        "abc",
        "0014S000007Nxm",
        "0014S000007NxmlQA",
        "0014S000007Nxml!QAC",
        None,
        12345,
        "00D0xORGID00000000",
        "0014S000007Nxml9AC",
    ],
)
def test_invalid_ids(value: object) -> None:
    assert ids.normalize(value) is None
    assert not ids.is_valid(value)


def test_make_id_layout() -> None:
    value = ids.make_id("001", "4S", 62**4 * 7 + 12345)
    assert len(value) == 18
    assert value[:3] == "001" and value[3:5] == "4S" and value[5] == "0"
    assert ids.normalize(value) == value
    # Later sequence numbers sort after earlier ones (ORDER BY Id follows creation order).
    assert ids.make_id("001", "4S", 5000)[:15] < ids.make_id("001", "4S", 5001)[:15]


def test_sequence_start_looks_real() -> None:
    start = ids.sequence_start(random.Random(1))
    assert ids.base62(start, 9).startswith("0000")


def test_custom_prefixes() -> None:
    assert ids.custom_prefix(0) == "a00"
    assert ids.custom_prefix(33) == "a0X"
    assert ids.custom_prefix(62) == "a10"


def test_malformed_id_error_wording() -> None:
    err = ids.malformed_id("Account ID", "abc")
    assert isinstance(err, SalesforceError)
    assert err.as_rest() == {
        "message": "Account ID: id value of incorrect type: abc",
        "errorCode": "MALFORMED_ID",
        "fields": ["Id"],
    }


def test_known_prefixes() -> None:
    expected = {
        "Account": "001",
        "Contact": "003",
        "Lead": "00Q",
        "Opportunity": "006",
        "Case": "500",
        "CaseComment": "00a",
        "Task": "00T",
        "Attachment": "00P",
        "EmailMessage": "02s",
        "Product2": "01t",
        "User": "005",
        "Profile": "00e",
        "UserRole": "00E",
        "RecordType": "012",
        "Organization": "00D",
    }
    for name, prefix in expected.items():
        assert ids.KEY_PREFIXES[name] == prefix
    assert ids.MASTER_RECORD_TYPE_ID == "012000000000000AAA"
    assert ids.is_valid(ids.MASTER_RECORD_TYPE_ID)
