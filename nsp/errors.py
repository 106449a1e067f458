"""The root of nsp's typed errors.

A user's mistake raises a subclass of :class:`NspError`; the CLI prints its
message (and its cause) on one or two lines and exits non-zero, without a
traceback. Anything else is a bug and keeps its traceback.
"""


class NspError(Exception):
    """An error whose message is meant for the user."""

    exit_code = 1
