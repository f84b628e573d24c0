"""Bulk sync: initial and catch-up loads of a connection, streamed and checkpointed.

`scope` validates what an admin asked for, `source` reads the records in pages (Bulk API 2.0 or
REST), `target` writes them (Bulk API 2.0 ingest or REST collections, or only counts them in a
dry run), and `runner` ties them together object by object, parents first.
"""
