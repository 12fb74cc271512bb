"""What the reader refuses, and how it says so (issues 10 and 11): a located message, what to
set or fix, the right exit status, never a guess and never a traceback."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kpirules.cli.main import cli
from kpirules.connectors.base import RawTable
from kpirules.connectors.csv_file import CsvConnector
from kpirules.errors import SourceError
from kpirules.table import load_table


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


def rules(tmp_path: Path, text: str = "v: visits >= 1 daily\n") -> str:
    path = tmp_path / "r.kpi"
    path.write_text(text, encoding="utf-8")
    return str(path)


def read_csv(path: Path, **settings):
    from kpirules.config import Settings

    return load_table(CsvConnector(str(path), encoding=settings.get("encoding")).read().data,
                      settings=Settings(**settings) if settings else None)


def test_an_unreadable_date_in_a_data_row_is_exit_3_naming_the_cell(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("date,visits\n2026-11-16,10\nyesterday,12\n2026-11-18,9\n", encoding="utf-8")
    res = invoke("check", str(data), "--rules", rules(tmp_path), "--as-of", "2026-11-20")
    assert res.exit_code == 3, res.output
    assert "'data.csv'!A3 holds 'yesterday', which is not a date, but its row holds numbers" in res.output
    assert "Traceback" not in res.output


def test_an_empty_data_file_is_exit_3(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("date,visits\n", encoding="utf-8")
    res = invoke("check", str(data), "--rules", rules(tmp_path), "--as-of", "2026-11-20")
    assert res.exit_code == 3 and "holds no data" in res.output


def test_two_columns_of_dates_name_both_and_the_setting(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("Start,End,visits\n2026-11-16,2026-11-16,1\n", encoding="utf-8")
    with pytest.raises(SourceError) as err:
        read_csv(data)
    assert "`Start`, `End`" in err.value.message and 'date_column = "Start"' in err.value.hint


def test_a_column_of_plain_integers_is_never_the_date_column(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("day_number,visits\n20261116,1\n20261117,2\n", encoding="utf-8")
    with pytest.raises(SourceError, match="no column of dates"):
        read_csv(data)


def test_day_or_month_first_undecided_is_an_error_naming_the_column_and_settings(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("Day,visits\n1/2/2026,1\n2/2/2026,2\n", encoding="utf-8")
    with pytest.raises(SourceError) as err:
        read_csv(data)
    assert "column A (`Day`)" in err.value.message and "date_format" in err.value.hint
    # A value above 12 decides; so do the settings.
    data.write_text("Day,visits\n1/2/2026,1\n13/2/2026,2\n", encoding="utf-8")
    assert read_csv(data).date_range == (dt.date(2026, 2, 1), dt.date(2026, 2, 13))
    data.write_text("Day,visits\n1/2/2026,1\n2/2/2026,2\n", encoding="utf-8")
    assert read_csv(data, locale="en_US").date_range == (dt.date(2026, 1, 2), dt.date(2026, 2, 2))
    assert read_csv(data, date_format="%d/%m/%Y").date_range == (dt.date(2026, 2, 1), dt.date(2026, 2, 2))


def test_dates_written_both_ways_are_an_error(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("Day,visits\n13/2/2026,1\n2/13/2026,2\n", encoding="utf-8")
    with pytest.raises(SourceError, match="both day first .* and month first"):
        read_csv(data)


def test_ambiguous_thousands_name_the_column_and_the_locale_setting(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text('date,visits\n2026-11-16,"1,234"\n2026-11-17,"2,500"\n', encoding="utf-8")
    table = read_csv(data)
    frame = table.frame(dt.date(2026, 11, 1), dt.date(2026, 11, 30), metrics=["visits"])
    problem = frame.bad["visits"][0]
    assert problem.cell == "'data.csv'!B2"
    assert "column `visits`" in problem.message and "`locale`" in problem.suggestion
    for locale, value in (("en_US", 1234.0), ("pl_PL", 1.234)):
        frame = read_csv(data, locale=locale).frame(dt.date(2026, 11, 1), dt.date(2026, 11, 30), metrics=["visits"])
        assert frame.metrics["visits"][0] == value and not frame.bad["visits"]


def test_a_semicolon_file_reads_commas_as_decimals(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("date;visits\n2026-11-16;1,5\n2026-11-17;1.500\n", encoding="utf-8")
    frame = read_csv(data).frame(dt.date(2026, 11, 1), dt.date(2026, 11, 30), metrics=["visits"])
    assert frame.metrics["visits"] == [1.5, 1500.0]


@pytest.mark.parametrize("cell", ["1e309", "9" * 1_000_000, "-1e400"])
def test_non_finite_numbers_are_bad_cells_with_their_address(tmp_path, cell):
    data = tmp_path / "data.csv"
    # the whole week, so that it is complete (spec: "Complete periods")
    week = "".join(f"2026-11-{day},1\n" for day in range(18, 23))
    data.write_text(f"date,visits\n2026-11-16,1\n2026-11-17,{cell}\n{week}", encoding="utf-8")
    res = invoke("check", str(data), "--rules", rules(tmp_path, "v: visits >= 1 weekly\n"), "--as-of",
                 "2026-11-24", "--format", "json")
    (result,) = json.loads(res.output)["results"]
    assert result["status"] == "ERROR" and result["error"]["cell"] == "'data.csv'!B3"
    assert "too large to be a number" in result["error"]["message"]


@pytest.mark.parametrize("cell", ["1e309", "9" * 1_000_000, "-1e400", "-Infinity"])
def test_non_finite_numbers_are_the_same_bad_cells_on_the_duckdb_path(tmp_path, cell):
    # A large file goes to DuckDB (kpirules.backends): the same cell, the same words; an
    # unreadable cell on the last day also counts as data there (spec: "Complete periods").
    pytest.importorskip("duckdb")
    from kpirules import backends
    from kpirules.engine import evaluate
    from kpirules.rulesfile import parse_rules_file

    data = tmp_path / "data.csv"
    # orders: blank on Saturday, unreadable on Sunday (row 8): the week is complete for them
    orders = {21: "", 22: "twelve"}
    days = [f"2026-11-{day},1,{orders.get(day, 1)}\n" for day in range(18, 23)]
    data.write_text(f"date,visits,orders\n2026-11-16,1,1\n2026-11-17,{cell},1\n{''.join(days)}", encoding="utf-8")
    entries = parse_rules_file("v: visits >= 1 weekly\no: orders >= 1 weekly\n")
    found = []
    for backend in ("python", "duckdb"):
        table = backends.csv_table(data, backend=backend)
        found.append([(r.status.value, r.error.cell, r.error.message) for r in
                      evaluate(entries, table, dt.date(2026, 11, 24)).results])
    assert getattr(table, "backend", None) == "duckdb", table.fallback_reason
    assert found[0] == found[1]
    (v, o) = found[1]
    assert v[:2] == ("ERROR", "'data.csv'!B3") and ("too large" in v[2] or "not a number" in v[2])
    assert o == ("ERROR", "'data.csv'!C8", "'data.csv'!C8 holds 'twelve', not a number")

def test_nan_and_infinity_cells_from_a_spreadsheet_are_bad_cells():
    raw = RawTable(["date", "visits"], [[dt.date(2026, 11, 16), float("nan")], [dt.date(2026, 11, 17), float("inf")]],
                   sheet="Data")
    frame = load_table(raw).frame(dt.date(2026, 11, 1), dt.date(2026, 11, 30), metrics=["visits"])
    assert [p.cell for p in frame.bad["visits"].values()] == ["Data!B2", "Data!B3"]


def test_nul_bytes_are_a_clear_error(tmp_path):
    data = tmp_path / "data.csv"
    data.write_bytes(b"date,visits\n2026-11-16,1\x00\n")
    res = invoke("check", str(data), "--rules", rules(tmp_path), "--as-of", "2026-11-20")
    assert res.exit_code == 3 and "NUL" in res.output and "Traceback" not in res.output


def test_a_cell_past_the_documented_cap_is_a_clear_error(tmp_path):
    from kpirules.read.text import MAX_CELL_CHARS

    data = tmp_path / "data.csv"
    data.write_text('date,notes,visits\n2026-11-16,"' + "x" * 200_000 + '",1\n', encoding="utf-8")
    assert read_csv(data).row_count == 1  # past the csv module's 131,072: still read
    data.write_text('date,notes,visits\n2026-11-16,"never closed,1\n' + "x" * (MAX_CELL_CHARS + 10), encoding="utf-8")
    res = invoke("check", str(data), "--rules", rules(tmp_path), "--as-of", "2026-11-20")
    assert res.exit_code == 3 and "longer than 1,048,576 characters" in res.output


def test_bytes_that_are_no_known_text_are_a_clear_error(tmp_path):
    data = tmp_path / "data.csv"
    data.write_bytes(b"date,visits\n2026-11-16,\x81\x90\n")
    res = invoke("check", str(data), "--rules", rules(tmp_path), "--as-of", "2026-11-20")
    assert res.exit_code == 3 and "is not UTF-8 text" in res.output and "`encoding`" in res.output


def test_the_encoding_setting_wins(tmp_path):
    data = tmp_path / "data.csv"
    data.write_bytes("date,kanał,visits\n2026-11-16,Łódź,1\n".encode("iso-8859-2"))
    table = read_csv(data, encoding="iso-8859-2")
    assert "kanał" in table.names()


def test_settings_are_checked(tmp_path):
    from kpirules.config import Settings

    with pytest.raises(ValueError, match="unknown encoding"):
        Settings(encoding="klingon")
    with pytest.raises(ValueError, match="unknown locale"):
        Settings(locale="xx_XX")
    with pytest.raises(ValueError, match="strptime codes"):
        Settings(date_format="DD/MM/YYYY")


def test_settings_file_reaches_the_reader(tmp_path, monkeypatch):
    data = tmp_path / "data.csv"
    data.write_bytes("Tag;Besuche\n1/2/2026;1,5\n2/2/2026;2\n".encode("cp1252"))
    # complete_through: February is complete although its data end on the 2nd (the
    # settings reach the engine as they reach the reader)
    (tmp_path / "kpirules.toml").write_text('locale = "de_DE"\nencoding = "cp1252"\ncomplete_through = "yesterday"\n',
                                            encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    res = invoke("check", str(data), "--rules", rules(tmp_path, "b: sum(besuche) >= 1 monthly\n"),
                 "--as-of", "2026-03-01", "--format", "json")
    (result,) = json.loads(res.output)["results"]
    assert result["value"] == 3.5 and result["period"]["start"] == "2026-02-01"


# ----------------------------------------------------------------------- xlsx


def test_xlsx_preamble_typed_dates_and_addresses(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Data"
    ws.append(["Campaign performance report"])
    ws.append(["October 1, 2026 - October 3, 2026"])
    ws.append([])
    ws.append(["Day", "Campaign", "Clicks", "Cost"])
    ws.append([dt.date(2026, 10, 1), "Brand", 1355, 609.75])
    ws.append([dt.datetime(2026, 10, 2, 0, 0), "Brand", "oops", 597.08])
    ws.append(["Total: Account", None, 1355, 1206.83])
    path = tmp_path / "ads.xlsx"
    wb.save(path)
    from kpirules.connectors.xlsx_file import XlsxConnector

    table = load_table(XlsxConnector(str(path)).read().data)
    assert table.date_column == "day" and table.date_range == (dt.date(2026, 10, 1), dt.date(2026, 10, 2))
    frame = table.frame(dt.date(2026, 10, 1), dt.date(2026, 10, 31), metrics=["clicks", "cost"])
    assert frame.metrics["cost"] == [609.75, 597.08]
    assert [p.cell for p in frame.bad["clicks"].values()] == ["Data!C6"]
    assert table.warnings == ["read Data: 2 title rows and 1 total row left out"]


def test_xlsx_error_cells_and_formulas_without_values_are_reported(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Data"
    ws.append(["date", "visits", "rate"])
    ws.append([dt.date(2026, 11, 16), 10, "=B2*2"])  # openpyxl stores no value for it
    ws.append([dt.date(2026, 11, 17), 12, 0.5])
    ws["B3"].value = "#DIV/0!"
    ws["B3"].data_type = "e"
    path = tmp_path / "book.xlsx"
    wb.save(path)
    from kpirules.connectors.xlsx_file import XlsxConnector

    table = load_table(XlsxConnector(str(path)).read().data)
    frame = table.frame(dt.date(2026, 11, 1), dt.date(2026, 11, 30), metrics=["visits", "rate"])
    (visits,) = frame.bad["visits"].values()
    assert visits.cell == "Data!B3" and "'#DIV/0!'" in visits.message
    (rate,) = frame.bad["rate"].values()
    assert rate.cell == "Data!C2" and "=B2*2 saved without its value" in rate.message
    assert "Excel or LibreOffice" in rate.suggestion


def test_a_large_sheet_is_scanned_whole_only_when_its_top_shows_formulas(tmp_path, monkeypatch):
    # (sizes shrunk: the real thresholds are megabytes; connectors/xlsx_cells.py says why)
    from openpyxl import Workbook

    import kpirules.connectors.xlsx_cells as cells

    monkeypatch.setattr(cells, "FULL_SCAN_BYTES", 1000)
    monkeypatch.setattr(cells, "SAMPLE_BYTES", 1000)
    monkeypatch.setattr(cells, "CHUNK_BYTES", 600)

    def book(formula_rows):
        wb = Workbook()
        ws = wb.active
        ws.title = "Data"
        ws.append(["date", "visits", "double"])
        for i in range(3000):
            ws.append([dt.date(2026, 1, 1) + dt.timedelta(days=i % 300), i,
                       f"=B{i + 2}*2" if i in formula_rows else i * 2])
        path = tmp_path / f"book{len(formula_rows)}.xlsx"
        wb.save(path)
        return str(path)

    column = set(range(3000))  # a computed column from the top: every formula found
    assert len(cells.hidden_cells(book(column), "Data")) == 3000
    assert cells.hidden_cells(book({2990}), "Data") == {}  # one formula far down: not seen


def test_a_workbook_calamine_refuses_is_read_by_openpyxl(tmp_path, monkeypatch):
    # calamine is strict about the package; openpyxl (kept for writing) reads what it can.
    import python_calamine
    from openpyxl import Workbook

    from kpirules.connectors.xlsx_file import XlsxConnector

    wb = Workbook()
    ws = wb.active
    ws.title = "Data"
    ws.append(["Report"])
    ws.append(["date", "visits"])
    ws.append([dt.date(2026, 11, 16), 3])
    path = tmp_path / "book.xlsx"
    wb.save(path)
    expected = load_table(XlsxConnector(str(path)).read().data)

    def refuse(*args, **kwargs):
        raise python_calamine.CalamineError("unexpected part")

    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_path", refuse)
    table = load_table(XlsxConnector(str(path)).read().data)
    assert (table.date_range, table.raw.header_row, table.warnings) == \
        (expected.date_range, expected.raw.header_row, expected.warnings) == \
        ((dt.date(2026, 11, 16), dt.date(2026, 11, 16)), 2, ["read Data: 1 title row left out"])


def test_numbers_under_a_blank_date_at_the_bottom_are_a_total_only_when_they_add_up(tmp_path):
    # Universal Analytics writes its total so; a last row that lost its date is data.
    data = tmp_path / "data.csv"
    data.write_text("date,visits,rate\n2026-11-16,10,0.5\n2026-11-17,12,0.25\n,22,0.375\n", encoding="utf-8")
    table = read_csv(data)
    assert table.row_count == 2 and table.warnings == ["read data.csv: 1 total row left out"]
    data.write_text("date,visits,rate\n2026-11-16,10,0.5\n2026-11-17,12,0.25\n,7,0.1\n", encoding="utf-8")
    with pytest.raises(SourceError, match="'data.csv'!A4 is empty, but its row holds numbers"):
        read_csv(data)
