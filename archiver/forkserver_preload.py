"""Imported once by the extraction pool's fork server (archiver.pool), never by a pass itself.

The workers are forked from that server, so whatever it loads they share, page for page,
until they write to it: the extraction and verdict code, the libraries extraction imports on
first use (trafilatura, pypdf), and the data they would otherwise load in every worker (see
extract.preload_fallback_stoplists). gc.freeze() then keeps the workers' garbage collector
from walking, and so copying, those shared objects.

The fork server ignores SIGTERM, as it already ignores SIGINT: both reach the whole process
group when a pass is stopped, and the pass may still need to replace a dead worker while it
finishes. It exits by itself once the pass's process is gone.
"""

import gc
import signal

import pypdf  # noqa: F401
import trafilatura  # noqa: F401
import trafilatura.settings  # noqa: F401
import trafilatura.utils  # noqa: F401

from archiver import extract, pool, tasks, verdict  # noqa: F401

signal.signal(signal.SIGTERM, signal.SIG_IGN)
extract.preload_fallback_stoplists()
gc.freeze()
