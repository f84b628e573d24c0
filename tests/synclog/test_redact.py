"""Error messages go into the log without the record values Salesforce quotes in them."""

import pytest

from synclog.redact import safe_message


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "Account Name: data value too large: Secret Corp Ltd (max length=10)",
            "Account Name: data value too large (max length=10)",
        ),
        ("bad value for restricted picklist field: Top Secret", "bad value for restricted picklist field"),
        ("Email: invalid email address: jane@@example", "Email: invalid email address"),
        (
            "duplicate value found: Code__c duplicates value on record with id: 001000000000001",
            "duplicate value found: Code__c duplicates value on record with id: 001000000000001",
        ),
        ("Required fields are missing: [Name]", "Required fields are missing: [Name]"),
    ],
)
def test_values_are_removed_and_the_rest_kept(message, expected):
    assert safe_message(message) == expected


def test_long_messages_are_cut():
    assert len(safe_message("x" * 5000)) == 1000
