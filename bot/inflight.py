"""Work still running after its request was answered, drained before shutdown closes the store.

Slack listeners ack first and finish in the background; scheduled jobs run on their own. Both
are tracked here, so a SIGTERM lets them finish (within a bound) before the database closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class Inflight:
    """Counts running work; ``drain`` waits for it to finish."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._running: set[asyncio.Future[Any]] = set()

    @contextlib.asynccontextmanager
    async def track(self) -> AsyncIterator[None]:
        self._count += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._count -= 1
            if self._count == 0:
                self._idle.set()

    def spawn(self, work: Awaitable[T]) -> asyncio.Future[T]:
        """Run ``work`` in the background, tracked; the future is kept until it is done."""

        async def tracked() -> T:
            async with self.track():
                return await work

        future = asyncio.ensure_future(tracked())
        self._running.add(future)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: asyncio.Future[Any]) -> None:
        self._running.discard(future)
        if not future.cancelled() and (error := future.exception()) is not None:
            log.error("background work failed: %s", type(error).__name__, exc_info=error)

    async def drain(self, within: float = 10.0) -> bool:
        """Wait for running work to finish; False if some was still running after ``within``."""
        try:
            await asyncio.wait_for(self._idle.wait(), within)
        except TimeoutError:
            log.warning("%d piece(s) of work still running at shutdown", self._count)
            return False
        return True
