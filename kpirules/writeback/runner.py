"""``kpirules run`` as a function: read once, evaluate, write with a lease, deliver, record.

    outcome = run("examples/marketing.xlsx", as_of=date(2026, 11, 26))

The order matters:

1. One read of everything (Data, Rules, History, Alerts, Settings): on Google Sheets that is
   one ``spreadsheets.get``; on a file it happens under the file's lock, taken without
   waiting (another run holding it: exit 7, nothing changed).
2. Evaluate the rules, and again at earlier as-of dates for the previous ``restate_periods``
   periods (late data).
3. Decide every write (``WritePlan``): Rules-tab cells, History upserts, Alerts rows. Every
   new alert is recorded as *owed* to its channels (``outbox.py``), and alerts earlier runs
   could not deliver are picked up to be delivered first.
4. The first write: the results, with the lease on a Google Sheet (``lease.py``: the run
   that does not get it changes nothing and exits 7). An ambiguous answer is resolved by
   reading the lease back (``sheets.py``): "written" or "not written", never a blind retry.
5. Send what is owed (earlier alerts first, oldest first), then the last write: each
   channel's delivery state, and the lease released. A run costs one read and two writes,
   one write when it has nothing to send: the first write then releases the lease too
   (docs/running.md, "What a run costs").
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from kpirules.errors import SourceError
from kpirules.i18n import N_, _
from kpirules.results import Report, RuleResult, Status
from kpirules.source import SETTINGS_TAB, apply_timeout, today
from kpirules.source import now as _now
from kpirules.source import settings_tab as _settings_tab
from kpirules.writeback.dashboard import DASHBOARD_TAB, add_dashboard, attach_trends

if TYPE_CHECKING:  # pragma: no cover
    from kpirules.config import Settings
    from kpirules.connectors.base import Workbook
    from kpirules.notify.dispatch import Delivery
    from kpirules.rulesfile import RuleEntry
    from kpirules.writeback.alerts import AlertRecord
    from kpirules.writeback.plan import WritePlan
    from kpirules.writeback.summary import RuleSummary

log = logging.getLogger("kpirules.run")

# The comment row is in the language of the command that writes it (N_: translated there);
# setting names and values stay as the settings are written.
SETTINGS_EXAMPLE = [
    ("Key", "Value"),
    (N_("# Settings for kpirules run. Rows whose key starts with # are ignored: remove the # to use one. "
        "A kpirules.toml next to the job wins over this tab."), None),
    ("# restate_periods", "3"),
    ("# history_keep", "180 days"),
    ("# owed_for", "7 days"),
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
    alerts: list[AlertRecord]  # raised by this run
    restated: list[RuleResult] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    written: bool = False
    source_url: str | None = None
    # (rule, segment) -> recent (value, status), oldest first: the trend alerts show.
    trends: dict[tuple[str, str], tuple] = field(default_factory=dict)
    # Owed by earlier runs: due now, or held for a later run (over the bound, --no-notify).
    earlier: list[AlertRecord] = field(default_factory=list)
    alerts_raw: Any = None  # the Alerts tab as read
    alerts_title: str = "Alerts"
    state_not_recorded: str | None = None  # why the last write failed (deliveries stay owed)
    lease: Any = None  # the Sheets lease as read (kpirules.writeback.lease)
    not_checked: SourceError | None = None  # why the data could not be read (exit 3)

    @property
    def owed(self) -> int:
        """Alerts that some channel still owes after this run."""
        return sum(1 for r in [*self.earlier, *self.alerts] if r.owed)

    @property
    def exit_status(self) -> int:
        from kpirules.exitcodes import Exit, combine

        codes = [self.report.exit_code]  # the results (1, 2) and late data (6)
        if self.not_checked is not None:
            codes.append(Exit.SOURCE)
        # 5 says the results were written and a channel failed: a dry run writes nothing
        # and sends nothing, so what it would owe says nothing about a channel.
        if self.written and (self.owed or self.state_not_recorded):
            codes.append(Exit.UNDELIVERED)
        return combine(codes)

    @property
    def failed_deliveries(self) -> list[Delivery]:
        return [d for d in self.deliveries if not d.ok]


def run(source: str, *, as_of: dt.date | None = None, dry_run: bool = False, config: str | None = None,
        data_tab: str | None = None, rules_tab: str | None = None, restate: int | None = None,
        connector: str | None = None, notify: bool = True, now: dt.datetime | None = None,
        dispatch: Callable[..., list[Delivery]] | None = None,
        after_lease: Callable[[], None] | None = None, data: str | None = None, table: str | None = None,
        guess_tabs: bool = True, **options: Any) -> RunOutcome:
    """Evaluate ``source``'s rules and write results, History and Alerts back into it.

    Raises ``SourceError`` when the source cannot be read or the results could not be
    written (nothing was written then), ``LeaseHeld`` when another run holds the sheet
    (nothing was written or sent), ``kpirules.config.ConfigError`` for unusable settings.
    ``after_lease`` is called between the first write and the sending (tests use it to
    make concurrent runs overlap).

    ``data`` (else the ``data`` setting) is a warehouse URL and ``table`` (else the
    ``table`` setting) its table: the rules stay in ``source``, the data are evaluated
    where they are (``kpirules.backends.warehouse_table``). Data that cannot be read while
    the Rules tab can be written give every rule "not checked: <reason>" (exit 3).

    ``guess_tabs``: on a Google Sheet, a read that finds a tab missing may assume the
    tabs asked for after it missing too (a first run: connectors/gsheets_read.py,
    ``after_missing``); the first write, which creates them, is refused whole when one is
    there after all, and the run starts over reading the tab list (``guess_tabs=False``)."""
    from kpirules.config import load_settings
    from kpirules.connectors import open_source
    from kpirules.connectors.base import GUESS_TABS, TABS, GuessingSource, capabilities
    from kpirules.writeback.layout import check_tab_names
    from kpirules.writeback.lease import LEASE_TAB, read_lease
    from kpirules.writeback.writers import writer_for

    file_settings = load_settings(config)
    asked = (data_tab, rules_tab)  # as given, for a run that starts over
    unset = [k for k, v in (("data_tab", data_tab), ("rules_tab", rules_tab), ("history_tab", None),
                            ("alerts_tab", None), ("date_column", None)) if not v]  # not given here
    data_tab = data_tab or file_settings.data_tab
    rules_tab = rules_tab or file_settings.rules_tab
    conn = open_source(source, connector=connector, **options)
    apply_timeout(conn, file_settings)  # the `timeout` setting (Google Sheets reads)
    guessing = conn if GUESS_TABS in capabilities(conn) and isinstance(conn, GuessingSource) else None
    if guessing is not None:
        guessing.guess_missing = guess_tabs and not dry_run  # a dry run's plan must be right
    writer = writer_for(conn)
    if writer is None:
        name = getattr(conn, "name", "") or "given"
        if TABS not in capabilities(conn):  # one table (a CSV file, a database table): nowhere to write
            raise SourceError(
                _("`kpirules run` writes results back into a workbook or sheet; a CSV file has no Rules, "
                  "History or Alerts tab") if name == "csv" else
                _("`kpirules run` writes results back into a workbook or sheet; a {name} source has no Rules, "
                  "History or Alerts tab").format(name=name),
                hint=_("use `kpirules check SOURCE --rules FILE.kpi`, or keep the data in an .xlsx workbook "
                       "or a Google Sheet"))
        raise SourceError(_("the {name} connector cannot write results back").format(name=name),
                          hint=_("use `kpirules check`, which only reads"))
    locked = contextlib.nullcontext() if dry_run else writer.lock(conn, now or dt.datetime.now())
    # On a Google Sheet the lease tab is read with the rest (lease.py); a workbook has its lock.
    lease_tab = writer.lease_tabs
    with locked:
        history_tab, alerts_tab = file_settings.history_tab, file_settings.alerts_tab

        def read(history_tab: str, alerts_tab: str, elsewhere: bool) -> tuple[Workbook, SourceError | None]:
            # With the data elsewhere (a warehouse), the Rules tab stands in for the data tab.
            # In the order kpirules creates them (init: Settings, History, Alerts; the first
            # run: Dashboard, the lease), which a read that finds one missing relies on.
            return _read(conn, rules_tab if elsewhere else data_tab, rules_tab,
                         (SETTINGS_TAB, history_tab, alerts_tab, DASHBOARD_TAB, *lease_tab),
                         columns=None if elsewhere else _needed(conn, config, file_settings))

        elsewhere = bool(data or file_settings.data)
        wb, data_error = read(history_tab, alerts_tab, elsewhere)
        settings = load_settings(config, tab=_settings_tab(wb))
        named = (asked[0] or settings.data_tab, asked[1] or settings.rules_tab, settings.history_tab,
                 settings.alerts_tab)
        # History and Alerts in a tab of their own, never the rules' or the data's (as the
        # command line names them): else nothing is written.
        check_tab_names(settings.model_copy(update={"data_tab": named[0], "rules_tab": named[1]}), config,
                        tab=_settings_tab(wb))
        if named != (data_tab, rules_tab, history_tab, alerts_tab):
            # The Settings tab names other tabs (the data's too, which check reads): read
            # again for them (a rare set-up; costs one more read).
            data_tab, rules_tab, history_tab, alerts_tab = named
            wb, data_error = read(history_tab, alerts_tab, elsewhere)
        from kpirules.i18n import resolve

        resolve(None, settings, wb)  # messages and numbers in the sheet's language (setting, locale)
        clock = now or _now(settings, wb)
        table_read = None
        if data or settings.data:
            data_error, table_read = _warehouse(data or settings.data, table or settings.table, settings, options)
        if isinstance(data_error, SourceError):
            # A tab a setting named and the sheet lacks: say which setting, and where it was set.
            from kpirules.source import blame_settings, find_settings_file

            blamed = blame_settings(data_error, unset, config or find_settings_file(), _settings_tab(wb))
            data_error = blamed if isinstance(blamed, SourceError) else data_error
        outcome = evaluate_and_plan(
            wb, settings, as_of=as_of or today(settings, wb), restate=restate,
            now=clock, history_tab=history_tab, alerts_tab=alerts_tab, notify=notify,
            table=table_read, data_error=data_error, rules_tab=rules_tab)
        outcome.source_url = settings.sheet_url or wb.url
        add_dashboard(outcome, wb, history_tab, native_charts=writer.native_charts)
        if lease_tab:
            outcome.lease = read_lease(wb.extra_tabs.get(LEASE_TAB), conn.sheet_ids)
        if dry_run:
            return outcome
        guessed = guessing.guessed if guessing is not None else ()
        try:
            writer.carry_out(conn, outcome, settings, clock, dispatch=dispatch, after_lease=after_lease)
        except Exception as exc:
            if not _guess_refused(exc, guessed):
                raise
            log.info("a tab the read assumed missing (%s) is there: nothing was written; reading "
                     "again with the tab list", ", ".join(guessed))
            return run(source, as_of=as_of, dry_run=dry_run, config=config, data_tab=asked[0], rules_tab=asked[1],
                       restate=restate, connector=connector, notify=notify, now=now, dispatch=dispatch,
                       after_lease=after_lease, data=data, table=table, guess_tabs=False, **options)
    return outcome


def _guess_refused(exc: Exception, guessed: tuple[str, ...]) -> bool:
    """Whether the first write was refused because a tab the read assumed missing is
    there (its addSheet failed; a batchUpdate is all or nothing, so nothing was written)."""
    from kpirules.writeback.lease import LEASE_TAB, LeaseHeld

    if not guessed:
        return False
    if isinstance(exc, LeaseHeld):  # the lease tab's addSheet refused: it was there
        return any(t.casefold() == LEASE_TAB.casefold() for t in guessed)
    message = str(getattr(exc, "api_message", "") or "")
    return "already exists" in message and any(t.casefold() in message.casefold() for t in guessed)


def _needed(conn: Any, config: str | None, file_settings: Settings) -> Callable[[Workbook], Any] | None:
    """On a big Google Sheet, what ``check`` reads too: below the data tab's first rows,
    only the columns the rules use (kpirules.source.needed_columns). Restated periods and
    alerts come from the same rules, so they need no other column."""
    from kpirules.connectors.base import COLUMN_SUBSET, capabilities

    if COLUMN_SUBSET not in capabilities(conn):
        return None
    from kpirules.source import find_settings_file, needed_columns

    path = config or find_settings_file()
    return lambda wb: needed_columns(wb, conn, path, file_settings)


def _read(conn: Any, data_tab: str | None, rules_tab: str | None, extra_tabs: tuple[str, ...],
          columns: Callable[[Workbook], Any] | None = None) -> tuple[Workbook, SourceError | None]:
    """The one read, and the data side's error when only the data could not be read: the
    Rules tab then stands in for the data tab, so that every rule can say "not checked"."""
    try:
        options = {"columns": columns} if columns is not None else {}
        return conn.read(data_tab=data_tab, rules_tab=rules_tab, extra_tabs=extra_tabs, **options), None
    except SourceError as exc:
        if not rules_tab or data_tab == rules_tab:
            raise
        try:
            wb = conn.read(data_tab=rules_tab, rules_tab=rules_tab, extra_tabs=extra_tabs)
        except SourceError:
            raise exc from None
        if wb.rules is None:
            raise exc from None
        wb.data.rows = []  # the Rules tab is no data table
        return wb, exc


def _warehouse(url: str, table: str | None, settings: Settings, options: dict[str, Any]
               ) -> tuple[SourceError | None, Any]:
    """``(None, SqlTable)`` for the warehouse's table, or ``(the error, None)``."""
    from kpirules.backends import warehouse_table

    credentials = {k: v for k, v in options.items() if k == "credentials" and v}
    try:
        return None, warehouse_table(url, table, settings=settings, **credentials)
    except SourceError as exc:
        return exc, None


def _has_settings_tab(wb: Workbook) -> bool:
    return _settings_tab(wb) is not None or any(
        t.strip().casefold() == SETTINGS_TAB.casefold() for t in wb.tabs)


def evaluate_and_plan(wb: Workbook, settings: Settings, *, as_of: dt.date, now: dt.datetime,
                      restate: int | None = None, history_tab: str = "History",
                      alerts_tab: str = "Alerts", notify: bool = True, table: Any = None,
                      data_error: SourceError | None = None, rules_tab: str | None = None) -> RunOutcome:
    """Everything between the read and the write, with no I/O: results, summaries, the
    alerts (new and owed) and the first write's plan. ``table``: the data table when it
    is not ``wb.data`` (a warehouse's ``SqlTable``); ``data_error``: why the data could
    not be read (every rule is then "not checked")."""
    from kpirules.engine import evaluate
    from kpirules.rulesfile import enabled as is_enabled
    from kpirules.rulesfile import rules_from_table
    from kpirules.table import load_table
    from kpirules.writeback.alerts import alerts_plan, data_records, detect
    from kpirules.writeback.history import history_plan, now_text, read_history
    from kpirules.writeback.deliver import prepare_outbox
    from kpirules.writeback.layout import ENGINE_KEYS, rules_tab_plan
    from kpirules.writeback.plan import WritePlan
    from kpirules.writeback.summary import summarise

    if wb.rules is None:
        raise SourceError((_("{title} has no {tab} tab") if wb.title else _("the source has no {tab} tab")).format(
            title=wb.title, tab=rules_tab or settings.rules_tab),  # the tab asked for (--rules-tab)
            hint=_("run `kpirules init SOURCE` to add one with example rules"))
    # Blank and repeated names are ERRORs in their own rows (rulesfile.check_names), as in
    # every other command.
    entries = rules_from_table(wb.rules, engine_columns=ENGINE_KEYS)
    enabled = [e for e in entries if is_enabled(e)]
    try:
        if data_error is not None:
            raise data_error
        if table is None:
            table = load_table(wb.data, settings=settings)
        full = evaluate(enabled, table, as_of, settings=settings)
        periods = settings.restate_periods if restate is None else restate
        restated = restatement(enabled, table, as_of, periods, settings=settings)
    except SourceError as exc:
        # The data cannot be read but the Rules tab can be written: every rule says so
        # instead of keeping yesterday's verdict; no verdict is recorded or alerted.
        return not_checked(wb, settings, entries, exc, as_of=as_of, now=now, history_tab=history_tab,
                           alerts_tab=alerts_tab, notify=notify)
    report = full
    by_name: dict[str, list[RuleResult]] = {}
    for r in report.results:
        by_name.setdefault(r.name, []).append(r)
    results: list[RuleResult] = []
    summaries: list[RuleSummary] = []
    # A repeated name's ERROR shares the first rule's name: each takes its own results.
    claimed = {id(e.problem) for e in enabled if e.problem is not None}
    for e in entries:
        named = by_name.get(e.name, []) if is_enabled(e) else []
        mine = ([r for r in named if r.error is e.problem] if e.problem is not None
                else [r for r in named if id(r.error) not in claimed])
        try:
            summary = summarise(e, mine)
        except Exception as exc:  # noqa: BLE001 - a bug with one rule must not stop the others
            from kpirules.engine import internal_error_result

            mine = [internal_error_result(e, exc)]
            summary = summarise(e, mine)
        results += mine
        summaries.append(summary)
    report = Report(as_of=as_of, results=results, data_problems=full.data_problems,
                    extents=dict(full.extents), late=dict(full.late), warnings=list(full.warnings))

    checked = now_text(now)
    history = read_history(wb.extra_tabs.get(history_tab), history_tab)
    history.follow_names(e.name for e in entries if e.problem is None)
    alerts_raw = wb.extra_tabs.get(alerts_tab)
    records = detect(history, report.results, restated) + data_records(report.late, report.extents, alerts_raw)
    _threshold_texts(records, entries)
    earlier = prepare_outbox(records, alerts_raw, settings, checked=checked, now=now, notify=notify)
    plan = WritePlan(tabs=[
        rules_tab_plan(wb.rules, summaries, checked),
        history_plan(history, report.results, restated, checked, keep=settings.history_keep, as_of=as_of),
        alerts_plan(alerts_raw, alerts_tab, earlier + records, checked),
    ], alerts=records)
    if not _has_settings_tab(wb):
        plan.tabs.append(settings_tab_plan())
    return RunOutcome(report=report, summaries=summaries, plan=plan, alerts=records, restated=restated,
                      earlier=earlier, alerts_raw=alerts_raw,
                      alerts_title=plan.tabs[2].title)


NOT_CHECKED = "not checked"


def not_checked(wb: Workbook, settings: Settings, entries: list[RuleEntry], error: SourceError, *,
                as_of: dt.date, now: dt.datetime, history_tab: str, alerts_tab: str,
                notify: bool) -> RunOutcome:
    """The plan of a run whose data could not be read: "not checked: <reason>" in every
    enabled rule's Status (yesterday's verdict must not stand), no History row, no verdict
    alert; alerts owed by earlier runs are still delivered."""
    from kpirules.rulesfile import enabled as is_enabled
    from kpirules.writeback.alerts import alerts_plan
    from kpirules.writeback.deliver import prepare_outbox
    from kpirules.writeback.history import history_plan, now_text, read_history
    from kpirules.writeback.layout import rules_tab_plan
    from kpirules.writeback.plan import WritePlan
    from kpirules.writeback.summary import RuleSummary, summarise

    reason = error.message.splitlines()[0] if error.message else _("the data could not be read")
    message = _("the data could not be read: {reason}").format(reason=error.message)
    if error.hint:
        message += "\n" + _("hint: {hint}").format(hint=error.hint)
    summaries = [RuleSummary(entry=e, status=f"{_(NOT_CHECKED)}: {reason}", message=message)
                 if is_enabled(e) else summarise(e, []) for e in entries]
    checked = now_text(now)
    history = read_history(wb.extra_tabs.get(history_tab), history_tab)
    alerts_raw = wb.extra_tabs.get(alerts_tab)
    earlier = prepare_outbox([], alerts_raw, settings, checked=checked, now=now, notify=notify)
    plan = WritePlan(tabs=[
        rules_tab_plan(wb.rules, summaries, checked),
        history_plan(history, [], [], checked, keep=settings.history_keep, as_of=as_of),
        alerts_plan(alerts_raw, alerts_tab, earlier, checked),
    ], alerts=[])
    if not _has_settings_tab(wb):
        plan.tabs.append(settings_tab_plan())
    return RunOutcome(report=Report(as_of=as_of, results=[]), summaries=summaries, plan=plan, alerts=[],
                      earlier=earlier, alerts_raw=alerts_raw, alerts_title=plan.tabs[2].title,
                      not_checked=error)


def _threshold_texts(records: list[AlertRecord], entries: list[RuleEntry]) -> None:
    """Give alerts the threshold as the rule writes it (``1.5%``, not ``1.50%``)."""
    from kpirules.format import expr_text

    rules = {e.name: e.rule for e in entries if e.rule is not None}
    for record in records:
        rule = rules.get(record.result.name)
        if rule is not None and rule.threshold is not None:
            record.threshold_text = expr_text(rule.threshold)


def restatement(entries: list[RuleEntry], table: Any, as_of: dt.date, periods: int,
                settings: Settings | None = None) -> list[RuleResult]:
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
        out += [r for r in evaluate(by_date[day], table, day, settings=settings).results
                if r.status is not Status.ERROR]
    return out


def settings_tab_plan():
    """A Settings tab with its header and commented examples (rows starting with # are
    ignored), so that people find where settings go and Sheets reads stay one call."""
    from kpirules.writeback.plan import HEADER, Out, Style, TabPlan

    tab = TabPlan(title=SETTINGS_TAB, create=True, freeze_header=True)
    for i, (key, value) in enumerate(SETTINGS_EXAMPLE):
        style = HEADER if i == 0 else Style(color="#666666", italic=True)
        tab.set(1 + i, 0, Out(_(key) if value is None else key, style))
        if value is not None:
            tab.set(1 + i, 1, Out(value, style))
    tab.widths = {0: 32, 1: 48}
    tab.counts = {"example rows": len(SETTINGS_EXAMPLE) - 1}
    return tab


