"""How many streams each client has open, against ``max_streams_per_client``."""

from __future__ import annotations

from collections.abc import Callable

from wavenet_service.errors import ApiError


class ClientStreams:
    """Concurrent streams per client address, for ``max_streams_per_client`` (0: no limit)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open: dict[str, int] = {}

    def acquire(self, client: str) -> Callable[[], None]:
        """Count one more stream for ``client`` (429 past the limit); returns what ends it, once."""
        if self.limit and self.open.get(client, 0) >= self.limit:
            raise ApiError(
                429,
                f"client: {client} already has {self.limit} stream(s) open, the limit per client",
                headers={"Retry-After": "1"},
            )
        self.open[client] = self.open.get(client, 0) + 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self.open[client] -= 1
                if not self.open[client]:
                    del self.open[client]

        return release
