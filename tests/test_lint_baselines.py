"""lint's findings from the language's second part (docs/lint.md, KPI008-KPI010), each
with a rule it must flag and rules it must leave alone, on data built for the purpose."""

from __future__ import annotations

import datetime as dt
import math
import random
import textwrap

import pytest

import kpirules
from kpirules.connectors.base import RawTable
from kpirules.lint import RuleSet, lint
from kpirules.parser import parse_rule
from kpirules.rulesfile import parse_rules_file

END = dt.date(2026, 11, 22)  # a Sunday: lint looks as of 2026-11-23


def table(days: int, row):
    """``days`` daily rows up to END; ``row(day, rng)`` gives (visits, signups)."""
    rng = random.Random(7)
    rows = []
    for i in range(days, -1, -1):
        day = END - dt.timedelta(days=i)
        rows.append([day.isoformat(), *row(day, rng)])
    return kpirules.load_table(RawTable(headers=["date", "visits", "signups"], rows=rows,
                                        sheet="Data"))


def findings(rules: str, data=None, code: str | None = None):
    entries = parse_rules_file(textwrap.dedent(rules), file="r.kpi")
    found = lint([RuleSet("r.kpi", entries)], table=data).findings
    return [f for f in found if code is None or f.code == code]


def rewritten(finding) -> str:
    """The rule of a rewrite ``name: rule   (note)``; it must parse."""
    text = finding.rewrite.split(": ", 1)[1].split("   (")[0]
    parse_rule(text)
    return text


# 130 visits a day: 910 a week, enough for KPI002's 784 at 2% but under 1,000.
THIN = table(120, lambda day, rng: (130, 3))
THICK = table(120, lambda day, rng: (200, 5))


def test_kpi008_unguarded_ratio_with_a_thin_denominator():
    (f,) = findings("conv: signups / visits >= 2% weekly\n", THIN, "KPI008")
    assert "`visits` was below 1,000 in 12 of the last 12 periods" in f.reason
    assert rewritten(f) == "signups / visits >= 2% weekly with at least 1000 visits"


@pytest.mark.parametrize("rule,data", [
    ("signups / visits >= 2% weekly with at least 500 visits", THIN),  # guarded
    ("signups / visits >= 2% weekly with 95% confidence", THIN),  # judged by its interval
    ("signups / visits >= 2% weekly", THICK),  # 1,400 visits a week
    ("signups >= 10 weekly", THIN),  # no ratio
])
def test_kpi008_leaves_alone(rule, data):
    assert not findings(f"r: {rule}\n", data, "KPI008")


def test_kpi009_change_of_a_ratio_suggests_points():
    (f,) = findings("conv_trend: change(signups / visits) >= -10% weekly\n", code="KPI009")
    assert "relative change of a rate" in f.reason
    assert rewritten(f) == "delta(signups / visits) >= -10pp weekly"  # no data: set them
    (f,) = findings("conv_trend: change(signups / visits) >= -10% weekly\n", THIN, "KPI009")
    # -10% of the typical 2.31% is about -0.2 points
    assert rewritten(f) == "delta(signups / visits) >= -0.2pp weekly"


@pytest.mark.parametrize("rule", [
    "change(signups) >= -10% weekly",
    "delta(signups / visits) >= -0.5pp weekly",
    "signups / visits >= 2% weekly",
])
def test_kpi009_leaves_alone(rule):
    assert not findings(f"r: {rule}\n", code="KPI009")


WEEKDAYS = table(120, lambda day, rng: (1000, (50 if day.weekday() < 5 else 12)
                                         + rng.randint(-3, 3)))
NOISE = table(120, lambda day, rng: (1000, 40 + rng.randint(-10, 10)))
YEARLY = table(2 * 365 + 200, lambda day, rng: (
    1000, round(30 + 20 * math.sin(2 * math.pi * day.timetuple().tm_yday / 365))
    + rng.randint(-2, 2)))


def test_kpi010_weekday_pattern_suggests_last_year():
    (f,) = findings("daily_trend: change(signups) >= -20% daily\n", WEEKDAYS, "KPI010")
    assert "the day of the week explains" in f.reason and "R² >= 50%" in f.reason
    assert rewritten(f) == "change(signups) >= -20% daily vs last year"


def test_kpi010_same_week_last_year_pattern():
    (f,) = findings("weekly_trend: delta(signups) >= -30 weekly\n", YEARLY, "KPI010")
    assert "the same week last year explains" in f.reason
    assert rewritten(f) == "delta(signups) >= -30 weekly vs last year"


@pytest.mark.parametrize("rule,data", [
    ("change(signups) >= -20% daily", NOISE),  # no weekday pattern
    ("change(signups) >= -20% daily vs last year", WEEKDAYS),  # already like with like
    ("change(signups) >= -20% monthly", YEARLY),  # not daily or weekly
    ("signups >= 10 daily", WEEKDAYS),  # no change
])
def test_kpi010_leaves_alone(rule, data):
    assert not findings(f"r: {rule}\n", data, "KPI010")
