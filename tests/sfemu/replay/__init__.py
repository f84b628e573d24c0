"""Helpers for the sfemu acceptance tests (recorded replay, fidelity checks)."""
