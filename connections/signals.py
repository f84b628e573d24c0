"""What connections tell the apps above them (Django's `user_logged_in` pattern: the lower app
sends, the upper ones listen, so connections imports none of them)."""

from django.dispatch import Signal

# A suspension or resumption was recorded in the connection's history. Sent inside the
# transaction that changed the status, with `event` (the ConnectionEvent); the record queue
# (replication) marks it among the records there, in the same transaction.
connection_paused_or_resumed = Signal()
