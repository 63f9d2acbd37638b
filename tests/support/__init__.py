"""Helpers shared by the test suites: running a real server, needing outside tools."""
