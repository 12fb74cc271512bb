"""Engine behaviour beyond the conformance cases: the plan shares work between rules, and
statuses, segments, filters and bad cells behave as spec/semantics.md says."""

from __future__ import annotations

import datetime as dt

import pytest

import kpirules
from kpirules import aggregate
from kpirules.connectors.base import RawTable
from kpirules.plan import build_plan
from kpirules.rulesfile import parse_rules_file

AS_OF = dt.date(2026, 11, 26)  # Thursday: weekly = 2026-11-16..22, previous = 11-09..15


def table(rows, headers=("date", "channel", "visits", "signups")):
    return kpirules.load_table(RawTable(headers=list(headers), rows=[list(r) for r in rows], sheet="Data"))


def week(day0: int, per_day: dict[str, tuple[float | None, float | None]]):
    return [(f"2026-11-{d:02d}", ch, v, s) for d in range(day0, day0 + 7) for ch, (v, s) in per_day.items()]


BASE = table(week(9, {"search": (1000, 20), "social": (1000, 10)})
             + week(16, {"search": (1000, 25), "social": (1000, 8)}))


def run(text: str, data=BASE):
    return kpirules.evaluate(parse_rules_file(text), data, AS_OF).results


def test_rules_share_scans_and_aggregates():
    rules = "".join(f"r{i}: signups / visits >= {i / 10}% weekly\n" for i in range(100))
    rules += "seg: signups >= 1 weekly by channel\nchg: change(signups) >= 0 weekly\n"
    plan = build_plan(parse_rules_file(rules), names=["channel", "visits", "signups"], as_of=AS_OF)
    assert len(plan.scans) == 3  # last week; last week by channel; the week before
    by_dims = {(s.period.start.day, s.dims): keys for s, keys in plan.scans.items()}
    assert by_dims[(16, ())] == {("sum", "signups"), ("sum", "visits")}
    assert by_dims[(9, ())] == {("sum", "signups")}


def test_each_scan_is_computed_once_whatever_the_rule_count(monkeypatch):
    calls = []
    real = aggregate.compute

    def counting(frame, scan, needed):
        calls.append(scan)
        return real(frame, scan, needed)

    monkeypatch.setattr("kpirules.aggregate.compute", counting)
    results = run("".join(f"r{i}: signups / visits >= {i / 100}% weekly\n" for i in range(500)))
    assert len(results) == 500 and len(calls) == 1


def test_warn_mirrors_for_upper_bounds():
    # search cost per signup: 7000 / 175 = 40
    data = table(week(16, {"search": (1000, 25)}), headers=("date", "channel", "spend", "signups"))
    statuses = [r.status.value for r in run(
        "a: spend / signups <= 45 weekly warn at 35\n"
        "b: spend / signups <= 45 weekly warn at 41\n"
        "c: spend / signups <= 39 weekly\n", data)]
    assert statuses == ["WARN", "PASS", "FAIL"]


def test_segments_sorted_and_values_per_segment():
    results = run("s: signups / visits >= 1.5% weekly by channel")
    assert [(r.segment, r.status.value) for r in results] == [
        ({"channel": "search"}, "PASS"), ({"channel": "social"}, "FAIL")]
    assert results[1].value == pytest.approx(56 / 7000)
    assert results[0].detail.terms[0].value == 175 and results[0].detail.days == 7


def test_change_segments_include_those_only_in_the_previous_period():
    data = table(week(9, {"search": (1000, 20), "tv": (500, 5)}) + week(16, {"search": (1000, 25)}))
    results = run("c: change(signups) >= 0 weekly by channel", data)
    assert [(r.segment["channel"], r.status.value) for r in results] == [("search", "PASS"), ("tv", "NO_DATA")]
    assert "no rows in the period" in results[1].message


def test_no_data_inside_or_makes_the_whole_condition_no_data():
    data = table(week(16, {"search": (1000, 25)}) + week(9, {"search": (1000, 0)}))
    (result,) = run("o: signups >= 1 weekly or change(signups) >= 0 weekly".replace(" weekly or", " or"), data)
    assert result.status.value == "NO_DATA" and result.value is None
    assert "was 0" in result.message


def test_blank_cells_are_missing_not_zero():
    # (visits reach past the week, so the week is complete for it; signups has no cell)
    data = table([("2026-11-16", "a", 100, None), ("2026-11-17", "a", None, None), ("2026-11-23", "a", 5, None)])
    avg, count, total = run("avg: avg(visits) >= 1 weekly\ncnt: count(signups) = 0 weekly\n"
                            "sum: signups >= 0 weekly\n", data)
    assert avg.value == 100 and avg.detail.terms[0].cells == 1
    assert count.status.value == "PASS" and count.value == 0
    assert total.status.value == "NO_DATA" and "signups has no values" in total.message


def test_where_filters_compare_text_and_drop_rows_first():
    results = run('w: signups >= 100 weekly where channel in ("search", "tv") and channel != "tv"')
    assert results[0].value == 175


def test_last_and_first_sum_the_rows_of_the_edge_date():
    results = run("l: last(signups) >= 0 weekly\nf: first(signups) >= 0 weekly")
    assert [r.value for r in results] == [33, 33]  # 25 + 8 on the 22nd and on the 16th


def test_disabled_rules_are_skipped():
    entries = parse_rules_file("a: signups >= 1 weekly\nb: visits >= 1 weekly")
    entries[0].meta["enabled"] = False
    assert [r.name for r in kpirules.evaluate(entries, BASE, AS_OF).results] == ["b"]


def test_ambiguous_and_date_columns_are_errors_not_guesses():
    data = table([("2026-11-16", 1, 2)], headers=("date", "visits", "Visits"))
    (amb,) = run("a: visits >= 1 weekly", data)
    assert amb.status.value == "ERROR" and "Data!B1, Data!C1" in amb.message
    (date,) = run("d: sum(date) >= 1 weekly")
    assert date.status.value == "ERROR" and "date column" in date.message


def test_rows_after_the_as_of_date_are_never_counted():
    data = table(week(16, {"search": (1000, 25)}) + week(23, {"search": (10**9, 10**9)}))
    (r,) = run("a: visits <= 7000 over last 7 days", data)
    assert r.period.end == dt.date(2026, 11, 25) and r.value == 1000 * 4 + 10**9 * 3
    (w,) = run("w: visits <= 7000 weekly", data)
    assert w.value == 7000


def test_a_bad_cell_outside_the_period_does_not_matter():
    # (`n/a` would be a blank now, issue 10: `lots` is text, a bad cell)
    data = table(week(16, {"search": (1000, 25)}) + [("2026-10-01", "search", "lots", 1)])
    (r,) = run("a: signups / visits >= 1% weekly", data)
    assert r.status.value == "PASS"
    (m,) = run("m: visits >= 0 monthly", data)
    assert m.status.value == "ERROR" and m.error.cell == "Data!C9"
