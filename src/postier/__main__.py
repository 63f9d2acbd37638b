"""`python -m postier`: the same as the `postier` command."""

from postier.cli import entry_point

entry_point()
