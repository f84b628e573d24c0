"""Record links seen from one direction: source id → target id, and their state hashes."""

from collections.abc import Iterable

from connections.models import Connection
from replication.models import Direction, RecordLink


class LinkIndex:
    """The links of a batch, loaded with one query, read and written in direction terms."""

    def __init__(self, connection: Connection, direction: str) -> None:
        self.connection = connection
        self.forward = direction == Direction.PRIMARY_TO_SECONDARY
        self.source_field = "primary_id" if self.forward else "secondary_id"
        self.by_source: dict[str, RecordLink] = {}

    def load(self, source_ids: Iterable[str]) -> "LinkIndex":
        wanted = {i for i in source_ids if i} - set(self.by_source)
        for chunk in _chunks(sorted(wanted), 500):
            query = RecordLink.objects.filter(
                connection=self.connection, **{f"{self.source_field}__in": chunk}
            )
            for link in query:
                self.by_source[self.source_id(link)] = link
        return self

    def source_id(self, link: RecordLink) -> str:
        return link.primary_id if self.forward else link.secondary_id

    def target_id(self, link: RecordLink) -> str:
        return link.secondary_id if self.forward else link.primary_id

    def get(self, source_id: str) -> RecordLink | None:
        return self.by_source.get(source_id)

    def target_of(self, source_id: str) -> str | None:
        link = self.by_source.get(source_id)
        return self.target_id(link) if link and not link.is_deleted else None

    def target_hash(self, link: RecordLink) -> str:
        return link.secondary_state_hash if self.forward else link.primary_state_hash

    def source_hash_field(self) -> str:
        return "primary_state_hash" if self.forward else "secondary_state_hash"

    def sent_hash_field(self) -> str:
        return "p2s_sent_hash" if self.forward else "s2p_sent_hash"

    def sent_hash(self, link: RecordLink) -> str:
        return getattr(link, self.sent_hash_field())

    def mark_sent(self, link: RecordLink, digest: str) -> None:
        """The source's payload is in sync with the target without a write."""
        setattr(link, self.sent_hash_field(), digest)
        RecordLink.objects.filter(pk=link.pk).update(**{self.sent_hash_field(): digest})

    def save_link(
        self,
        *,
        source_object: str,
        source_id: str,
        target_object: str,
        target_id: str,
        target_hash: str,
        source_hash: str = "",
    ) -> RecordLink:
        """Create or refresh the link after a successful write into the target: the target now
        holds the payload, which is also the last one sent in this direction."""
        sides = {
            self.sent_hash_field(): target_hash,
            "primary_object": source_object if self.forward else target_object,
            "primary_id": source_id if self.forward else target_id,
            "secondary_object": target_object if self.forward else source_object,
            "secondary_id": target_id if self.forward else source_id,
            "secondary_state_hash" if self.forward else "primary_state_hash": target_hash,
            "is_deleted": False,
        }
        if source_hash:
            # Two-way: the source holds this state, and the target now mirrors it — so the other
            # direction, reading the target back, would send exactly this: mark it as sent.
            sides[self.source_hash_field()] = source_hash
            sides["s2p_sent_hash" if self.forward else "p2s_sent_hash"] = source_hash
        link = self.by_source.get(source_id)
        if link is None:
            link, _ = RecordLink.objects.update_or_create(
                connection=self.connection, **{self.source_field: source_id}, defaults=sides
            )
        else:
            for name, value in sides.items():
                setattr(link, name, value)
            link.save()
        self.by_source[source_id] = link
        return link


def _chunks(items: list[str], size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]
