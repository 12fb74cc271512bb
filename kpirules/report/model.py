"""What the report shows, gathered from one read of the source: this run's results, each
rule's History periods (one point per period), the Alerts rows and how far the data reach.

Nothing here draws; ``chart`` and ``page`` turn a ``ReportData`` into SVG and HTML. A rule
that has no History yet (``run`` never wrote it) is evaluated at its current and recent
periods instead, and the report says so: a chart of something computed now is still worth
seeing, but it must not pass for what was recorded.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kpirules.aggregate import ROWS
from kpirules.results import Period, RuleResult, Status

if TYPE_CHECKING:  # pragma: no cover
    from kpirules.connectors.base import RawTable
    from kpirules.rulesfile import RuleEntry

PERIODS = 12  # periods a chart shows at most (History may hold years)
STATUS_ORDER = ("PASS", "WARN", "FAIL", "INCONCLUSIVE", "NO_DATA", "ERROR")


@dataclass(frozen=True)
class Point:
    period: Period
    status: str  # a Status value as recorded (History may hold any of them)
    value: float | None
    threshold: float | None = None
    recorded: bool = True  # False: evaluated for the report, not read from History


@dataclass
class Series:
    """One rule x segment over time, oldest period first."""

    segment: str  # History's Segment cell ("campaign=search_brand"), "" without `by`
    label: str  # "search_brand"
    points: list[Point] = field(default_factory=list)

    @property
    def last(self) -> Point | None:
        return self.points[-1] if self.points else None


@dataclass
class RuleView:
    name: str
    text: str
    status: str  # worst of the current results
    results: list[RuleResult]
    series: list[Series]
    unit: str | None = None
    op: str | None = None  # ">=", "<", ... or "between"
    threshold: float | None = None
    warn: float | None = None
    low: float | None = None  # between low and high
    high: float | None = None
    recorded: bool = True  # every series comes from History

    @property
    def segmented(self) -> bool:
        return any(s.segment for s in self.series)


@dataclass(frozen=True)
class Change:
    rule: str
    segment: str
    before: str
    after: str
    period: Period | None


@dataclass(frozen=True)
class AlertRow:
    time: str
    rule: str
    segment: str
    before: str
    after: str
    value: str
    period: str
    message: str


@dataclass
class ReportData:
    source: str
    as_of: dt.date
    rules: list[RuleView]
    counts: dict[str, int]
    data_reach: tuple[dt.date, dt.date] | None
    last_run: str  # the latest "Checked at" in History, "" when there is none
    changes: list[Change]
    alerts: list[AlertRow]
    history_found: bool
    warnings: list[str] = field(default_factory=list)
    # What `run` would alert on now: results whose status differs from what History
    # recorded at the last run (its rule for "previous status", writeback.alerts.detect).
    since_last_run: list[Change] = field(default_factory=list)


def gather(source: str, *, as_of: dt.date | None = None, rules: str | None = None, lang: str | None = None,
           periods: int = PERIODS, config: str | None = None, data_tab: str | None = None,
           rules_tab: str | None = None, connector: str | None = None, **options: Any) -> ReportData:
    """Read ``source`` once (data, rules, History, Alerts, Settings) and evaluate its rules.
    The data are read as ``check`` reads them (``kpirules.backends.read_with_table``): a
    database source (``postgresql://... --table T``), or ``data=URL`` and ``table=T`` for
    rules and History in a sheet and data in a database, run as one query there."""
    from kpirules.backends import read_with_table
    from kpirules.engine import evaluate
    from kpirules.source import rule_entries, today
    from kpirules.table import load_table

    tabs = ("History", "Alerts")
    read = dict(connector=connector, config=config, data_tab=data_tab, rules_tab=rules_tab,
                with_rules=rules is None, **options)
    wb, settings, table = read_with_table(source, extra_tabs=tabs, **read)
    if settings is not None and (settings.history_tab, settings.alerts_tab) != tabs:
        tabs = (settings.history_tab, settings.alerts_tab)
        wb, settings, table = read_with_table(source, extra_tabs=tabs, **read)
    from kpirules.i18n import resolve

    resolve(lang, settings, wb)  # before evaluating: messages are made then
    entries = rule_entries(wb, source, rules, rules_tab=rules_tab, settings=settings, config=config)
    if table is None:  # cells read by the connector, indexed here (every sheet and workbook)
        table = load_table(wb.data, date_column=settings.date_column if settings else "date")
    as_of = as_of or today(settings, wb)
    report = evaluate(entries, table, as_of, settings=settings)  # late_after etc. as run reads them
    history_raw, alerts_raw = (_tab(wb, t) for t in tabs)
    recorded, last_run = read_series(history_raw, as_of)
    views = rule_views(entries, report.results, recorded, table, as_of, periods)
    counts = {s: 0 for s in STATUS_ORDER}
    for r in report.results:
        counts[r.status.value] = counts.get(r.status.value, 0) + 1
    reach = _reach(report, table)
    since = since_last_run(history_raw, tabs[0], report, alerts_raw) if recorded else []
    from kpirules.errors import without_passwords

    return ReportData(source=wb.title or without_passwords(source), as_of=as_of, rules=views, counts=counts,
                      data_reach=reach, last_run=last_run, changes=changes(views),
                      alerts=read_alerts(alerts_raw), history_found=bool(recorded), since_last_run=since,
                      warnings=[f"{p.cell}: {p.one_line()}" for p in report.data_problems][:20])


def _tab(wb: Any, title: str) -> RawTable | None:
    for name, raw in wb.extra_tabs.items():
        if name.strip().casefold() == title.strip().casefold():
            return raw
    return None


def _reach(report: Any, table: Any) -> tuple[dt.date, dt.date] | None:
    extents = getattr(report, "extents", None) or {}
    if extents:
        return min(s for s, _ in extents.values()), max(e for _, e in extents.values())
    if ROWS not in getattr(table, "capabilities", ()):
        return None
    reach = table.date_range  # a property of the tables that hold their rows
    return reach() if callable(reach) else reach


# --- History -----------------------------------------------------------------------------

def _columns(raw: RawTable, labels: tuple[str, ...]) -> dict[str, int | None]:
    from kpirules.i18n import header_columns

    found = header_columns(raw.headers, labels)
    return {label: found.get(label) for label in labels}


def as_date(value: Any) -> dt.date | None:
    """A History date cell: a real date (today's History), ISO text (earlier releases) or a
    spreadsheet serial number (a date cell read unformatted)."""
    from kpirules.table import parse_date

    ordinal = parse_date(value.strip()[:10] if isinstance(value, str) else value)
    return dt.date.fromordinal(ordinal) if ordinal is not None else None


def as_number(value: Any) -> float | None:
    """A History number: a number cell, or text such as ``1.83%`` or ``1,750``."""
    if isinstance(value, bool) or value in (None, ""):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip().replace(",", "").replace("\u00a0", "")
    scale = 1.0
    if text.endswith("%"):
        text, scale = text[:-1], 0.01
    try:
        return float(text) * scale
    except ValueError:
        return None


HISTORY_LABELS = ("Rule", "Segment", "Period start", "Period end", "Status", "Value", "Threshold",
                  "Checked at")


def read_series(raw: RawTable | None, as_of: dt.date) -> tuple[dict[tuple[str, str], Series], str]:
    """History rows as series by (rule, segment), one point per period (a key written twice
    by racing runs counts once: the later row wins), periods ending before ``as_of`` only;
    and the latest Checked at."""
    if raw is None:
        return {}, ""
    col = _columns(raw, HISTORY_LABELS)
    if col["Rule"] is None or col["Period start"] is None or col["Period end"] is None:
        return {}, ""
    by_key: dict[tuple[str, str], dict[tuple[dt.date, dt.date], Point]] = {}
    last_run = ""
    for cells in raw.rows:
        def get(label: str, cells: list = cells) -> Any:
            c = col[label]
            return cells[c] if c is not None and c < len(cells) else None

        name = str(get("Rule") or "").strip()
        start, end = as_date(get("Period start")), as_date(get("Period end"))
        if not name or start is None or end is None or end >= as_of:
            continue
        segment = str(get("Segment") or "").strip()
        status = str(get("Status") or "").strip().upper() or "NO_DATA"
        point = Point(Period(start, end), status, as_number(get("Value")), as_number(get("Threshold")))
        by_key.setdefault((name, segment), {})[(start, end)] = point
        checked = get("Checked at")
        checked = checked.strftime("%Y-%m-%d %H:%M") if isinstance(checked, dt.datetime) else str(checked or "")
        last_run = max(last_run, checked)
    out = {}
    for (name, segment), found in by_key.items():
        pts = [found[k] for k in sorted(found)]
        out[(name, segment)] = Series(segment=segment, label=_label(segment), points=pts)
    return out, last_run


def _label(segment: str) -> str:
    """``campaign=search_brand, device=mobile`` -> ``search_brand / mobile``."""
    return " / ".join(part.split("=", 1)[-1] for part in segment.split(", ")) if segment else ""


def read_alerts(raw: RawTable | None, limit: int = 60) -> list[AlertRow]:
    """The Alerts tab's rows, newest first."""
    if raw is None:
        return []
    labels = ("Time", "Rule", "Segment", "From", "To", "Value", "Period", "Message")
    col = _columns(raw, labels)
    if col["Rule"] is None or col["To"] is None:
        return []
    rows = []
    for cells in raw.rows:
        def get(label: str, cells: list = cells) -> str:
            c = col[label]
            value = cells[c] if c is not None and c < len(cells) else None
            if isinstance(value, dt.datetime):
                return value.strftime("%Y-%m-%d %H:%M")
            if isinstance(value, float):
                from kpirules.format import format_value

                return format_value(value)
            return "" if value is None else str(value).strip()

        if get("Rule"):
            rows.append(AlertRow(*(get(label) for label in labels)))
    rows.sort(key=lambda a: a.time, reverse=True)
    return rows[:limit]


# --- Rules -------------------------------------------------------------------------------

def rule_views(entries: list[RuleEntry], results: list[RuleResult],
               recorded: dict[tuple[str, str], Series], table: Any, as_of: dt.date,
               periods: int) -> list[RuleView]:
    """One view per rule in rule order. Rules without History are evaluated at their
    ``periods`` most recent periods (one evaluation per distinct as-of date)."""
    from kpirules.writeback.runner import restatement
    from kpirules.writeback.summary import segment_key, worst

    by_name: dict[str, list[RuleResult]] = {}
    for r in results:
        by_name.setdefault(r.name, []).append(r)
    names = {k[0] for k in recorded}
    unrecorded = [e for e in entries if e.ok and e.name not in names
                  and e.meta.get("enabled", True) is not False]
    unrecorded_ids = {id(e) for e in unrecorded}
    computed: dict[tuple[str, str], Series] = {}
    for r in reversed(restatement(unrecorded, table, as_of, periods - 1)):
        _add(computed, r, segment_key(r.segment))
    views = []
    for e in entries:
        mine = by_name.get(e.name, [])
        if not mine:
            continue
        view = RuleView(name=e.name, text=e.text, status=worst(mine).value, results=mine,
                        series=[], unit=mine[0].unit, threshold=mine[0].threshold, warn=mine[0].warn)
        _condition(view, e)
        view.recorded = id(e) not in unrecorded_ids
        for r in mine:
            if r.status is Status.ERROR:
                continue
            seg = segment_key(r.segment)
            series = recorded.get((e.name, seg)) if view.recorded else computed.get((e.name, seg))
            series = Series(seg, _label(seg), list(series.points) if series else [])
            if r.period is not None and not any(p.period == r.period for p in series.points):
                # This period is not in History yet (the report runs before `run` did).
                series.points.append(Point(r.period, r.status.value, r.value, r.threshold,
                                           recorded=False))
            series.points = series.points[-periods:]
            view.series.append(series)
        views.append(view)
    return views


def _add(into: dict[tuple[str, str], Series], r: RuleResult, seg: str) -> None:
    series = into.setdefault((r.name, seg), Series(seg, _label(seg)))
    if r.period is not None:
        series.points.append(Point(r.period, r.status.value, r.value, r.threshold, recorded=False))
        series.points.sort(key=lambda p: p.period.start)


def _condition(view: RuleView, entry: RuleEntry) -> None:
    from kpirules import ast

    cond = entry.rule.condition if entry.rule is not None else None
    if isinstance(cond, ast.Compare):
        view.op = cond.op
    elif isinstance(cond, ast.Between):
        view.op = "between"
        view.low = cond.low.value if isinstance(cond.low, ast.Number) else None
        view.high = cond.high.value if isinstance(cond.high, ast.Number) else None


def since_last_run(raw: RawTable | None, title: str, report: Any,
                   alerts_raw: RawTable | None = None) -> list[Change]:
    """The alerts `run` would record now against History and the Alerts tab as the last run
    left them: status changes, and data that fell late or arrived."""
    from kpirules.errors import SourceError
    from kpirules.writeback.alerts import data_records, detect
    from kpirules.writeback.history import read_history
    from kpirules.writeback.summary import segment_key

    try:
        history = read_history(raw, title)
    except SourceError:  # a History tab that is not ours: nothing to compare with
        return []
    return [Change(a.result.name, _label(segment_key(a.result.segment)), a.previous or "", a.status,
                   a.result.period)
            for a in detect(history, report.results) + data_records(report.late, report.extents, alerts_raw)]


def changes(views: list[RuleView]) -> list[Change]:
    """Each series whose latest period's status differs from the period before it."""
    out = []
    for view in views:
        for s in view.series:
            if len(s.points) >= 2 and s.points[-1].status != s.points[-2].status:
                out.append(Change(view.name, s.label, s.points[-2].status, s.points[-1].status,
                                  s.points[-1].period))
    return out
