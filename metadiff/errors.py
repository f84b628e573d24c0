"""What metadiff refuses or fails at. Services raise these; admin and commands translate them."""


class MetadiffError(Exception):
    """Base of every metadiff error."""


class InvalidSelection(MetadiffError):
    """A deployment names components the run does not have, or that cannot go that way
    (adding a component missing from the source, deleting a managed one, …)."""


class RunNotReady(MetadiffError):
    """The differences run has not finished successfully, so there is nothing to deploy yet."""
