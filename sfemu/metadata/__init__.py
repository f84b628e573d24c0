"""Salesforce Metadata API emulation: the component model over an org's real schema and data,
classic mdapi files (retrieve/deploy zips), simulated Apex tests and managed packages.

Domain entry point: ``OrgMetadata(org)`` (see :mod:`sfemu.metadata.service`); the SOAP endpoint
``/services/Soap/m/NN.0`` lives in :mod:`sfemu.server.routes_metadata`.
"""

from sfemu.metadata.package import DeployOptions, DeployOutcome, RetrieveOutcome, TestRun
from sfemu.metadata.service import Jobs, OrgMetadata, jobs_of

__all__ = ["DeployOptions", "DeployOutcome", "Jobs", "OrgMetadata", "RetrieveOutcome", "TestRun", "jobs_of"]
