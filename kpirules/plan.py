"""Rules -> a plan: which aggregates must be computed over which rows, each exactly once.

A rule needs aggregates (``sum(signups)``, ``max(visits)``) over a *scan*: the rows of one
period, after its ``where`` filters, grouped by its ``by`` columns. Rules that share a scan
share its pass over the rows, and rules that share an aggregate share its value: a hundred
rules about last week's conversion read last week's rows once. The plan also knows the one
date range (the hull) that holds every scan, so the table converts only those rows.
"""

from __future__ import annotations

import datetime as dt
from kpirules.dataclass_fast import dataclass, field
from typing import Iterable

from kpirules.ast import Aggregate, Baseline, Change, Filter, Node, Rule, node_cache
from kpirules.bulk import gc_paused
from kpirules.errors import DATA, INVALID_RULE, Problem
from kpirules.periods import baseline_periods
from kpirules.periods import period as window_period
from kpirules.results import Period
from kpirules.rulesfile import RuleEntry

AggKey = tuple[str, str]  # (func, column)


@dataclass(frozen=True)
class Scan:
    """The rows one pass reads: a period, the filters, and the grouping columns."""

    period: Period
    filters: tuple[Filter, ...] = ()
    dims: tuple[str, ...] = ()

    def __hash__(self) -> int:
        # A scan is a dictionary key for every rule that reads it (the plan's scans, the
        # backend's groups): hashing its period and filters field by field each time cost
        # more than the lookups. It is immutable, so its hash is kept (not pickled: a hash
        # of text differs between processes).
        found = self.__dict__.get("_hash")
        if found is None:
            found = hash((self.period, self.filters, self.dims))
            object.__setattr__(self, "_hash", found)
        return found

    def __getstate__(self) -> dict[str, object]:
        return {name: value for name, value in self.__dict__.items() if name != "_hash"}


@dataclass
class RulePlan:
    entry: RuleEntry
    rule: Rule | None
    # None also for a to-date window on the first day of its unit (a period of no day).
    current: Scan | None = None
    # The baseline periods of change/delta (the `vs` clause), nearest first: one for
    # `vs previous` and `vs last year`, N for `vs average of last N`; empty without change.
    baselines: tuple[Scan, ...] = ()
    problem: Problem | None = None  # why the rule cannot run (bad name, ambiguous column)

    @property
    def previous(self) -> Scan | None:
        """The nearest baseline period (the previous one for `vs previous`)."""
        return self.baselines[0] if self.baselines else None


@dataclass
class Plan:
    as_of: dt.date
    rules: list[RulePlan] = field(default_factory=list)
    scans: dict[Scan, set[AggKey]] = field(default_factory=dict)
    metrics: set[str] = field(default_factory=set)
    dims: set[str] = field(default_factory=set)

    @property
    def hull(self) -> tuple[dt.date, dt.date] | None:
        """The earliest start and latest end over every scan."""
        if not self.scans:
            return None
        return (min(s.period.start for s in self.scans), max(s.period.end for s in self.scans))


@node_cache
def aggregates(node: Node, inside_change: bool = False) -> tuple[tuple[Aggregate, bool], ...]:
    """Every aggregate below ``node`` with whether it sits inside a ``change(...)``, in the
    order written (memoised: plan, evaluation and messages of a thousand rules walk each
    tree once)."""
    found: list[tuple[Aggregate, bool]] = []
    # Depth first, children in declaration order, with an explicit stack: nested
    # generators cost more than the walk for every rule of a large file.
    stack: list[tuple[Node, bool]] = [(node, inside_change)]
    while stack:
        here, inside = stack.pop()
        if isinstance(here, Aggregate):
            found.append((here, inside))
            continue
        children = here.child_nodes()
        if children:
            inside = inside or isinstance(here, Change)
            stack.extend([(child, inside) for child in reversed(children)])
    return tuple(found)


@node_cache
def rule_aggregates(rule: Rule) -> tuple[tuple[Aggregate, bool], ...]:
    """Every aggregate a rule computes, with whether a baseline period needs it too: those
    inside change/delta, and the guards of a rule that has change/delta (the guard must
    hold in every baseline period it uses)."""
    needs = [a for node in (rule.condition, rule.warn) if node is not None for a in aggregates(node)]
    baseline = any(inside for _, inside in needs)
    needs += [(g.value, baseline) for g in rule.guards]
    return tuple(needs)


def _name_problems(entry: RuleEntry, rule: Rule, needs: tuple[tuple[Aggregate, bool], ...], names: set[str],
                   ambiguous: dict[str, list[str]], date_column: str) -> Problem | None:
    columns = [agg.column for agg, _ in needs]
    columns += [c for c in rule.segments] + [f.column for f in rule.filters]
    if not all(c.name in names for c in columns):
        from kpirules.resolve import check_names

        problems = check_names(rule, names)
        if problems:
            return entry.locate(problems[0])
    for column in columns if ambiguous else ():
        if column.name in ambiguous:
            return Problem(DATA, f"column `{column.name}` cannot be told apart: its header appears "
                                 f"in {', '.join(ambiguous[column.name])}",
                           cell=entry.cell, line=entry.line, file=entry.file,
                           suggestion="rename one of the columns in the data tab")
    for agg, _ in needs:
        if agg.column.name == date_column:
            return Problem(INVALID_RULE, f"`{agg.column.text or date_column}` is the date column; "
                                         "it cannot be summed or compared",
                           cell=entry.cell, line=entry.line, file=entry.file)
    return None


def _outside_the_calendar(entry: RuleEntry, rule: Rule, as_of: dt.date) -> Problem:
    """The problem of a rule whose window (or else its ``vs`` baseline) reaches a day
    before the year 1 or after 9999, placed under the clause that does."""
    from kpirules.i18n import _

    try:
        window_period(rule.window, as_of)
        node: Node = rule.compared_with
    except OverflowError:
        node = rule.window
    span = node.span
    return entry.locate(Problem(
        INVALID_RULE, _("`{clause}` reaches outside the calendar as of {date} (before the year 1 or after 9999)").format(
            clause=(entry.text[span.column - 1:span.end_column - 1] if span is not None and span.line == span.end_line
                    else getattr(node, "text", "") or "vs"), date=as_of.isoformat()),
        line=span.line if span is not None else 1, column=span.column if span is not None else 1,
        width=span.end_column - span.column if span is not None and span.line == span.end_line else 1,
        source_line=entry.text, suggestion=_("use a shorter window or fewer periods")))


# What a rule reads, found once for every rule that reads the same: the scan of its period,
# those of its baseline periods, and the plan's sets of aggregates of each.
_Reads = tuple[Scan | None, tuple[Scan, ...], set[AggKey], list[set[AggKey]]]


def build_plan(entries: Iterable[RuleEntry], *, names: Iterable[str], as_of: dt.date,
               ambiguous: dict[str, list[str]] | None = None, date_column: str = "date") -> Plan:
    """Plan ``entries`` against a table whose columns are ``names`` (normalised)."""
    with gc_paused():  # a RulePlan a rule, none of them garbage (kpirules.bulk)
        return _build_plan(entries, set(names), as_of, ambiguous or {}, date_column)


def _build_plan(entries: Iterable[RuleEntry], names: set[str], as_of: dt.date,
                ambiguous: dict[str, list[str]], date_column: str) -> Plan:
    plan = Plan(as_of=as_of)
    known = names | set(ambiguous)  # once, not per rule
    # Rules that read the same rows share one Scan object, found by plain values (window,
    # filters, segments, baseline) rather than by hashing periods and filter nodes a rule.
    reads: dict[tuple[object, ...], _Reads] = {}
    interned: dict[Scan, Scan] = {}
    for entry in entries:
        rule = entry.rule
        rp = RulePlan(entry=entry, rule=rule, problem=entry.problem)
        plan.rules.append(rp)
        if rule is None or rp.problem is not None:
            continue
        needs = rule_aggregates(rule)
        rp.problem = _name_problems(entry, rule, needs, known, ambiguous, date_column)
        if rp.problem is not None:
            continue
        window, filters = rule.window, rule.filters
        dims = tuple(c.name for c in rule.segments)
        baseline = rule.compared_with if any(inside for _, inside in needs) else None
        key = (window.unit, window.count, window.to_date, dims,
               tuple([(f.column.name, f.op, f.values) for f in filters]) if filters else (),
               (baseline.kind, baseline.count) if baseline is not None else None)
        found = reads.get(key)
        if found is None:
            try:
                found = reads[key] = _reads(plan, rule, dims, baseline, interned)
            except OverflowError:  # `over last 1000000 days`: a day before the year 1
                rp.problem = _outside_the_calendar(entry, rule, as_of)
                continue
        rp.current, rp.baselines, current, baselines = found
        if rp.current is None:  # a to-date window on the first day of its unit: nothing to scan
            continue
        for agg, inside in needs:
            agg_key = (agg.func, agg.column.name)
            current.add(agg_key)
            for keys in baselines if inside else ():
                keys.add(agg_key)
            plan.metrics.add(agg.column.name)
        plan.dims.update(dims)
        plan.dims.update(f.column.name for f in filters)
    return plan


def _reads(plan: Plan, rule: Rule, dims: tuple[str, ...], baseline: Baseline | None,
           interned: dict[Scan, Scan]) -> _Reads:
    """The scans ``rule`` reads (its period's, its baseline periods'), each entered in the
    plan (a scan with no aggregate, impossible for a valid rule, still exists) and one
    object for every rule that reads it (``interned``), so that looking it up in the
    plan's or a backend's dictionary finds it by identity."""
    now = window_period(rule.window, plan.as_of)
    if now is None:
        return None, (), set(), []
    scans = [Scan(now, rule.filters, dims)]
    if baseline is not None:
        scans += [Scan(p, rule.filters, dims) for p in baseline_periods(rule.window, plan.as_of, baseline)]
    scans = [interned.setdefault(scan, scan) for scan in scans]
    keys = [plan.scans.setdefault(scan, set()) for scan in scans]
    return scans[0], tuple(scans[1:]), keys[0], keys[1:]
