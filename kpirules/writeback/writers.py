"""The writers a run writes back with, each declaring the connector capability it needs
(``kpirules.connectors.base``): an .xlsx workbook (``write-workbook``: atomic replace
under a lock file, native charts) and a Google Sheet (``write-sheet``: batchUpdates read
back, under the lease tab). ``writer_for`` chooses by what the connector declares, so a
plugin connector that declares ``write-sheet`` and implements ``SheetTarget`` is written
like Google Sheets, whatever its name."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import TYPE_CHECKING, Any, Callable, ClassVar, ContextManager, Protocol

from kpirules.connectors.base import WRITE_SHEET, WRITE_WORKBOOK, capabilities
from kpirules.writeback.lease import LEASE_TAB

if TYPE_CHECKING:  # pragma: no cover
    from kpirules.config import Settings
    from kpirules.notify.dispatch import Delivery
    from kpirules.writeback.runner import RunOutcome


class Writer(Protocol):
    """How a run writes its results, History, Alerts and deliveries into one kind of target."""

    capability: ClassVar[str]  # what the connector must declare
    native_charts: ClassVar[bool]  # the Dashboard gets the target's own charts
    lease_tabs: ClassVar[tuple[str, ...]]  # tabs read with the rest to hold the target

    def lock(self, conn: Any, now: dt.datetime) -> ContextManager[Any]:
        """Held around the whole run (read, evaluate, write) when not a dry run."""
        ...

    def carry_out(self, conn: Any, outcome: RunOutcome, settings: Settings, now: dt.datetime, *,
                  dispatch: Callable[..., list[Delivery]] | None = None,
                  after_lease: Callable[[], None] | None = None) -> None:
        """The first write, the deliveries, the last write (kpirules.writeback.deliver)."""
        ...


class WorkbookWriter:
    capability: ClassVar[str] = WRITE_WORKBOOK
    native_charts: ClassVar[bool] = True
    lease_tabs: ClassVar[tuple[str, ...]] = ()

    def lock(self, conn: Any, now: dt.datetime) -> ContextManager[Any]:
        from kpirules.writeback.lease import since_text
        from kpirules.writeback.lock import file_lock

        return file_lock(conn.path, timeout=0, since=since_text(now))

    def carry_out(self, conn: Any, outcome: RunOutcome, settings: Settings, now: dt.datetime, *,
                  dispatch: Callable[..., list[Delivery]] | None = None,
                  after_lease: Callable[[], None] | None = None) -> None:
        from kpirules.writeback.deliver import carry_out_workbook

        carry_out_workbook(conn, outcome, settings, now, dispatch=dispatch, after_lease=after_lease)


class SheetWriter:
    capability: ClassVar[str] = WRITE_SHEET
    native_charts: ClassVar[bool] = False
    lease_tabs: ClassVar[tuple[str, ...]] = (LEASE_TAB,)

    def lock(self, conn: Any, now: dt.datetime) -> ContextManager[Any]:
        return contextlib.nullcontext()  # the lease is taken by the first write

    def carry_out(self, conn: Any, outcome: RunOutcome, settings: Settings, now: dt.datetime, *,
                  dispatch: Callable[..., list[Delivery]] | None = None,
                  after_lease: Callable[[], None] | None = None) -> None:
        from kpirules.writeback.deliver import carry_out_sheet

        carry_out_sheet(conn, outcome, settings, now, dispatch=dispatch, after_lease=after_lease)


WRITERS: tuple[Writer, ...] = (WorkbookWriter(), SheetWriter())


def writer_for(conn: Any) -> Writer | None:
    """The writer for what ``conn`` declares; None when it cannot be written back."""
    declared = capabilities(conn)
    return next((w for w in WRITERS if w.capability in declared), None)
