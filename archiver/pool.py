"""The extraction pool of a capture pass: worker processes forked from a fork server.

Extraction (trafilatura, lxml, pypdf) always runs in these worker processes, one page per
process at a time, never in threads of the pass's own process: those libraries are not safe
to run in several threads at once (a pass that did so died with SIGSEGV or "double free or
corruption"), and a page that crashes a C library then kills one worker, not the pass.

The fork server imports archiver.forkserver_preload (the extraction and verdict code, and
their libraries and data) once, and each worker is forked from it, sharing that memory.
Whatever a pass hands its workers must come from modules the fork server has loaded, such as
this one and archiver.extract: unpickling a function of another module imports that module
in every worker (archiver.capture would bring SQLAlchemy, httpx and the rest, ~20 MB each).
This module imports nothing heavy, so the pass's own process can import it too.

Workers ignore SIGINT and SIGTERM: Ctrl-C in a terminal and `systemctl stop` signal the
whole process group, and it is the pass's own process that decides how to stop (finish what
is in flight, then abandon it); a worker killed by the signal would break the pool under
every page in flight.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures.process import BrokenProcessPool

from archiver import limits

PRELOAD = ["archiver.forkserver_preload"]
PARENT_CHECK_SECONDS = 1.0


class WorkerCrashed(Exception):
    """An extraction worker died while working on this page alone (a crash in a C library,
    the kernel's OOM killer): the page itself kills the extractor."""


def make_pool(workers: int, preload: list[str] | None = None,
              page_limits: limits.PageLimits | None = None) -> concurrent.futures.ProcessPoolExecutor:
    """A pool of `workers` extraction processes started from the preloaded fork server; each
    ignores SIGINT/SIGTERM, exits on its own when the calling process is gone, and bounds what
    one page may cost it (archiver.limits: markup read, time, memory)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(preload or PRELOAD)
    return concurrent.futures.ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=start_worker,
        initargs=(os.getpid(), page_limits or limits.PageLimits()))


def start_worker(pid: int, page_limits: limits.PageLimits | None = None) -> None:
    """Worker start-up: leave SIGINT and SIGTERM to the pass (see the module docstring), exit
    as soon as the process running the pass (`pid`) is gone, and set the page limits."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    exit_with_parent(pid)
    limits.start_worker(page_limits or limits.PageLimits())


def exit_with_parent(pid: int) -> None:
    """Exit as soon as the process running the pass (`pid`) is gone.

    A pass killed with SIGKILL (the OOM killer, `kill -9`, a container stopped without grace)
    cannot shut its pool down, and the workers would wait for work forever, holding their
    memory, and keep the fork server alive with them.
    """

    def watch() -> None:
        while True:
            time.sleep(PARENT_CHECK_SECONDS)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                os._exit(0)
            except PermissionError:
                pass

    threading.Thread(target=watch, name="archiver-pass-watch", daemon=True).start()


class ExtractionPool:
    """The extraction processes of one pass, or of a scheduler across its passes.

    Started on first use, so a pass with nothing to extract (errors, 304s, identical bodies)
    starts no process. When a worker dies, every page in flight in the pool fails with it: the
    pool is replaced, and each of those pages is tried again alone in a one-worker pool, so that
    only the page that kills a worker again is given up on (WorkerCrashed), and the others are
    extracted as if nothing had happened.
    """

    def __init__(self, workers: int, preload: list[str] | None = None,
                 page_limits: limits.PageLimits | None = None) -> None:
        self.workers = max(1, workers)
        self.preload = preload or PRELOAD
        self.page_limits = page_limits or limits.PageLimits()
        self.replaced = 0
        self._executor: concurrent.futures.ProcessPoolExecutor | None = None
        self._alone: concurrent.futures.ProcessPoolExecutor | None = None
        self._alone_lock: asyncio.Lock | None = None
        self._last_used = time.monotonic()

    async def call(self, function, *args):
        """`function(*args)` in a worker; raises WorkerCrashed when the page kills a worker even alone."""
        loop = asyncio.get_running_loop()
        self._last_used = time.monotonic()
        executor = self._current()
        try:
            return await loop.run_in_executor(executor, function, *args)
        except BrokenProcessPool:
            self._replace(executor)
        if self._alone_lock is None:
            self._alone_lock = asyncio.Lock()
        async with self._alone_lock:
            if self._alone is None:
                self._alone = make_pool(1, self.preload, self.page_limits)
            alone = self._alone
            try:
                return await loop.run_in_executor(alone, function, *args)
            except BrokenProcessPool as exc:
                self._alone = None
                alone.shutdown(wait=False, cancel_futures=True)
                self.replaced += 1
                raise WorkerCrashed("the extraction process died while working on this page alone") from exc

    def _current(self) -> concurrent.futures.ProcessPoolExecutor:
        if self._executor is None:
            self._executor = make_pool(self.workers, self.preload, self.page_limits)
        return self._executor

    def _replace(self, broken: concurrent.futures.ProcessPoolExecutor) -> None:
        if self._executor is broken:
            self._executor = None
            self.replaced += 1
            broken.shutdown(wait=False, cancel_futures=True)

    @property
    def started(self) -> bool:
        """Whether worker processes are running (or were started and not shut down)."""
        return self._executor is not None or self._alone is not None

    def idle_for(self) -> float:
        """Seconds since the last call."""
        return time.monotonic() - self._last_used

    def worker_pids(self) -> list[int]:
        """The process ids of the running workers (for tests and diagnostics)."""
        pids: list[int] = []
        for executor in (self._executor, self._alone):
            if executor is not None:
                pids.extend((getattr(executor, "_processes", None) or {}).keys())
        return sorted(pids)

    def shutdown(self, wait: bool = True) -> None:
        """Stop the workers; the next call starts new ones."""
        for executor in (self._executor, self._alone):
            if executor is not None:
                executor.shutdown(wait=wait, cancel_futures=True)
        self._executor = self._alone = None

    def __enter__(self) -> ExtractionPool:
        return self

    def __exit__(self, *exc_info) -> None:
        self.shutdown()


def imported_modules() -> list[str]:
    """The names of the modules the calling process has imported: run in a worker, what the
    worker carries (tests check that the capture pipeline's database and HTTP code is not there)."""
    return sorted(sys.modules)
