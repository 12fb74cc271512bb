"""Numbers and dates as exports write them, cell by cell (kpirules.read)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpirules.read.dates import DAY_FIRST, MONTH_FIRST, DateReader, text_date
from kpirules.read.numbers import AMBIGUOUS, COMMA, DOT, decide, mark_of_locale, read_text

WRITERS = {  # how exports write 1234567.89, by decimal mark
    DOT: [lambda v: f"{v:,.2f}", lambda v: f"${v:,.2f}", lambda v: f"{v:,.2f} USD",
          lambda v: f"{v:_.2f}".replace("_", "'"), lambda v: f"{v:.2f}"],
    COMMA: [lambda v: f"{v:,.2f}".replace(",", " ").replace(".", ","),
            lambda v: f"{v:,.2f}".replace(",", "\u00a0").replace(".", ",") + " zł",
            lambda v: f"{v:,.2f}".replace(",", "\u202f").replace(".", ","),
            lambda v: "PLN " + f"{v:,.2f}".replace(",", "X").replace(".", ",").replace("X", "."),
            lambda v: f"{v:.2f}".replace(".", ",") + " €"],
}


@settings(max_examples=200, deadline=None)
@given(value=st.decimals(min_value=-10**9, max_value=10**9, places=2).map(float),
       mark=st.sampled_from([DOT, COMMA]), which=st.integers(0, 4))
def test_a_number_written_by_any_convention_reads_back(value, mark, which):
    text = WRITERS[mark][which](value)
    assert read_text(text, mark) == pytest.approx(value, abs=1e-9), text
    # Two decimals always say which mark it is: the cell decides alone.
    assert read_text(text, None) == pytest.approx(value, abs=1e-9), text


@pytest.mark.parametrize("text,dot,comma", [
    ("1,234", 1234.0, 1.234), ("1.234", 1.234, 1234.0), ("1 234", 1234.0, 1234.0),
    ("12,5%", None, 0.125), ("41.23%", 0.4123, None), ("-1.234.567", None, -1234567.0),
    ("--", None, None), ("N/A", None, None), ("", None, None),
])
def test_the_mark_decides_only_what_the_cell_does_not(text, dot, comma):
    assert read_text(text, DOT) == dot or (dot is None and read_text(text, DOT) in (None, "not a number"))
    assert read_text(text, COMMA) == comma or (comma is None and read_text(text, COMMA) in (None, "not a number"))


def test_a_column_decides_from_its_cells_then_from_the_file():
    assert decide(["1,234", "12,5"], hint=None) == COMMA  # 12,5 proves it
    assert decide(["1,234", "1,234.5"], hint=None) == DOT
    assert decide(["1,234"], hint=COMMA) == COMMA  # a `;` file, a Polish sheet
    assert decide(["1,234"], hint=None) is None and read_text("1,234", None) == AMBIGUOUS
    assert decide(["1,5"], hint=None, override=DOT) == DOT  # the locale setting wins
    assert (mark_of_locale("pl_PL"), mark_of_locale("en-US"), mark_of_locale("de_CH")) == (COMMA, DOT, DOT)


@pytest.mark.parametrize("text,order,expected", [
    ("2026-10-01", None, dt.date(2026, 10, 1)), ("2026/10/01 10:00", None, dt.date(2026, 10, 1)),
    ("2026-10-01T23:30:00-08:00", None, dt.date(2026, 10, 1)),  # the date part as written
    ("20261001", None, dt.date(2026, 10, 1)), ("01.10.2026", None, dt.date(2026, 10, 1)),
    ("1.10.26", None, dt.date(2026, 10, 1)), ("1/10/2026", DAY_FIRST, dt.date(2026, 10, 1)),
    ("10/1/2026", MONTH_FIRST, dt.date(2026, 10, 1)), ("1/1/20", MONTH_FIRST, dt.date(2020, 1, 1)),
    ("Oct 01, 2026 10:00 am", None, dt.date(2026, 10, 1)), ("November 3, 2026", None, dt.date(2026, 11, 3)),
    ("3 Nov 2026", None, dt.date(2026, 11, 3)), ("1/10/2026", None, None), ("2026-02-30", None, None),
    ("Q3 2026", None, None),
])
def test_dates(text, order, expected):
    assert text_date(text, order) == (expected.toordinal() if expected else None)


def test_the_date_format_setting_reads_the_rest():
    read = DateReader.for_column({"01-Oct-2026"}, where="A", fmt="%d-%b-%Y")
    assert read("01-Oct-2026") == dt.date(2026, 10, 1).toordinal()
