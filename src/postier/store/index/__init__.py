"""The store's index: a SQLite database derived from the mailboxes, for listing and search."""
