"""``kpirules init``: what a workbook or sheet needs before its first run.

A missing ``Rules`` tab is created with example rules (built from the Data tab's own
columns when there is one, and checked by the parser) and an ``Enabled`` column;
``History``, ``Alerts`` and ``Settings`` are created with their headers. Every engine
column header gets a note saying what the engine writes there.

The Rules tab is also set up to be read at a glance and hard to break: its header row
frozen, its Status column coloured by conditional formatting (installed once, so the
colours follow the text whoever writes it: ``run``, the add-on, a person), and on Google
Sheets ``Enabled`` as a checkbox (old yes/no cells become ticked/unticked; the engine reads
both) and the engine's columns protected by a warning-only protected range. An xlsx
workbook keeps a yes/no dropdown and no protection: Excel has no checkbox cells and no
warning-only protection.

Safe to run again: a tab that exists is never rewritten. It only gains the engine columns
it lacks, the header notes, the Enabled dropdown or checkbox and whatever of the set-up it
does not have yet; rules the user wrote are not touched and no example rule is added twice.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from kpirules.ast import RESERVED_WORDS
from kpirules.errors import SourceError, without_passwords
from kpirules.i18n import _, header, header_columns
from kpirules.names import normalise
from kpirules.writeback.alerts import ALERT_COLUMNS, ALERT_NOTES, ALERT_WIDTHS
from kpirules.writeback.history import HISTORY_COLUMNS, HISTORY_NOTES, HISTORY_WIDTHS
from kpirules.writeback.layout import (ENGINE_COLUMNS, ENGINE_NOTES, SET_UP_ROWS, WIDTHS, check_tab_names, header_cells,
                                      locate, refuse_foreign, set_up)
from kpirules.writeback.plan import HEADER, Out, Style, TabPlan, Validation, WritePlan

if TYPE_CHECKING:  # pragma: no cover
    from kpirules.connectors.base import RawTable

USER_COLUMNS = ("Name", "Rule", "Enabled", "Owner", "Description")
USER_WIDTHS = {"Name": 24, "Rule": 52, "Enabled": 9, "Owner": 14, "Description": 40}
ENABLED_VALUES = ("yes", "no")
ENABLED_WORDS = {"yes": True, "y": True, "true": True, "on": True, "no": False, "n": False, "false": False,
                 "off": False}
DROPDOWN_ROWS = SET_UP_ROWS  # the Enabled dropdown reaches this far below the header
EXAMPLE_DATA_HEADERS = ("Date", "Campaign", "Visits", "Signups")
# Words a scaffolded rule must not use as a bare column name: the reserved words (and the
# date column).
RESERVED = {"date", *RESERVED_WORDS}


def column_kinds(data: RawTable | None, date_column: str = "date") -> tuple[list[str], list[str]]:
    """(metric names, dimension names) of a data tab, normalised, judged by their cells."""
    if data is None:
        return [], []
    metrics, dims = [], []
    for i, head in enumerate(data.headers):
        name = normalise(head) if head not in (None, "") else ""
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
    ones for the example Data headers. Every rule returned parses, and passes ``lint``'s
    checks of what a KPI measures: trends are on outcomes (signups, orders), never on
    activity (visits, likes), and a ratio puts the outcome over the activity that leads to
    it (``signups / visits``, as the lint vocabulary pairs them), never the other way round.
    Only the Owner is left for you (lint reminds you to fill it in)."""
    from kpirules.errors import KpiError
    from kpirules.lint.vocabulary import load_vocabulary
    from kpirules.parser import parse_rule

    metrics, dims = column_kinds(data, date_column)
    if data is None or not metrics:
        metrics, dims = ["signups", "visits"], ["campaign"]
    vocabulary = load_vocabulary()
    outcomes = [m for m in metrics if vocabulary.is_outcome(m)] or [
        m for m in metrics if vocabulary.lookup(m) is None]
    rows: list[tuple[str, str, str, str]] = []
    m1 = metrics[0]
    rows.append((f"{m1}_arrives", f"count({m1}) >= 1 daily", "yes",
                 _("Yesterday has {metric} data: the export or sync is working.").format(metric=m1)))
    if outcomes:
        o1 = outcomes[0]
        rows.append((f"{o1}_week_over_week", f"change({o1}) >= -20% weekly warn at -10%", "yes",
                     _("{metric} last week fell no more than 20% (warn beyond 10%) against the week before.").format(
                         metric=o1)))
    ratio = next(((vocabulary.lookup(m).outcome, m, vocabulary.lookup(m).target) for m in metrics
                  if vocabulary.lookup(m) is not None and vocabulary.lookup(m).outcome in metrics), None)
    if ratio is not None:
        outcome, activity, target = ratio
        rows.append((f"{outcome}_per_{activity}", f"{outcome} / {activity} >= {target} weekly", "no",
                     _("Of the {activity}, how many became {outcome}. Set the threshold to what a good "
                       "week looks like, then set Enabled to yes.").format(activity=activity, outcome=outcome)))
    if dims and outcomes:
        rows.append((f"{outcomes[0]}_by_{dims[0]}", f"change({outcomes[0]}) >= -30% weekly by {dims[0]}", "no",
                     _("One result per {dimension}: which ones dropped by more than 30%.").format(dimension=dims[0])))
    valid = []
    for row in rows:
        try:
            parse_rule(row[1])
        except KpiError:
            continue  # an odd column name the grammar does not take: leave that example out
        valid.append(row)
    return valid


def rules_tab(raw: RawTable | None, title: str, data: RawTable | None, date_column: str, *,
              sheets: bool = False, formatting: dict | None = None) -> TabPlan:
    """The Rules tab's plan. ``sheets``: the target is a Google Sheet (checkboxes and
    protection); ``formatting``: what the tab already has (``sheet_formatting()``), so that
    nothing is installed twice."""
    if raw is None or not any(h not in (None, "") for h in raw.headers):
        if raw is not None and any(any(c not in (None, "") for c in r) for r in raw.rows):
            raise SourceError(_("the {tab} tab has content but no header row").format(tab=title),
                              hint=_("put the headers Name and Rule in its first row"))
        return _new_rules_tab(title if raw is None else (raw.sheet or title), data, date_column,
                              create=raw is None, sheets=sheets)
    headers = [normalise(h) if h not in (None, "") else "" for h in raw.headers]
    if "rule" not in headers:
        raise SourceError(_("the {tab} tab has no Rule column").format(tab=raw.sheet or title),
                          hint=_("add the headers Name and Rule to its first row, then run init again"))
    tab = TabPlan(title=raw.sheet or title, header_row=raw.header_row)
    cols = locate(raw, ENGINE_COLUMNS)
    header_cells(tab, cols, ENGINE_NOTES, WIDTHS)
    present = (formatting or {}).get("notes")  # None: not known (an xlsx: prune_existing)
    for label, col in cols.at.items():
        note = _(ENGINE_NOTES[label])  # in the sheet's language: a note in another one is replaced
        if label not in cols.added and (present is None or present.get(col) != note):
            tab.notes[(raw.header_row, col)] = note
    # A checkbox already there (a Google Sheet set up before) is kept as it is.
    checkbox = (formatting or {}).get("validations", {}).get(headers.index("enabled") if "enabled" in headers else -1)
    if "enabled" in headers and (checkbox or {}).get("condition", {}).get("type") != "BOOLEAN":
        col = headers.index("enabled")
        tab.validations.append(Validation(col, raw.header_row + 1, raw.header_row + DROPDOWN_ROWS,
                                          ENABLED_VALUES, checkbox=sheets))
        if sheets:
            for index, row in enumerate(raw.rows):
                cell = row[col] if col < len(row) else None
                if isinstance(cell, str) and cell.strip().lower() in ENABLED_WORDS:
                    tab.retyped[(raw.header_row + 1 + index, col)] = ENABLED_WORDS[cell.strip().lower()]
    set_up(tab, cols.at, sheets=sheets, formatting=formatting)
    tab.counts = {"new columns": len(cols.added), "notes": len(tab.notes)}
    return tab


def _new_rules_tab(title: str, data: RawTable | None, date_column: str, *, create: bool,
                   sheets: bool = False) -> TabPlan:
    tab = TabPlan(title=title, create=create, freeze_header=True, freeze_existing=not create)
    labels = USER_COLUMNS + ENGINE_COLUMNS
    for col, label in enumerate(labels):
        note = _(ENGINE_NOTES[label]) if label in ENGINE_NOTES else None
        if label == "Enabled":
            note = (_("Ticked: the rule runs; unticked: it is skipped (its Status shows OFF). yes and no "
                      "work too.") if sheets else _("yes or no: a rule set to no is skipped (its Status shows OFF)."))
        # The engine's columns in the language of the run that writes them (as ``run`` adds
        # them); the user's columns as the rules reader knows them.
        tab.set(1, col, Out(header(label) if label in ENGINE_COLUMNS else label, HEADER, note=note))
        tab.widths[col] = USER_WIDTHS.get(label) or WIDTHS[label]
    examples = example_rules(data, date_column)
    for i, (name, rule, enabled, description) in enumerate(examples):
        switch: str | bool = ENABLED_WORDS[enabled] if sheets else enabled
        for col, value in enumerate((name, rule, switch, None, description)):
            if value is not None:
                # No wrapping: a wrapped description grows its row in Sheets and spills
                # over the next row in programs that keep row heights (Excel, LibreOffice).
                tab.set(2 + i, col, Out(value))
    tab.validations.append(Validation(USER_COLUMNS.index("Enabled"), 2, 1 + DROPDOWN_ROWS, ENABLED_VALUES,
                                      checkbox=sheets))
    set_up(tab, {label: len(USER_COLUMNS) + i for i, label in enumerate(ENGINE_COLUMNS)}, sheets=sheets,
           formatting=None)
    tab.counts = {"example rules": len(examples)}
    return tab


def simple_tab(raw: RawTable | None, title: str, labels, notes, widths) -> TabPlan:
    """History or Alerts: created with headers and notes, or given the headers it lacks."""
    refuse_foreign(raw, title, labels)
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
              date_column: str = "date", has_data_tab: bool = True, sheets: bool = False,
              formatting: dict[str, dict] | None = None) -> WritePlan:
    """The writes that set a source up. ``tabs`` maps each wanted tab name to what was read
    (None: the tab does not exist); ``sheets`` and ``formatting`` as for ``rules_tab``
    (formatting keyed by tab title)."""
    from kpirules.writeback.runner import SETTINGS_TAB, settings_tab_plan

    plan = WritePlan()
    data = tabs.get(data_tab_name)
    if not has_data_tab:
        plan.tabs.append(data_tab(data_tab_name))
    rules_raw = tabs.get(rules_tab_name)
    found = _formatting_of(formatting, rules_raw.sheet if rules_raw is not None and rules_raw.sheet else rules_tab_name)
    plan.tabs.append(rules_tab(rules_raw, rules_tab_name, data, date_column, sheets=sheets, formatting=found))
    plan.tabs.append(simple_tab(tabs.get(history_tab_name), history_tab_name, HISTORY_COLUMNS,
                                HISTORY_NOTES, HISTORY_WIDTHS))
    plan.tabs.append(simple_tab(tabs.get(alerts_tab_name), alerts_tab_name, ALERT_COLUMNS,
                                ALERT_NOTES, ALERT_WIDTHS))
    if tabs.get(SETTINGS_TAB) is None:
        plan.tabs.append(settings_tab_plan())
    return plan


def speak_as_the_workbook(asked: str | None, settings_tab: RawTable | None, locale: str | None = None) -> str:
    """The language ``init`` writes its headers, notes and example comment in, and says what
    it did in: it has no ``--lang`` of its own (docs/spec/cli.md), so the settings decide:
    a settings file's ``language`` (``asked``), else the workbook's Settings tab's, else the
    Google Sheet's locale, else English. A Settings tab ``init`` cannot read leaves English
    (its problems are ``run``'s to report)."""
    from types import SimpleNamespace

    from kpirules.i18n import resolve

    if not asked and settings_tab is not None:
        from kpirules.config import SETTING_NAMES
        from kpirules.config_sources import tab_layer

        try:
            asked = tab_layer(settings_tab, settings_tab.sheet or "Settings", known=SETTING_NAMES).data.get("language")
        except (ValueError, SourceError):
            asked = None
    return resolve(None, SimpleNamespace(language=asked if isinstance(asked, str) else None),
                   SimpleNamespace(locale=locale))


def _formatting_of(formatting: dict[str, dict] | None, title: str) -> dict | None:
    if not formatting:
        return None
    return next((v for k, v in formatting.items() if k.strip().casefold() == title.strip().casefold()), None)


def init(source: str, *, dry_run: bool = False, config: str | None = None, data_tab_name: str | None = None,
         rules_tab_name: str | None = None, connector: str | None = None, **options) -> WritePlan:
    """Set ``source`` (an .xlsx path, new or existing, or a Google Sheet) up; returns the
    plan that was carried out (or, with ``dry_run``, would be)."""
    import os

    from kpirules.config import load_settings
    from kpirules.connectors import open_source
    from kpirules.connectors.base import SHEET_FORMATTING, WRITE_SHEET, capabilities
    from kpirules.writeback.runner import SETTINGS_TAB

    settings = load_settings(config)
    check_tab_names(settings.model_copy(update={"data_tab": data_tab_name or settings.data_tab,
                                                "rules_tab": rules_tab_name or settings.rules_tab}), config)
    names = dict(data_tab_name=data_tab_name or settings.data_tab, rules_tab_name=rules_tab_name or settings.rules_tab,
                 history_tab_name=settings.history_tab, alerts_tab_name=settings.alerts_tab)
    wanted = (names["data_tab_name"], names["rules_tab_name"], names["history_tab_name"],
              names["alerts_tab_name"], SETTINGS_TAB)
    is_xlsx = connector == "xlsx" or (connector is None and source.lower().endswith((".xlsx", ".xlsm")))
    if is_xlsx:
        return _init_xlsx(source, wanted, names, settings.date_column, dry_run=dry_run, language=settings.language)
    conn = open_source(source, connector=connector, **options)
    if WRITE_SHEET not in capabilities(conn):
        raise SourceError(_("`kpirules init` sets up an .xlsx workbook or a Google Sheet, not {source}").format(
            source=without_passwords(source)),
            hint=_("for a CSV file, write the rules in a .kpi file and use `kpirules check`"))
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
    speak_as_the_workbook(settings.language, tabs.get(SETTINGS_TAB), getattr(wb, "locale", None))
    formatting = None
    if SHEET_FORMATTING in capabilities(conn):
        rules = wb.rules  # its header row's notes too, when the tab is there
        formatting = conn.sheet_formatting({rules.sheet: rules.header_row} if rules is not None and rules.sheet
                                           else None)
    plan = init_plan(tabs, **names, date_column=settings.date_column, has_data_tab=has_data, sheets=True,
                     formatting=formatting)
    if not dry_run and not plan.empty:
        from kpirules.writeback import sheets

        sheets.write(conn, plan)
    return plan


def _init_xlsx(path: str, wanted: tuple[str, ...], names: dict, date_column: str, *,
               dry_run: bool, language: str | None = None) -> WritePlan:
    import contextlib

    from kpirules.connectors.xlsx_file import read_tab
    from kpirules.writeback import xlsx
    from kpirules.writeback.lock import file_lock

    if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        raise SourceError(_("no such folder for {path}").format(path=path))
    # Under the lock, so that two inits (or an init and a run) never both create the file.
    with contextlib.nullcontext() if dry_run else file_lock(path):
        if not os.path.exists(path):
            from openpyxl import Workbook

            speak_as_the_workbook(language, None)
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
        speak_as_the_workbook(language, tabs[wanted[-1]])
        plan = init_plan(tabs, **names, date_column=date_column, has_data_tab=tabs[wanted[0]] is not None)
        xlsx.prune_existing(wb, plan)
        if not dry_run and not plan.empty:
            cached = xlsx.formula_values(path, wb)
            xlsx.apply(wb, plan)
            xlsx.save_atomic(wb, path, cached)
        return plan
