"""What a `Reader` changes in the store and its index: tags (`store.read.tags`), read
state and deletions (`store.read.edits`). A part of `Reader` of its own, so that the
reader's file keeps to looking, listing and opening."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from .changes import Change, grouped
from .lookup import located
from .tags import all_tags, choose, prune, remove, rename, tag_counts, tags_for

if TYPE_CHECKING:
    from ..index.database import IndexDatabase
    from .edits import Editor
    from .lookup import Located


class ReaderChanges:
    """`Reader`'s tags, marks and deletions; `Reader` provides what is declared here."""

    db: IndexDatabase
    editor: Editor
    tags_from_plus: bool

    if TYPE_CHECKING:

        def _look(self) -> None: ...

        def copies(self, ref: str) -> list[Located]: ...

        def publish(self, changes: Iterable[Change]) -> None: ...

    # -- tags ------------------------------------------------------------------------------

    def tags(self, refs: Iterable[str]) -> dict[str, list[str]]:
        """The tags of each copy or delivery of `refs` the index holds (`store.read.tags`)."""
        with self.db.reading() as conn:
            return tags_for(conn, refs, self.tags_from_plus)

    def all_tags(self) -> list[str]:
        """Every tag a message has, once, sorted without regard to case."""
        self._look()
        with self.db.reading() as conn:
            return all_tags(conn, self.tags_from_plus)

    def tag_counts(self) -> dict[str, int]:
        """Every tag a message has, with how many copies have it."""
        self._look()
        with self.db.reading() as conn:
            return tag_counts(conn, self.tags_from_plus)

    def set_tags(self, refs: Iterable[str], tags: Iterable[str]) -> None:
        """Give the messages `refs` (copies, or every copy of a delivery) exactly `tags`
        (cleaned, `store.tagging`); NoSuchMessage, and nothing changed, for an ID the
        store does not hold."""
        found = [copy for ref in dict.fromkeys(refs) for copy in self.copies(ref)]
        names = list(tags)
        with self.db.writing() as conn:
            choose(conn, [copy.id for copy in found], names, self.tags_from_plus)
        self.publish(grouped("tagged", ((copy.summary.mailbox, copy.id) for copy in found)))

    def rename_tag(self, old: str, new: str) -> None:
        """Rename a tag on every message that has it (`tags.rename`)."""
        self._look()
        with self.db.writing() as conn:
            changed = rename(conn, old, new, self.tags_from_plus)
        self._tagged(changed)

    def delete_tag(self, tag: str) -> None:
        """Take a tag off every message that has it (`tags.remove`)."""
        self._look()
        with self.db.writing() as conn:
            changed = remove(conn, tag, self.tags_from_plus)
        self._tagged(changed)

    def _tagged(self, ids: list[str]) -> None:
        """Tell the subscribers which copies' tags changed (each copy's mailbox found)."""
        with self.db.reading() as conn:
            found = [located(conn, "m.id = ? AND m.hidden = 0", (id_,)) for id_ in ids]
        pairs = ((copy.summary.mailbox, copy.id) for copy in found if copy is not None)
        self.publish(grouped("tagged", pairs))

    def _prune_tags(self) -> None:
        with self.db.writing() as conn:
            prune(conn)

    # -- changes ---------------------------------------------------------------------------

    def mark(self, ids: Iterable[str], *, read: bool) -> list[str]:
        """Mark messages read or unread; returns the IDs whose state changed."""
        return self.editor.mark(list(ids), read=read)

    def delete(self, ids: Iterable[str], *, wait: bool = True) -> list[str]:
        """Delete messages; with `wait`, return once no file holds them any more."""
        deleted = self.editor.delete(list(ids), wait=wait)
        self._prune_tags()
        return deleted

    def delete_mailbox(self, address: str, *, wait: bool = True) -> int:
        """Delete every message of `address`'s mailbox; NoSuchMailbox when it has none."""
        deleted = self.editor.delete_mailbox(address, wait=wait)
        self._prune_tags()
        return deleted

    def delete_all(self, *, wait: bool = True) -> int:
        """Delete every message of the store."""
        deleted = self.editor.delete_all(wait=wait)
        self._prune_tags()
        return deleted
