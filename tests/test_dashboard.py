"""History's real dates and the Dashboard tab, on a real .xlsx (openpyxl reads back what was
written) and on the Sheets emulator (the real connector over HTTP, formulas evaluated).

``tests/data/history-0.1.0.xlsx`` is a workbook written by kpirules 0.1.0's ``run`` (as of
2026-11-19): its History has period dates as ISO text. A run of today's version must update
those rows, not add them again.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from test_run_common import AS_OF, history_keys

from kpirules.cli.main import cli

DATA = Path(__file__).resolve().parent / "data"
REF = re.compile(r"^='((?:[^']|'')+)'!([A-Z]+)(\d+)$")
SPARK = re.compile(r"^=SPARKLINE\(([A-Z]+)(\d+):([A-Z]+)(\d+)\)$")


def run(source, *args):
    return CliRunner().invoke(cli, ["run", str(source), "--as-of", AS_OF.isoformat(), "--no-notify", *args])


@pytest.fixture
def old_book(tmp_path) -> Path:
    path = tmp_path / "kpis.xlsx"
    shutil.copy(DATA / "history-0.1.0.xlsx", path)
    return path


def rows_of(path, title, data_only=False):
    return [list(r) for r in openpyxl.load_workbook(path, data_only=data_only)[title].iter_rows(values_only=True)]


def test_a_history_written_by_0_1_0_is_updated_with_real_dates_and_no_duplicate_keys(old_book):
    before = history_keys(rows_of(old_book, "History"))
    assert all(isinstance(k[2], str) for k in before) and len(before) == 16
    assert run(old_book).exit_code == 1
    assert run(old_book).exit_code == 1  # and again: still one row per key
    after = history_keys(rows_of(old_book, "History"))
    assert len(after) == len(set(after))
    assert set(before) <= set(after) and len(after) > len(before)
    ws = openpyxl.load_workbook(old_book)["History"]
    head = [c.value for c in ws[1]]
    start, end, value, checked = (head.index(h) + 1 for h in ("Period start", "Period end", "Value", "Checked at"))
    assert any(ws.cell(row, checked).value == "2026-11-19 07:00" for row in range(2, ws.max_row + 1))
    for row in range(2, ws.max_row + 1):  # also the 0.1.0 rows this run did not re-evaluate
        for col in (start, end):
            cell = ws.cell(row, col)
            assert isinstance(cell.value, dt.datetime) and cell.number_format == "yyyy-mm-dd", (row, cell.value)
    rule = head.index("Rule") + 1
    formats = {ws.cell(r, rule).value: ws.cell(r, value).number_format for r in range(2, ws.max_row + 1)}
    assert formats["conversion"] == "0.00%" and formats["daily_visits"] == "#,##0"  # like the thresholds


def dashboard_lines(rows):
    head = rows[0]
    return head, [r for r in rows[1:] if r and r[0]]


def test_the_dashboard_on_xlsx_references_history_in_period_order_with_a_chart_per_rule(old_book):
    assert run(old_book).exit_code == 1
    assert run(old_book).exit_code == 1  # rewritten, not appended to; charts replaced, not piled up
    formulas = rows_of(old_book, "Dashboard")
    cached = rows_of(old_book, "Dashboard", data_only=True)
    history = rows_of(old_book, "History", data_only=True)
    h = history[0]
    head, lines = dashboard_lines(formulas)
    assert head[:8] == ["Rule", "Segment", "Trend", "Last value", "Target", "Change", "Status", "Period"]
    assert [(r[0], r[1]) for r in lines] == [
        ("conversion", None), ("by_campaign", "campaign=search_brand"),
        ("by_campaign", "campaign=social_prospect"), ("daily_visits", None)]
    for i, line in enumerate(lines):
        refs = [REF.match(c) for c in line[8:] if c is not None]
        assert refs and all(refs), line
        periods = []
        for k, m in enumerate(refs):
            assert m[1] == "History" and m[2] == "F"  # History's Value column
            target = history[int(m[3]) - 1]
            assert target[h.index("Rule")] == line[0] and (target[h.index("Segment")] or None) == line[1]
            periods.append(str(target[h.index("Period start")])[:10])
            assert cached[i + 1][8 + k] == pytest.approx(target[h.index("Value")])  # cached result
        assert periods == sorted(periods) and len(set(periods)) == len(periods)
        assert re.fullmatch(r"[▁▂▃▄▅▆▇█ ]+", line[2])  # Excel has no SPARKLINE: a text one
        assert line[6] in ("PASS", "WARN", "FAIL")
    ws = openpyxl.load_workbook(old_book)["Dashboard"]
    assert ws["G2"].fill.fgColor.rgb.endswith("FFE599")  # WARN's colour
    assert [c.title.tx.rich.p[0].r[0].t for c in ws._charts] == ["conversion", "by_campaign", "daily_visits"]
    assert len(ws._charts[1].series) == 2  # a rule's segments are its chart's series


def test_a_dashboard_tab_of_the_users_is_left_alone(old_book):
    wb = openpyxl.load_workbook(old_book)
    wb.create_sheet("Dashboard").append(["Our board", "Q4"])
    wb.save(old_book)
    assert run(old_book).exit_code == 1
    assert rows_of(old_book, "Dashboard") == [["Our board", "Q4"]]


# --- Google Sheets (emulator) --------------------------------------------------------------

KEY = "1KpiRulesDashboardSheet0123456789abcdefghij"


@pytest.fixture
def emulator(monkeypatch):
    from kpirules_emulator.sheets import SheetsEmulator

    with SheetsEmulator() as emu:
        monkeypatch.setenv("KPIRULES_SHEETS_EMULATOR_HOST", emu.host)
        yield emu


def sheet_from(emu, book: Path, settings=None):
    emu.add_spreadsheet_from_xlsx(book, KEY, time_zone="Europe/Warsaw")
    if settings:
        import openpyxl as ox

        wb = ox.load_workbook(book)
        if "Settings" in wb.sheetnames:
            del wb["Settings"]
        ws = wb.create_sheet("Settings")
        ws.append(["Key", "Value"])
        for k, v in settings.items():
            ws.append([k, v])
        wb.save(book)
        emu.add_spreadsheet_from_xlsx(book, KEY, time_zone="Europe/Warsaw")


def test_the_dashboard_on_sheets_is_sparklines_over_history_references_in_one_write(emulator, old_book):
    sheet_from(emulator, old_book)
    assert run(KEY).exit_code == 1
    emulator.reset_requests()
    assert run(KEY).exit_code == 1
    # A run's budget (docs/running.md): one read, then the results with the lease (taken and
    # given back: no channel, nothing to send). The Dashboard rides in that write.
    calls = emulator.requests()
    assert [e["api"] for e in calls] == ["spreadsheets.get", "spreadsheets.batchUpdate"]
    board_id = emulator.sheet_properties(KEY, "Dashboard")["sheetId"]
    writes_to_board = [f'"sheetId": {board_id},' in json.dumps(e["body"]) or f'"sheetId": {board_id}}}' in json.dumps(e["body"])
                       for e in calls[1:]]
    assert writes_to_board == [True]
    history = emulator.values(KEY, "History")
    keys = history_keys(history)
    assert len(keys) == len(set(keys))  # the 0.1.0 text dates and today's date cells are one key
    start = emulator.cell(KEY, "History", "C2")
    assert start["userEnteredFormat"]["numberFormat"] == {"type": "DATE", "pattern": "yyyy-mm-dd"}
    values = emulator.values(KEY, "Dashboard")
    _head, lines = dashboard_lines(values)
    assert len(lines) == 4
    for n, line in enumerate(lines, start=2):
        trend = emulator.cell(KEY, "Dashboard", f"C{n}")["userEnteredValue"]["formulaValue"]
        m = SPARK.match(trend)
        assert m and m[1] == "I" and m[2] == m[4] == str(n), trend
        last = ord(m[3]) - ord("I")
        for k in range(last + 1):
            ref = emulator.cell(KEY, "Dashboard", f"{chr(ord('I') + k)}{n}")["userEnteredValue"]["formulaValue"]
            got = REF.match(ref)
            assert got and got[1] == "History", ref
            row = history[int(got[3]) - 1]
            assert row[0] == line[0]
            assert line[8 + k] == pytest.approx(row[5])  # the emulator evaluated the reference


HOSTILE = ['History\'!A1),IMPORTXML("http://evil.example/x","//a"),(\'', "History\n=1+1", "[History]",
           "'History", "History'"]


@pytest.mark.parametrize("name", HOSTILE)
def test_a_history_tab_name_that_cannot_be_quoted_safely_gets_no_formula(emulator, old_book, name):
    sheet_from(emulator, old_book, settings={"history_tab": name})
    result = run(KEY)
    assert result.exit_code == 1, result.output
    doc = emulator.spreadsheet(KEY)
    board = next(s for s in doc["sheets"] if s["properties"]["title"] == "Dashboard")
    cells = [c for r in board["data"][0].get("rowData", []) for c in r.get("values", [])]
    assert not any("formulaValue" in c.get("userEnteredValue", {}) for c in cells)
    assert cells[0]["userEnteredValue"]["stringValue"].startswith("No Dashboard: the History tab's name")


def test_an_apostrophe_in_the_history_tab_name_is_doubled_inside_the_quotes(emulator, old_book):
    name = "Mike's ) history, =1+1"
    sheet_from(emulator, old_book, settings={"history_tab": name})
    assert run(KEY).exit_code == 1
    ref = emulator.cell(KEY, "Dashboard", "I2")["userEnteredValue"]["formulaValue"]
    m = REF.match(ref)
    assert m and m[1].replace("''", "'") == name
    value = emulator.values(KEY, "Dashboard")[1][8]
    assert isinstance(value, float)  # the reference resolved to the History cell, nothing else ran


def test_quoted_tab():
    from kpirules.writeback.dashboard import UnsafeTabName, quoted_tab

    assert quoted_tab("History") == "'History'"
    assert quoted_tab("Mike's") == "'Mike''s'"
    for bad in ["", "a\tb", "a/b", "a:b", "x" * 101, "'", "a]b"]:
        with pytest.raises(UnsafeTabName):
            quoted_tab(bad)


def test_dashboard_references_survive_history_rows_deleted_in_the_same_write(old_book):
    wb = openpyxl.load_workbook(old_book)
    ws = wb["History"]
    ws.append([c.value for c in ws[2]])  # the same key twice, as two racing runs leave it
    wb.save(old_book)
    assert run(old_book).exit_code == 1
    history = rows_of(old_book, "History", data_only=True)
    keys = history_keys(history)
    assert len(keys) == len(set(keys))  # the duplicate went
    h = history[0]
    _head, lines = dashboard_lines(rows_of(old_book, "Dashboard"))
    for line in lines:
        for ref in (REF.match(c) for c in line[8:] if c is not None):
            target = history[int(ref[3]) - 1]
            assert target[h.index("Rule")] == line[0] and (target[h.index("Segment")] or None) == line[1]


def test_dashboard_references_on_sheets_follow_history_rows_deleted_in_the_same_write(emulator, old_book):
    # The Dashboard is written before the deletes of the same batch; Google moves the
    # references to History when the rows above them go (the emulator does it as Google
    # does: kpirules_emulator.sheets_refs). Each trend cell must still read its own row.
    wb = openpyxl.load_workbook(old_book)
    ws = wb["History"]
    ws.insert_rows(2)  # the same key twice, at the top, as two racing runs leave it
    for col, cell in enumerate(ws[3], start=1):
        ws.cell(2, col, cell.value)
    wb.save(old_book)
    sheet_from(emulator, old_book)
    assert run(KEY).exit_code == 1
    history = emulator.values(KEY, "History")
    keys = history_keys(history)
    assert len(keys) == len(set(keys))  # the duplicate went: every row below moved up one
    h = history[0]
    shown = emulator.values(KEY, "Dashboard")
    checked = 0
    for r, line in enumerate(shown[1:], start=2):
        if not line or not line[0]:
            continue
        for c in range(8, len(line)):
            cell = emulator.cell(KEY, "Dashboard", f"{chr(65 + c)}{r}")
            ref = REF.match(cell.get("userEnteredValue", {}).get("formulaValue", ""))
            if ref is None:
                continue
            target = history[int(ref[3]) - 1]
            assert target[h.index("Rule")] == line[0] and (target[h.index("Segment")] or None) == line[1]
            assert line[c] == pytest.approx(target[h.index("Value")])
            checked += 1
    assert checked > 10


def test_the_emulator_moves_references_as_google_does():
    from kpirules_emulator.sheets_refs import REF_ERROR, _shift_formula

    def shift(text, start, delta, dimension="ROWS", own=False, title="History"):
        return _shift_formula(text, own, title, dimension, start, delta)

    assert shift("='History'!F17", 1, -3) == "='History'!F14"  # rows 2-4 deleted
    assert shift("='History'!F3", 1, -3) == "=" + REF_ERROR  # its own row went
    assert shift("=SUM(History!F2:F10)", 3, -2) == "=SUM(History!F2:F8)"  # rows inside a range
    assert shift("=SUM(History!F2:F3)", 1, -2) == "=SUM(#REF!)"
    assert shift('=SUM(F2:F10)&"F5"', 4, 2, own=True) == '=SUM(F2:F12)&"F5"'  # text is text
    assert shift("=F$17+$G$2", 3, 5, own=True) == "=F$22+$G$2"
    assert shift("=SUM(F2:F10)", 10, 1, own=True) == "=SUM(F2:F10)"  # inserted right below it
    assert shift("=Other!F17", 3, 5, own=True) == "=Other!F17"
    assert shift("=SUM(A:C)", 0, 5, own=True) == "=SUM(A:C)"
    assert shift("=SUM(A:C)+D4", 1, -1, "COLUMNS", own=True) == "=SUM(A:B)+C4"
    assert shift("=F17", 1, -3) == "=F17"  # a bare reference on another tab
