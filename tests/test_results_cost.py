"""What a result costs is what is printed (issue 14): ``check`` says each message from the
values and builds no Detail; the Detail is built when read (explain, the History tab) and
is the one the evaluation would have built; check's JSON text is byte for byte
``json.dumps(result.to_json())``; remembered number texts are the texts themselves."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import math
import pickle
import random
from pathlib import Path

import pytest

from kpirules import ast, evaluation
from kpirules.engine import evaluate, prepare
from kpirules.errors import DATA, Problem
from kpirules.format import _format, format_value, numbers_text
from kpirules.parser import parse_rule
from kpirules.results import Detail, Period, RuleResult, Status
from kpirules.results_json import result_texts
from kpirules.rulesfile import parse_rules_file

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
AS_OF = dt.date(2026, 11, 26)

# Every shape of value a message says: ratios, sums, rows, arithmetic, change against one
# period and against an average, pace, guards, confidence, and/or/not, late data, errors.
RULES = """\
ratio: signups / visits >= 2% weekly warn at 2.5%
ratio_by: signups / visits >= 1.8% over last 28 days by channel
between: orders / signups between 20% and 45% weekly
change: change(orders) >= -10% weekly
change_by: delta(revenue) >= -1000 weekly by channel
change_ratio: change(signups / visits) >= -20% over last 4 weeks
last_year: change(revenue) >= 0 monthly vs last year
average: delta(signups / visits) >= -0.3pp weekly vs average of last 4 by campaign
average_days: change(visits) >= 0 daily vs average of last 7 by channel
arithmetic: (revenue - spend) / spend >= 150% monthly
terms: visits - signups >= 1000 weekly
negated: -spend <= 0 weekly
sum: revenue >= 250k monthly
max: max(spend) <= 2500 daily
avg_by: avg(visits) >= 1000 daily by channel
count_by: count(orders) >= 10 weekly by campaign
same_aggregate: sum(visits) / visits >= 1 weekly
pace: pace(revenue) >= 300k month to date
pace_by: pace(orders) >= 2k week to date by channel
guard: signups / visits >= 5% weekly by campaign where channel = "email" with at least 2500 visits
guards: signups / visits >= 2% weekly with at least 1000 visits and 30 count(orders)
confidence: signups / visits >= 1.2% weekly by campaign where channel = "social" with 95% confidence
either: change(revenue) >= 0 or change(likes) <= 0 weekly
not: not (visits < 100) weekly by channel
zero: signups / emails_sent >= 1% weekly by channel
zero_change: change(emails_sent) >= 0 weekly by channel
before_data: revenue * 2 >= 100 yearly
no_rows: visits >= 1 weekly where channel = "nowhere" by campaign
unknown: sum(bogus) >= 1 weekly
"""


@pytest.fixture(scope="module")
def data():
    return prepare(str(EXAMPLES / "marketing.csv"), rules=str(EXAMPLES / "marketing.kpi")).table


@pytest.fixture(scope="module")
def results(data):
    return evaluate(parse_rules_file(RULES, "cost.kpi"), data, AS_OF).results


def test_check_builds_no_detail_until_one_is_read(monkeypatch, data):
    built = []
    real = evaluation.Context.detail

    def counting(self, expr, at=0):
        built.append(expr)
        return real(self, expr, at)

    monkeypatch.setattr(evaluation.Context, "detail", counting)
    results = evaluate(parse_rules_file("a: signups / visits >= 2% weekly by channel\n"
                                        "b: change(orders) >= -10% weekly\n"), data, AS_OF).results
    assert len(results) == 5 and not built  # the messages are said without one
    detail = results[0].detail
    assert isinstance(detail, Detail) and detail.terms and len(built) == 1
    assert results[0].detail is detail and len(built) == 1  # built once, then kept
    assert isinstance(results[-1].detail.previous, Detail)  # the change's baseline period


def test_a_detail_read_later_is_the_one_the_evaluation_had(results):
    """Each message's numbers (said from the values) are what ``numbers_text`` says of the
    detail built when read; a value is its detail's value; a NO_DATA message gives the
    value's own reason, as the detail has it."""
    assert {r.status for r in results} >= {Status.PASS, Status.WARN, Status.FAIL, Status.NO_DATA,
                                          Status.INCONCLUSIVE, Status.ERROR}
    said = 0
    for r in results:
        if r.status is Status.ERROR and r.error and r.error.category != DATA:
            continue  # the rule did not parse: no value, no detail
        rule = parse_rule(r.rule)
        lhs = rule.value_expr
        if lhs is None:
            assert r.detail is None
            continue
        detail = r.detail
        assert isinstance(detail, Detail) and detail.period == r.period
        if r.status in (Status.PASS, Status.WARN, Status.FAIL, Status.INCONCLUSIVE):
            assert r.value == detail.value
        if r.status is Status.NO_DATA and detail.reason and not r.incomplete:
            assert r.message.endswith(detail.reason)
        if r.status in (Status.PASS, Status.WARN, Status.FAIL) and r.interval is None:
            numbers = numbers_text(detail, lhs, r.unit)
            if not isinstance(lhs, ast.Pace) and not detail.baselines:
                assert r.message.endswith(f"({numbers})"), r.name
                said += 1
    assert said > 20


def test_results_copy_pickle_and_compare_with_their_detail(results):
    r = next(r for r in results if r.name == "change")
    again = pickle.loads(pickle.dumps(r))
    assert again == r and again.detail == r.detail and again.detail.previous is not None
    assert copy.copy(r).detail == r.detail
    assert dataclasses.replace(r, name="other").detail == r.detail
    assert dataclasses.asdict(r)["detail"]["terms"]
    plain = RuleResult(name="x", rule="x >= 1 weekly", status=Status.PASS, detail=r.detail)
    assert plain.detail is r.detail
    plain.detail = None
    assert plain.detail is None


def _encode(result: RuleResult) -> str:
    return json.dumps(result.to_json(), ensure_ascii=False, default=str)


def test_json_text_is_json_dumps_of_to_json(results):
    assert any(r.warn is not None for r in results) and any(r.error for r in results)
    assert any(r.interval for r in results) and any(r.segment for r in results)
    assert list(result_texts(results)) == [_encode(r) for r in results]


def test_json_text_of_unusual_values():
    week = Period(dt.date(2026, 11, 16), dt.date(2026, 11, 22))
    odd = [math.inf, -math.inf, math.nan, -0.0, 0.0, 0, 7, 10**20, 1e-300, 0.1 + 0.2, None, True]
    results = [RuleResult(name="ż\"ółw", rule='x >= 1 weekly where c = "a\\b"', status=status, value=value,
                          threshold=odd[(i + 3) % len(odd)], period=week if i % 3 else None,
                          segment=[None, {"channel": "émail"}, {"a": "1", "b": "\u2028"}, {"c": None}][i % 4],
                          message="tab\there, quote \" and \u00e9", warn=odd[i % 5] if i % 2 else None,
                          interval=(0.1, 0.2) if i % 5 == 0 else None, incomplete=i % 7 == 0,
                          error=Problem(DATA, "bad", cell="Data!C3") if i % 6 == 0 else None,
                          data_problems=(Problem(DATA, "bad cell", cell="Data!C4"),) if i % 9 == 0 else ())
               for i, (status, value) in enumerate((s, v) for s in Status for v in odd)]
    assert list(result_texts(results)) == [_encode(r) for r in results]


def _format_value_as_written(value, unit=None, *, against=None):
    """format_value before it remembered texts: the definition."""
    if value is None:
        return "n/a"
    for extra in range(0, 5):
        text = _format(value, unit, extra)
        if against is None or value == against or text != _format(against, unit, extra):
            return text
    return text


def test_remembered_number_texts_are_the_texts():
    rnd = random.Random(14)
    values = [0, 0.0, -0.0, 1, 1.0, -1, 100, 99.995, 0.02, 0.0199999, 1e20, 10**20, math.inf, math.nan, True]
    values += [round(rnd.uniform(-1, 1) * rnd.choice([1e-3, 1, 1e3, 1e6]), rnd.randint(0, 6)) for _ in range(2000)]
    for _round in range(2):  # the second time from what was remembered
        for value in values:
            for unit in (None, "%", "pp", "k"):
                for against in (None, value, 0.02, values[len(values) // 3], value * (1 + 1e-9)):
                    expected = _format_value_as_written(value, unit, against=against)
                    assert format_value(value, unit, against=against) == expected, (value, unit, against)
    assert format_value(-0.0) == "-0" and format_value(0.0) == "0"


def test_a_detail_read_in_another_language_says_its_periods_as_evaluated(data):
    """A reason in a detail names a period; built when read, it is still said as it was
    when the rule was evaluated (serve answers each request in its own language)."""
    from kpirules.i18n import set_language

    rules = parse_rules_file("late: change(visits) >= 0 weekly vs last year\n"
                             "empty: change(visits) >= 0 daily where channel = 'email'\n")
    try:
        set_language("pl")
        results = evaluate(rules, data, dt.date(2025, 6, 20)).results
        eager = [r.detail for r in evaluate(rules, data, dt.date(2025, 6, 20)).results]
        set_language("en")
        assert [r.detail for r in results] == eager
        reasons = [d.reason or "" for d in eager] + [d.previous.reason or "" for d in eager if d.previous]
        assert any("\u2013" in reason or ".2024" in reason for reason in reasons), reasons
    finally:
        set_language("en")
