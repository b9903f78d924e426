"""The one exception type the library raises for problems a user can fix.

The CLI and the server turn it into a one-line message (or an HTTP 4xx) instead of a
traceback, so its message must say what was wrong and, where it helps, what is allowed.
"""


class WavenetError(Exception):
    """A user-facing error: bad input, a missing or corrupt file, an unknown name."""


class RequestError(WavenetError):
    """A request that cannot be honoured: ``field`` names what is wrong, and the message starts with it.

    The server answers it with a 422 that names the field; the command line prints it.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
