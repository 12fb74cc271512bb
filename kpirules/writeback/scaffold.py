"""``kpirules init``: what a workbook or sheet needs before its first run.

A missing ``Rules`` tab is created with example rules (built from the Data tab's own
columns when there is one, and checked by the parser) and an ``Enabled`` column with a
yes/no dropdown; ``History``, ``Alerts`` and ``Settings`` are created with their headers.
Every engine column header gets a note saying what the engine writes there.

Safe to run again: a tab that exists is never rewritten. It only gains the engine columns
it lacks, the header notes and the Enabled dropdown; rules the user wrote are not touched
and no example rule is added twice.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from kpirules.ast import RESERVED_WORDS
from kpirules.errors import SourceError
from kpirules.names import normalise
from kpirules.writeback.alerts import ALERT_COLUMNS, ALERT_NOTES, ALERT_WIDTHS
from kpirules.writeback.history import HISTORY_COLUMNS, HISTORY_NOTES, HISTORY_WIDTHS
from kpirules.writeback.layout import ENGINE_COLUMNS, ENGINE_NOTES, WIDTHS, header_cells, locate
from kpirules.writeback.plan import HEADER, Out, Style, TabPlan, Validation, WritePlan

if TYPE_CHECKING:  # pragma: no cover
    from kpirules.connectors.base import RawTable

USER_COLUMNS = ("Name", "Rule", "Enabled", "Owner", "Description")
USER_WIDTHS = {"Name": 24, "Rule": 52, "Enabled": 9, "Owner": 14, "Description": 40}
ENABLED_VALUES = ("yes", "no")
DROPDOWN_ROWS = 500  # the Enabled dropdown reaches this far below the header
EXAMPLE_DATA_HEADERS = ("Date", "Campaign", "Visits", "Signups")
# Words a scaffolded rule must not use as a bare column name: the reserved words (and the
# date column).
RESERVED = {"date", *RESERVED_WORDS}


def column_kinds(data: RawTable | None, date_column: str = "date") -> tuple[list[str], list[str]]:
    """(metric names, dimension names) of a data tab, normalised, judged by their cells."""
    if data is None:
        return [], []
    metrics, dims = [], []
    for i, header in enumerate(data.headers):
        name = normalise(header) if header not in (None, "") else ""
        if not name or name == normalise(date_column) or name in RESERVED or not name[0].isalpha():
            continue
        cells = [r[i] for r in data.rows[:300] if i < len(r) and r[i] not in (None, "")]
        numbers = sum(isinstance(c, (int, float)) and not isinstance(c, bool) for c in cells)
        if cells and numbers >= 0.9 * len(cells):
            metrics.append(name)
        elif cells:
            dims.append(name)
    return metrics, dims


def example_rules(data: RawTable | None, date_column: str = "date") -> list[tuple[str, str, str, str]]:
    """(name, rule, enabled, description) rows that make sense for this data, or generic
    ones for the example Data headers. Every rule returned parses."""
    from kpirules.errors import KpiError
    from kpirules.parser import parse_rule

    metrics, dims = column_kinds(data, date_column)
    if data is None or not metrics:
        metrics, dims = ["signups", "visits"], ["campaign"]
    rows: list[tuple[str, str, str, str]] = []
    m1 = metrics[0]
    rows.append((f"{m1}_arrives", f"count({m1}) >= 1 daily", "yes",
                 f"Yesterday has {m1} data: the export or sync is working."))
    rows.append((f"{m1}_week_over_week", f"change({m1}) >= -20% weekly warn at -10%", "yes",
                 f"{m1} last week fell no more than 20% (warn beyond 10%) against the week before."))
    if len(metrics) >= 2:
        m2 = metrics[1]
        rows.append((f"{m1}_per_{m2}", f"{m1} / {m2} >= 1% weekly", "no",
                     f"Set the threshold to what a good week looks like, then set Enabled to yes."))
    if dims:
        rows.append((f"{m1}_by_{dims[0]}", f"change({m1}) >= -30% weekly by {dims[0]}", "no",
                     f"One result per {dims[0]}: which ones dropped by more than 30%."))
    valid = []
    for row in rows:
        try:
            parse_rule(row[1])
        except KpiError:
            continue  # an odd column name the grammar does not take: leave that example out
        valid.append(row)
    return valid


def rules_tab(raw: RawTable | None, title: str, data: RawTable | None, date_column: str) -> TabPlan:
    if raw is None or not any(h not in (None, "") for h in raw.headers):
        if raw is not None and any(any(c not in (None, "") for c in r) for r in raw.rows):
            raise SourceError(f"the {title} tab has content but no header row",
                              hint="put the headers Name and Rule in its first row")
        return _new_rules_tab(title if raw is None else (raw.sheet or title), data, date_column,
                              create=raw is None)
    headers = [normalise(h) if h not in (None, "") else "" for h in raw.headers]
    if "rule" not in headers:
        raise SourceError(f"the {raw.sheet or title} tab has no Rule column",
                          hint="add the headers Name and Rule to its first row, then run init again")
    tab = TabPlan(title=raw.sheet or title, header_row=raw.header_row)
    cols = locate(raw, ENGINE_COLUMNS)
    header_cells(tab, cols, ENGINE_NOTES, WIDTHS)
    for label, col in cols.at.items():
        if label not in cols.added:
            tab.notes[(raw.header_row, col)] = ENGINE_NOTES[label]
    if "enabled" in headers:
        tab.validations.append(Validation(headers.index("enabled"), raw.header_row + 1,
                                          raw.header_row + DROPDOWN_ROWS, ENABLED_VALUES))
    tab.counts = {"new columns": len(cols.added), "notes": len(tab.notes)}
    return tab


def _new_rules_tab(title: str, data: RawTable | None, date_column: str, *, create: bool) -> TabPlan:
    tab = TabPlan(title=title, create=create, freeze_header=True)
    labels = USER_COLUMNS + ENGINE_COLUMNS
    for col, label in enumerate(labels):
        note = ENGINE_NOTES.get(label)
        if label == "Enabled":
            note = "yes or no: a rule set to no is skipped (its Status shows OFF)."
        tab.set(1, col, Out(label, HEADER, note=note))
        tab.widths[col] = USER_WIDTHS.get(label) or WIDTHS[label]
    examples = example_rules(data, date_column)
    for i, (name, rule, enabled, description) in enumerate(examples):
        for col, value in enumerate((name, rule, enabled, None, description)):
            if value is not None:
                tab.set(2 + i, col, Out(value, Style(wrap=col == 4)))
    tab.validations.append(Validation(USER_COLUMNS.index("Enabled"), 2, 1 + DROPDOWN_ROWS, ENABLED_VALUES))
    tab.counts = {"example rules": len(examples)}
    return tab


def simple_tab(raw: RawTable | None, title: str, labels, notes, widths) -> TabPlan:
    """History or Alerts: created with headers and notes, or given the headers it lacks."""
    if raw is not None and any(h not in (None, "") for h in raw.headers):
        headers = {normalise(h) for h in raw.headers if h not in (None, "")}
        if not headers & {normalise(x) for x in labels[:2]}:
            raise SourceError(f"the {raw.sheet or title} tab exists but is not kpirules' (headers: "
                              f"{', '.join(str(h) for h in raw.headers if h)})",
                              hint=f"rename that tab so that kpirules can create its own {title} tab")
    tab = TabPlan(title=raw.sheet if raw is not None and raw.sheet else title, create=raw is None,
                  freeze_header=raw is None, header_row=raw.header_row if raw is not None else 1)
    cols = locate(raw, labels)
    header_cells(tab, cols, notes, widths)
    tab.counts = {"new columns": len(cols.added)}
    return tab


def data_tab(title: str) -> TabPlan:
    """A Data tab with example headers, for a workbook that has none yet."""
    tab = TabPlan(title=title, create=True, freeze_header=True)
    for col, label in enumerate(EXAMPLE_DATA_HEADERS):
        tab.set(1, col, Out(label, HEADER))
        tab.widths[col] = 14
    tab.counts = {"headers": len(EXAMPLE_DATA_HEADERS)}
    return tab


def init_plan(tabs: dict[str, RawTable | None], *, data_tab_name: str = "Data", rules_tab_name: str = "Rules",
              history_tab_name: str = "History", alerts_tab_name: str = "Alerts",
              date_column: str = "date", has_data_tab: bool = True) -> WritePlan:
    """The writes that set a source up. ``tabs`` maps each wanted tab name to what was read
    (None: the tab does not exist)."""
    from kpirules.writeback.runner import SETTINGS_TAB, settings_tab_plan

    plan = WritePlan()
    data = tabs.get(data_tab_name)
    if not has_data_tab:
        plan.tabs.append(data_tab(data_tab_name))
    plan.tabs.append(rules_tab(tabs.get(rules_tab_name), rules_tab_name, data, date_column))
    plan.tabs.append(simple_tab(tabs.get(history_tab_name), history_tab_name, HISTORY_COLUMNS,
                                HISTORY_NOTES, HISTORY_WIDTHS))
    plan.tabs.append(simple_tab(tabs.get(alerts_tab_name), alerts_tab_name, ALERT_COLUMNS,
                                ALERT_NOTES, ALERT_WIDTHS))
    if tabs.get(SETTINGS_TAB) is None:
        plan.tabs.append(settings_tab_plan())
    return plan


def init(source: str, *, dry_run: bool = False, config: str | None = None, data_tab_name: str | None = None,
         rules_tab_name: str | None = None, connector: str | None = None, **options) -> WritePlan:
    """Set ``source`` (an .xlsx path, new or existing, or a Google Sheet) up; returns the
    plan that was carried out (or, with ``dry_run``, would be)."""
    import os

    from kpirules.config import load_settings
    from kpirules.connectors import open_source
    from kpirules.writeback.runner import SETTINGS_TAB

    settings = load_settings(config)
    names = dict(data_tab_name=data_tab_name or settings.data_tab, rules_tab_name=rules_tab_name or settings.rules_tab,
                 history_tab_name=settings.history_tab, alerts_tab_name=settings.alerts_tab)
    wanted = (names["data_tab_name"], names["rules_tab_name"], names["history_tab_name"],
              names["alerts_tab_name"], SETTINGS_TAB)
    is_xlsx = connector == "xlsx" or (connector is None and source.lower().endswith((".xlsx", ".xlsm")))
    if is_xlsx:
        return _init_xlsx(source, wanted, names, settings.date_column, dry_run=dry_run)
    conn = open_source(source, connector=connector, **options)
    if getattr(conn, "name", "") != "gsheets" and not hasattr(conn, "batch_update"):
        raise SourceError(f"`kpirules init` sets up an .xlsx workbook or a Google Sheet, not {source}",
                          hint="for a CSV file, write the rules in a .kpi file and use `kpirules check`")
    has_data = True
    try:
        wb = conn.read(data_tab=wanted[0], rules_tab=wanted[1], extra_tabs=wanted[2:])
    except SourceError:
        # No Data tab yet (a new sheet): the connector learnt the titles while failing.
        titles = list(conn.sheet_ids)
        if not titles or any(t.casefold() == wanted[0].casefold() for t in titles):
            raise
        has_data = False
        wb = conn.read(data_tab=titles[0], rules_tab=wanted[1], extra_tabs=wanted[2:])
    tabs = {wanted[1]: wb.rules, **{n: wb.extra_tabs.get(n) for n in wanted[2:]}}
    tabs[wanted[0]] = wb.data if has_data else None
    plan = init_plan(tabs, **names, date_column=settings.date_column, has_data_tab=has_data)
    if not dry_run and not plan.empty:
        from kpirules.writeback import sheets

        sheets.write(conn, plan)
    return plan


def _init_xlsx(path: str, wanted: tuple[str, ...], names: dict, date_column: str, *,
               dry_run: bool) -> WritePlan:
    import contextlib

    from kpirules.connectors.xlsx_file import read_tab
    from kpirules.writeback import xlsx
    from kpirules.writeback.lock import file_lock

    if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        raise SourceError(f"no such folder for {path}")
    # Under the lock, so that two inits (or an init and a run) never both create the file.
    with contextlib.nullcontext() if dry_run else file_lock(path):
        if not os.path.exists(path):
            from openpyxl import Workbook

            plan = init_plan({}, **names, date_column=date_column, has_data_tab=False)
            if not dry_run:
                wb = Workbook()
                wb.remove(wb.active)  # the plan creates every tab, Data first
                xlsx.apply(wb, plan)
                xlsx.save_atomic(wb, path)
            return plan
        wb = xlsx.load(path)
        tabs = {}
        for name in wanted:
            ws = xlsx.find_sheet(wb, name)
            tabs[name] = read_tab(ws, ws.title) if ws is not None else None
        plan = init_plan(tabs, **names, date_column=date_column, has_data_tab=tabs[wanted[0]] is not None)
        xlsx.prune_existing(wb, plan)
        if not dry_run and not plan.empty:
            cached = xlsx.formula_values(path, wb)
            xlsx.apply(wb, plan)
            xlsx.save_atomic(wb, path, cached)
        return plan
