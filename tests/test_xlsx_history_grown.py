"""A run on a grown History writes the same workbook whether History's rows are carried
past openpyxl (kpirules.writeback.xlsx_rows: renumbered in place when expired rows above
them go) or go through openpyxl whole, as before xlsx_rows: every sheet, every cell's value,
type and number format, what calamine reads, and each sheet's dimension."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import zipfile

import openpyxl
import python_calamine
from test_run_common import AS_OF
from test_run_xlsx import make_workbook

from kpirules.writeback import xlsx_rows
from kpirules.writeback.plan import WritePlan
from kpirules.writeback.runner import run

NOW = dt.datetime(2026, 11, 26, 7, 0)


def grow(path) -> None:
    """Weekly runs, then History edited as people do: a note of their own beside a row (its
    text ending in the row's number and a quote, which renumbering must leave alone), dates
    typed as text by an older release, a key twice, and a history_keep that expires the
    oldest rows, at the top, so that every row below moves."""
    for day in ("2026-10-06", "2026-10-13", "2026-10-20", "2026-10-27", "2026-11-03", "2026-11-10"):
        run(str(path), as_of=dt.date.fromisoformat(day), notify=False, now=NOW)
    wb = openpyxl.load_workbook(path)
    ws = wb["History"]
    heads = [c.value for c in ws[1]]
    last = ws.max_row
    for r in (last - 3, last - 20, 12, 15):
        ws.cell(row=r, column=len(heads) + 2).value = f'{r}"'
    ws.cell(row=last - 5, column=heads.index("Period start") + 1).value = "2026-11-09"
    ws.append([c.value for c in ws[last - 10]][:len(heads)])  # a key twice: the copy goes
    wb["Settings"].append(["history_keep", "35 days"])
    wb.save(path)


def cells(path) -> dict:
    wb = openpyxl.load_workbook(path)
    return {ws.title: {c.coordinate: (c.value, c.data_type, c.number_format)
                       for row in ws.iter_rows() for c in row if c.value is not None or c.has_style}
            for ws in wb.worksheets}


def calamine(path) -> dict:
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    try:
        return {name: book.get_sheet_by_name(name).to_python(skip_empty_area=False) for name in book.sheet_names}
    finally:
        book.close()


def dimensions(path) -> dict:
    from kpirules.writeback.xlsx_package import sheet_parts

    with zipfile.ZipFile(path) as zf:
        return {title: re.search(rb'<dimension ref="([^"]*)"', zf.read(part))[1].decode()
                for title, (part, _) in sheet_parts(zf).items()}


def test_a_grown_history_is_written_the_same_carried_or_through_openpyxl(tmp_path, monkeypatch):
    grown = make_workbook(tmp_path / "grown.xlsx")
    grow(grown)
    stub = xlsx_rows.prepare(str(grown), WritePlan(tabs=[]))
    assert stub is not None and {"Data", "History"} <= {s.title for s in stub.sheets}
    carried, whole = tmp_path / "carried.xlsx", tmp_path / "whole.xlsx"
    shutil.copy(grown, carried)
    shutil.copy(grown, whole)
    wrote = run(str(carried), as_of=AS_OF, notify=False, now=NOW).plan.tab("History")
    assert wrote.deletes and min(wrote.deletes) <= 3  # rows at the top went: all below moved
    assert wrote.appends and wrote.cells
    with monkeypatch.context() as m:
        m.setattr(xlsx_rows, "prepare", lambda path, plan: None)  # openpyxl loads and saves every row
        run(str(whole), as_of=AS_OF, notify=False, now=NOW)

    assert cells(carried) == cells(whole)
    assert calamine(carried) == calamine(whole)
    dims = dimensions(carried)
    assert dims == dimensions(whole)
    history = openpyxl.load_workbook(carried)["History"]
    assert dims["History"] == f"A1:{openpyxl.utils.get_column_letter(history.max_column)}{history.max_row}"
    texts = [c.value for row in history.iter_rows() for c in row if isinstance(c.value, str) and c.value.endswith('"')]
    assert len(texts) == 4  # the people's notes kept, as they were, on rows that moved


def test_what_bulk_reads_make_is_kept_from_the_collector_for_one_run_only():
    import gc

    from kpirules.bulk import gc_paused, kept_bulk

    enabled = gc.isenabled()
    with kept_bulk():
        with gc_paused():
            rows = [[i, str(i)] for i in range(1000)]
        assert gc.get_freeze_count() > len(rows)  # frozen: no collection traverses them again
        assert gc.isenabled() == enabled
    assert gc.get_freeze_count() == 0  # after the run, collectable as ever (a caller running many)
    with gc_paused():
        rows = [[i] for i in range(10)]
    assert gc.get_freeze_count() == 0  # outside a run, nothing is frozen
