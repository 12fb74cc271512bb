"""Requests are checked against the official discovery document, with Google's errors."""

from __future__ import annotations

import json

import pytest

from kpirules_emulator import sheets_schema
from kpirules_emulator.sheets import SheetsEmulator, emulator_session

API = "https://sheets.googleapis.com/v4/spreadsheets"


@pytest.fixture
def session(sheets_emulator, sheet_from_rows):
    sheet_from_rows([["a", 1]])
    return emulator_session(sheets_emulator.host)


def error(response) -> dict:
    assert response.status_code == 400, response.text
    return response.json()["error"]


def test_unknown_field_in_a_batch_request(session):
    err = error(session.post(f"{API}/kpis:batchUpdate", json={"requests": [
        {"updateSheetProperties": {"properties": {"sheetId": 0, "headerValues": ["x"]},
                                   "fields": "title"}}]}))
    message = ('Invalid JSON payload received. Unknown name "headerValues" at '
               "'requests[0].update_sheet_properties.properties': Cannot find field.")
    assert err["message"] == message and err["status"] == "INVALID_ARGUMENT"
    assert err["details"] == [{"@type": "type.googleapis.com/google.rpc.BadRequest",
                               "fieldViolations": [{
                                   "field": "requests[0].update_sheet_properties.properties",
                                   "description": message}]}]


def test_top_level_unknown_fields_are_all_reported(session):
    err = error(session.post(f"{API}/kpis/values:batchUpdate",
                             json={"valueInputOption": "RAW", "foo": 1, "bar": 2}))
    assert err["message"].split("\n") == [
        'Invalid JSON payload received. Unknown name "foo": Cannot find field.',
        'Invalid JSON payload received. Unknown name "bar": Cannot find field.']


def test_wrong_types_and_enums(session):
    err = error(session.post(f"{API}/kpis:batchUpdate", json={"requests": [
        {"addSheet": {"properties": {"gridProperties": {"rowCount": "many"}}}},
        {"insertDimension": {"range": {"sheetId": 0, "dimension": "SIDEWAYS"}}}]}))
    assert err["message"].split("\n") == [
        "Invalid value at 'requests[0].add_sheet.properties.grid_properties.row_count' "
        '(TYPE_INT32), "many"',
        "Invalid value at 'requests[1].insert_dimension.range.dimension' "
        '(type.googleapis.com/google.apps.sheets.v4.Dimension), "SIDEWAYS"']


def test_values_must_be_a_list_of_lists(session):
    # The exact body and answer of gspread's recorded WorksheetTest.test_add_validation.
    r = session.put(f"{API}/kpis/values/'Sheet1'!A1", params={"valueInputOption": "RAW"},
                    data=json.dumps({"values": "X", "majorDimension": None}))
    assert error(r)["message"] == ("Invalid value at 'data.values' "
                                   '(type.googleapis.com/google.protobuf.ListValue), "X"')
    r = session.put(f"{API}/kpis/values/Data!A1", params={"valueInputOption": "RAW"},
                    json={"values": [[{"nested": 1}]]})
    assert error(r)["message"].startswith("Invalid values[0][0]: struct_value {")


def test_numbers_as_strings_are_fine_like_proto_json(session):
    r = session.post(f"{API}/kpis:batchUpdate", json={"requests": [
        {"appendDimension": {"sheetId": "0", "dimension": "ROWS", "length": "5"}}]})
    assert r.status_code == 200


def test_query_parameters(session):
    err = error(session.get(f"{API}/kpis/values/Data", params={"valueRenderOption": "PRETTY"}))
    assert err["message"] == ("Invalid value at 'value_render_option' "
                              '(type.googleapis.com/google.apps.sheets.v4.ValueRenderOption), '
                              '"PRETTY"')
    err = error(session.get(f"{API}/kpis", params={"includeGridDatta": "true"}))
    assert err["message"] == ('Invalid JSON payload received. Unknown name "includeGridDatta": '
                              "Cannot bind query parameter. Field 'includeGridDatta' could not "
                              "be found in request message.")
    # Global parameters and Python-style booleans (the real API takes "False") pass.
    assert session.get(f"{API}/kpis", params={"includeGridData": "False", "alt": "json",
                                              "prettyPrint": "false"}).ok


def test_value_input_option_is_required(session):
    err = error(session.put(f"{API}/kpis/values/Data!A1", json={"values": [[1]]}))
    assert err["message"] == "'valueInputOption' is required but not specified"


def test_malformed_json(session):
    r = session.post(f"{API}/kpis:batchUpdate", data=b"{not json",
                     headers={"Content-Type": "application/json"})
    assert error(r)["message"].startswith("Invalid JSON payload received.")


def test_validation_can_be_switched_off():
    with SheetsEmulator(validate=False) as emu:
        emu.add_spreadsheet("kpis", {"Data": [[1]]})
        r = emulator_session(emu.host).post(f"{API}/kpis/values:batchClear",
                                            json={"ranges": ["Data!A1"], "extra": True})
        assert r.status_code == 200


def test_the_vendored_discovery_document_matches_the_installed_one():
    pytest.importorskip("googleapiclient")
    installed = json.loads(open(sheets_schema.discovery_source(), encoding="utf-8").read())
    vendored = json.loads(open(sheets_schema._VENDORED, encoding="utf-8").read())
    assert "Apache License" in vendored["_notice"]

    def shape(schema):  # field names and types, descriptions aside
        return {name: (prop.get("type"), prop.get("$ref"), prop.get("format"))
                for name, prop in schema.get("properties", {}).items()}

    for name in ("Request", "CellData", "CellFormat", "SheetProperties", "ValueRange",
                 "BatchUpdateSpreadsheetRequest", "GridRange", "DataValidationRule"):
        assert shape(vendored["schemas"][name]) == shape(installed["schemas"][name]), name
