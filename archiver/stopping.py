"""How a running pass is asked to stop, by a signal or by the program.

A first request (Ctrl-C, SIGTERM from `systemctl stop` or `docker stop`) stops the pass from
claiming more sources and lets the captures in flight finish and be stored, for at most a
grace period; a second request, or the end of the grace period, abandons them at once. The
sources not captured are given back and stay due, so the next pass takes them first.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stop:
    """A stop request shared by a pass and whoever may stop it.

    `requested` is set by the first request (stop claiming), `abandoned` by the second one or
    when `grace` seconds have passed since the first (drop what is in flight). `signal` is the
    number of the first signal received, if a signal asked. It answers `is_set()`, `set()` and
    `wait()` like the asyncio.Event it replaces.
    """

    def __init__(self, grace: float | None = None, on_request: Callable[[int | None, bool], None] | None = None) -> None:
        self.grace = grace
        self.requested = asyncio.Event()
        self.abandoned = asyncio.Event()
        self.signal: int | None = None
        self.on_request = on_request
        self._timer: asyncio.TimerHandle | None = None

    def is_set(self) -> bool:
        return self.requested.is_set()

    def set(self) -> None:
        self.request()

    async def wait(self) -> None:
        await self.requested.wait()

    def request(self, signum: int | None = None) -> None:
        """Stop claiming work; asked a second time, abandon the work in flight."""
        again = self.requested.is_set()
        if self.on_request is not None:
            self.on_request(signum, again)
        if again:
            self.abandon()
            return
        self.signal = signum
        self.requested.set()
        if self.grace is not None:
            self._timer = asyncio.get_running_loop().call_later(self.grace, self.abandon)

    def abandon(self) -> None:
        """Drop the work in flight now."""
        self.requested.set()
        self.abandoned.set()
        self.cancel_timer()

    def cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def install(self) -> Callable[[], None]:
        """Make SIGINT and SIGTERM request this stop (in the running event loop); returns the
        function that puts the previous handling back."""
        loop = asyncio.get_running_loop()
        installed = []
        for sig in SIGNALS:
            try:
                loop.add_signal_handler(sig, self.request, sig)
                installed.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass

        def restore() -> None:
            for sig in installed:
                loop.remove_signal_handler(sig)
            self.cancel_timer()

        return restore

    @property
    def exit_code(self) -> int:
        """What a command stopped by this request exits with: 128 + the signal's number (130 for
        SIGINT, 143 for SIGTERM), as shells report it; 0 when no signal asked."""
        return 128 + self.signal if self.signal else 0


def abandoned(stop) -> asyncio.Event | None:
    """The `abandoned` event of a Stop, or None for a plain asyncio.Event (never abandoned)."""
    return getattr(stop, "abandoned", None)
