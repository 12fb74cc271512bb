"""The lint checks that need only the rules (docs/lint.md has the why of each code).

Each check takes the rules being linted and yields ``Finding``s. Checks work on the AST,
never on rule text, so ``Visits >= 1k weekly`` and ``sum(visits) >= 1000 weekly`` are the
same rule to them (``canon``).
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from kpirules import ast
from kpirules.evaluation import constant
from kpirules.i18n import N_, _, ngettext
from kpirules.lint.findings import Finding, literal, nice_ceiling, rule_check, rule_text
from kpirules.lint.vocabulary import Metric, Vocabulary


@dataclass
class Item:
    """One rule being linted and where it came from."""

    entry: Any  # kpirules.rulesfile.RuleEntry with a parsed rule
    path: str  # the file or workbook the user named
    columns: dict[str, int] | None = None  # Rules-tab header -> column index (None: a .kpi file)
    sheet: str | None = None
    header_row: int = 1

    @property
    def rule(self) -> ast.Rule:
        return self.entry.rule

    @property
    def name(self) -> str:
        return self.entry.name

    def finding(self, code: str, reason: str, rewrite: str) -> Finding:
        e = self.entry
        return Finding(code, e.name, reason, rewrite, text=e.text,
                       file=self.path if e.cell else (e.file or self.path), line=e.line, cell=e.cell,
                       item=self)

    def where(self, seen_from: Item | None = None) -> str:
        """Where this rule is, as a finding about ``seen_from`` names it: "line 3" in the
        same file, "other.kpi:3" (or "book.xlsx:Rules!B3") in another one."""
        e = self.entry
        if seen_from is not None and seen_from.path != self.path:
            return f"{self.path}:{e.cell or e.line or ''}".rstrip(":")
        return e.cell or (_("line {n}").format(n=e.line) if e.line else self.path)


# ------------------------------------------------------------------------ AST helpers


def canon(node: Any) -> Any:
    """``node`` with how it was written dropped (text, units, implicit sums), so that rules
    meaning the same thing compare equal."""
    if isinstance(node, tuple):
        return tuple(canon(n) for n in node)
    if not isinstance(node, ast.Node):
        return node
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(node):
        if f.name == "span":
            continue
        value = getattr(node, f.name)
        if f.name == "text":
            changes[f.name] = ""
        elif f.name == "unit" and isinstance(node, ast.Number):
            changes[f.name] = None
        elif f.name == "implicit":
            changes[f.name] = False
        elif f.name == "values" and isinstance(node, ast.Filter) and node.op == "in":
            changes[f.name] = tuple(sorted(value))
        elif isinstance(value, (ast.Node, tuple)):
            changes[f.name] = canon(value)
    if isinstance(node, ast.Rule):
        # `a and b` filters in any order mean the same
        changes["filters"] = tuple(sorted(changes["filters"], key=repr))
        # no `vs` clause means `vs previous`; guards in any order mean the same
        uses = any(isinstance(n, ast.Change) for n in node.condition.walk())
        changes["baseline"] = canon(node.compared_with) if uses else None
        changes["guards"] = tuple(sorted(changes.get("guards", ()), key=repr))
    return dataclasses.replace(node, **changes)


def comparisons(condition: ast.Node) -> Iterator[ast.Node]:
    """Every Compare and Between in a condition."""
    for node in condition.walk():
        if isinstance(node, (ast.Compare, ast.Between)):
            yield node


def lhs(node: ast.Node) -> ast.Node:
    return node.left if isinstance(node, ast.Compare) else node.operand


def unit_of(node: ast.Node | None) -> str | None:
    if isinstance(node, ast.Number):
        return node.unit
    if isinstance(node, ast.Neg):
        return unit_of(node.operand)
    return None


def aggregates(node: ast.Node) -> list[ast.Aggregate]:
    return [n for n in node.walk() if isinstance(n, ast.Aggregate)]


WINDOW_DAYS = {"day": 1.0, "week": 7.0, "month": 30.44, "quarter": 91.31, "year": 365.25}


def window_days(window: ast.Window) -> float:
    return WINDOW_DAYS[window.unit] * window.count


# -------------------------------------------------------------------------- KPI001


def vanity(items: Iterable[Item], vocabulary: Vocabulary, headers: set[str] | None) -> Iterator[Finding]:
    """KPI001: every column the rule names counts activity or reach. A rule made of
    ``count()`` alone (``count(visits) >= 1 daily``) is a freshness check: it asks whether
    the data arrived, not how much activity there was, so it is not a vanity KPI."""
    for item in items:
        found = aggregates(item.rule.condition)
        columns = [a.column for a in found]
        if not columns or all(a.func == "count" for a in found):
            continue
        metrics = [vocabulary.lookup(c.name) for c in columns]
        if not all(metrics):
            continue
        column, metric = _primary(item.rule, columns, metrics)
        outcome = _outcome(metric, vocabulary, headers)
        col = column.text or column.name
        target = ast.Number(0.0, text=metric.target)
        ratio = ast.BinOp("/", ast.Aggregate("sum", ast.Column(outcome, outcome), implicit=True),
                          ast.Aggregate("sum", ast.Column(column.name, col), implicit=True))
        new = rule_text(item.rule, condition=ast.Compare(">=", ratio, target), warn=None)
        named = ", ".join(f"`{c.text or c.name}`" for c in dict.fromkeys(columns))
        distinct = len(set(c.name for c in columns))
        what = metric.what if distinct == 1 else _("activity and reach")
        yield item.finding(
            "KPI001",
            ngettext("{columns} only counts {what}, which can rise with no change in {outcome}, so nobody "
                     "can decide anything from this rule alone",
                     "{columns} only count {what}, which can rise with no change in {outcome}, so nobody "
                     "can decide anything from this rule alone", distinct).format(
                columns=named, what=what, outcome=outcome),
            f"{outcome}_per_{column.name}: {new}   " + _("(set the target from your own data)"))


def _primary(rule: ast.Rule, columns: list[ast.Column], metrics: list[Metric]) -> tuple[ast.Column, Metric]:
    # In `opens / emails_sent` the base is the denominator: leads / emails_sent.
    for node in rule.condition.walk():
        if isinstance(node, ast.BinOp) and node.op == "/":
            below = aggregates(node.right)
            if below:
                col = below[0].column
                return col, metrics[[c.name for c in columns].index(col.name)]
    return columns[0], metrics[0]


def _outcome(metric: Metric, vocabulary: Vocabulary, headers: set[str] | None) -> str:
    if headers is None or metric.outcome in headers:
        return metric.outcome
    return next((o for o in vocabulary.outcomes if o in headers), metric.outcome)


# -------------------------------------------------------------------------- KPI003


def _count_threshold(rule: ast.Rule) -> tuple[ast.Aggregate, float, ast.Compare] | None:
    """``sum(x) >= 1000`` / ``count(x) < 5``: a count compared with a number, else None."""
    cond = rule.condition
    if not isinstance(cond, ast.Compare) or cond.op not in (">=", ">", "<=", "<"):
        return None
    if not isinstance(cond.left, ast.Aggregate) or cond.left.func not in ("sum", "count"):
        return None
    value = constant(cond.right)
    if value is None or value <= 0:
        return None
    return cond.left, value, cond


def window_scale(items: list[Item], skip: set[int] = frozenset()) -> Iterator[Finding]:
    """KPI003 without data: two count thresholds on the same metric whose windows imply
    daily rates more than 4x apart; one of them was written for another window."""
    groups: dict[Any, list[tuple[Item, float]]] = {}
    for item in items:
        found = _count_threshold(item.rule)
        if found is None or id(item) in skip:
            continue
        agg, value, _cond = found
        key = (canon(agg), canon(item.rule.segments), canon(item.rule.filters))
        groups.setdefault(key, []).append((item, value))
    for members in groups.values():
        if len(members) < 2:
            continue
        rates = [value / window_days(item.rule.window) for item, value in members]
        # The reference is the rule closest to the group's median daily rate (the first of
        # two): the others are judged against it, so one odd rule out of three is the one
        # reported, not every pair it touches.
        middle = statistics.median(rates) if len(rates) > 2 else rates[0]
        ref = min(range(len(members)), key=lambda k: (abs(math.log(rates[k] / middle)), k))
        other, _rate = members[ref]
        for k, (item, _value) in enumerate(members):
            ratio = rates[k] / rates[ref]
            if k == ref or 1 / 4 <= ratio <= 4:
                continue
            agg, _value, cond = _count_threshold(item.rule)
            scaled = nice_ceiling(rates[ref] * window_days(item.rule.window))
            unit = unit_of(cond.right)
            new = ast.Compare(cond.op, cond.left, ast.Number(float(scaled), unit, literal(scaled, unit)))
            yield item.finding(
                "KPI003",
                _("its threshold is {rate} a day while `{other}` ({where}) asks {other_rate} a day of the "
                  "same count, so one of the two was written for another window").format(
                    rate=_per_day(rates[k]), other=other.name, where=other.where(item),
                    other_rate=_per_day(rates[ref])),
                _("if `{other}` is right: {rule}").format(
                    other=other.name, rule=f"{item.name}: {rule_text(item.rule, condition=new, warn=None)}"))


def _per_day(value: float) -> str:
    from kpirules.i18n import number_text

    return number_text(f"{value:,.0f}" if value >= 10 else f"{value:,.2g}")


# -------------------------------------------------------------------------- KPI004


@rule_check("KPI004")
def duplicates(items: list[Item]) -> Iterator[Finding]:
    """KPI004: two rules that say the same thing (however written)."""
    seen: dict[Any, Item] = {}
    for item in items:
        key = canon(item.rule)
        if key in seen:
            first = seen[key]
            yield item.finding(
                "KPI004", _("it says exactly what `{first}` ({where}) says, so every alert would come twice "
                            "and a fix to one would miss the other").format(first=first.name, where=first.where(item)),
                _("delete `{rule}` and keep `{first}`").format(rule=item.name, first=first.name))
        else:
            seen[key] = item


# -------------------------------------------------------------------------- KPI005


def _interval(node: ast.Node) -> tuple[float, bool, float, bool] | None:
    """The values that pass: (low, low included, high, high included)."""
    if isinstance(node, ast.Between):
        lo, hi = constant(node.low), constant(node.high)
        return None if lo is None or hi is None else (lo, True, hi, True)
    value = constant(node.right)
    if value is None:
        return None
    return {">=": (value, True, math.inf, False), ">": (value, False, math.inf, False),
            "<=": (-math.inf, False, value, True), "<": (-math.inf, False, value, False),
            "=": (value, True, value, True)}.get(node.op)


def _disjoint(a: tuple, b: tuple) -> bool:
    """True when no value lies in both intervals."""
    if a[0] != b[0]:
        lo, lo_in = (a[0], a[1]) if a[0] > b[0] else (b[0], b[1])
    else:
        lo, lo_in = a[0], a[1] and b[1]
    if a[2] != b[2]:
        hi, hi_in = (a[2], a[3]) if a[2] < b[2] else (b[2], b[3])
    else:
        hi, hi_in = a[2], a[3] and b[3]
    return lo > hi or (lo == hi and not (lo_in and hi_in))


@rule_check("KPI005")
def contradictions(items: list[Item]) -> Iterator[Finding]:
    """KPI005: same value, window, segments and filters; thresholds no value can meet both."""
    groups: dict[Any, list[tuple[Item, tuple, ast.Node]]] = {}
    for item in items:
        cond = item.rule.condition
        if not isinstance(cond, (ast.Compare, ast.Between)):
            continue
        interval = _interval(cond)
        if interval is None:
            continue
        r = item.rule
        key = (canon(lhs(cond)), canon(r.window), canon(r.segments), canon(r.filters),
               canon(r.compared_with))
        groups.setdefault(key, []).append((item, interval, cond))
    for members in groups.values():
        for i, (item, interval, cond) in enumerate(members):
            other = next((m for m in members[:i] if _disjoint(m[1], interval)), None)
            if other is None:
                continue
            o_item, o_interval, o_cond = other
            from kpirules.format import expr_text

            rewrite = _("delete `{rule}` or `{other}`: decide which target holds").format(
                rule=item.name, other=o_item.name)
            lows = [(c, iv) for c, iv in ((cond, interval), (o_cond, o_interval))
                    if isinstance(c, ast.Compare) and c.op in (">=", ">")]
            highs = [(c, iv) for c, iv in ((cond, interval), (o_cond, o_interval))
                     if isinstance(c, ast.Compare) and c.op in ("<=", "<")]
            if lows and highs:
                # `x >= 3%` with `x <= 2%`: most likely a band written the wrong way round.
                band = ast.Between(lhs(cond), highs[0][0].right, lows[0][0].right)
                band_text = rule_text(item.rule, condition=band, warn=None)
                rewrite += _(", or if a band was meant: {rule}").format(rule=f"{item.name}: {band_text}")
            yield item.finding(
                "KPI005",
                _("`{condition}` and `{other_condition}` of `{other}` ({where}) cannot both pass for the same "
                  "period, so one of them always fails").format(
                    condition=expr_text(cond), other_condition=expr_text(o_cond), other=o_item.name,
                    where=o_item.where(item)),
                rewrite)


# -------------------------------------------------------------------------- KPI006

OWNER_HEADERS = ("owner", "właściciel", "wlasciciel", "odpowiedzialny", "responsible", "accountable")
DESCRIPTION_HEADERS = ("description", "opis", "why", "purpose", "notes", "uwagi")


_KIND = {"owner": N_("owner"), "description": N_("description")}
_WHY = {"owner": N_("nobody is named to act when it fails"),
        "description": N_("the team cannot tell which decision it serves")}
_FILL = {"owner": N_("the person who acts when it fails"),
         "description": N_("what it means and what you do when it fails")}


@rule_check("KPI006")
def ownership(items: list[Item]) -> Iterator[Finding]:
    """KPI006: the Rules tab has Owner/Description columns but this rule leaves them empty."""
    from kpirules.connectors.base import a1

    for item in items:
        if not item.columns:
            continue
        missing = []
        for kind, names in (("owner", OWNER_HEADERS), ("description", DESCRIPTION_HEADERS)):
            header = next((h for h in names if h in item.columns), None)
            if header is None:
                continue
            value = item.entry.meta.get(header)
            if value is None or str(value).strip() == "":
                row = item.header_row + 1 + (item.entry.row_index or 0)
                missing.append((kind, header, a1(item.sheet, row, item.columns[header])))
        if not missing:
            continue
        kinds = _(" or ").join(_(_KIND[k]) for k, _h, _c in missing)
        yield item.finding(
            "KPI006",
            _("it has no {kinds}: {why}").format(kinds=kinds, why=_(" and ").join(_(_WHY[k]) for k, _h, _c in missing)),
            _(" and ").join(_("fill in {cell} ({what})").format(cell=cell, what=_(_FILL[k]))
                            for k, _h, cell in missing))


# -------------------------------------------------------------------------- KPI007


@rule_check("KPI007")
def exact_ratio(items: list[Item]) -> Iterator[Finding]:
    """KPI007: ``=`` on a ratio or an average, which almost never holds exactly."""
    for item in items:
        cond = item.rule.condition
        if not isinstance(cond, ast.Compare) or cond.op != "=":
            continue
        left = cond.left
        ratio = any(isinstance(n, ast.BinOp) and n.op == "/" for n in left.walk()) or \
            any(isinstance(n, ast.Aggregate) and n.func == "avg" for n in left.walk()) or \
            any(isinstance(n, ast.Change) for n in left.walk())
        value = constant(cond.right)
        if not ratio or value is None:
            continue
        unit = unit_of(cond.right)
        margin = abs(value) * 0.05 or 0.01
        lo, hi = value - margin, value + margin
        band = ast.Between(left, ast.Number(lo, unit, literal(lo, unit)),
                           ast.Number(hi, unit, literal(hi, unit)))
        yield item.finding(
            "KPI007",
            _("a ratio or average is practically never exactly equal to a number, so this rule "
              "fails every period"),
            f"{item.name}: {rule_text(item.rule, condition=band, warn=None)}   " + _("(a band of ±5%)"))
