"""Helpers for bulk work: many rules, many rows."""

from __future__ import annotations

import contextlib
import gc


@contextlib.contextmanager
def gc_paused():
    """Bulk work (parsing thousands of rules, reading a million rows) allocates many small,
    long-lived objects that are never garbage; the cyclic collector would rescan them again
    and again (a third of the time of a 10,000-rule file, most of a 1M-row CSV read).
    Pause it for the bulk and restore it after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if _KEEP_BULK:
            gc.freeze()  # see kept_bulk
        if enabled:
            gc.enable()


_KEEP_BULK = False


@contextlib.contextmanager
def kept_bulk():
    """Within: what bulk work made (History's rows, the data tab's) is kept out of the
    cyclic collector's sight (``gc.freeze``) until the end, instead of being traversed by
    each collection after (on a year-old History, ~15 ms of a run). For one command's run
    (``kpirules run``), whose bulk lives to its end anyway; unfrozen after, so that a
    caller running many (tests) frees them as before."""
    global _KEEP_BULK
    kept, _KEEP_BULK = _KEEP_BULK, True
    try:
        yield
    finally:
        _KEEP_BULK = kept
        if not kept:
            gc.unfreeze()
