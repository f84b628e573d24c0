"""Errors of the connections app. Services raise them; admin and commands translate them."""


class ConnectionsError(Exception):
    """Base class: the message is meant for the operator and names what to fix."""


class IllegalTransition(ConnectionsError):
    """A connection cannot go from its current status to the one asked for."""


class InvalidConnection(ConnectionsError):
    """The two orgs (or the options) of a connection do not fit together."""
