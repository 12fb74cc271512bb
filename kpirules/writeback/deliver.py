"""A run's writes and deliveries, in the order that loses nothing (runner.py, steps 3-5).

``prepare_outbox`` decides, before anything is written, which channels each new alert is
owed to and which alerts of earlier runs are due now; ``carry_out`` does the first write
(with the lease on Sheets), sends, and records every channel's delivery in the last write.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any, Callable

from kpirules.errors import SourceError
from kpirules.writeback import outbox

if TYPE_CHECKING:  # pragma: no cover
    from kpirules.config import Settings
    from kpirules.connectors.base import RawTable
    from kpirules.notify.dispatch import Delivery
    from kpirules.writeback.alerts import AlertRecord
    from kpirules.writeback.runner import RunOutcome

log = logging.getLogger("kpirules.run")


def _kind(record: AlertRecord) -> str:
    from kpirules.notify.alert import KIND_OF

    return record.event or KIND_OF[record.result.status]


def prepare_outbox(records: list[AlertRecord], raw: RawTable | None, settings: Settings, *,
                   checked: str, now: dt.datetime, notify: bool) -> list[AlertRecord]:
    """Give new ``records`` their key, Time and owed channels (and their future rows);
    return the alerts earlier runs still owe (``hold`` on those left for a later run)."""
    from kpirules.config import duration_days
    from kpirules.writeback.alerts import ALERT_COLUMNS, AlertRecord

    channels = {c.name: c for c in settings.notifications}
    # Where the new rows land: below the last row with anything, and below the header row
    # (which this run writes when the tab is new or empty).
    first_row = max(outbox.last_row(raw), raw.header_row) + 1 if raw is not None else 2
    for i, record in enumerate(records):
        record.raised = checked
        record.key = outbox.alert_key(outbox.identity(record), checked)
        record.row = first_row + i
        if not notify:
            record.note = outbox.state_words()["no_notify"] if settings.notifications else None
            continue
        kind = _kind(record)
        record.states = [outbox.owed(c) for c in settings.notifications if c.covers(record.result.name, kind)]
    earlier: list[AlertRecord] = []
    days = duration_days(settings.owed_for)
    limit = None if days is None else now.replace(tzinfo=None) - dt.timedelta(days=days)
    due, last_due = 0, None  # earlier alerts sent this run, and when the last was raised
    words = outbox.state_words()
    for row in outbox.read_owed(raw, ALERT_COLUMNS):
        states = [outbox.ChannelState(s.channel_type, s.channel, s.text) for s in row.states]
        when = outbox.raised_at(row.raised)
        for state in states:
            if not state.owed:
                continue
            if limit is not None and (when is None or when < limit):
                state.text = words["expired"].format(owed_for=settings.owed_for)
            elif state.channel not in channels:
                state.text = words["unconfigured"]
        record = AlertRecord(result=None, previous=None, key=row.key, raised=row.raised,  # type: ignore[arg-type]
                             states=states, row=row.row, earlier=row)
        # Over the bound, or a --no-notify run: still owed, left for a later run. The bound
        # never splits one run's alerts: a bundling channel (e-mail) sends them again as the
        # one message it sent before (notify.dispatch.by_raising_run), with the same key.
        record.hold = not notify or (due >= outbox.MAX_OWED_PER_RUN and record.raised != last_due)
        if not record.hold and record.owed:
            due, last_due = due + 1, record.raised
        earlier.append(record)
    return earlier


def carry_out_workbook(conn: Any, outcome: RunOutcome, settings: Settings, now: dt.datetime, *,
                       dispatch: Callable[..., list[Delivery]] | None = None,
                       after_lease: Callable[[], None] | None = None) -> None:
    """Into a workbook file: the first write (the results, the alerts as owed), the
    deliveries, and the last write (what each channel did)."""
    from kpirules.writeback import xlsx
    from kpirules.writeback.alerts import delivery_plan
    from kpirules.writeback.plan import WritePlan

    if not outcome.plan.empty:
        xlsx.write(conn.path, outcome.plan)
    outcome.written = True
    if after_lease is not None:
        after_lease()
    send(outcome, settings, now, dispatch)
    last = WritePlan(tabs=[delivery_plan(outcome.alerts_raw, outcome.alerts_title, _sent(outcome))])
    if not last.empty:
        try:
            xlsx.write(conn.path, last)
        except SourceError as exc:
            outcome.state_not_recorded = exc.message


def carry_out_sheet(conn: Any, outcome: RunOutcome, settings: Settings, now: dt.datetime, *,
                    dispatch: Callable[..., list[Delivery]] | None = None,
                    after_lease: Callable[[], None] | None = None) -> None:
    """Into a Google Sheet: the first write (the results, the alerts as owed, the lease),
    the deliveries, and the last write (what each channel did; the lease released). A run
    with nothing to send writes once: the results with the lease taken and given back."""
    from kpirules.writeback import sheets
    from kpirules.writeback.alerts import delivery_plan
    from kpirules.writeback.plan import WritePlan

    sends = bool(_due(outcome, settings))
    held = sheets.write_with_lease(conn, outcome.plan, now, outcome.lease, last=not sends)
    outcome.written = True
    if not sends:
        if after_lease is not None:
            after_lease()
        return
    try:
        if after_lease is not None:
            after_lease()
        send(outcome, settings, now, dispatch)
    finally:
        # Even after a bug while sending, what was delivered is recorded and the lease
        # released, rather than blocking the sheet until the lease expires.
        last = WritePlan(tabs=[delivery_plan(outcome.alerts_raw, outcome.alerts_title, _sent(outcome))])
        try:
            sheets.release(conn, last, held, now)
        except SourceError as exc:
            outcome.state_not_recorded = exc.message


def _sent(outcome: RunOutcome) -> list[AlertRecord]:
    return [r for r in [*outcome.earlier, *outcome.alerts] if r.deliveries]


def _due(outcome: RunOutcome, settings: Settings) -> list[AlertRecord]:
    """The alerts this run sends: owed to some channel, and not left for a later run."""
    if not settings.notifications:
        return []
    return [r for r in [*outcome.earlier, *outcome.alerts] if r.owed and not r.hold]


def send(outcome: RunOutcome, settings: Settings, now: dt.datetime,
         dispatch: Callable[..., list[Delivery]] | None) -> None:
    """Deliver what is owed, earlier alerts first (oldest first), then this run's; record
    each delivery as its channel's new state."""
    from kpirules.writeback.alerts import to_notification

    due = _due(outcome, settings)
    if not due:
        return
    if dispatch is None:
        from kpirules.notify import dispatch
    units = {r.name: r.unit for r in outcome.report.results}  # an earlier alert's rule, written as today
    notes = [to_notification(r, link=outcome.source_url, checked_at=now, units=units) for r in due]
    from kpirules.writeback.dashboard import attach_trends

    attach_trends(notes, due, outcome.trends)  # this run's trend, for alerts of this run
    deliveries = dispatch(notes, settings)
    index = {id(n): r for n, r in zip(notes, due)}
    for d in deliveries:
        record = index.get(id(d.alert))
        if record is None:
            continue
        record.deliveries.append(d)
        for i, state in enumerate(record.states):
            if state.channel == d.channel and state.owed:
                record.states[i] = outbox.after(d, state)
    outcome.deliveries = deliveries
