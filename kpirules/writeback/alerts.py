"""Alerts: a row (and notifications) only when a rule's or segment's verdict changes.

Alerts compare *verdicts* (PASS, WARN, FAIL): the new verdict with the last verdict of that
rule and segment in History as it was before this run (the row of the same period if an
earlier run today wrote one, else the latest earlier period's). A NO_DATA because a period
is not complete yet (late data, ``RuleResult.incomplete``) and an INCONCLUSIVE are not a
change of verdict, so PASS -> late -> PASS says nothing; when a late period becomes complete
(also when it is re-evaluated by restatement) its first verdict alerts as usual. A change to
FAIL or WARN is an alert, and so is a change back to PASS (a recovery); the first time a
rule is seen, only a bad verdict is news. A NO_DATA with no data at all (not late) and an
INCONCLUSIVE are alerted when they start (channels ask for them with ``no_data`` and
``inconclusive``).

Late data are alerted per metric, once per change of state: ``data_late`` when a metric's
data end falls behind the ``late_after`` setting (``Report.late``), ``data_recovered``
when its data arrive. Their rows say ``(data)`` in Rule and ``metric=<column>`` in Segment.

ERROR results are shown in the Rules tab and are not alerts: they are the sheet owner's
to fix, not a KPI moving. Each row's delivery state is the outbox's (``outbox.py``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable

from kpirules.i18n import N_
from kpirules.results import RuleResult, Status
from kpirules.writeback.history import VERDICTS, History, key_of
from kpirules.writeback.outbox import ChannelState, OwedRow, render
from kpirules.writeback.layout import header_cells, locate, number_out, refuse_foreign
from kpirules.writeback.plan import Out, Style, TabPlan, status_style
from kpirules.writeback.summary import segment_key

if TYPE_CHECKING:  # pragma: no cover
    from kpirules.connectors.base import RawTable
    from kpirules.notify.dispatch import Delivery

ALERT_COLUMNS = ("Time", "Rule", "Segment", "From", "To", "Value", "Threshold", "Period",
                 "Message", "Notified", "Key")
DATA_RULE = "(data)"  # the Rule cell of data_late / data_recovered rows
ALERT_NOTES = {
    "Time": N_("When kpirules run saw the change."),
    "Rule": N_("The rule's name (Rules tab)."),
    "Segment": N_("For a rule with `by`: the segment whose status changed."),
    "From": N_("The status before (empty: the first time the rule was checked)."),
    "To": N_("The new status. A row is written only when the status changes, never again while it stays."),
    "Value": N_("The value that made the change."),
    "Threshold": N_("The threshold it was compared with."),
    "Period": N_("The period evaluated."),
    "Message": N_("What happened, with the numbers."),
    "Notified": N_("Each channel's delivery: owed, sent, or FAILED ... (owed): an owed alert is sent "
                   "again by the next run, until the owed_for setting (7 days) passes. On a channel "
                   "that sends no key, '(owed, may have arrived)' is a send that may have arrived, "
                   "and 'possibly a repeat' its later delivery."),
    "Key": N_("The alert's key: receivers can drop a repeated delivery by it (Idempotency-Key)."),
}
ALERT_WIDTHS = {"Time": 17, "Rule": 22, "Segment": 24, "From": 9, "To": 9, "Value": 11,
                "Threshold": 11, "Period": 18, "Message": 90, "Notified": 50, "Key": 18}
BAD = (Status.FAIL, Status.WARN, Status.NO_DATA)


@dataclass
class AlertRecord:
    result: RuleResult
    previous: str | None  # the verdict (or status) before; None the first time
    threshold_text: str | None = None  # the threshold as the rule writes it ("1.5%")
    deliveries: list[Delivery] = field(default_factory=list)
    previous_value: float | None = None  # the last verdict's value, for the alert's wording
    event: str | None = None  # "data_late" / "data_recovered"
    to_text: str | None = None  # the To cell when it is not a status (LATE, ON_TIME)
    # The outbox: key, when raised (the Time cell), each channel's state, the sheet row.
    key: str | None = None
    raised: str = ""
    states: list[ChannelState] = field(default_factory=list)
    note: str | None = None  # the Notified cell when no channel owes it
    row: int | None = None
    earlier: OwedRow | None = None  # an earlier run's row this run delivers
    hold: bool = False  # owed, but left for a later run (over the bound, or --no-notify)

    @property
    def status(self) -> str:
        return self.to_text or self.result.status.value

    @property
    def owed(self) -> list[str]:
        return [s.channel for s in self.states if s.owed]

    def notified_text(self) -> str:
        return render(self.states) if self.states else (self.note or "")


def verdict_changed(previous: str | None, now: Status) -> bool:
    """True when going from the last verdict ``previous`` (None: none yet) to the verdict
    ``now`` is news."""
    if previous in (None, ""):
        return now in (Status.FAIL, Status.WARN)
    if previous == now.value:
        return False
    if now is Status.PASS:
        return previous in (Status.FAIL.value, Status.WARN.value)
    return True


def is_change(previous: str | None, now: Status) -> bool:
    """True when going from ``previous`` (a History status, or None) to ``now`` is news
    (kept for callers comparing plain statuses)."""
    if now is Status.ERROR or now is Status.INCONCLUSIVE:
        # Too few to judge is not a verdict: it neither raises nor clears an alert.
        return False
    if previous in (None, ""):
        return now in BAD
    if previous == now.value:
        return False
    if now is Status.PASS:
        return previous in {s.value for s in BAD}
    return True


def detect(history: History, results: Iterable[RuleResult],
           restated: Iterable[RuleResult] = ()) -> list[AlertRecord]:
    """The alerts this run's results raise, against History as it was read. ``restated``
    (earlier periods evaluated again) alert only for the first verdict of a period that
    was late; they go first, oldest first, and the current period then compares with them."""
    alerts: list[AlertRecord] = []
    latest: dict[tuple[str, str], tuple[str, float | None]] = {}

    def verdict_before(key) -> tuple[str | None, float | None]:
        if (key[0], key[1]) in latest:
            return latest[(key[0], key[1])]
        row = history.last_verdict(*key)
        return (row.status, row.value) if row is not None else (None, None)

    for result in sorted(restated, key=lambda r: r.period.end if r.period else 0):
        key = key_of(result)
        if key is None or not result.status.is_verdict:
            continue
        row = history.rows.get(key)
        if row is None or row.status in VERDICTS:
            continue  # not a late period's first verdict (restatements of verdicts are marked in History)
        previous, value = verdict_before(key)
        if verdict_changed(previous, result.status):
            alerts.append(AlertRecord(result=result, previous=previous, previous_value=value))
        latest[(key[0], key[1])] = (result.status.value, result.value)
    for result in results:
        key = key_of(result)
        if key is None or result.status is Status.ERROR:
            continue
        if result.status.is_verdict:
            previous, value = verdict_before(key)
            if verdict_changed(previous, result.status):
                alerts.append(AlertRecord(result=result, previous=previous, previous_value=value))
        elif result.status is Status.NO_DATA and result.incomplete:
            continue  # late data: no verdict yet, nothing changed
        else:
            previous = history.last_status(*key)
            if previous != result.status.value:
                alerts.append(AlertRecord(result=result, previous=previous or None))
    return alerts


def data_records(late: dict, extents: dict, raw: RawTable | None) -> list[AlertRecord]:
    """``data_late`` / ``data_recovered`` alerts: one per metric whose state changed since
    the last such row in the Alerts tab."""
    from kpirules.writeback.layout import cell_text

    state: dict[str, str] = {}
    if raw is not None and raw.headers:
        from kpirules.i18n import header_columns

        at = header_columns(raw.headers, ("Rule", "Segment", "To"))  # English or Polish
        if len(at) == 3:
            for cells in raw.rows:
                def get(label):
                    return (cell_text(cells[at[label]]) if at[label] < len(cells) else "")
                if get("Rule") == DATA_RULE and get("Segment").startswith("metric="):
                    state[get("Segment")[len("metric="):]] = get("To")
    from kpirules.i18n import _, date_text

    out = []
    for metric in sorted(set(late) | {m for m, s in state.items() if s == "LATE"}):
        before = state.get(metric)
        if metric in late and before != "LATE":
            end = late[metric]
            message = _("the data of {metric} end on {date}, later than late_after allows").format(
                metric=metric, date=date_text(end))
            out.append(_data_record(metric, "data_late", "LATE", before, Status.NO_DATA, message))
        elif metric not in late and before == "LATE":
            end = extents.get(metric, (None, None))[1]
            message = (_("the data of {metric} arrived (through {date})") if end else
                       _("the data of {metric} arrived")).format(metric=metric, date=end and date_text(end))
            out.append(_data_record(metric, "data_recovered", "ON_TIME", before, Status.PASS, message))
    return out


def _data_record(metric: str, event: str, to: str, before: str | None, status: Status,
                 message: str) -> AlertRecord:
    result = RuleResult(name=DATA_RULE, rule="", status=status, segment={"metric": metric},
                        message=message)
    return AlertRecord(result=result, previous=before or None, event=event, to_text=to)


def to_notification(record: AlertRecord, *, link: str | None, checked_at: dt.datetime,
                    units: dict[str, str | None] | None = None):
    """The ``kpirules.notify.Alert`` for a record (numbers formatted like the rule; for an
    earlier run's alert, like the rule of that name in ``units``, rule -> its unit)."""
    from kpirules.format import format_threshold, format_value
    from kpirules.notify.alert import Alert

    if record.earlier is not None:
        alert = owed_alert(record.earlier, link=link, units=units or {})
    else:
        r = record.result
        alert = Alert.from_result(
            r, None if record.event else _status_or_none(record.previous), link=link, checked_at=checked_at,
            value_text=None if r.value is None else format_value(r.value, r.unit, against=r.threshold),
            threshold_text=record.threshold_text or (None if r.threshold is None else format_threshold(r.threshold, r.unit)),
        )
        alert.event = record.event
        if record.previous_value is not None:
            alert.previous_value = record.previous_value
            alert.previous_value_text = format_value(record.previous_value, r.unit, against=r.threshold)
    alert.key = record.key
    alert.channels = tuple(record.owed)
    return alert


def _status_or_none(text: str | None) -> Status | None:
    try:
        return Status(text) if text else None
    except ValueError:
        return None


def owed_alert(row: OwedRow, *, link: str | None, units: dict[str, str | None] | None = None):
    """An earlier run's alert, rebuilt from its Alerts row, saying when it was raised. Its
    numbers are written as its rule writes them (``2.05%``, not 0.0205) when ``units``
    knows the rule (the Alerts row holds the bare numbers)."""
    from kpirules.format import format_threshold, format_value
    from kpirules.notify import Alert
    from kpirules.writeback.layout import cell_text
    from kpirules.writeback.outbox import raised_at

    cells = row.cells
    text = {k: cell_text(v) for k, v in cells.items()}
    segment = dict(p.split("=", 1) for p in text.get("Segment", "").split(", ") if "=" in p) or None
    to = text.get("To", "")
    event = {"LATE": "data_late", "ON_TIME": "data_recovered"}.get(to)
    status = {"LATE": "NO_DATA", "ON_TIME": "PASS"}.get(to, to)
    period = _period(text.get("Period", ""))
    def number(v):
        return (float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None)
    value, threshold = number(cells.get("Value")), number(cells.get("Threshold"))
    when = raised_at(row.raised)
    unit = (units or {}).get(text.get("Rule", ""))
    return Alert(rule=text.get("Rule", ""), new_status=_status_or_none(status) or Status.NO_DATA,
                 previous_status=None if event else _status_or_none(text.get("From")),
                 segment=segment, value=value, threshold=threshold,
                 value_text=None if value is None else format_value(value, unit, against=threshold),
                 threshold_text=None if threshold is None else format_threshold(threshold, unit),
                 period_start=period[0] if period else None, period_end=period[1] if period else None,
                 message=text.get("Message", ""), link=link, checked_at=when, raised_at=when, event=event)


def _period(text: str) -> tuple[dt.date, dt.date] | None:
    """``period_text``'s inverse: 2026-11-16..22, 2026-10-29..11-25, 2026-12-29..2027-01-04,
    and as a Polish run writes them (16–22.11.2026: ``i18n.read_period_text``)."""
    from kpirules.i18n import read_period_text

    polish = read_period_text(text)
    if polish is not None:
        return polish
    try:
        if ".." not in text:
            day = dt.date.fromisoformat(text)
            return day, day
        first, last = text.split("..", 1)
        start = dt.date.fromisoformat(first)
        parts = last.split("-")
        if len(parts) == 1:
            return start, start.replace(day=int(parts[0]))
        if len(parts) == 2:
            return start, start.replace(month=int(parts[0]), day=int(parts[1]))
        return start, dt.date.fromisoformat(last)
    except ValueError:
        return None


def alerts_plan(raw: RawTable | None, title: str, records: list[AlertRecord], checked: str) -> TabPlan:
    """Rows appended to the Alerts tab, one per new record, each owed to its channels; and
    the Notified cells of earlier rows whose state this run changes before sending."""
    from kpirules.format import period_text

    refuse_foreign(raw, title, ALERT_COLUMNS)
    tab = TabPlan(title=raw.sheet if raw is not None and raw.sheet else title,
                  create=raw is None, freeze_header=raw is None,
                  header_row=raw.header_row if raw is not None else 1)
    cols = locate(raw, ALERT_COLUMNS)
    header_cells(tab, cols, ALERT_NOTES, ALERT_WIDTHS)
    new = 0
    for record in records:
        if record.earlier is not None:
            if record.notified_text() != _render_earlier(record.earlier):
                tab.set(record.earlier.row, cols["Notified"], Out(record.notified_text() or None))
            continue
        new += 1
        r = record.result
        cells = {
            "Time": Out(record.raised or checked),
            "Rule": Out(r.name),
            "Segment": Out(segment_key(r.segment) or None),
            "From": Out(record.previous, status_style(record.previous) if record.previous else Style()),
            "To": Out(record.status, status_style(r.status.value) if record.to_text is None else Style(bold=True)),
            "Value": number_out(r.value, r.unit),
            "Threshold": number_out(r.threshold, r.unit),
            "Period": Out(period_text(r.period) or None),
            # No wrapping: a wrapped cell makes its row tall in Sheets and overlaps its
            # neighbours in programs that keep row heights; the full text is one click away.
            "Message": Out(r.message or None),
            "Notified": Out(record.notified_text() or None),
            "Key": Out(record.key),
        }
        tab.append({cols[label]: out for label, out in cells.items()})
    tab.counts = {"new": new}
    return tab


def _render_earlier(row: OwedRow) -> str:
    return render(row.states)


def delivery_plan(raw: RawTable | None, title: str, records: list[AlertRecord]) -> TabPlan:
    """The Notified cells after sending: what each channel did (the last write of a run)."""
    tab = TabPlan(title=raw.sheet if raw is not None and raw.sheet else title,
                  header_row=raw.header_row if raw is not None else 1)
    cols = locate(raw, ALERT_COLUMNS)
    for record in records:
        if record.row is not None and record.deliveries:
            tab.set(record.row, cols["Notified"], Out(record.notified_text() or None))
    tab.counts = {"delivery states": len(tab.cells)}
    return tab
