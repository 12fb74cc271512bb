"""Alerts: a row (and notifications) only when a rule's or segment's status changes.

The status a rule x segment had before is read from History as it was before this run:
the row of the same period if an earlier run today wrote one, else the latest earlier
period. A change to FAIL, WARN or NO_DATA is an alert, and so is a change back to PASS
(a recovery). A status that stays is never alerted again, however often the job runs.
The first time a rule is seen, only a bad status is news: a new rule that passes is not.

ERROR results are shown in the Rules tab and are not alerts: they are the sheet owner's
to fix, not a KPI moving.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable

from kpirules.results import RuleResult, Status
from kpirules.writeback.history import History, key_of
from kpirules.writeback.layout import header_cells, locate, number_out
from kpirules.writeback.plan import Out, Style, TabPlan, status_style
from kpirules.writeback.summary import segment_key

if TYPE_CHECKING:  # pragma: no cover
    from kpirules.connectors.base import RawTable
    from kpirules.notify.dispatch import Delivery

ALERT_COLUMNS = ("Time", "Rule", "Segment", "From", "To", "Value", "Threshold", "Period",
                 "Message", "Notified")
ALERT_NOTES = {
    "Time": "When kpirules run saw the change.",
    "Rule": "The rule's name (Rules tab).",
    "Segment": "For a rule with `by`: the segment whose status changed.",
    "From": "The status before (empty: the first time the rule was checked).",
    "To": "The new status. A row is written only when the status changes, never again while it stays.",
    "Value": "The value that made the change.",
    "Threshold": "The threshold it was compared with.",
    "Period": "The period evaluated.",
    "Message": "What happened, with the numbers.",
    "Notified": "Where the alert was sent and whether it arrived (failures say why).",
}
ALERT_WIDTHS = {"Time": 17, "Rule": 22, "Segment": 24, "From": 9, "To": 9, "Value": 11,
                "Threshold": 11, "Period": 18, "Message": 90, "Notified": 50}
BAD = (Status.FAIL, Status.WARN, Status.NO_DATA)


@dataclass
class AlertRecord:
    result: RuleResult
    previous: str | None  # the status before; None the first time
    threshold_text: str | None = None  # the threshold as the rule writes it ("1.5%")
    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.result.status.value

    def notified_text(self) -> str:
        if not self.deliveries:
            return ""
        parts = []
        for d in self.deliveries:
            what = f"{d.channel_type} {d.channel}"
            if d.ok:
                parts.append(f"{what}: sent" + (f" ({d.error})" if d.error else ""))
            else:
                tries = f" after {d.attempts} tries" if d.attempts > 1 else ""
                parts.append(f"{what}: FAILED{tries}: {d.error}")
        return "; ".join(parts)


def is_change(previous: str | None, now: Status) -> bool:
    """True when going from ``previous`` (a History status, or None) to ``now`` is news."""
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


def detect(history: History, results: Iterable[RuleResult]) -> list[AlertRecord]:
    """The alerts this run's results raise, against History as it was read."""
    alerts: list[AlertRecord] = []
    for result in results:
        key = key_of(result)
        if key is None:
            continue
        previous = history.last_status(*key)
        if is_change(previous, result.status):
            alerts.append(AlertRecord(result=result, previous=previous or None))
    return alerts


def to_notification(record: AlertRecord, *, link: str | None, checked_at: dt.datetime):
    """The ``kpirules.notify.Alert`` for a record (numbers formatted like the rule)."""
    from kpirules.format import format_threshold, format_value
    from kpirules.notify.alert import Alert

    r = record.result
    return Alert.from_result(
        r, record.previous, link=link, checked_at=checked_at,
        value_text=None if r.value is None else format_value(r.value, r.unit, against=r.threshold),
        threshold_text=record.threshold_text or (None if r.threshold is None else format_threshold(r.threshold, r.unit)),
    )


def alerts_plan(raw: RawTable | None, title: str, records: list[AlertRecord], checked: str) -> TabPlan:
    """Rows appended to the Alerts tab, one per record, with where it was sent."""
    from kpirules.format import period_text

    tab = TabPlan(title=raw.sheet if raw is not None and raw.sheet else title,
                  create=raw is None, freeze_header=raw is None,
                  header_row=raw.header_row if raw is not None else 1)
    cols = locate(raw, ALERT_COLUMNS)
    header_cells(tab, cols, ALERT_NOTES, ALERT_WIDTHS)
    for record in records:
        r = record.result
        cells = {
            "Time": Out(checked),
            "Rule": Out(r.name),
            "Segment": Out(segment_key(r.segment) or None),
            "From": Out(record.previous, status_style(record.previous) if record.previous else Style()),
            "To": Out(r.status.value, status_style(r.status.value)),
            "Value": number_out(r.value, r.unit),
            "Threshold": number_out(r.threshold, r.unit),
            "Period": Out(period_text(r.period) or None),
            # No wrapping: a wrapped cell makes its row tall in Sheets and overlaps its
            # neighbours in programs that keep row heights; the full text is one click away.
            "Message": Out(r.message or None),
            "Notified": Out(record.notified_text() or None),
        }
        tab.append({cols[label]: out for label, out in cells.items()})
    tab.counts = {"new": len(records)}
    return tab
