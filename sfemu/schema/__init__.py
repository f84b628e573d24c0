"""Object schema of an emulated org and the record semantics derived from it.

``spec`` (field/object specs) and the ``std_*`` tables describe standard objects; ``custom``
builds custom objects/fields; ``registry`` is one org's effective schema; ``describe`` renders
describe JSON; ``values``/``dml``/``derive``/``lifecycle``/``replication`` implement writes,
deletes and change capture; ``customize``/``users`` are mixed into :class:`sfemu.org.Org`.
"""
