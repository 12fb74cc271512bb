"""Property tests: baselines, to-date periods and pace against a brute-force computation
that walks the calendar day by day (no date arithmetic shared with kpirules.periods), on
random dates with leap days, first days of periods and year ends over-represented."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kpirules
from kpirules.ast import Baseline, Window
from kpirules.connectors.base import RawTable
from kpirules.periods import baseline_periods, period
from kpirules.rulesfile import parse_rules_file

DAY = dt.timedelta(days=1)
UNITS = ("week", "month", "quarter", "year")


def unit_key(unit: str, day: dt.date) -> tuple:
    if unit == "day":
        return (day,)
    if unit == "week":
        return day.isocalendar()[:2]
    if unit == "month":
        return (day.year, day.month)
    if unit == "quarter":
        return (day.year, (day.month - 1) // 3)
    return (day.year,)


def unit_days(unit: str, day: dt.date) -> list[dt.date]:
    """Every day of the unit holding ``day``, found by walking out from it."""
    key, first, last = unit_key(unit, day), day, day
    while unit_key(unit, first - DAY) == key:
        first -= DAY
    while unit_key(unit, last + DAY) == key:
        last += DAY
    return [first + DAY * i for i in range((last - first).days + 1)]


def units_before(unit: str, as_of: dt.date, n: int) -> list[list[dt.date]]:
    """The n whole units before the one holding ``as_of``, nearest first."""
    out, day = [], unit_days(unit, as_of)[0] - DAY
    for _ in range(n):
        days = unit_days(unit, day)
        out.append(days)
        day = days[0] - DAY
    return out


def span(days: list[dt.date]) -> tuple[dt.date, dt.date] | None:
    return (min(days), max(days)) if days else None


def as_tuple(p) -> tuple[dt.date, dt.date] | None:
    return None if p is None else (p.start, p.end)


def year_earlier(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


special = st.sampled_from([
    dt.date(2024, 2, 29), dt.date(2024, 3, 1), dt.date(2023, 3, 1), dt.date(2025, 3, 1),
    dt.date(2024, 1, 1), dt.date(2023, 12, 31), dt.date(2026, 1, 1), dt.date(2020, 2, 29),
    dt.date(2024, 4, 1), dt.date(2026, 3, 30), dt.date(2026, 3, 31), dt.date(2025, 12, 29),
    dt.date(2028, 2, 29), dt.date(2027, 1, 4), dt.date(2024, 12, 30), dt.date(2021, 1, 1)])
dates = st.one_of(special, st.dates(dt.date(2019, 1, 1), dt.date(2030, 12, 31)))
SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------------- to-date periods


def brute_to_date(unit: str, as_of: dt.date) -> list[dt.date]:
    return [d for d in unit_days(unit, as_of) if d < as_of]


@SETTINGS
@given(as_of=dates, unit=st.sampled_from(UNITS), back=st.integers(0, 5))
def test_to_date_periods(as_of, unit, back):
    window = Window(unit, 1, to_date=True)
    now = brute_to_date(unit, as_of)
    if back == 0:
        assert as_tuple(period(window, as_of)) == span(now)
        return
    if not now:
        assert period(window, as_of, back) is None
        return
    # The first d days of the unit `back` units before, cut at its last day.
    earlier = units_before(unit, as_of, back)[-1][:len(now)]
    assert as_tuple(period(window, as_of, back)) == span(earlier)


@SETTINGS
@given(as_of=dates, unit=st.sampled_from(UNITS))
def test_to_date_last_year(as_of, unit):
    window = Window(unit, 1, to_date=True)
    now = brute_to_date(unit, as_of)
    got = baseline_periods(window, as_of, Baseline("last_year"))
    if not now:
        assert got == ()
        return
    if unit == "week":
        expected = [d - DAY * 364 for d in now]
    else:
        end = year_earlier(now[-1])
        expected = [d for d in unit_days(unit, end) if d <= end]
    (found,) = got
    assert as_tuple(found) == span(expected)


# ----------------------------------------------------------------- whole-unit windows


WHOLE = [("daily", "day", 1), ("weekly", "week", 1), ("monthly", "month", 1),
         ("quarterly", "quarter", 1), ("yearly", "year", 1), ("over last 10 days", "day", 10),
         ("over last 3 weeks", "week", 3), ("over last 5 months", "month", 5)]


@SETTINGS
@given(as_of=dates, which=st.sampled_from(WHOLE), n=st.integers(1, 6))
def test_previous_average_and_last_year(as_of, which, n):
    text, unit, count = which
    window = parse_rules_file(f"r: change(x) >= 0 {text}")[0].rule.window
    groups = units_before(unit, as_of, count * (n + 1))
    periods = [sorted(d for g in groups[i * count:(i + 1) * count] for d in g) for i in range(n + 1)]
    assert as_tuple(period(window, as_of)) == span(periods[0])
    average = baseline_periods(window, as_of, Baseline("average", n))
    assert [as_tuple(p) for p in average] == [span(p) for p in periods[1:]]
    (previous,) = baseline_periods(window, as_of, Baseline("previous"))
    assert as_tuple(previous) == span(periods[1])
    (last_year,) = baseline_periods(window, as_of, Baseline("last_year"))
    if unit in ("day", "week"):
        expected = [d - DAY * 364 for d in periods[0]]
    else:  # the same calendar months a year earlier
        months = {(d.year - 1, d.month) for d in periods[0]}
        first = min(periods[0]).replace(year=min(periods[0]).year - 1)
        expected = [first + DAY * i for i in range(800)
                    if ((first + DAY * i).year, (first + DAY * i).month) in months]
    assert as_tuple(last_year) == span(expected)


# ------------------------------------------------------------ values on random data


def random_table(draw, as_of: dt.date):
    """Daily rows from before any baseline (five years and more) to a few days after
    the as-of date; values from a drawn seed (drawing 1,600 numbers one by one is slow)."""
    import random

    start = as_of - dt.timedelta(days=5 * 366 + 40)
    n = (as_of - start).days + 5
    rng = random.Random(draw(st.integers(0, 2**32)))
    values = [rng.randint(0, 1000) for _ in range(n)]
    rows = [((start + DAY * i).isoformat(), v) for i, v in enumerate(values)]
    table = kpirules.load_table(RawTable(headers=["date", "x"], rows=[list(r) for r in rows],
                                         sheet="Data"))
    return table, {start + DAY * i: v for i, v in enumerate(values)}


def evaluate(rule: str, table, as_of: dt.date):
    entry = parse_rules_file(f"r: {rule}")[0]
    (result,) = kpirules.evaluate([entry], table, as_of).results
    return result


@SETTINGS
@given(data=st.data(), as_of=dates, unit=st.sampled_from(UNITS))
def test_pace_against_brute_force(data, as_of, unit):
    table, by_day = random_table(data.draw, as_of)
    result = evaluate(f"pace(x) >= 0 {unit} to date", table, as_of)
    days = brute_to_date(unit, as_of)
    if not days:
        assert result.status.value == "NO_DATA" and result.period is None
        return
    expected = sum(by_day[d] for d in days) * len(unit_days(unit, as_of)) / len(days)
    assert result.value == expected or abs(result.value - expected) <= 1e-9 * abs(expected)


@SETTINGS
@given(data=st.data(), as_of=dates, which=st.sampled_from(WHOLE + [
    (f"{u} to date", u, 1) for u in UNITS]), n=st.integers(1, 3))
def test_delta_vs_average_and_change_vs_last_year(data, as_of, which, n):
    text, unit, count = which
    table, by_day = random_table(data.draw, as_of)
    to_date = text.endswith("to date")
    if to_date:
        now = brute_to_date(unit, as_of)
        if not now:
            assert evaluate(f"delta(x) >= 0 {text} vs previous", table, as_of).period is None
            return
        earlier = [g[:len(now)] for g in units_before(unit, as_of, n)]
    else:
        groups = units_before(unit, as_of, count * (n + 1))
        now = [d for g in groups[:count] for d in g]
        earlier = [[d for g in groups[i * count:(i + 1) * count] for d in g] for i in range(1, n + 1)]
    total = lambda days: sum(by_day[d] for d in days)  # noqa: E731
    mean = sum(total(p) for p in earlier) / n
    result = evaluate(f"delta(x) >= 0 {text} vs average of last {n}", table, as_of)
    assert abs(result.value - (total(now) - mean)) <= 1e-9 * max(1.0, abs(mean))
    if to_date and unit != "week":
        end = year_earlier(max(now))
        last_year = [d for d in unit_days(unit, end) if d <= end]
    elif unit in ("day", "week"):
        last_year = [d - DAY * 364 for d in now]
    else:
        months = {(d.year - 1, d.month) for d in now}
        last_year = [d for d in by_day if (d.year, d.month) in months]
    result = evaluate(f"change(x) >= 0 {text} vs last year", table, as_of)
    base = total(last_year)
    if base == 0:
        assert result.status.value == "NO_DATA"
    else:
        expected = (total(now) - base) / base
        assert abs(result.value - expected) <= 1e-9 * max(1.0, abs(expected))
