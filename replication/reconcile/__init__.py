"""Reconcile: prove that two orgs agree on a connection's published objects, and hand what
differs to the record queue (docs/reconcile.md).

`reading` streams each object's records from an org, `store` keeps what comparison needs in a
scratch SQLite file (keyed field hashes and Ids, never values) so memory stays flat, `compare`
sorts what differs into classes with set-based queries, `repair` turns differences into queue
items, and `runner` runs a `ReconcileRun` through all of it.
"""
