"""The extraction pool of a capture pass: worker processes forked from a fork server.

The fork server imports archiver.forkserver_preload (the extraction and verdict code, and
their libraries and data) once, and each worker is forked from it, sharing that memory.
Whatever a pass hands its workers must come from modules the fork server has loaded, such as
this one and archiver.extract: unpickling a function of another module imports that module
in every worker (archiver.capture would bring SQLAlchemy, httpx and the rest, ~20 MB each).
This module imports nothing heavy, so the pass's own process can import it too.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import sys
import threading
import time

PRELOAD = ["archiver.forkserver_preload"]
PARENT_CHECK_SECONDS = 1.0


def make_pool(workers: int) -> concurrent.futures.ProcessPoolExecutor:
    """A pool of `workers` extraction processes started from the preloaded fork server; each
    exits on its own when the calling process is gone."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                                  initializer=exit_with_parent, initargs=(os.getpid(),))


def exit_with_parent(pid: int) -> None:
    """Worker start-up: exit as soon as the process running the pass (`pid`) is gone.

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


def imported_modules() -> list[str]:
    """The names of the modules the calling process has imported: run in a worker, what the
    worker carries (tests check that the capture pipeline's database and HTTP code is not there)."""
    return sorted(sys.modules)
