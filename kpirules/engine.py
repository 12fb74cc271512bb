"""Evaluate a plan over a table: aggregates once per scan, then each rule's condition.

``evaluate`` is the whole pipeline for rules already parsed; ``check`` reads a source
(file or sheet) first. Statuses follow spec/semantics.md, "Conditions and status": a
missing number anywhere in a condition (no rows, a blank metric, a division by zero, a
zero previous value) makes the result NO_DATA, also inside and/or/not.
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import TYPE_CHECKING, Any, Iterable, cast

from kpirules.dataclass_fast import dataclass, replace
from kpirules import ast, i18n, wilson
from kpirules.aggregate import Group, Segment, TableBackend
from kpirules.bulk import gc_paused
from kpirules.completeness import DEFAULT_LATE_AFTER, Extents, parse_complete_through, parse_late_after
from kpirules.errors import DATA, Problem
# NoData, Incomplete, BadCells and compare are imported from here by callers.
from kpirules.evaluation import BadCells, Context, Incomplete, NoData, compare
from kpirules.format import expr_text, format_value, period_text, plural, result_message
from kpirules.plan import RulePlan, Scan, aggregates, build_plan
from kpirules.results import Detail, GuardCheck, Period, Report, RuleResult, Status, Term
from kpirules.rulesfile import RuleEntry
from kpirules.table import DataTable

if TYPE_CHECKING:  # pragma: no cover
    from kpirules.config import Settings
    from kpirules.connectors.base import Workbook

def _guard_checks(rule: ast.Rule, ctx: Context) -> tuple[GuardCheck, ...]:
    """Each guard in the evaluated period and in every baseline period a value used."""
    if not rule.guards:  # most rules: nothing to sort or build per result
        return ()
    checks = []
    for at in (0, *sorted(ctx.used)):
        for guard in rule.guards:
            try:
                value: float | None = ctx.value(guard.value, at)
            except Incomplete:
                raise  # late data: NO_DATA, like every value the rule needs
            except NoData:
                value = None
            checks.append(GuardCheck(expr_text(guard.value), guard.minimum.value, value,
                                     ctx.periods[at]))
    return tuple(checks)


def _judge(rule: ast.Rule, ctx: Context, result: RuleResult) -> Status:
    """The status, in the spec's order: NO_DATA (raised by the values), INCONCLUSIVE for an
    unmet guard, ERROR for a share outside 0..n, then the condition (or its interval)."""
    ctx.check_complete()
    cond = rule.condition
    if isinstance(cond, ast.Compare):  # as ctx.holds does, keeping the left side: the value
        result.value = left = ctx.value(cond.left)
        holds = compare(cond.op, left, ctx.value(cond.right))
    else:
        holds = ctx.holds(cond)
    result.guards = _guard_checks(rule, ctx)
    bad_share = None
    if rule.confidence is not None and isinstance(cond, ast.Compare):
        share = cast(ast.BinOp, cond.left)  # the parser allows a confidence only on k / n
        k, n = ctx.value(share.left), ctx.value(share.right)
        result.confidence = rule.confidence.value
        if 0 <= k <= n:
            result.interval = wilson.interval(k, n, rule.confidence.value)
        else:
            bad_share = (f"confidence needs a share: 0 <= {expr_text(share.left)} <= "
                         f"{expr_text(share.right)}, but they are {format_value(k)} and "
                         f"{format_value(n)}")
    if result.guards and any(not g.met for g in result.guards):
        return Status.INCONCLUSIVE
    if bad_share is not None:
        raise BadShare(bad_share)
    if result.interval is not None:
        cond = cast(ast.Compare, cond)  # an interval comes only from a comparison (above)
        lo, hi = result.interval
        verdict = wilson.side(cond.op, lo, hi, ctx.value(cond.right))
        if verdict is None:
            return Status.INCONCLUSIVE
        if not verdict:
            return Status.FAIL
        if rule.warn is not None and not wilson.side(cond.op, lo, hi, ctx.value(rule.warn)):
            return Status.WARN
        return Status.PASS
    if not holds:
        return Status.FAIL
    if rule.warn is not None and isinstance(cond, ast.Compare):
        if not compare(cond.op, cast(float, result.value), ctx.value(rule.warn)):  # its left side
            return Status.WARN
    return Status.PASS


class BadShare(Exception):
    """`with C% confidence` on a share that is not one (k < 0 or k > n): ERROR."""


def _parts(cond: ast.Node, ctx: Context) -> list[tuple[ast.Node, float | None, bool | None]]:
    """The comparisons inside and/or/not with their values, for the message."""
    if isinstance(cond, (ast.BoolOp, ast.Not)):
        return [p for child in cond.iter_children() for p in _parts(child, ctx)]
    left = cond.left if isinstance(cond, ast.Compare) else cast(ast.Between, cond).operand
    try:
        return [(cond, ctx.value(left), ctx.holds(cond))]
    except (NoData, BadCells):
        return [(cond, None, None)]


def _constant(ctx: Context | None, node: ast.Node | None) -> float | None:
    if node is None:
        return None
    if isinstance(node, ast.Number):
        return node.value
    assert ctx is not None  # noqa: S101 - only a number or nothing is asked without one
    try:
        return ctx.value(node)
    except (NoData, BadCells):
        return None


def _unit(rule: ast.Rule) -> str | None:
    """How to show the value: like its threshold, else a change as a percent and a delta
    of a rate in points (`change(revenue) >= 0` reads +23.14%, not 0.2314)."""
    node, value = rule.threshold, rule.value_expr
    if isinstance(node, ast.Number) and node.unit:
        return node.unit
    if isinstance(value, ast.Change):
        if value.func == "change":
            return "%"
        if isinstance(value.operand, ast.BinOp) and value.operand.op == "/":
            return "pp"
    return None


def _evaluate_rule(rp: RulePlan, groups: dict[Scan, dict[Segment, Group]],
                   extents: Extents | None = None) -> list[RuleResult]:
    entry, rule = rp.entry, rp.rule
    base: dict[str, Any] = dict(name=entry.name, rule=entry.text, meta=dict(entry.meta))
    if rp.problem is not None or rule is None:
        problem = rp.problem or entry.problem
        return [RuleResult(status=Status.ERROR, message=problem.one_line() if problem else "",
                           error=problem, **base)]
    if rp.current is None:  # a to-date window on the first day of its unit
        threshold = rule.threshold.value if isinstance(rule.threshold, ast.Number) else None
        result = RuleResult(status=Status.NO_DATA, period=None, threshold=threshold,
                            unit=_unit(rule), **base)
        result.message = f"no data: the {rule.window.text or 'period'} holds no day yet"
        return [result]
    scans = (rp.current, *rp.baselines)
    found = [groups.get(scan, {}) for scan in scans]
    segments: list[Segment | None]
    if rp.current.dims:
        # No segment in the period(s): still one result, NO_DATA with segment null
        # (spec/semantics.md, "Result of one rule"); a rule never leaves the output.
        segments = cast("list[Segment | None]", sorted(set().union(*found)) or [None])
    else:
        segments = [()]
    lhs = rule.value_expr
    results = []
    periods: list[Period | None] = [s.period for s in scans]
    shared: dict[Any, Any] = {}  # per rule, not per segment (Context.shared)
    unit = _unit(rule)
    # A threshold or warn level written as a number (most) is the same for every segment.
    fixed = [node is None or isinstance(node, ast.Number) for node in (rule.threshold, rule.warn)]
    template = RuleResult(status=Status.NO_DATA, period=rp.current.period, unit=unit,
                          threshold=_constant(None, rule.threshold) if fixed[0] else None,
                          warn=_constant(None, rule.warn) if fixed[1] else None, **base)
    details = _Details(rule, lhs, periods, extents, shared) if lhs is not None else None
    for segment in segments:
        seen = [f.get(segment) if segment is not None else None for f in found]
        ctx = Context(rule, seen, periods, extents=extents, shared=shared)
        result = template.copy()  # each segment's result starts as the rule's
        if rp.current.dims and segment:
            result.segment = dict(zip(rp.current.dims, segment))
        if not fixed[0]:
            result.threshold = _constant(ctx, rule.threshold)
        if not fixed[1]:
            result.warn = _constant(ctx, rule.warn)
        reason = None
        try:
            result.status = _judge(rule, ctx, result)
        except NoData as exc:
            result.status, reason = Status.NO_DATA, str(exc)
            result.guards, result.interval = (), None
            result.incomplete = isinstance(exc, Incomplete)
            if segment is None and not result.incomplete:
                reason = f"no rows in the period for any {', '.join(rp.current.dims)}"
        except BadShare as exc:
            result.status = Status.ERROR
            result.error = Problem(DATA, str(exc), cell=entry.cell, line=entry.line,
                                   suggestion="a confidence interval is for a share of successes "
                                              "in trials, such as signups / visits")
        except BadCells as exc:
            result.status = Status.ERROR
            result.data_problems = exc.problems
            first = exc.problems[0]
            more = len(exc.problems) - 1
            result.error = Problem(DATA, first.message + (f" (and {plural(more, 'more bad cell')})" if more else ""),
                                   cell=first.cell, suggestion=first.suggestion)
        if details is not None and lhs is not None:
            # The detail (terms, rows, the previous period) only when something reads it:
            # the message below is said from the values (Context.numbers).
            told = reason if segment is None and reason is not None and not result.incomplete else None
            result.defer_detail(partial(details.build, seen, told))
            if result.status in (Status.NO_DATA, Status.ERROR):
                result.value = None  # _judge keeps a comparison's left side as it goes
            elif not isinstance(rule.condition, ast.Compare):  # between: its operand
                result.value = ctx.value_or_none(lhs)[0]
            if result.status is Status.NO_DATA and not result.incomplete:
                # The value's own reason (its detail's) before the condition's; a late-data
                # reason (``incomplete``) is the one to say, whatever the value's own.
                reason = told or ctx.value_or_none(lhs)[1] or reason
        parts = _parts(rule.condition, ctx) if lhs is None and result.status != Status.ERROR else []
        result.message = result_message(result, rule, reason=reason, parts=parts, numbers=ctx.numbers)
        results.append(result)
    return results


class _Details:
    """What one rule's results need to build their ``Detail`` later (``defer_detail``):
    everything but the segment's groups and the reason said for it."""

    __slots__ = ("rule", "lhs", "periods", "extents", "shared", "language")

    def __init__(self, rule: ast.Rule, lhs: ast.Node, periods: list[Period | None],
                 extents: Extents | None, shared: dict[Any, Any]):
        self.rule, self.lhs, self.periods, self.extents, self.shared = rule, lhs, periods, extents, shared
        self.language = i18n.language()  # a reason says a period as the language writes it

    def build(self, groups: list[Group | None], reason: str | None) -> Detail:
        if i18n.language() != self.language:
            with i18n.speaking(self.language):
                return self.build(groups, reason)
        detail = Context(self.rule, groups, self.periods, extents=self.extents, shared=self.shared).detail(self.lhs)
        return replace(detail, reason=reason) if reason is not None else detail


def evaluate(entries: Iterable[RuleEntry], table: TableBackend, as_of: dt.date, *,
             settings: "Settings | None" = None, complete_through: dt.date | str | None = None,
             late_after: str | dt.timedelta | None = None) -> Report:
    """Evaluate every rule entry against ``table`` as of ``as_of``.

    ``table`` is any ``kpirules.aggregate.TableBackend``: the Python ``DataTable``, the
    DuckDB backend for large files, a warehouse's ``SqlTable``.

    ``complete_through`` and ``late_after`` (or the ``settings`` that hold them; explicit
    arguments win) say how complete the data are: spec/semantics.md, "Complete periods",
    and ``kpirules.completeness``. The report's ``extents`` and ``late`` come from them.

    Disabled entries (``meta["enabled"] is False``) are skipped; entries whose rule did not
    parse come back as one ERROR result each, in their place."""
    if settings is not None:
        complete_through = complete_through if complete_through is not None else settings.complete_through
        late_after = late_after if late_after is not None else settings.late_after
    # A source that keeps rewriting its last days (GA4's export) is complete only up to
    # as_of - lag, unless complete_through says otherwise; its lateness is its real data end.
    lag = table.complete_lag_days if complete_through is None else None
    entries = [e for e in entries if e.meta.get("enabled", True) is not False]
    plan = build_plan(entries, names=[*table.names(), table.date_column], as_of=as_of, ambiguous=table.ambiguous,
                      date_column=table.date_column)
    groups = table.groups(plan)
    # After groups: a backend may compute the extents in the same pass (DuckDB does).
    found = table.extents(sorted(plan.metrics), as_of - dt.timedelta(days=1)) if plan.metrics else {}
    judged = found
    if lag:
        cap = as_of - dt.timedelta(days=lag)
        judged = {column: (start, min(end, cap)) for column, (start, end) in found.items()}
    extents = Extents.build(judged, as_of, parse_complete_through(complete_through)
                            if complete_through is not None else None)
    results: list[RuleResult] = []
    with gc_paused():  # results are kept, not garbage: nothing for the collector to find
        for rp in plan.rules:
            try:
                results += _evaluate_rule(rp, groups, extents)
            except Exception as exc:  # noqa: BLE001 - a bug in one rule must not stop the others
                results.append(internal_error_result(rp.entry, exc))
    if not isinstance(late_after, dt.timedelta):
        late_after = parse_late_after(late_after if late_after is not None else DEFAULT_LATE_AFTER)
    late = (Extents.build(found, as_of) if lag else extents).late(late_after)
    # How the data were read (kpirules.read: lines skipped, totals left out), then late data.
    warnings = list(table.warnings)
    from kpirules.i18n import _, date_text

    warnings += [_("{column} data end on {end}, more than {days} before {day} (late_after): the export that "
                   "fills the sheet may have stopped").format(column=column, end=date_text(end), days=_days(late_after),
                                                              day=date_text(as_of - dt.timedelta(days=1)))
                 for column, end in late.items()]
    return Report(as_of=as_of, results=results, data_problems=list(table.problems),
                  extents=dict(extents.spans), late=late, warnings=warnings)


def _days(delta: dt.timedelta) -> str:
    from kpirules.i18n import ngettext

    return ngettext("{n} day", "{n} days", delta.days).format(n=delta.days)


def internal_error_result(entry: RuleEntry, exc: BaseException) -> RuleResult:
    """The ERROR result of a rule whose evaluation hit a bug: that rule only, one line."""
    from kpirules.errors import INTERNAL

    problem = Problem(INTERNAL, f"kpirules could not evaluate this rule (internal error: "
                      f"{type(exc).__name__}); the other rules were evaluated",
                      suggestion="please report it (README.md, 'Reporting a problem')")
    return RuleResult(name=entry.name, rule=entry.text, status=Status.ERROR, error=problem,
                      message=problem.one_line(), meta=dict(entry.meta))


@dataclass
class Prepared:
    """A source read and ready to evaluate: what ``check`` and ``explain`` both start from."""

    workbook: "Workbook"
    settings: "Settings | None"
    entries: list[RuleEntry]
    table: DataTable
    today: dt.date  # where the sheet lives


def prepare(source: str, *, rules: str | None = None, data_tab: str | None = None,
            rules_tab: str | None = None, connector: str | None = None, config: str | None = None,
            lang: str | None = None, **options: Any) -> Prepared:
    """Read ``source`` (a .csv/.xlsx path or a Google Sheets URL/key) with its settings, its
    rules (or those of the ``rules`` file) and its data table. Settings (``kpirules.toml``,
    the source's Settings tab) name the tabs and the date column; explicit arguments win.
    The language (``lang``, else the settings', else the sheet's locale) is chosen before the
    rules are parsed: their errors are said in it (``kpirules.i18n``)."""
    from kpirules.backends import read_with_table
    from kpirules.i18n import resolve
    from kpirules.source import rule_entries, today
    from kpirules.table import load_table

    # read_source, except that a large CSV file goes to the DuckDB backend, which comes
    # back as ``table`` (kpirules.backends); for any other source ``table`` is None.
    workbook, settings, table = read_with_table(source, connector=connector, config=config, data_tab=data_tab,
                                                rules_tab=rules_tab, with_rules=rules is None, **options)
    resolve(lang, settings, workbook)
    entries = rule_entries(workbook, source, rules, rules_tab=rules_tab, settings=settings, config=config)
    if table is None:
        from kpirules.errors import SourceError
        from kpirules.source import blame_settings, find_settings_file, settings_tab

        try:
            table = load_table(workbook.data, settings=settings)
        except SourceError as exc:
            raise blame_settings(exc, ["date_column"], config or find_settings_file(),
                                 settings_tab(workbook)) from None
    return Prepared(workbook, settings, entries, table, today(settings, workbook))


def check(source: str, *, rules: str | None = None, as_of: dt.date | None = None, **options: Any) -> Report:
    """``prepare`` ``source`` and evaluate its rules as of ``as_of`` (default: today where
    the sheet lives)."""
    ready = prepare(source, rules=rules, **options)
    return evaluate(ready.entries, ready.table, as_of or ready.today, settings=ready.settings)
