"""Imported once by the extraction pool's fork server (archiver.pool), never by a pass itself.

The workers are forked from that server, so whatever it loads they share, page for page,
until they write to it: the extraction and verdict code, the libraries extraction imports on
first use (trafilatura, pypdf), and the data they would otherwise load in every worker (see
extract.preload_fallback_stoplists). gc.freeze() then keeps the workers' garbage collector
from walking, and so copying, those shared objects.
"""

import gc

import pypdf  # noqa: F401
import trafilatura  # noqa: F401
import trafilatura.settings  # noqa: F401
import trafilatura.utils  # noqa: F401

from archiver import extract, pool, tasks, verdict  # noqa: F401

extract.preload_fallback_stoplists()
gc.freeze()
