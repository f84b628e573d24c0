"""Errors of the replication app; messages are for the admin and name the fix."""


class ReplicationError(Exception):
    """Base class."""


class ProblemsError(ReplicationError):
    """A request refused for one or more reasons: `messages` has one line per problem, each
    naming the fix (shown as form errors, or as a command's error lines)."""

    def __init__(self, messages: list[str]) -> None:
        self.messages = messages
        super().__init__(" ".join(messages))


class PublishError(ReplicationError):
    """An object or field cannot be published."""


class SubscribeError(ReplicationError):
    """A subscription cannot be made (missing object, no permission to create the external id)."""


class MappingError(ProblemsError):
    """A field mapping breaks a mapping rule; `messages` has one line per problem."""
