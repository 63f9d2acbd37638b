"""Tests of the store: naming, formats, transactions, locking and recovery."""
