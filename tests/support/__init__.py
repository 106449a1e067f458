"""Helpers shared by the tests: live servers, the session's Chromium, waits, databases, sample data.

Test modules import from here, never from one another (see docs: development/tests.md).
"""
