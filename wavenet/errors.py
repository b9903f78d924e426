"""The one exception type the library raises for problems a user can fix.

The CLI and the server turn it into a one-line message (or an HTTP 4xx) instead of a
traceback, so its message must say what was wrong and, where it helps, what is allowed.
"""


class WavenetError(Exception):
    """A user-facing error: bad input, a missing or corrupt file, an unknown name."""
