"""The plan's scans (kpirules.plan): rules that read the same rows share one Scan, whatever
their spelling; rules that read other rows do not; a scan's kept hash never travels."""

from __future__ import annotations

import datetime as dt
import pickle

from kpirules.parser import parse_rule
from kpirules.plan import Scan, aggregates, build_plan
from kpirules.rulesfile import parse_rules_file

AS_OF = dt.date(2026, 11, 26)
NAMES = ["date", "channel", "campaign", "visits", "signups", "orders"]


def plan_of(text: str):
    return build_plan(parse_rules_file(text), names=NAMES, as_of=AS_OF)


def test_rules_reading_the_same_rows_share_one_scan_and_its_aggregates():
    plan = plan_of('a: sum(visits) >= 1 weekly where channel = "email" by campaign\n'
                   "b: signups / Visits >= 2% Weekly where Channel = 'email' by Campaign\n"
                   'c: change(orders) >= -10% weekly where channel = "email" by campaign\n'
                   'd: visits >= 1 weekly where channel = "web" by campaign\n'
                   'e: visits >= 1 over last 1 weeks where channel = "email" by campaign\n')
    a, b, c, d, e = plan.rules
    assert a.current is b.current is c.current is e.current  # `over last 1 weeks` = `weekly`
    assert d.current is not a.current and d.current != a.current
    assert a.baselines == b.baselines == () and len(c.baselines) == 1
    assert plan.scans[a.current] == {("sum", "visits"), ("sum", "signups"), ("sum", "orders")}
    assert plan.scans[c.baselines[0]] == {("sum", "orders")}
    assert list(plan.scans) == [a.current, c.baselines[0], d.current]  # in the order first read
    assert plan.metrics == {"visits", "signups", "orders"} and plan.dims == {"channel", "campaign"}


def test_a_rule_that_cannot_run_reads_nothing():
    plan = plan_of("a: visits >= 1 weekly\nb: vistis >= 1 weekly\nc: visits >= 1 month to date\n")
    ok, misspelt, to_date = plan.rules
    assert ok.current is not None and ok.problem is None
    assert misspelt.problem is not None and misspelt.current is None
    assert to_date.problem is None and to_date.current is not None
    first_day = build_plan(parse_rules_file("c: visits >= 1 month to date\n"), names=NAMES,
                           as_of=dt.date(2026, 11, 1))
    assert first_day.rules[0].current is None and not first_day.scans


def test_a_scan_hash_is_kept_but_not_pickled():
    plan = plan_of('a: visits >= 1 weekly where channel = "email"\n')
    scan = plan.rules[0].current
    assert hash(scan) == hash((scan.period, scan.filters, scan.dims)) == hash(scan)
    state = scan.__reduce_ex__(4)[2]
    assert "_hash" not in state
    copy = pickle.loads(pickle.dumps(scan))
    assert copy == scan and hash(copy) == hash(scan) and isinstance(copy, Scan)


def test_aggregates_in_the_order_written_with_change_marked():
    rule = parse_rule("change(signups / visits) + max(orders) - count(visits) >= 0 weekly")
    found = [(a.func, a.column.name, inside) for a, inside in aggregates(rule.condition)]
    assert found == [("sum", "signups", True), ("sum", "visits", True), ("max", "orders", False),
                     ("count", "visits", False)]
