"""Loaded by a test's extraction fork server (archiver.pool, `preload`): a page holding
CRASH_MARK kills the worker extracting it with a real SIGSEGV, as a fault in lxml does."""

import os
import signal

from archiver import extract, tasks

CRASH_MARK = b"<!-- crash the extractor -->"
_extract = extract.extract


def _crashing_extract(body, *args, **kwargs):
    if CRASH_MARK in body:
        os.kill(os.getpid(), signal.SIGSEGV)
    return _extract(body, *args, **kwargs)


tasks.extract = _crashing_extract
