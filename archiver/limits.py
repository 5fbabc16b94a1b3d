"""What one page may cost the extraction worker that reads it: markup, time and memory.

A hostile or merely enormous page (50 MB of HTML, 250,000 elements, a damaged PDF that sends
its parser round in circles) could otherwise take minutes and gigabytes in a worker, and a
few of them at once bring the OOM killer. So each extraction worker of a pass starts with
`start_worker`, which sets

- `html_bytes`: the most HTML (or plain text) handed to the extractor; archiver.extract
  reads a larger page from a bounded prefix, with its scripts, styles and comments set aside
  first, and says so on the capture;
- `seconds`: how long extracting and judging one page may take (`deadline`, a SIGALRM timer
  in the worker's main thread, which raises PageTooCostly);
- `memory_bytes`: the worker's address space (RLIMIT_AS): past it an allocation fails with
  MemoryError, which becomes an error on that capture instead of an OOM kill.

The settings come from the [capture] section (archiver.config). Outside a worker, extraction
uses the defaults for `html_bytes` and runs without a timer or memory limit.
"""

from __future__ import annotations

import resource
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

MB = 1024 * 1024


@dataclass(frozen=True)
class PageLimits:
    """The bounds on one page's extraction; see the module notes. 0 turns `seconds` or `memory_bytes` off."""

    html_bytes: int = 2 * MB
    seconds: float = 120.0
    memory_bytes: int = 1024 * MB

    @classmethod
    def from_config(cls, capture) -> PageLimits:
        """The limits of archiver.config's [capture] section."""
        return cls(html_bytes=capture.extract_max_bytes, seconds=capture.extract_timeout,
                   memory_bytes=capture.worker_memory_mb * MB)


class PageTooCostly(BaseException):
    """Extracting or judging one page passed a limit (time or memory); `message` says which.

    A BaseException, so that the libraries' own `except Exception` cannot swallow the timer.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_limits = PageLimits()
_in_worker = False


def current() -> PageLimits:
    """The limits in force in this process."""
    return _limits


def start_worker(limits: PageLimits) -> None:
    """Extraction worker start-up: keep `limits`, cap the address space, arm the timer's handler."""
    global _limits, _in_worker
    _limits = limits
    _in_worker = True
    if limits.memory_bytes:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = limits.memory_bytes if hard == resource.RLIM_INFINITY else min(limits.memory_bytes, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    signal.signal(signal.SIGALRM, _time_is_up)


def _time_is_up(signum, frame) -> None:
    raise PageTooCostly(f"extracting the page's text took longer than {_limits.seconds:g} s "
                        "([capture] extract_timeout); the page is stored, its text is not")


def memory_message() -> str:
    """What to record when a page needed more memory than the worker may have."""
    if _in_worker and _limits.memory_bytes:
        return (f"extracting the page's text needed more memory than an extraction worker may use "
                f"({_limits.memory_bytes // MB} MB, [capture] worker_memory_mb); the page is stored, its text is not")
    return "extracting the page's text ran out of memory; the page is stored, its text is not"


@contextmanager
def deadline() -> Iterator[None]:
    """Raise PageTooCostly in the block once `seconds` have passed; in an extraction worker's
    main thread only (elsewhere the block runs unbounded)."""
    seconds = _limits.seconds
    armed = _in_worker and seconds > 0 and threading.current_thread() is threading.main_thread()
    if armed:
        signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        if armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
