"""The reader's exceptions, each one line that the CLI prints after `postier: `.

ReaderError          the store cannot be read as asked
├── NotAnAddress     the text given is not a mail address (and names no mailbox)
├── NoSuchMessage    a message number outside the mailbox, or an ID the store does not hold
├── NoSuchMailbox    an address the store has no mailbox for (where one must exist)
├── BadQuery         a search query that cannot be understood (its text says where)
├── IndexFailure     the index cannot be opened or updated
├── DamagedMailbox   a mailbox file that is not an mbox or Maildir as the store writes them
├── MailboxBusy      the server kept a mailbox locked longer than the reader waits
└── BadTag           a tag name that cleans to nothing, a rename onto a tag that exists,
                     a tag no message has (to rename or delete)
"""

from __future__ import annotations

import sqlite3
from typing import Final


class ReaderError(Exception):
    """The store cannot be read as asked; the text is one line for the user."""


class NotAnAddress(ReaderError):  # noqa: N818 - the name says what the user did wrong
    """The text given for a mailbox is not an address."""


class NoSuchMessage(ReaderError):  # noqa: N818
    """A message number outside the mailbox."""


class NoSuchMailbox(ReaderError):  # noqa: N818
    """An address the store has no mailbox for, where one must exist (to delete from it)."""


class BadQuery(ReaderError):  # noqa: N818
    """A search query that cannot be understood."""


class IndexFailure(ReaderError):  # noqa: N818
    """The index cannot be opened or updated (the text says why)."""


class DamagedMailbox(ReaderError):  # noqa: N818
    """A mailbox that cannot be read as the format it claims."""


class MailboxBusy(ReaderError):  # noqa: N818
    """A mailbox stayed locked by a writer longer than the reader waits."""


class BadTag(ReaderError):  # noqa: N818
    """A tag that cannot be set, renamed or deleted as asked."""


READ_TROUBLE: Final = (ReaderError, OSError, sqlite3.Error)
"""What reading the store may meet, whoever reads it (a damaged mailbox, a busy or
broken index, a file gone): a service that reads in the background logs it and tries
again at its next look, never ends because of it."""
