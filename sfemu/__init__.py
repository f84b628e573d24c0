"""sfemu: a loopback Salesforce org emulator (REST, SOQL, Bulk 2.0, OAuth) for tests."""

__version__ = "0.1.0"
