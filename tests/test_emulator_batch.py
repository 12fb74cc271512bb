"""spreadsheets.batchUpdate request kinds, all-or-nothing, spreadsheets.get and create,
driven through the real gspread client."""

from __future__ import annotations

import gspread
import pytest

from kpirules_emulator.sheets import emulator_session


@pytest.fixture
def sh(sheet_from_rows, gspread_client):
    sheet_from_rows([["name", "visits"], ["a", 1], ["b", 2], ["c", 3]],
                    tabs={"Rules": [["Rule"], ["visits > 0"]]})
    return gspread_client.open_by_key("kpis")


def batch(sh, *requests, **extra):
    return sh.batch_update({"requests": list(requests), **extra})


def error_message(excinfo) -> str:
    return excinfo.value.response.json()["error"]["message"]


def test_add_sheet_replies_with_its_properties_and_delete_removes_it(sheets_emulator, sh):
    reply = batch(sh, {"addSheet": {"properties": {"title": "History", "index": 1,
                                                   "gridProperties": {"rowCount": 5,
                                                                      "columnCount": 3}}}})
    props = reply["replies"][0]["addSheet"]["properties"]
    assert list(props) == ["sheetId", "title", "index", "sheetType", "gridProperties"]
    assert props["title"] == "History" and props["index"] == 1 and props["sheetId"] > 0
    assert [w.title for w in sh.worksheets()] == ["Data", "History", "Rules"]
    with pytest.raises(gspread.exceptions.APIError) as err:
        batch(sh, {"addSheet": {"properties": {"title": "history"}}})
    assert error_message(err) == ('Invalid requests[0].addSheet: A sheet with the name '
                                  '"history" already exists. Please enter another name.')
    assert batch(sh, {"deleteSheet": {"sheetId": props["sheetId"]}})["replies"] == [{}]
    assert [w.title for w in sh.worksheets()] == ["Data", "Rules"]


def test_one_bad_request_applies_none(sheets_emulator, sh):
    before = sheets_emulator.snapshot("kpis")
    with pytest.raises(gspread.exceptions.APIError) as err:
        batch(sh, {"addSheet": {"properties": {"title": "New"}}},
              {"updateCells": {"start": {"sheetId": 0}, "rows": [
                  {"values": [{"userEnteredValue": {"stringValue": "x"}}]}],
                  "fields": "userEnteredValue"}},
              {"deleteSheet": {"sheetId": 999}})
    assert err.value.code == 400
    assert error_message(err) == "Invalid requests[2].deleteSheet: No sheet with id: 999"
    assert sheets_emulator.snapshot("kpis") == before


def test_hiding_every_sheet_is_refused(sh):
    rules = sh.worksheet("Rules")
    rules.hide()
    with pytest.raises(gspread.exceptions.APIError) as err:
        sh.sheet1.hide()
    assert error_message(err) == ("Invalid requests[0].updateSheetProperties: "
                                  "You can't hide all the sheets in a document.")


def test_update_cells_with_range_clears_masked_fields_it_does_not_cover(sheets_emulator, sh):
    batch(sh, {"updateCells": {
        "range": {"sheetId": 0, "startRowIndex": 1, "endRowIndex": 3,
                  "startColumnIndex": 0, "endColumnIndex": 2},
        "rows": [{"values": [{"userEnteredValue": {"numberValue": 7},
                              "note": "seven"}]}],
        "fields": "userEnteredValue,note"}})
    assert sheets_emulator.values("kpis", "Data") == [["name", "visits"], [7], [], ["c", 3]]
    assert sheets_emulator.cell("kpis", "Data", "A2")["note"] == "seven"


def test_repeat_cell_formats_and_mirrors_colors(sheets_emulator, sh):
    batch(sh, {"repeatCell": {
        "range": {"sheetId": 0, "startRowIndex": 0, "endRowIndex": 1},
        "cell": {"userEnteredFormat": {"backgroundColor": {"red": 1.0, "green": 0.0,
                                                           "blue": 0.4980392156862745},
                                       "textFormat": {"bold": True}}},
        "fields": "userEnteredFormat(backgroundColor,textFormat)"}})
    for ref in ("A1", "Z1"):
        fmt = sheets_emulator.cell("kpis", "Data", ref)["userEnteredFormat"]
        # Stored as Google echoes it: float32, zero channels dropped, the Style twin added.
        assert fmt == {"backgroundColor": {"red": 1, "blue": 0.49803922},
                       "textFormat": {"bold": True},
                       "backgroundColorStyle": {"rgbColor": {"red": 1, "blue": 0.49803922}}}
    assert sheets_emulator.cell("kpis", "Data", "A1")["formattedValue"] == "name"


def test_append_cells_adds_rows_after_the_data(sheets_emulator, sh):
    batch(sh, {"appendCells": {"sheetId": 0, "fields": "userEnteredValue", "rows": [
        {"values": [{"userEnteredValue": {"stringValue": "d"}},
                    {"userEnteredValue": {"formulaValue": "=SUM(B2:B4)"}}]}]}})
    assert sheets_emulator.values("kpis", "Data")[-1] == ["d", 6]


def test_sheet_and_spreadsheet_properties(sheets_emulator, sh):
    sh.sheet1.update_title("Dane")
    sh.sheet1.resize(rows=10, cols=4)
    sh.update_locale("pl_PL")
    sh.update_timezone("Europe/Warsaw")
    batch(sh, {"updateSheetProperties": {"properties": {"sheetId": 0,
                                                        "gridProperties": {"frozenRowCount": 1}},
                                         "fields": "gridProperties.frozenRowCount"}})
    props = sheets_emulator.sheet_properties("kpis", "Dane")
    assert props["gridProperties"] == {"rowCount": 10, "columnCount": 4, "frozenRowCount": 1}
    meta = sh.fetch_sheet_metadata()
    assert meta["properties"]["locale"] == "pl_PL"
    assert meta["properties"]["timeZone"] == "Europe/Warsaw"
    sh.sheet1.resize(rows=2)
    assert sheets_emulator.values("kpis", "Dane") == [["name", "visits"], ["a", 1]]


def test_conditional_format_validation_and_protection(sheets_emulator, sh):
    rng = {"sheetId": 0, "startRowIndex": 1, "endRowIndex": 4, "startColumnIndex": 1,
           "endColumnIndex": 2}
    reply = batch(
        sh,
        {"addConditionalFormatRule": {"index": 0, "rule": {"ranges": [rng], "booleanRule": {
            "condition": {"type": "NUMBER_LESS", "values": [{"userEnteredValue": "2"}]},
            "format": {"backgroundColor": {"red": 1}}}}}},
        {"setDataValidation": {"range": {**rng, "startColumnIndex": 0, "endColumnIndex": 1},
                               "rule": {"condition": {"type": "ONE_OF_LIST", "values": [
                                   {"userEnteredValue": "a"}, {"userEnteredValue": "b"}]},
                                   "strict": True, "showCustomUi": True}}},
        {"addProtectedRange": {"protectedRange": {"range": {"sheetId": 0, "endRowIndex": 1},
                                                  "description": "headers"}}})
    rules = sheets_emulator.conditional_formats("kpis", "Data")
    assert rules[0]["booleanRule"]["format"]["backgroundColorStyle"] == {
        "rgbColor": {"red": 1}}
    assert set(sheets_emulator.data_validations("kpis", "Data")) == {"A2", "A3", "A4"}
    protected = reply["replies"][2]["addProtectedRange"]["protectedRange"]
    assert protected["description"] == "headers" and protected["requestingUserCanEdit"]
    assert sheets_emulator.protected_ranges("kpis") == [protected]
    meta = sh.fetch_sheet_metadata({"fields": "sheets(conditionalFormats,protectedRanges)"})
    assert meta["sheets"][0]["protectedRanges"] == [protected]
    assert "protectedRanges" not in meta["sheets"][1]


def test_insert_and_append_dimension_shift_cells_and_rules(sheets_emulator, sh):
    batch(sh, {"addConditionalFormatRule": {"rule": {
        "ranges": [{"sheetId": 0, "startRowIndex": 1, "endRowIndex": 4}],
        "booleanRule": {"condition": {"type": "NOT_BLANK"}, "format": {}}}}})
    sh.sheet1.insert_row(["new", 0], index=2)  # insertDimension + values.update
    assert [r[0] for r in sheets_emulator.values("kpis", "Data")] == ["name", "new", "a", "b",
                                                                     "c"]
    rule = sheets_emulator.conditional_formats("kpis", "Data")[0]
    assert (rule["ranges"][0]["startRowIndex"], rule["ranges"][0]["endRowIndex"]) == (2, 5)
    batch(sh, {"appendDimension": {"sheetId": 0, "dimension": "COLUMNS", "length": 4}})
    assert sheets_emulator.sheet_properties("kpis", "Data")["gridProperties"] == {
        "rowCount": 1001, "columnCount": 30}


def test_dimension_properties(sheets_emulator, sh):
    batch(sh, {"updateDimensionProperties": {
        "range": {"sheetId": 0, "dimension": "COLUMNS", "startIndex": 1, "endIndex": 2},
        "properties": {"pixelSize": 240, "hiddenByUser": True}, "fields": "pixelSize"}})
    meta = sh.fetch_sheet_metadata({"includeGridData": "true", "ranges": "Data!A1:C1"})
    assert meta["sheets"][0]["data"][0]["columnMetadata"] == [
        {"pixelSize": 100}, {"pixelSize": 240}, {"pixelSize": 100}]


def test_unknown_and_unemulated_request_kinds(sheets_emulator, sh):
    with pytest.raises(gspread.exceptions.APIError) as err:
        batch(sh, {"explodeSheet": {}})
    assert error_message(err) == ('Invalid JSON payload received. Unknown name "explodeSheet" '
                                  "at 'requests[0]': Cannot find field.")
    with pytest.raises(gspread.exceptions.APIError) as err:
        batch(sh, {"addChart": {"chart": {}}})
    assert err.value.code == 400 and "requests[0].addChart" in error_message(err)
    with pytest.raises(gspread.exceptions.APIError) as err:
        batch(sh)
    assert error_message(err) == "Must specify at least one request."


def test_get_with_nested_field_masks_and_ranges(sh):
    meta = sh.fetch_sheet_metadata({
        "ranges": "Data!A1:B2",
        "fields": "sheets(properties(sheetId,title),data(rowData(values(effectiveValue,"
                  "formattedValue))))"})
    assert meta == {"sheets": [{"properties": {"sheetId": 0, "title": "Data"}, "data": [
        {"rowData": [
            {"values": [{"effectiveValue": {"stringValue": "name"}, "formattedValue": "name"},
                        {"effectiveValue": {"stringValue": "visits"},
                         "formattedValue": "visits"}]},
            {"values": [{"effectiveValue": {"stringValue": "a"}, "formattedValue": "a"},
                        {"effectiveValue": {"numberValue": 1}, "formattedValue": "1"}]}]}]}]}
    full = sh.fetch_sheet_metadata({"includeGridData": "true", "ranges": ["Data!B3:B4",
                                                                          "Rules"]})
    data = full["sheets"][0]["data"][0]
    assert (data["startRow"], data["startColumn"], len(data["rowMetadata"])) == (2, 1, 2)
    assert data["rowData"][0]["values"][0]["userEnteredValue"] == {"numberValue": 2}
    assert [s["properties"]["title"] for s in full["sheets"]] == ["Data", "Rules"]
    only_props = sh.fetch_sheet_metadata({"fields": "properties.title,sheets.properties.title"})
    assert only_props == {"properties": {"title": "kpis"},
                          "sheets": [{"properties": {"title": "Data"}},
                                     {"properties": {"title": "Rules"}}]}


def test_bad_field_mask_is_rejected(sheets_emulator, sh):
    session = emulator_session(sheets_emulator.host)
    r = session.get("https://sheets.googleapis.com/v4/spreadsheets/kpis",
                    params={"fields": "sheets.nonsense"})
    assert r.status_code == 400
    assert "sheets.nonsense" in r.json()["error"]["message"]


def test_create_and_include_spreadsheet_in_response(sheets_emulator, gspread_client):
    session = emulator_session(sheets_emulator.host)
    created = session.post("https://sheets.googleapis.com/v4/spreadsheets", json={
        "properties": {"title": "Fresh", "locale": "pl_PL"},
        "sheets": [{"properties": {"title": "Data"}}]}).json()
    key = created["spreadsheetId"]
    assert created["sheets"][0]["properties"]["gridProperties"] == {"rowCount": 1000,
                                                                    "columnCount": 26}
    sh = gspread_client.open_by_key(key)
    reply = batch(sh, {"updateSpreadsheetProperties": {"properties": {"title": "Renamed"},
                                                       "fields": "title"}},
                  includeSpreadsheetInResponse=True)
    assert reply["updatedSpreadsheet"]["properties"]["title"] == "Renamed"
    assert sheets_emulator.spreadsheet_properties(key)["locale"] == "pl_PL"


def test_the_other_emulated_kinds(sheets_emulator, sh):
    reply = batch(
        sh,
        {"deleteDimension": {"range": {"sheetId": 0, "dimension": "ROWS", "startIndex": 1,
                                       "endIndex": 2}}},
        {"mergeCells": {"range": {"sheetId": 0, "startRowIndex": 5, "endRowIndex": 6,
                                  "startColumnIndex": 0, "endColumnIndex": 2},
                        "mergeType": "MERGE_ALL"}},
        {"addNamedRange": {"namedRange": {"name": "visits", "range": {
            "sheetId": 0, "startRowIndex": 1, "endRowIndex": 3, "startColumnIndex": 1,
            "endColumnIndex": 2}}}},
        {"setBasicFilter": {"filter": {"range": {"sheetId": 0, "endRowIndex": 3}}}},
        {"autoResizeDimensions": {"dimensions": {"sheetId": 0, "dimension": "COLUMNS"}}})
    assert sheets_emulator.values("kpis", "Data") == [["name", "visits"], ["b", 2], ["c", 3]]
    named = reply["replies"][2]["addNamedRange"]["namedRange"]
    assert named["name"] == "visits" and named["namedRangeId"]
    assert sh.values_get("visits")["values"] == [["2"], ["3"]]  # a named range is a range
    meta = sh.fetch_sheet_metadata()
    assert meta["sheets"][0]["merges"] == [{"sheetId": 0, "startRowIndex": 5, "endRowIndex": 6,
                                           "startColumnIndex": 0, "endColumnIndex": 2}]
    assert meta["sheets"][0]["basicFilter"] == {"range": {"sheetId": 0, "endRowIndex": 3}}
    assert meta["namedRanges"] == [named]
    batch(sh, {"unmergeCells": {"range": {"sheetId": 0}}},
          {"clearBasicFilter": {"sheetId": 0}},
          {"deleteNamedRange": {"namedRangeId": named["namedRangeId"]}})
    meta = sh.fetch_sheet_metadata()
    assert "merges" not in meta["sheets"][0] and "namedRanges" not in meta
    with pytest.raises(gspread.exceptions.APIError) as err:
        batch(sh, {"deleteDimension": {"range": {"sheetId": 0, "dimension": "COLUMNS"}}})
    assert error_message(err) == ("Invalid requests[0].deleteDimension: "
                                  "You can't delete all the columns on the sheet.")


def test_rule_and_protection_removal(sheets_emulator, sh):
    rule = {"ranges": [{"sheetId": 0}], "booleanRule": {"condition": {"type": "BLANK"},
                                                        "format": {}}}
    reply = batch(sh, {"addConditionalFormatRule": {"rule": rule}},
                  {"addConditionalFormatRule": {"rule": {**rule, "booleanRule": {
                      "condition": {"type": "NOT_BLANK"}, "format": {}}}}},
                  {"addProtectedRange": {"protectedRange": {"range": {"sheetId": 0},
                                                            "warningOnly": True}}})
    pid = reply["replies"][2]["addProtectedRange"]["protectedRange"]["protectedRangeId"]
    assert "editors" not in reply["replies"][2]["addProtectedRange"]["protectedRange"]
    batch(sh, {"updateConditionalFormatRule": {"sheetId": 0, "index": 0, "newIndex": 1}})
    assert [r["booleanRule"]["condition"]["type"] for r in
            sheets_emulator.conditional_formats("kpis", "Data")] == ["BLANK", "NOT_BLANK"]
    deleted = batch(sh, {"deleteConditionalFormatRule": {"sheetId": 0, "index": 0}},
                    {"deleteProtectedRange": {"protectedRangeId": pid}})
    assert deleted["replies"][0]["deleteConditionalFormatRule"]["rule"]["booleanRule"][
        "condition"]["type"] == "BLANK"
    assert sheets_emulator.protected_ranges("kpis") == []


def test_google_api_python_client_works_too(sheets_emulator, sh):
    discovery = pytest.importorskip("googleapiclient.discovery")
    from google.oauth2 import credentials

    service = discovery.build(
        "sheets", "v4", credentials=credentials.Credentials("any-token"),
        client_options={"api_endpoint": sheets_emulator.url}, static_discovery=True)
    got = service.spreadsheets().values().batchGet(
        spreadsheetId="kpis", ranges=["Data!A1:B2", "Rules!A:A"]).execute()
    assert [vr["range"] for vr in got["valueRanges"]] == ["Data!A1:B2", "Rules!A1:A1000"]
    service.spreadsheets().batchUpdate(spreadsheetId="kpis", body={"requests": [
        {"addSheet": {"properties": {"title": "Via discovery"}}}]}).execute()
    assert "Via discovery" in [w.title for w in sh.worksheets()]
    assert sheets_emulator.requests()[-2]["query"] == {"alt": "json"}
