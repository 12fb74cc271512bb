"""Numbers and sentences for people: formatting like the threshold, rules printed back."""

import datetime as dt
import json
from pathlib import Path

import pytest

from kpirules.format import expr_text, format_value, period_text, rows_text
from kpirules.i18n import speaking
from kpirules.parser import parse_rule
from kpirules.results import Period

CONFORMANCE = Path(__file__).parent / "conformance"


@pytest.mark.parametrize("value,unit,against,expected", [
    (0.0183, "%", None, "1.83%"),
    (0.02004, "%", 0.02, "2.004%"),  # never prints the same as the threshold it differs from
    (-0.11352, "%", None, "-11.35%"),
    (17355.0, None, None, "17,355"),
    (50619.79, None, None, "50,619.79"),
    (0.8750955, None, 0.87, "0.8751"),
    (39.434, None, None, "39.43"),
    (None, "%", None, "n/a"),
])
def test_format_value(value, unit, against, expected):
    assert format_value(value, unit, against=against) == expected


def test_row_counts_are_grouped_as_every_other_number_in_a_message():
    assert rows_text(31_000, 31) == "31,000 rows on 31 days"
    assert rows_text(7, 7) == "7 days"  # one row a day: the days say it
    assert rows_text(7, 7, always_rows=True) == "7 rows on 7 days"  # explain's "counted"
    assert rows_text(1, 1) == "1 day"
    with speaking("pl"):
        assert rows_text(31_000, 31) == "31\u00a0000 wierszy (31 dni)"


def test_period_text():
    d = dt.date
    assert period_text(Period(d(2026, 11, 16), d(2026, 11, 22))) == "2026-11-16..22"
    assert period_text(Period(d(2026, 10, 29), d(2026, 11, 25))) == "2026-10-29..11-25"
    assert period_text(Period(d(2025, 12, 29), d(2026, 1, 4))) == "2025-12-29..2026-01-04"
    assert period_text(Period(d(2026, 11, 25), d(2026, 11, 25))) == "2026-11-25"


def conformance_rules():
    from test_conformance import waiting  # part-two cases are strict expected failures

    for path in sorted(CONFORMANCE.glob("*.json")):
        for case in json.loads(path.read_text(encoding="utf-8"))["cases"]:
            if "error" not in case:
                marks = [pytest.mark.xfail(strict=True, reason="part-two syntax")] \
                    if waiting(path.stem, case["name"]) else []
                yield pytest.param(case["rule"], marks=marks, id=f"{path.stem}::{case['name']}")


@pytest.mark.parametrize("text", [*conformance_rules(), "`Emails sent` / `by` >= 2% weekly",
                                  "a - (b - c) >= -(d + e) weekly", "x / (y * z) > 1 daily"])
def test_printed_conditions_parse_back_to_the_same_ast(text):
    rule = parse_rule(text)
    again = parse_rule(f"{expr_text(rule.condition)} {rule.window.text}")
    assert again.condition == rule.condition


@pytest.mark.parametrize("text", [
    'clicks / impressions >= 1.7% over last 28 days by campaign where channel in ("search", "social")',
    'spend / clicks <= 0.87 monthly by channel warn at 0.86',
    'leads >= 100 weekly by `Kanał reklamy`, campaign where `Typ` != "x" and channel = "email"',
])
def test_printed_rules_parse_back_to_the_same_rule(text):
    from kpirules.format import rule_text

    rule = parse_rule(text)
    assert parse_rule(rule_text(rule)) == rule
