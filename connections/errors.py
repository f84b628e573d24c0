"""Errors of the connections app. Services raise them; admin and commands translate them."""


class ConnectionsError(Exception):
    """Base class: the message is meant for the operator and names what to fix."""


class IllegalTransition(ConnectionsError):
    """A connection cannot go from its current status to the one asked for."""


class InvalidConnection(ConnectionsError):
    """The two orgs (or the options) of a connection do not fit together. `field` names the
    form field the operator should change ("" when it is about the whole connection)."""

    def __init__(self, message: str, *, field: str = "") -> None:
        self.field = field
        super().__init__(message)


CREDENTIALS_UNREADABLE = (
    "This org's stored credentials can't be read (key rotated away or data changed): reconnect the org."
)


class CredentialsUnreadable(ConnectionsError):
    """A stored secret does not open: sealed with a key no longer in ORGSYNC_ENCRYPTION_KEYS, or
    its ciphertext was changed. `detail` is the vault's reason (names the field, never a secret)."""

    def __init__(self, detail: str = "") -> None:
        self.detail = detail
        super().__init__(CREDENTIALS_UNREADABLE)
