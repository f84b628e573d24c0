"""The replication engine: capture → queue → plan → apply → record (see docs/architecture.md).

Plain Python driven by services, tasks and commands; it talks to orgs only through
connections.client.SalesforceClient and keeps no record field values anywhere but in memory.
"""
