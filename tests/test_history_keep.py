"""History that lasts: the ``history_keep`` retention (never a rule's latest row) and
duplicate rows removed in one pass, on xlsx as on Sheets."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from kpirules.config import Settings, duration_days
from kpirules.connectors.base import RawTable
from kpirules.writeback.history import HISTORY_COLUMNS, history_plan, read_history


def raw_history(rows):
    return RawTable(headers=list(HISTORY_COLUMNS), rows=[list(r) for r in rows], sheet="History")


def row(rule, end, status="PASS", segment=None, extra=None):
    start = (dt.date.fromisoformat(end) - dt.timedelta(days=6)).isoformat()
    cells = [rule, segment, start, end, status, 0.1, 0.05, "", "2026-01-01 07:00", None]
    return cells + ([extra] if extra else [])


def test_durations():
    assert duration_days("400 days") == 400 and duration_days("12 weeks") == 84
    assert duration_days("2 years") == 730 and duration_days("forever") is None
    with pytest.raises(ValueError):
        duration_days("400")
    assert Settings().history_keep == "180 days" and Settings().owed_for == "7 days"
    with pytest.raises(ValueError):
        Settings(history_keep="a while")


def test_rows_older_than_history_keep_go_but_never_a_rules_latest_row():
    rows = [row("a", "2024-01-07"), row("a", "2026-11-22"),  # old, recent
            row("b", "2024-01-07"),                          # b's only row: kept however old
            row("c", "2024-01-07", segment="x=1"), row("c", "2024-01-14", segment="x=1")]
    history = read_history(raw_history(rows), "History")
    tab = history_plan(history, [], [], "2026-11-26 07:00", keep="400 days", as_of=dt.date(2026, 11, 26))
    assert sorted(tab.deletes) == [2, 5]  # a's old row and c's older row (sheet rows)
    kept = history_plan(history, [], [], "2026-11-26 07:00", keep="forever", as_of=dt.date(2026, 11, 26))
    assert kept.deletes == []


def test_a_row_with_the_users_notes_is_kept():
    raw = RawTable(headers=list(HISTORY_COLUMNS) + ["Note"],
                   rows=[row("a", "2024-01-07", extra="why it failed"), row("a", "2026-11-22")], sheet="History")
    tab = history_plan(read_history(raw, "History"), [], [], "x", keep="30 days", as_of=dt.date(2026, 11, 26))
    assert tab.deletes == []


def test_thousands_of_duplicates_are_removed_from_an_xlsx_in_one_pass(tmp_path):
    from kpirules.writeback import xlsx
    from kpirules.writeback.plan import TabPlan, WritePlan

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "History"
    ws.append(list(HISTORY_COLUMNS))
    for i in range(1000):
        ws.append(row(f"r{i}", "2026-11-22"))
        ws.append(row(f"r{i}", "2026-11-22"))  # a duplicate of the row above
        ws.append(row(f"r{i}", "2026-11-22"))
    path = tmp_path / "h.xlsx"
    wb.save(path)
    raw = RawTable(headers=list(HISTORY_COLUMNS),
                   rows=[list(r) for r in ws.iter_rows(min_row=2, values_only=True)], sheet="History")
    history = read_history(raw, "History")
    assert len(history.duplicates) == 2000
    tab = history_plan(history, [], [], "x")
    assert len(tab.deletes) == 2000
    xlsx.write(str(path), WritePlan(tabs=[TabPlan(title="History", deletes=tab.deletes)]))
    left = [r for r in openpyxl.load_workbook(path)["History"].iter_rows(min_row=2, values_only=True)]
    assert [r[0] for r in left] == [f"r{i}" for i in range(1000)]
    assert all(r[3] == "2026-11-22" for r in left)


def test_sheets_deletes_adjacent_rows_as_one_range():
    from kpirules.writeback.plan import TabPlan, WritePlan
    from kpirules.writeback.sheets import build_requests

    plan = WritePlan(tabs=[TabPlan(title="History", deletes=[5, 6, 7, 10, 3])])
    requests = build_requests(plan, {"History": 9})
    ranges = [(r["deleteDimension"]["range"]["startIndex"], r["deleteDimension"]["range"]["endIndex"])
              for r in requests]
    assert ranges == [(9, 10), (4, 7), (2, 3)]  # bottom first
