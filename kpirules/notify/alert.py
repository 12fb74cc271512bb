"""What a notification is about: one rule (and segment) changing status, and the plain
sentence every channel starts from."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kpirules.format import format_threshold, format_value, period_text
from kpirules.i18n import N_
from kpirules.results import Period, Status

if TYPE_CHECKING:  # pragma: no cover
    from kpirules.results import RuleResult

KINDS = ("fail", "warn", "no_data", "recovery", "error", "inconclusive", "data_late", "data_recovered")
# The heading of each kind of alert. The status words stay as they are in every language,
# as every command and the Status column say them; the others are words, translated.
LABELS = {"fail": "FAIL", "warn": "WARN", "no_data": "NO DATA", "recovery": N_("RECOVERED"), "error": "ERROR",
          "inconclusive": "INCONCLUSIVE", "data_late": N_("DATA LATE"), "data_recovered": N_("DATA ARRIVED")}
KIND_OF = {Status.FAIL: "fail", Status.WARN: "warn", Status.NO_DATA: "no_data",
            Status.PASS: "recovery", Status.ERROR: "error", Status.INCONCLUSIVE: "inconclusive"}


def _status(value: Status | str | None) -> Status | None:
    if value is None or isinstance(value, Status):
        return value
    text = str(value).strip().upper().replace(" ", "_").replace("-", "_")
    return Status("NO_DATA" if text == "NODATA" else text)



def delivery_key(key: str, channel: str) -> str:
    """Stable per alert and channel: what receivers deduplicate on (the alert outbox,
    kpirules.writeback.outbox, records deliveries under it)."""
    return f"{key}-{hashlib.sha256(channel.encode()).hexdigest()[:8]}"

@dataclass(kw_only=True)
class Alert:
    """A status change of one rule (and segment) that people may need to hear about.

    ``message`` is the engine's sentence with the numbers ("32 signups / 1,750 visits");
    ``value_text``/``threshold_text`` are the numbers formatted like the rule writes them
    ("1.83%", "2%")."""

    rule: str  # the rule's name
    new_status: Status
    previous_status: Status | None = None  # None: first time the rule was checked
    rule_text: str = ""
    segment: dict[str, str] | None = None
    value: float | None = None
    threshold: float | None = None
    value_text: str | None = None
    threshold_text: str | None = None
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    message: str = ""
    link: str | None = None  # the sheet or source people should open
    checked_at: dt.datetime | None = None
    # The recent periods (value, status), oldest first, this one last (kpirules.notify.trend);
    # empty when not known. ``trend_unit`` formats them ("%" for a rule written in percent).
    trend: tuple[tuple[float | None, str], ...] = ()
    trend_unit: str | None = None
    # The value of the last verdict before (alert texts compare with it, not the threshold).
    previous_value: float | None = None
    previous_value_text: str | None = None
    # "data_late" / "data_recovered": about a metric's data, not a rule's verdict.
    event: str | None = None
    # The outbox (kpirules.writeback.outbox): the alert's stable key, the channels that
    # still owe it (None: every channel that covers it), and when it was raised when an
    # earlier run could not deliver it.
    key: str | None = None
    channels: tuple[str, ...] | None = None
    raised_at: dt.datetime | None = None

    def __post_init__(self) -> None:
        # Accept "FAIL" / "no data" from callers that read statuses back from a sheet.
        self.new_status = _status(self.new_status)  # type: ignore[assignment]
        self.previous_status = _status(self.previous_status)
        if self.value_text is None and self.value is not None:
            self.value_text = format_value(self.value)
        if self.threshold_text is None and self.threshold is not None:
            self.threshold_text = format_threshold(self.threshold)

    @property
    def kind(self) -> str:
        """"fail" | "warn" | "no_data" | "recovery" | "error" | "inconclusive" (a PASS is a
        recovery), or the data event ("data_late", "data_recovered")."""
        return self.event or KIND_OF[self.new_status]

    @property
    def period(self) -> Period | None:
        if self.period_start is None or self.period_end is None:
            return None
        return Period(self.period_start, self.period_end)

    @property
    def id(self) -> str:
        """Stable for the same rule, segment, period and status: receivers can drop a
        repeated delivery (after a retry, or a re-run of the same day)."""
        seg = ",".join(f"{k}={v}" for k, v in sorted((self.segment or {}).items()))
        key = "|".join([self.rule, seg, str(self.period or ""), self.new_status.value])
        return hashlib.sha256(key.encode()).hexdigest()[:20]

    @classmethod
    def from_result(cls, result: "RuleResult", previous_status: Status | str | None, *,
                    link: str | None = None, checked_at: dt.datetime | None = None,
                    value_text: str | None = None, threshold_text: str | None = None) -> "Alert":
        """The alert for a ``RuleResult`` whose status changed from ``previous_status``."""
        period = result.period
        return cls(
            rule=result.name, rule_text=result.rule, segment=result.segment,
            previous_status=previous_status, new_status=result.status,
            value=result.value, threshold=result.threshold,
            value_text=value_text if value_text is not None else (
                None if result.value is None else format_value(result.value, result.unit, against=result.threshold)),
            threshold_text=threshold_text if threshold_text is not None else (
                None if result.threshold is None else format_threshold(result.threshold, result.unit)),
            period_start=period.start if period else None, period_end=period.end if period else None,
            message=result.message, link=web_link(link), checked_at=checked_at,
        )


def web_link(link: str | None) -> str | None:
    """``link`` when people elsewhere can open it (http or https), else None: an .xlsx
    source's own path means nothing in a Slack channel or an inbox. For a workbook, set
    ``sheet_url`` to where it is shared."""
    if link and link.strip().lower().startswith(("https://", "http://")):
        return link.strip()
    return None


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def segment_text(alert: Alert) -> str:
    if not alert.segment:
        return ""
    return ", ".join(f"{k}={v}" for k, v in alert.segment.items())


def label(alert: Alert) -> str:
    """``FAIL``, ``RECOVERED`` (``PONOWNIE OK``): the alert's heading in the run's language."""
    from kpirules.i18n import _

    return _(LABELS[alert.kind])


def when_text(moment: dt.datetime) -> str:
    """``2026-11-26 08:30`` (``26.11.2026 08:30`` in Polish): when an alert was checked or raised."""
    from kpirules.i18n import date_text

    return f"{date_text(moment.date())} {moment:%H:%M}"


def title(alert: Alert) -> str:
    """"FAIL conversion" / "RECOVERED ctr_by_campaign [campaign=spring]": subjects, headings."""
    seg = segment_text(alert)
    return _one_line(f"{label(alert)} {alert.rule}" + (f" [{seg}]" if seg else ""))


def what_happened(alert: Alert) -> str:
    """The verb phrase: "fell to 1.83% from 2.10% for 2026-11-16..22 (was PASS)". The
    direction compares with the previous value, never with the threshold."""
    from kpirules.i18n import _

    kind, value = alert.kind, alert.value_text
    if kind == "data_late":
        phrase = _("has no new data")
    elif kind == "data_recovered":
        phrase = _("has data again")
    elif kind == "no_data":
        phrase = _("has no data")
    elif kind == "error":
        phrase = _("could not be checked")
    elif kind == "inconclusive":
        phrase = (_("is {value}, too few data to judge").format(value=value) if value
                  else _("has too few data to judge"))
    elif value is None:
        phrase = {"fail": _("failed"), "warn": _("is in the warning zone")}.get(kind, _("passes again"))
    elif alert.value is not None and alert.previous_value is not None:
        before = alert.previous_value_text or format_value(alert.previous_value)
        if alert.value < alert.previous_value:
            phrase = _("fell to {value} from {before}").format(value=value, before=before)
        elif alert.value > alert.previous_value:
            phrase = _("rose to {value} from {before}").format(value=value, before=before)
        else:
            phrase = _("stayed at {value}").format(value=value)
    elif kind == "recovery":
        phrase = _("is back at {value}").format(value=value)
    else:
        phrase = _("is {value}").format(value=value)
    if kind == "fail" and alert.value is not None and alert.threshold is not None \
            and alert.value != alert.threshold:
        threshold = alert.threshold_text or format_threshold(alert.threshold)
        phrase += ", " + (_("below the threshold {threshold}") if alert.value < alert.threshold
                          else _("above the threshold {threshold}")).format(threshold=threshold)
    elif kind == "warn" and alert.value is not None:
        phrase += ", " + _("in the warning zone")
    period = period_text(alert.period)
    if period:
        phrase += " " + _("for {period}").format(period=period)
    if alert.previous_status is not None and not alert.event:
        phrase += " " + _("(was {status})").format(status=alert.previous_status.value.replace("_", " "))
    if alert.raised_at is not None:
        phrase += " " + _("[raised {when}, delivered late]").format(when=when_text(alert.raised_at))
    return phrase


def render_text(alert: Alert) -> str:
    """One plain paragraph: "FAIL: conversion (signups / visits >= 2% weekly) fell to 1.83%
    for 2026-11-16..22 (was PASS). 32 signups / 1,750 visits. Open the sheet: <link>"."""
    seg = segment_text(alert)
    head = f"{label(alert)}: {alert.rule}" + (f" [{seg}]" if seg else "")
    if alert.rule_text:
        head += f" ({alert.rule_text})"
    text = f"{head} {what_happened(alert)}."
    message = _one_line(alert.message)
    if message:
        text += " " + (message if message[-1] in ".!?" else message + ".")
    if alert.link:
        from kpirules.i18n import _

        text += " " + _("Open the sheet: {link}").format(link=alert.link)
    return _one_line(text)


def to_json(alert: Alert) -> dict[str, Any]:
    """The alert as the generic webhook's schema (docs/configuration.md), version 1."""
    return {
        "version": 1,
        "id": alert.id,
        "kind": alert.kind,
        "rule": alert.rule,
        "rule_text": alert.rule_text,
        "segment": dict(alert.segment) if alert.segment else None,
        "status": alert.new_status.value,
        "previous_status": alert.previous_status.value if alert.previous_status else None,
        "value": alert.value,
        "threshold": alert.threshold,
        "value_text": alert.value_text,
        "threshold_text": alert.threshold_text,
        "period": alert.period.to_json() if alert.period else None,
        "message": alert.message,
        "text": render_text(alert),
        "link": alert.link,
        "checked_at": alert.checked_at.isoformat() if alert.checked_at else None,
        # Added in place (schema version 1 keeps every key above): the outbox's key and
        # when an alert delivered by a later run was raised; the previous verdict's value.
        "key": alert.key,
        "raised_at": alert.raised_at.isoformat() if alert.raised_at else None,
        "previous_value": alert.previous_value,
    } | _trend_json(alert)


def _trend_json(alert: Alert) -> dict[str, Any]:
    """``trend``, the recent periods oldest first, only when known (version 1 only grows)."""
    return {"trend": [{"value": v, "status": s} for v, s in alert.trend]} if alert.trend else {}
