"""``/v1/evaluate`` and ``/v1/validate``: the engine on tab values sent in the request.

Stateless and credential-free: the add-on reads the Rules, Data (and Settings) tabs with
SpreadsheetApp, sends their values, and writes the cells this answers itself. The cells are
exactly those ``kpirules run`` writes into the Rules tab (Status, Value, Target, Period,
Checked, Message, and the headers it adds), because they come from the same plan
(``writeback.runner.evaluate_and_plan``); only where they go differs.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from kpirules.connectors.base import RawTable, Workbook, a1
from kpirules.serve.payload import (
    as_of,
    config_error,
    expect_object,
    grid,
    source_error,
    text,
    usage,
)

EVALUATE_FIELDS = {"rules", "data", "settings", "as_of", "locale", "time_zone", "rules_tab", "data_tab"}
VALIDATE_FIELDS = {"rules", "headers", "locale"}
MAX_VALIDATE_RULES = 2000
MAX_ROW = 10_000_000  # a Google Sheet holds at most ten million cells


def _table(rows: list[list[Any]], sheet: str) -> RawTable:
    return RawTable(headers=list(rows[0]), rows=[list(r) for r in rows[1:]], sheet=sheet)


def evaluate_tabs(body: Any, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """The ``check --format json`` document for the tabs in ``body``, plus ``cells`` (what
    to write into the Rules tab) and ``rules`` (one line per rule, for the sidebar)."""
    from kpirules.config import ConfigError, load_settings
    from kpirules.errors import SourceError
    from kpirules.i18n import resolve
    from kpirules.source import now as sheet_now
    from kpirules.writeback.runner import evaluate_and_plan

    body = expect_object(body, EVALUATE_FIELDS)
    rules_tab = text(body, "rules_tab", limit=100) or "Rules"
    data_tab = text(body, "data_tab", limit=100) or "Data"
    rules = grid(body, "rules", required=True)
    data = grid(body, "data", required=True)
    settings_rows = grid(body, "settings", required=False)
    zone = text(body, "time_zone", limit=64)
    if zone is not None:
        _check_zone(zone)
    day = as_of(body)  # every problem with the request before the sheet's language is chosen
    assert data is not None and rules is not None  # grid() raises for a missing required tab
    wb = Workbook(data=_table(data, data_tab), rules=_table(rules, rules_tab), timezone=zone,
                  locale=text(body, "locale", limit=32), tabs=[data_tab, rules_tab])
    try:
        # As for /v1/check: the Settings tab over the service's kpirules.toml, if any.
        settings = load_settings(None, tab=_table(settings_rows, "Settings") if settings_rows else None)
        resolve(None, settings, wb)  # the setting, else the sheet's locale: before the rules are parsed
        current = now or sheet_now(settings, wb)
        outcome = evaluate_and_plan(wb, settings, as_of=day or current.date(), now=current, restate=0)
    except ConfigError as exc:
        raise config_error(exc) from None
    except SourceError as exc:
        raise source_error(exc) from None
    document = outcome.report.to_json()
    document["exit_status"] = outcome.exit_status
    document["rules_tab"] = rules_tab
    document["cells"] = plan_cells(outcome.plan.tabs[0])
    header_row = wb.rules.header_row if wb.rules is not None else 1
    document["rules"] = [rule_line(s, header_row) for s in outcome.summaries]
    return document


def _check_zone(zone: str) -> None:
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(zone)
    except Exception:  # noqa: BLE001 - unknown name or no tz database
        from kpirules.i18n import _

        raise usage(_("unknown time zone {zone}").format(zone=repr(zone)),
                    hint=_("an IANA name such as Europe/Warsaw")) from None


def plan_cells(tab: Any) -> list[dict[str, Any]]:
    """The Rules-tab plan as cells to write: 1-based row and column (``Range``'s), the A1
    reference, the value (text stays text: the add-on writes it as text, never a formula)
    and the number format of numbers."""
    cells = []
    for (row, col), out in sorted(tab.cells.items()):
        cell: dict[str, Any] = {"row": row, "column": col + 1, "a1": a1(None, row, col), "value": out.value}
        if out.style.number_format:
            cell["number_format"] = out.style.number_format
        if out.note:
            cell["note"] = out.note
        cells.append(cell)
    return cells


def rule_line(summary: Any, header_row: int) -> dict[str, Any]:
    """One rule as the sidebar lists it: status (text, not only a colour), the value as the
    cell shows it, target, period, message, and the sheet row to select."""
    from kpirules.format import format_value

    value = summary.value
    shown = value if isinstance(value, str) else ("" if value is None else format_value(value, summary.unit))
    index = summary.entry.row_index
    return {"name": summary.entry.name, "row": None if index is None else header_row + 1 + index,
            "status": summary.status, "value": shown, "target": summary.target, "period": summary.period,
            "message": summary.message}


def validate_rules(body: Any) -> dict[str, Any]:
    """Every problem of every rule, as ``validate`` finds them: category, message, line and
    column within the rule text, the caret line, the suggestion."""
    from kpirules.i18n import _, set_language
    from kpirules.rulesfile import rules_from_table

    body = expect_object(body, VALIDATE_FIELDS)
    locale = text(body, "locale", limit=32)
    if locale:  # the sheet's locale: pl_PL answers in Polish (else the request's language)
        set_language(locale)
    given = body.get("rules")
    if not isinstance(given, list) or not given or len(given) > MAX_VALIDATE_RULES:
        raise usage(_("'rules' must be a list of 1 to {most} objects {shape}").format(
            most=MAX_VALIDATE_RULES, shape='{"name": ..., "rule": ...}'))
    rows = []
    for i, item in enumerate(given):
        if (not isinstance(item, dict) or set(item) - {"name", "rule", "row"}
                or not isinstance(item.get("rule"), str) or not isinstance(item.get("name", ""), (str, type(None)))):
            raise usage(_("{item} must be an object with a text 'rule' (and a 'name')").format(item=f"rules[{i}]"))
        if "row" in item:
            _check_row(item["row"], i)
        rows.append([item.get("name") or f"rule {i + 1}", item["rule"]])
    headers = body.get("headers")
    if headers is not None and (not isinstance(headers, list) or not all(isinstance(h, (str, type(None)))
                                                                        for h in headers)):
        raise usage(_("'headers' must be a list of the data tab's column names"))
    entries = rules_from_table(RawTable(headers=["Name", "Rule"], rows=rows, sheet=None))
    by_index = {e.row_index: e for e in entries}
    out = []
    for i, item in enumerate(given):
        entry = by_index.get(i)
        problems = _problems(entry, headers) if entry is not None else []
        line = {"name": rows[i][0], "ok": not problems, "problems": problems}
        if "row" in item:
            line["row"] = item["row"]
        out.append(line)
    return {"rules": out, "problems": sum(len(r["problems"]) for r in out),
            "exit_status": 1 if any(r["problems"] for r in out) else 0}


def _check_row(row: Any, i: int) -> None:
    """``row`` locates the rule in the caller's sheet and is answered back: only a sheet's
    row number, never any other JSON the caller sent (the answer reflects no input it
    does not need)."""
    if isinstance(row, bool) or not isinstance(row, int) or not 1 <= row <= MAX_ROW:
        from kpirules.i18n import _

        raise usage(_("{item} must be the rule's row number in the sheet, 1 to {most}").format(
            item=f"rules[{i}].row", most=f"{MAX_ROW:,}"))


def _problems(entry: Any, headers: list[str | None] | None) -> list[dict[str, Any]]:
    from kpirules.resolve import check_names
    from kpirules.writeback.summary import error_text

    found = [entry.problem] if entry.problem else []
    if not found and headers is not None and entry.rule is not None:
        found = list(check_names(entry.rule, [h for h in headers if h]))
    problems = []
    for p in found:
        item = p.to_json()
        item.pop("cell", None)  # a position in the request, not in any sheet
        item["width"] = p.width
        item["caret"] = p.caret()
        item["text"] = error_text(p)
        problems.append(item)
    return problems
