"""Raw cells -> typed columns: dates, numbers, blanks, and bad cells reported by name."""

import datetime as dt

import pytest

from kpirules.connectors.base import RawTable
from kpirules.errors import SourceError
from kpirules.table import BAD, dimension_text, load_table, parse_date, parse_number


@pytest.mark.parametrize("cell,expected", [
    ("2026-11-16", dt.date(2026, 11, 16)),
    ("2020-12-01 00:00:00+00:00", dt.date(2020, 12, 1)),  # its date part as written
    ("2026-11-16T23:59:00-08:00", dt.date(2026, 11, 16)),
    (46342, dt.date(2026, 11, 16)),  # a spreadsheet serial
    (46342.75, dt.date(2026, 11, 16)),  # the fraction is the time of day
    (dt.date(2026, 11, 16), dt.date(2026, 11, 16)),
    (dt.datetime(2026, 11, 16, 13, 5), dt.date(2026, 11, 16)),
])
def test_dates(cell, expected):
    assert parse_date(cell) == expected.toordinal()


@pytest.mark.parametrize("cell", ["16/11/2026", "2026-13-01", "yesterday", "", None, True, -5])
def test_not_dates(cell):
    assert parse_date(cell) is None


@pytest.mark.parametrize("cell,expected", [("12", 12.0), (" 12.5 ", 12.5), (3, 3.0), (2.5, 2.5),
                                           ("-1e3", -1000.0), ("", None), (None, None), ("  ", None),
                                           # Issue 10: numbers as exports write them, where the
                                           # cell alone says which convention it follows.
                                           ("1 234,56", 1234.56), ("$12", 12.0), ("n/a", None),
                                           ("--", None), ("41.23%", 0.4123), ("PLN 1 234,56", 1234.56),
                                           ("1.234,56", 1234.56), ("$1,234.56", 1234.56)])
def test_numbers(cell, expected):
    assert parse_number(cell) == expected


# "1,234" stays bad without a convention (a thousand or one and a bit: never guessed);
# "1e309" is too large to be a number (issue 11: no infinity made up from a cell).
@pytest.mark.parametrize("cell", ["1,234", "1.234", "12 leads", "nan", "inf", "1e309", "9" * 400, True,
                                  dt.date(2026, 1, 1), float("nan"), float("inf")])
def test_not_numbers_are_bad_not_guessed(cell):
    assert parse_number(cell) is BAD


def test_a_convention_settles_the_ambiguous_cells():
    assert parse_number("1,234", ",") == 1.234
    assert parse_number("1,234", ".") == 1234.0
    assert parse_number("1.234,5", ".") is BAD


def test_dimension_text():
    assert dimension_text(" social ") == "social"
    assert dimension_text(123.0) == "123"
    assert dimension_text(None) == ""
    assert dimension_text(dt.date(2026, 1, 2)) == "2026-01-02"


def raw(headers, rows):
    return RawTable(headers=headers, rows=rows, sheet="Data")


def test_headers_are_normalised_and_rows_sorted_by_date():
    table = load_table(raw(["Date", "Emails sent", "Wyświetlenia"],
                           [["2026-11-17", 5, 1], ["2026-11-16", 7, 2]]))
    assert table.names() == ["emails_sent", "wyświetlenia"]
    frame = table.frame(dt.date(2026, 11, 1), dt.date(2026, 11, 30), metrics=["emails_sent"])
    assert frame.metrics["emails_sent"] == [7.0, 5.0]
    assert frame.row_ids == [1, 0]


def test_bad_metric_cell_is_reported_with_its_cell():
    table = load_table(raw(["date", "visits"], [["2026-11-16", "12"], ["2026-11-17", "lots"]]))
    frame = table.frame(dt.date(2026, 11, 1), dt.date(2026, 11, 30), metrics=["visits"])
    assert frame.metrics["visits"] == [12.0, None]
    (problem,) = frame.bad["visits"].values()
    assert problem.cell == "Data!B3"
    assert "'lots', not a number" in problem.message


def test_rows_without_numbers_and_a_bad_date_are_reported_and_left_out():
    # 16.11.2026 is a date now (issue 10). A row with no date and no number (a note) is a
    # problem; a row with numbers but no date is a source error (next test).
    table = load_table(raw(["date", "visits", "notes"],
                           [["2026-11-16", 1, ""], ["16.11.2026", 2, ""], ["later", None, "a note"],
                            [None, None, "x"], [None, None, None], ["2026-11-17", 1, ""]]))
    assert table.row_count == 3
    cells = [p.cell for p in table.problems]
    assert cells == ["Data!A4", "Data!A5"]  # the wholly empty row is not a problem
    assert "not a date" in table.problems[0].message


@pytest.mark.parametrize("cell", [None, "yesterday", "2026-02-30"])
def test_a_data_row_without_a_readable_date_is_a_source_error(cell):
    # Issue 10 item 4: the row's numbers would otherwise be left out in silence.
    rows = [["2026-11-16", 1], [cell, 3], ["2026-11-18", 1]]
    with pytest.raises(SourceError) as err:
        load_table(raw(["date", "visits"], rows))
    assert err.value.message.startswith("Data!A3 ")


def test_duplicate_headers_are_ambiguous_not_guessed():
    table = load_table(raw(["date", "visits", "Visits"], [["2026-11-16", 1, 2]]))
    assert "visits" not in table.names()
    assert table.ambiguous == {"visits": ["Data!B1", "Data!C1"]}
    assert "appears 2 times" in table.problems[0].message


def test_empty_header_over_values_is_reported():
    table = load_table(raw(["date", "", "visits"], [["2026-11-16", 5, 1]]))
    assert table.problems[0].cell == "Data!B1"


def test_missing_date_column():
    with pytest.raises(SourceError) as err:
        load_table(raw(["day", "visits"], [["soon", 1]]))
    assert "no `date` column" in err.value.message and "day, visits" in err.value.message
    with pytest.raises(SourceError) as err:
        load_table(raw(["day", "visits"], [["2026-11-17", 1]]), date_column="Tag")
    assert "no `Tag` column" in err.value.message


@pytest.mark.parametrize("headers,rows", [([], []), (["date", "visits"], []), (["date", "visits"], [[None, ""]])])
def test_an_empty_data_tab_is_a_source_error(headers, rows):
    # Issue 10 item 4: no data is not "every rule NO_DATA, exit 0".
    with pytest.raises(SourceError, match="empty|holds no data"):
        load_table(raw(headers, rows))


def test_fast_and_slow_conversion_paths_agree():
    from kpirules.table import DataTable

    # "1_000" is not a plain number whether or not the rest of the column is clean.
    assert DataTable._convert_metric(["1_000", "2"]) == ([None, 2.0], [0])
    assert DataTable._convert_metric(["1_000", "n/a"]) == ([None, None], [0])  # n/a is blank
    assert DataTable._convert_metric(["1_000", "oops"]) == ([None, None], [0, 1])
    assert DataTable._convert_metric(["1", "", None, " 2.5 "]) == ([1.0, None, None, 2.5], [])
    assert DataTable._convert_metric([1, True]) == ([1.0, None], [1])
