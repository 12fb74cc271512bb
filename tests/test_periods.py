"""Windows to dates, against the table of spec/semantics.md ("Periods")."""

import datetime as dt

import pytest

from kpirules.ast import Window
from kpirules.periods import as_of_for, period, previous
from kpirules.results import Period

D = dt.date


@pytest.mark.parametrize("window,as_of,expected,prev", [
    (Window("day"), D(2026, 11, 26), (D(2026, 11, 25), D(2026, 11, 25)), (D(2026, 11, 24), D(2026, 11, 24))),
    # Thursday: the Monday-Sunday week before the week holding A.
    (Window("week"), D(2026, 11, 26), (D(2026, 11, 16), D(2026, 11, 22)), (D(2026, 11, 9), D(2026, 11, 15))),
    # Monday: its own week has begun, so the previous week is the one just ended.
    (Window("week"), D(2026, 11, 23), (D(2026, 11, 16), D(2026, 11, 22)), (D(2026, 11, 9), D(2026, 11, 15))),
    # Sunday: still inside the week of 11-16, so the week before that.
    (Window("week"), D(2026, 11, 22), (D(2026, 11, 9), D(2026, 11, 15)), (D(2026, 11, 2), D(2026, 11, 8))),
    (Window("month"), D(2026, 3, 1), (D(2026, 2, 1), D(2026, 2, 28)), (D(2026, 1, 1), D(2026, 1, 31))),
    (Window("month"), D(2026, 1, 2), (D(2025, 12, 1), D(2025, 12, 31)), (D(2025, 11, 1), D(2025, 11, 30))),
    (Window("quarter"), D(2026, 1, 2), (D(2025, 10, 1), D(2025, 12, 31)), (D(2025, 7, 1), D(2025, 9, 30))),
    (Window("year"), D(2026, 11, 26), (D(2025, 1, 1), D(2025, 12, 31)), (D(2024, 1, 1), D(2024, 12, 31))),
    (Window("day", 7), D(2026, 11, 26), (D(2026, 11, 19), D(2026, 11, 25)), (D(2026, 11, 12), D(2026, 11, 18))),
    (Window("week", 4), D(2026, 11, 26), (D(2026, 10, 26), D(2026, 11, 22)), (D(2026, 9, 28), D(2026, 10, 25))),
    (Window("month", 3), D(2026, 11, 26), (D(2026, 8, 1), D(2026, 10, 31)), (D(2026, 5, 1), D(2026, 7, 31))),
    (Window("month", 2), D(2024, 3, 31), (D(2024, 1, 1), D(2024, 2, 29)), (D(2023, 11, 1), D(2023, 12, 31))),
])
def test_period_and_previous(window, as_of, expected, prev):
    assert period(window, as_of) == Period(*expected)
    assert previous(window, as_of) == Period(*prev)


@pytest.mark.parametrize("window", [Window("day"), Window("week"), Window("month"), Window("quarter"),
                                    Window("year"), Window("day", 28), Window("month", 3)])
def test_periods_tile_backwards_without_gaps(window):
    as_of = D(2026, 11, 26)
    newer = period(window, as_of)
    for back in range(1, 8):
        older = period(window, as_of, back=back)
        assert older.end + dt.timedelta(days=1) == newer.start
        # Re-running at the as-of date that as_of_for gives lands on the same period.
        assert period(window, as_of_for(window, as_of, back)) == older
        newer = older


def test_period_never_holds_the_as_of_date():
    for day in range(1, 366):
        as_of = D(2026, 1, 1) + dt.timedelta(days=day)
        for window in (Window("day"), Window("week"), Window("month"), Window("quarter"), Window("year")):
            assert period(window, as_of).end < as_of
