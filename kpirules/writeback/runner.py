"""``kpirules run`` as a function: read once, evaluate, decide the writes, notify, write once.

    outcome = run("examples/marketing.xlsx", as_of=date(2026, 11, 26))

The order matters:

1. One read of everything (Data, Rules, History, Alerts, Settings): on Google Sheets that is
   one ``spreadsheets.get``; on a file it happens under the file's lock, so a second run
   waits and then reads what the first one wrote.
2. Evaluate the rules, and again at earlier as-of dates for the previous ``restate_periods``
   periods (late data).
3. Decide every write (``WritePlan``): Rules-tab cells, History upserts, Alerts rows.
4. Send the notifications *before* the write, so that each Alerts row can say where its
   alert went and whether it arrived. If the write then fails, nothing records the alert
   and the next run raises it again: people may hear twice, never zero times.
5. One write: one ``batchUpdate`` on Sheets, one atomic file replace on xlsx.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from kpirules.errors import INVALID_RULE, Problem, SourceError
from kpirules.results import Report, RuleResult, Status
from kpirules.source import SETTINGS_TAB, today
from kpirules.source import now as _now
from kpirules.source import settings_tab as _settings_tab

if TYPE_CHECKING:  # pragma: no cover
    from kpirules.config import Settings
    from kpirules.connectors.base import Workbook
    from kpirules.notify.dispatch import Delivery
    from kpirules.rulesfile import RuleEntry
    from kpirules.writeback.alerts import AlertRecord
    from kpirules.writeback.plan import WritePlan
    from kpirules.writeback.summary import RuleSummary

log = logging.getLogger("kpirules.run")

SETTINGS_EXAMPLE = [
    ("Key", "Value"),
    ("# Settings for kpirules run. Rows whose key starts with # are ignored: remove the # to use one. "
     "A kpirules.toml next to the job wins over this tab.", None),
    ("# restate_periods", "3"),
    ("# timezone", "Europe/Warsaw"),
    ("# sheet_url", "https://docs.google.com/spreadsheets/d/KEY/edit"),
    ("# notify.team.type", "slack"),
    ("# notify.team.webhook_url", "${KPIRULES_SLACK_WEBHOOK}"),
    ("# notify.team.on", "fail, warn, no_data, recovery"),
]


@dataclass
class RunOutcome:
    report: Report  # this run's results (the current period), in rule order
    summaries: list[RuleSummary]
    plan: WritePlan
    alerts: list[AlertRecord]
    restated: list[RuleResult] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    written: bool = False
    source_url: str | None = None
    # Rebuilds the Alerts rows once deliveries are known (they fill the Notified column).
    replan_alerts: Callable[[], None] = lambda: None

    @property
    def exit_status(self) -> int:
        return self.report.exit_status

    @property
    def failed_deliveries(self) -> list[Delivery]:
        return [d for d in self.deliveries if not d.ok]


def run(source: str, *, as_of: dt.date | None = None, dry_run: bool = False, config: str | None = None,
        data_tab: str | None = None, rules_tab: str | None = None, restate: int | None = None,
        connector: str | None = None, notify: bool = True, now: dt.datetime | None = None,
        dispatch: Callable[..., list[Delivery]] | None = None, **options: Any) -> RunOutcome:
    """Evaluate ``source``'s rules and write results, History and Alerts back into it.

    Raises ``SourceError`` when the source cannot be read or written (nothing was written
    then), ``kpirules.config.ConfigError`` for unusable settings."""
    from kpirules.config import load_settings
    from kpirules.connectors import open_source

    file_settings = load_settings(config)
    data_tab = data_tab or file_settings.data_tab
    rules_tab = rules_tab or file_settings.rules_tab
    conn = open_source(source, connector=connector, **options)
    kind = getattr(conn, "name", "")
    if kind == "csv":
        raise SourceError("`kpirules run` writes results back into a workbook or sheet; a CSV file has no "
                          "Rules, History or Alerts tab", hint="use `kpirules check FILE.csv --rules FILE.kpi`, "
                          "or keep the data in an .xlsx workbook or a Google Sheet")
    if kind not in ("xlsx", "gsheets") and not hasattr(conn, "batch_update"):
        raise SourceError(f"the {kind or 'given'} connector cannot write results back",
                          hint="use `kpirules check`, which only reads")
    locked = contextlib.nullcontext()
    if kind == "xlsx" and not dry_run:
        from kpirules.writeback.lock import file_lock

        locked = file_lock(conn.path)
    with locked:
        history_tab, alerts_tab = file_settings.history_tab, file_settings.alerts_tab
        wb = conn.read(data_tab=data_tab, rules_tab=rules_tab,
                       extra_tabs=(history_tab, alerts_tab, SETTINGS_TAB))
        settings = load_settings(config, tab=_settings_tab(wb))
        if (settings.history_tab, settings.alerts_tab) != (history_tab, alerts_tab):
            # The Settings tab names other tabs: read again for them (a rare set-up; costs
            # one more read).
            history_tab, alerts_tab = settings.history_tab, settings.alerts_tab
            wb = conn.read(data_tab=data_tab, rules_tab=rules_tab,
                           extra_tabs=(history_tab, alerts_tab, SETTINGS_TAB))
        outcome = evaluate_and_plan(
            wb, settings, as_of=as_of or today(settings, wb), restate=restate,
            now=now or _now(settings, wb), history_tab=history_tab, alerts_tab=alerts_tab)
        outcome.source_url = settings.sheet_url or wb.url
        if dry_run:
            return outcome
        if notify and outcome.alerts and settings.notifications:
            _notify(outcome, settings, now or _now(settings, wb), dispatch)
        _write(conn, kind, outcome.plan)
        outcome.written = True
    return outcome


def _has_settings_tab(wb: Workbook) -> bool:
    return _settings_tab(wb) is not None or any(
        t.strip().casefold() == SETTINGS_TAB.casefold() for t in wb.tabs)


def evaluate_and_plan(wb: Workbook, settings: Settings, *, as_of: dt.date, now: dt.datetime,
                      restate: int | None = None, history_tab: str = "History",
                      alerts_tab: str = "Alerts") -> RunOutcome:
    """Everything between the read and the write, with no I/O: results, summaries, the
    alerts and the write plan."""
    from kpirules.engine import evaluate
    from kpirules.rulesfile import rules_from_table
    from kpirules.table import load_table
    from kpirules.writeback.alerts import alerts_plan, detect
    from kpirules.writeback.history import history_plan, now_text, read_history
    from kpirules.writeback.layout import ENGINE_KEYS, rules_tab_plan
    from kpirules.writeback.plan import WritePlan
    from kpirules.writeback.summary import summarise

    if wb.rules is None:
        raise SourceError(f"{wb.title or 'the source'} has no {settings.rules_tab} tab",
                          hint="run `kpirules init SOURCE` to add one with example rules")
    entries = rules_from_table(wb.rules, engine_columns=ENGINE_KEYS)
    duplicates = _mark_duplicates(entries, wb.rules.header_row)
    table = load_table(wb.data, settings=settings)
    enabled = [e for e in entries if e.meta.get("enabled", True) is not False and id(e) not in duplicates]
    report = evaluate(enabled, table, as_of)
    by_name: dict[str, list[RuleResult]] = {}
    for r in report.results:
        by_name.setdefault(r.name, []).append(r)
    results: list[RuleResult] = []
    summaries: list[RuleSummary] = []
    for e in entries:
        if id(e) in duplicates:
            mine = [RuleResult(name=e.name, rule=e.text, status=Status.ERROR, error=e.problem,
                               message=e.problem.one_line(), meta=dict(e.meta))]
        elif e.meta.get("enabled", True) is False:
            mine = []
        else:
            mine = by_name.get(e.name, [])
        results += mine
        summaries.append(summarise(e, mine))
    report = Report(as_of=as_of, results=results, data_problems=report.data_problems)
    periods = settings.restate_periods if restate is None else restate
    restated = restatement(enabled, table, as_of, periods)

    checked = now_text(now)
    history = read_history(wb.extra_tabs.get(history_tab), history_tab)
    records = detect(history, report.results)
    _threshold_texts(records, entries)
    alerts_raw = wb.extra_tabs.get(alerts_tab)
    plan = WritePlan(tabs=[
        rules_tab_plan(wb.rules, summaries, checked),
        history_plan(history, report.results, restated, checked),
        alerts_plan(alerts_raw, alerts_tab, records, checked),
    ], alerts=records)
    if not _has_settings_tab(wb):
        plan.tabs.append(settings_tab_plan())

    def replan_alerts() -> None:
        plan.tabs[2] = alerts_plan(alerts_raw, alerts_tab, records, checked)

    return RunOutcome(report=report, summaries=summaries, plan=plan, alerts=records, restated=restated,
                      replan_alerts=replan_alerts)


def _threshold_texts(records: list[AlertRecord], entries: list[RuleEntry]) -> None:
    """Give alerts the threshold as the rule writes it (``1.5%``, not ``1.50%``)."""
    from kpirules.format import expr_text

    rules = {e.name: e.rule for e in entries if e.rule is not None}
    for record in records:
        rule = rules.get(record.result.name)
        if rule is not None and rule.threshold is not None:
            record.threshold_text = expr_text(rule.threshold)


def _mark_duplicates(entries: list[RuleEntry], header_row: int) -> set[int]:
    """A second rule of the same name would share the first one's History: it is an ERROR
    in its own row instead (ids of the entries returned)."""
    first: dict[str, RuleEntry] = {}
    dups: set[int] = set()
    for e in entries:
        key = e.name.strip().casefold()
        if key in first:
            other = first[key]
            row = header_row + 1 + other.row_index if other.row_index is not None else "above"
            e.problem = Problem(INVALID_RULE, f"the name `{e.name}` is already used by the rule in row {row}",
                                cell=e.cell, suggestion="give every rule its own name")
            e.rule = None
            dups.add(id(e))
        else:
            first[key] = e
    return dups


def restatement(entries: list[RuleEntry], table: Any, as_of: dt.date, periods: int) -> list[RuleResult]:
    """Results of the ``periods`` periods before each rule's current one, evaluated at the
    as-of dates that give those periods (one evaluation per distinct date)."""
    from kpirules.engine import evaluate
    from kpirules.periods import as_of_for

    if periods <= 0:
        return []
    by_date: dict[dt.date, list[RuleEntry]] = {}
    for e in entries:
        if e.rule is None or e.problem is not None:
            continue
        for back in range(1, periods + 1):
            by_date.setdefault(as_of_for(e.rule.window, as_of, back), []).append(e)
    out: list[RuleResult] = []
    for day in sorted(by_date, reverse=True):  # the most recent periods first in History
        out += [r for r in evaluate(by_date[day], table, day).results if r.status is not Status.ERROR]
    return out


def settings_tab_plan():
    """A Settings tab with its header and commented examples (rows starting with # are
    ignored), so that people find where settings go and Sheets reads stay one call."""
    from kpirules.writeback.plan import HEADER, Out, Style, TabPlan

    tab = TabPlan(title=SETTINGS_TAB, create=True, freeze_header=True)
    for i, (key, value) in enumerate(SETTINGS_EXAMPLE):
        style = HEADER if i == 0 else Style(color="#666666", italic=True)
        tab.set(1 + i, 0, Out(key, style))
        if value is not None:
            tab.set(1 + i, 1, Out(value, style))
    tab.widths = {0: 32, 1: 48}
    tab.counts = {"example rows": len(SETTINGS_EXAMPLE) - 1}
    return tab


def _notify(outcome: RunOutcome, settings: Settings, now: dt.datetime,
            dispatch: Callable[..., list[Delivery]] | None) -> None:
    """Send the alerts; record each delivery on its alert and rebuild the Alerts rows."""
    from kpirules.writeback.alerts import alerts_plan, to_notification

    if dispatch is None:
        from kpirules.notify import dispatch
    notes = [to_notification(a, link=outcome.source_url, checked_at=now) for a in outcome.alerts]
    deliveries = dispatch(notes, settings)
    index = {id(n): a for n, a in zip(notes, outcome.alerts)}
    for d in deliveries:
        record = index.get(id(d.alert))
        if record is not None:
            record.deliveries.append(d)
    outcome.deliveries = deliveries
    outcome.replan_alerts()


def _write(conn: Any, kind: str, plan: WritePlan) -> None:
    if plan.empty:
        return
    if kind == "xlsx":
        from kpirules.writeback import xlsx

        xlsx.write(conn.path, plan)
    else:
        from kpirules.writeback import sheets

        sheets.write(conn, plan)
