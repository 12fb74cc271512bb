"""Formatted values follow the spreadsheet locale and number formats, as in Sheets."""

from __future__ import annotations

import datetime as dt

import pytest
from gspread.utils import ValueInputOption, ValueRenderOption

NBSP = "\u00a0"


def number(value, pattern, kind="NUMBER"):
    return {"userEnteredValue": {"numberValue": value},
            "userEnteredFormat": {"numberFormat": {"type": kind, "pattern": pattern}}}


ROW = [number(1234.56, "#,##0.00"), 1234.5, number(0.125, "0.0%", "PERCENT"),
       dt.date(2026, 3, 1), True, number(1234.5, '"$"#,##0.00', "CURRENCY"),
       number(-1234567, "#,##0;(#,##0)")]


@pytest.mark.parametrize("locale,expected", [
    ("en_US", ["1,234.56", "1234.5", "12.5%", "3/1/2026", "TRUE", "$1,234.50",
               "(1,234,567)"]),
    ("pl_PL", [f"1{NBSP}234,56", "1234,5", "12,5%", "1.03.2026", "PRAWDA",
               f"${'1'}{NBSP}234,50", f"(1{NBSP}234{NBSP}567)"]),
    ("de_DE", ["1.234,56", "1234,5", "12,5%", "1.3.2026", "WAHR", "$1.234,50",
               "(1.234.567)"]),
])
def test_formatted_values_by_locale(sheet_from_rows, gspread_client, locale, expected):
    sheet_from_rows([ROW], locale=locale)
    ws = gspread_client.open_by_key("kpis").sheet1
    assert ws.get_all_values() == [expected]
    # The same cells unformatted are locale-free numbers.
    assert ws.get_all_values(value_render_option=ValueRenderOption.unformatted)[0][:4] == [
        1234.56, 1234.5, 0.125, 46082]


def test_formatted_value_in_grid_data(sheets_emulator, sheet_from_rows, gspread_client):
    sheet_from_rows([ROW], locale="pl_PL")
    meta = gspread_client.open_by_key("kpis").fetch_sheet_metadata({
        "ranges": "Data!A1:D1",
        "fields": "properties.locale,sheets.data.rowData.values(effectiveValue,formattedValue)"})
    assert meta["properties"] == {"locale": "pl_PL"}
    cells = meta["sheets"][0]["data"][0]["rowData"][0]["values"]
    assert cells[0] == {"effectiveValue": {"numberValue": 1234.56},
                        "formattedValue": f"1{NBSP}234,56"}
    assert cells[3] == {"effectiveValue": {"numberValue": 46082}, "formattedValue": "1.03.2026"}
    assert sheets_emulator.cell("kpis", "Data", "D1")["userEnteredFormat"] == {
        "numberFormat": {"type": "DATE", "pattern": "d.MM.yyyy"}}


def test_user_entered_text_is_parsed_in_the_locale(sheets_emulator, sheet_from_rows,
                                                   gspread_client):
    sheet_from_rows([[]], locale="pl_PL")
    ws = gspread_client.open_by_key("kpis").sheet1
    ws.update([["1234,56", f"1{NBSP}234,5", "12,5%", "2.01.2026", "1.5", "prawda"]], "A1",
              value_input_option=ValueInputOption.user_entered)
    assert sheets_emulator.values("kpis", "Data") == [
        [1234.56, 1234.5, 0.125, 46024, "1.5", True]]  # "1.5" is not a Polish number
    assert ws.get("A1:C1")[0] == ["1234,56", f"1{NBSP}234,50", "12,5%"]


def test_dates_render_as_serials_or_strings(sheet_from_rows, gspread_client):
    sheet_from_rows([[dt.datetime(2026, 3, 1, 14, 30), dt.date(2026, 3, 1)]],
                    locale="en_GB", time_zone="Europe/London")
    sh = gspread_client.open_by_key("kpis")
    assert sh.timezone == "Europe/London"
    ws = sh.sheet1
    assert ws.get("A1:B1")[0] == ["01/03/2026 14:30:00", "01/03/2026"]
    assert ws.get("A1:B1", value_render_option=ValueRenderOption.unformatted)[0] == [
        46082.604166666664, 46082]
    assert ws.get("A1:B1", value_render_option=ValueRenderOption.unformatted,
                  date_time_render_option="FORMATTED_STRING")[0] == [
        "01/03/2026 14:30:00", "01/03/2026"]


def test_errors_and_formulas_format_like_sheets(sheets_emulator, sheet_from_rows,
                                                gspread_client):
    sheet_from_rows([[1, 0, "=A1/B1", "=NOSUCH(1)", '="a"&A1', "=1+"]])
    ws = gspread_client.open_by_key("kpis").sheet1
    assert ws.get_all_values()[0][2:] == ["#DIV/0!", "#NAME?", "a1", "#ERROR!"]
    assert sheets_emulator.cell("kpis", "Data", "C1")["effectiveValue"] == {
        "errorValue": {"type": "DIVIDE_BY_ZERO",
                       "message": "Function DIVIDE parameter 2 cannot be zero."}}
    assert sheets_emulator.cell("kpis", "Data", "D1")["effectiveValue"]["errorValue"] == {
        "type": "NAME", "message": "Unknown function: 'nosuch'."}
