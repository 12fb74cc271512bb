"""A 50,000-row tab served by a single spreadsheets.get (what the connector does)."""

from __future__ import annotations

import datetime as dt

import pytest

ROWS = 50_000
FIELDS = ("sheets(properties(sheetId,title),"
          "data(rowData(values(effectiveValue,formattedValue))))")


@pytest.mark.slow
def test_fifty_thousand_rows_in_one_get(sheets_emulator, sheet_from_rows, gspread_client):
    start = dt.date(2020, 1, 1)
    sheet_from_rows([["date", "channel", "visits", "revenue"]] +
                    [[start + dt.timedelta(days=i % 2000), f"c{i % 7}", i, i * 0.5]
                     for i in range(ROWS)])
    sheets_emulator.reset_requests()
    meta = gspread_client.open_by_key("kpis").fetch_sheet_metadata(
        {"ranges": "Data", "fields": FIELDS})
    assert [e["api"] for e in sheets_emulator.requests()] == ["spreadsheets.get",
                                                              "spreadsheets.get"]
    rows = meta["sheets"][0]["data"][0]["rowData"]
    assert len(rows) == ROWS + 1
    last = rows[-1]["values"]
    assert last[0] == {"effectiveValue": {"numberValue": 43831 + (ROWS - 1) % 2000},
                       "formattedValue": (start + dt.timedelta(days=(ROWS - 1) % 2000)
                                          ).strftime("%-m/%-d/%Y")}
    assert last[2] == {"effectiveValue": {"numberValue": ROWS - 1},
                       "formattedValue": str(ROWS - 1)}
    assert last[3]["effectiveValue"] == {"numberValue": (ROWS - 1) * 0.5}
