"""One ``run`` per spreadsheet at a time.

Two runs on one sheet that overlap would both read History before either writes and then
record the same alerts twice. The service refuses the second run at once with the CLI's
exit-7 meaning ("another run holds this sheet; this one changed nothing") instead of
queueing it: the add-on's user sees that a run is under way and the results it writes.

Inside one process a lock per spreadsheet key does that. Across processes and machines
(several Cloud Run instances, a cron job running the CLI) the sheet's own lease is what
counts: ``SheetGuard(lease=...)`` takes a callable ``lease(key)`` returning a context
manager that holds it and raises ``Locked`` (or any exception with ``exit_status == 7``)
when another holder has it. The process lock is taken first, so the lease is asked only
by the one request of this process that may run.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

from kpirules.exitcodes import Exit


class Locked(Exception):
    """Another run holds the spreadsheet; nothing was read or written."""

    exit_status = int(Exit.LOCKED)

    def __init__(self, key: str, holder: str | None = None):
        from kpirules.i18n import _  # the request's language (kpirules.serve.app)

        holder = holder or _("another run in this service")
        super().__init__(_("{holder} is running on this spreadsheet").format(holder=holder))
        self.key = key
        self.holder = holder


Lease = Callable[[str], AbstractContextManager[object]]


class SheetGuard:
    def __init__(self, lease: Lease | None = None):
        self._lease = lease
        self._locks: dict[str, threading.Lock] = {}
        self._table = threading.Lock()  # guards _locks itself

    @contextlib.contextmanager
    def hold(self, key: str) -> Iterator[None]:
        """Hold ``key`` for the block, or raise ``Locked`` at once."""
        with self._table:
            lock = self._locks.setdefault(key, threading.Lock())
        if not lock.acquire(blocking=False):
            raise Locked(key)
        try:
            with self._lease(key) if self._lease is not None else contextlib.nullcontext():
                yield
        finally:
            lock.release()

    def busy(self, key: str) -> bool:
        lock = self._locks.get(key)
        return lock is not None and lock.locked()
