"""The search language's limits: what keeps a hostile query cheap to parse and to run.

A query is typed by a person into a terminal or a search box, so these are generous for
that and small for anything else. Each check happens before the work it bounds: the
length before the query is scanned, the term count as terms are found.
"""

from __future__ import annotations

from typing import Final

MAX_QUERY_LENGTH: Final = 1024
"""Characters in a whole query. Bounds the parse (linear in the length) and the longest
phrase, and so what one substring test costs."""

MAX_TERMS: Final = 32
"""Terms in one query. Bounds the number of tests per message (and, later, of conditions in
the index's SQL)."""

MAX_SIZE: Final = 2**63 - 1
"""The largest `larger:`/`smaller:` size, in bytes: SQLite's largest integer, so that the
index can always bind it."""
