"""xlsx workbooks served as spreadsheets: ``python -m kpirules_emulator`` and
``add_spreadsheet_from_xlsx``."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import gspread
import openpyxl
import pytest
from google.oauth2 import service_account
from gspread.utils import ValueRenderOption
from openpyxl.comments import Comment

from kpirules_emulator.sheets import ENV_VAR, gspread_client_for


@pytest.fixture
def workbook(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    ws.append(["Date", "Visits", "Revenue", "Share"])
    ws.append([dt.date(2026, 1, 2), 120, 1234.5, 0.25])
    ws.append([dt.datetime(2026, 1, 3, 12, 0), 80, 99.0, 0.5])
    ws.append(["Total", "=SUM(B2:B3)", None, None])
    ws["C2"].number_format = "#,##0.00"
    ws["D2"].number_format = "0%"
    ws["A1"].comment = Comment("when the visit happened", "me")
    rules = wb.create_sheet("Rules")
    rules.append(["Rule"])
    rules.append(["visits > 100"])
    hidden = wb.create_sheet("Scratch")
    hidden.sheet_state = "hidden"
    path = tmp_path / "kpi-book.xlsx"
    wb.save(path)
    return path


def test_an_xlsx_file_becomes_a_spreadsheet(sheets_emulator, workbook):
    key = sheets_emulator.add_spreadsheet_from_xlsx(workbook, locale="pl_PL",
                                                    time_zone="Europe/Warsaw")
    assert key == "kpi-book"
    sh = gspread_client_for(sheets_emulator.host).open_by_key(key)
    assert (sh.title, sh.locale, sh.timezone) == ("kpi-book", "pl_PL", "Europe/Warsaw")
    assert [w.title for w in sh.worksheets()] == ["Data", "Rules", "Scratch"]
    assert sheets_emulator.sheet_properties(key, "Scratch")["hidden"] is True
    data = sh.worksheet("Data")
    assert data.get_all_values(value_render_option=ValueRenderOption.unformatted) == [
        ["Date", "Visits", "Revenue", "Share"], [46024, 120, 1234.5, 0.25],
        [46025.5, 80, 99, 0.5], ["Total", 200, "", ""]]
    assert data.get_all_values(value_render_option=ValueRenderOption.formula)[3][1] == \
        "=SUM(B2:B3)"
    # openpyxl saved the date as "yyyy-mm-dd": the file's own format is kept.
    assert data.get("A2:D2")[0] == ["2026-01-02", "120", "1\u00a0234,50", "25%"]
    assert sheets_emulator.cell(key, "Data", "A2")["userEnteredFormat"]["numberFormat"][
        "type"] == "DATE"
    assert sheets_emulator.cell(key, "Data", "A1")["note"] == "when the visit happened"


def test_the_command_line_serves_workbooks(workbook, tmp_path):
    second = tmp_path / "other.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["x"])
    wb.save(second)
    proc = subprocess.Popen(
        [sys.executable, "-m", "kpirules_emulator", "--port", "0", "--workbook",
         str(workbook), "--workbook", str(second), "--locale", "pl_PL", "--time-zone",
         "Europe/Warsaw", "--auth", "--write-service-account", str(tmp_path / "sa.json")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = proc.stdout.readline()
        assert banner.startswith("Sheets API emulator on http://127.0.0.1:"), \
            banner + proc.stderr.read() if proc.poll() is not None else banner
        host = banner.split(f"{ENV_VAR}=")[1].rstrip(")\n ")
        lines = [proc.stdout.readline() for _ in range(3)]
        assert any("sa.json" in line for line in lines), lines
        with pytest.raises(gspread.exceptions.APIError) as err:  # --auth: a token is needed
            gspread_client_for(host).open_by_key("kpi-book")
        assert err.value.code == 401
        creds = service_account.Credentials.from_service_account_file(
            str(tmp_path / "sa.json"), scopes=["https://www.googleapis.com/auth/spreadsheets"])
        gc = gspread_client_for(host, creds)
        sh = gc.open_by_key("kpi-book")
        assert sh.locale == "pl_PL" and sh.timezone == "Europe/Warsaw"
        assert sh.worksheet("Rules").get_all_values() == [["Rule"], ["visits > 100"]]
        assert gc.open_by_key("other").sheet1.get_all_values() == [["x"]]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()


# --- the try-it mode: a line to wait for, --save on exit ------------------------------

def _start(*args: str) -> tuple[subprocess.Popen, str]:
    """The emulator as a user starts it; (process, HOST:PORT) once it says it listens."""
    proc = subprocess.Popen([sys.executable, "-m", "kpirules_emulator", "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("listening on "):
            return proc, line.split()[-1]
    proc.wait(timeout=10)
    raise AssertionError("".join(lines) + proc.stderr.read())


def _stop(proc: subprocess.Popen, sig: int) -> str:
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    return out


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_save_writes_what_clients_changed_back_to_the_workbook(workbook, sig):
    import signal

    workbook.chmod(0o640)
    proc, host = _start("--workbook", str(workbook), "--save")
    try:
        sh = gspread_client_for(host).open_by_key("kpi-book")
        sh.worksheet("Rules").update([["Status"], ["PASS"]], "B1:B2")
        sh.add_worksheet("History", rows=10, cols=3).update([["rule", "value"], ["visits", 120]], "A1")
    finally:
        out = _stop(proc, getattr(signal, sig))
    assert "saved" in out
    assert workbook.stat().st_mode & 0o777 == 0o640  # the file keeps its permissions
    assert [p.name for p in workbook.parent.iterdir() if p.name.startswith(".")] == []
    wb = openpyxl.load_workbook(workbook)
    assert [ws.title for ws in wb.worksheets] == ["Data", "Rules", "Scratch", "History"]
    assert [[c.value for c in row] for row in wb["Rules"].iter_rows()] == [
        ["Rule", "Status"], ["visits > 100", "PASS"]]
    assert [[c.value for c in row] for row in wb["History"].iter_rows()] == [
        ["rule", "value"], ["visits", 120]]
    # What nobody wrote is kept as the file had it: values, formulas, formats, notes.
    data = wb["Data"]
    assert data["A2"].value == dt.datetime(2026, 1, 2) and data["B4"].value == "=SUM(B2:B3)"
    assert data["C2"].number_format == "#,##0.00" and data["A1"].comment.text == "when the visit happened"
    assert wb["Scratch"].sheet_state == "hidden"


def test_without_save_the_workbook_file_is_never_written(workbook):
    import signal

    before = workbook.read_bytes()
    proc, host = _start("--workbook", str(workbook))
    try:
        gspread_client_for(host).open_by_key("kpi-book").worksheet("Rules").update([["x"]], "C1")
    finally:
        _stop(proc, signal.SIGTERM)
    assert workbook.read_bytes() == before


def test_save_leaves_an_unchanged_workbook_alone(workbook):
    import signal

    before = workbook.read_bytes()
    proc, host = _start("--workbook", str(workbook), "--save")
    try:
        gspread_client_for(host).open_by_key("kpi-book").worksheet("Data").get_all_values()
    finally:
        out = _stop(proc, signal.SIGTERM)
    assert "unchanged" in out and workbook.read_bytes() == before


def test_the_readme_lines_work_pasted_together(tmp_path):
    """`python -m kpirules_emulator ... &` then at once `kpirules check`: the check waits
    for the emulator to listen instead of failing while it loads the workbook."""
    import os
    import shutil
    import signal
    import socket
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    book = tmp_path / "marketing.xlsx"
    shutil.copy(root / "examples" / "marketing.xlsx", book)
    with socket.socket() as s:  # a port that was free a moment ago
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    emulator = subprocess.Popen([sys.executable, "-m", "kpirules_emulator", "--port", str(port),
                                 "--workbook", str(book)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        env = {**os.environ, ENV_VAR: f"127.0.0.1:{port}"}
        check = subprocess.run([sys.executable, "-m", "kpirules", "check", "marketing",
                                "--as-of", "2026-11-26"], capture_output=True, text=True,
                               env=env, cwd=tmp_path, timeout=120)
    finally:
        emulator.send_signal(signal.SIGTERM)
        emulator.communicate(timeout=30)
    assert check.returncode in (0, 1), check.stderr  # a verdict, not 3 (source unreachable)
    assert "visit_to_signup" in check.stdout

