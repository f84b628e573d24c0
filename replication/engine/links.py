"""Record links seen from one direction: source id → target id, and their state hashes."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils import timezone

from connections.models import Connection
from replication.engine.sets import insert_rows, update_rows
from replication.models import Direction, RecordLink

NEW_LINK_FIELDS = (
    "primary_object",
    "primary_id",
    "secondary_object",
    "secondary_id",
    "primary_state_hash",
    "secondary_state_hash",
    "p2s_sent_hash",
    "s2p_sent_hash",
    "is_deleted",
)


@dataclass(frozen=True)
class LinkWrite:
    """A successful write into the target, as the link should record it."""

    source_object: str
    source_id: str
    target_object: str
    target_id: str
    target_hash: str
    source_hash: str = ""


class LinkIndex:
    """The links of a batch, loaded with one query, read and written in direction terms."""

    def __init__(self, connection: Connection, direction: str) -> None:
        self.connection = connection
        self.forward = direction == Direction.PRIMARY_TO_SECONDARY
        self.source_field = "primary_id" if self.forward else "secondary_id"
        self.by_source: dict[str, RecordLink] = {}

    def load(self, source_ids: Iterable[str]) -> "LinkIndex":
        wanted = {i for i in source_ids if i} - set(self.by_source)
        for chunk in chunks(sorted(wanted), 500):
            query = RecordLink.objects.filter(
                connection=self.connection, **{f"{self.source_field}__in_ids": chunk}
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

    def mark_all_sent(self, sent: list[tuple[RecordLink, str]]) -> None:
        """The sources' payloads (link, digest) are in sync with their targets without a write."""
        for link, digest in sent:
            setattr(link, self.sent_hash_field(), digest)
        update_rows(RecordLink, [link for link, _ in sent], [self.sent_hash_field()])

    def save_link(self, write: LinkWrite) -> RecordLink:
        """Create or refresh the link after a successful write into the target: the target now
        holds the payload, which is also the last one sent in this direction."""
        sides = self._sides(write)
        link = self.by_source.get(write.source_id)
        if link is None:
            link, _ = RecordLink.objects.update_or_create(
                connection=self.connection, **{self.source_field: write.source_id}, defaults=sides
            )
        else:
            for name, value in sides.items():
                setattr(link, name, value)
            link.save()
        self.by_source[write.source_id] = link
        return link

    def save_links(self, writes: list[LinkWrite]) -> list[RecordLink]:
        """`save_link` for many writes in a few statements per 500 (an update of the known links,
        an insert of the new ones and a read of their ids). Call `remember` with the answer once
        the transaction commits; an IntegrityError means a new link conflicts with another one."""
        now = timezone.now()
        known, new, fields = [], [], {"synced_at"}
        for write in writes:
            sides = self._sides(write)
            link = self.by_source.get(write.source_id)
            if link is None:
                new.append(RecordLink(connection_id=self.connection.pk, synced_at=now, **sides))
            else:
                for name, value in sides.items():
                    setattr(link, name, value)
                link.synced_at = now
                known.append(link)
                fields |= set(sides)
        update_rows(RecordLink, known, sorted(fields))
        self._insert(new)
        return known + new

    def _insert(self, links: list[RecordLink]) -> None:
        """Insert new links and give them their ids (one read per 500: no RETURNING needed)."""
        insert_rows(
            RecordLink,
            NEW_LINK_FIELDS,
            [[getattr(link, name) for name in NEW_LINK_FIELDS] for link in links],
            shared={"connection": self.connection.pk, "synced_at": links[0].synced_at} if links else {},
        )
        by_source = {self.source_id(link): link for link in links}
        for chunk in chunks(sorted(by_source), 500):
            query = RecordLink.objects.filter(
                connection=self.connection, **{f"{self.source_field}__in_ids": chunk}
            )
            for pk, source_id in query.values_list("pk", self.source_field):
                link = by_source[source_id]
                link.pk, link._state.adding, link._state.db = pk, False, query.db

    def remember(self, links: Iterable[RecordLink]) -> None:
        for link in links:
            self.by_source[self.source_id(link)] = link

    def _sides(self, write: LinkWrite) -> dict[str, object]:
        sides = {
            self.sent_hash_field(): write.target_hash,
            "primary_object": write.source_object if self.forward else write.target_object,
            "primary_id": write.source_id if self.forward else write.target_id,
            "secondary_object": write.target_object if self.forward else write.source_object,
            "secondary_id": write.target_id if self.forward else write.source_id,
            "secondary_state_hash" if self.forward else "primary_state_hash": write.target_hash,
            "is_deleted": False,
        }
        if write.source_hash:
            # Two-way: the source holds this state, and the target now mirrors it — so the other
            # direction, reading the target back, would send exactly this: mark it as sent.
            sides[self.source_hash_field()] = write.source_hash
            sides["s2p_sent_hash" if self.forward else "p2s_sent_hash"] = write.source_hash
        return sides


def chunks(items: list[str], size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]
