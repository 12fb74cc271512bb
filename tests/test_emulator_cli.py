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
