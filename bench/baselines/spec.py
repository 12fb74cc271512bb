"""What the baselines share: the generated rule shapes, their periods and their statuses.

Written from ../shared/spec/semantics.md alone (no kpirules code), so that agreement with
kpirules means something. Only the shapes bench/generate.py emits are understood:

    [change(] A [/ B] [)] OP THRESHOLD WINDOW [by d1, ...] [where d = "v" [and ...]] [warn at T]

with A a bare metric or sum(metric). Anything else raises ``Unsupported``.

A tool computes, per rule and period, *groups*: segment key -> ``Group`` (rows, and the sum
and non-blank count of each metric); ``results`` turns them into statuses. The status step
is shared because it is trivial; what differs between tools, and what is timed, is how the
groups are computed.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

PASS, WARN, FAIL, NO_DATA = "PASS", "WARN", "FAIL", "NO_DATA"


class Unsupported(ValueError):
    """A rule outside the shapes the baselines implement."""


@dataclass(frozen=True)
class Filter:
    column: str
    op: str  # "=" | "!=" | "in"
    values: tuple[str, ...]

    def accepts(self, cell: str) -> bool:
        return (cell != self.values[0]) if self.op == "!=" else (cell in self.values)


@dataclass(frozen=True)
class Spec:
    name: str
    text: str
    num: str
    den: str | None
    change: bool
    op: str
    threshold: float
    warn: float | None
    unit: str  # day | week | month | quarter | year
    count: int
    by: tuple[str, ...]
    filters: tuple[Filter, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.num,) if self.den is None else (self.num, self.den)


@dataclass
class Group:
    """The rows of one period within one segment: row count, per-metric sum and count of
    non-blank cells (blank cells are missing, never zero)."""

    rows: int
    sums: dict[str, float]
    counts: dict[str, int]


_NUM = r"-?\d+(?:\.\d+)?(?:%|k|M)?"
_RULE = re.compile(
    rf"^(?P<lhs>.+?)\s*(?P<op>>=|<=|>|<)\s*(?P<thr>{_NUM})\s+"
    r"(?P<window>daily|weekly|monthly|quarterly|yearly|over last \d+ (?:days|weeks|months))"
    r"(?:\s+by\s+(?P<by>\w+(?:\s*,\s*\w+)*))?"
    r"(?:\s+where\s+(?P<where>.+?))?"
    rf"(?:\s+warn at\s+(?P<warn>{_NUM}))?\s*$"
)
_TERM = r"(?:sum\((\w+)\)|(\w+))"
_LHS = re.compile(rf"^{_TERM}(?:\s*/\s*{_TERM})?$")
_FILTER = re.compile(r'^(\w+)\s*(=|!=)\s*"([^"]*)"$|^(\w+)\s+in\s+\(([^)]*)\)$')
_WINDOWS = {"daily": ("day", 1), "weekly": ("week", 1), "monthly": ("month", 1),
            "quarterly": ("quarter", 1), "yearly": ("year", 1)}
_SCALE = {"%": 0.01, "k": 1e3, "M": 1e6}


def number(text: str) -> float:
    """``2%`` -> 0.02, ``15k`` -> 15000, ``0.25M`` -> 250000 (semantics.md, Values)."""
    if text[-1] in _SCALE:
        return float(text[:-1]) * _SCALE[text[-1]]
    return float(text)


def parse_rule(name: str, text: str) -> Spec:
    m = _RULE.match(text)
    if not m:
        raise Unsupported(f"{name}: {text}")
    lhs = m["lhs"].strip()
    change = lhs.startswith("change(") and lhs.endswith(")")
    if change:
        lhs = lhs[len("change("):-1].strip()
    terms = _LHS.match(lhs)
    if not terms:
        raise Unsupported(f"{name}: {text}")
    num = (terms[1] or terms[2]).lower()
    den = (terms[3] or terms[4] or "").lower() or None
    window = m["window"]
    if window in _WINDOWS:
        unit, count = _WINDOWS[window]
    else:
        _, _, n, units = window.split()
        unit, count = units[:-1], int(n)
    by = tuple(b.strip().lower() for b in m["by"].split(",")) if m["by"] else ()
    filters = []
    for part in re.split(r"\s+and\s+", m["where"]) if m["where"] else ():
        f = _FILTER.match(part.strip())
        if not f:
            raise Unsupported(f"{name}: {text}")
        if f[1]:
            filters.append(Filter(f[1].lower(), f[2], (f[3],)))
        else:
            values = tuple(v.strip().strip('"') for v in f[5].split(","))
            filters.append(Filter(f[4].lower(), "in", values))
    return Spec(name, text, num, den, change, m["op"], number(m["thr"]),
                number(m["warn"]) if m["warn"] else None, unit, count, by, tuple(filters))


def parse_rules_text(text: str) -> list[Spec]:
    """A `.kpi` file (spec/cli.md): ``name: rule`` a line, ``#`` comments, blank lines."""
    specs = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, rule = line.partition(":")
        specs.append(parse_rule(name.strip(), rule.strip()))
    return specs


# ---------------------------------------------------------------------------- periods


def _month_start(year: int, month0: int) -> dt.date:
    return dt.date(year + month0 // 12, month0 % 12 + 1, 1)


def period(unit: str, count: int, as_of: dt.date, back: int = 0) -> tuple[dt.date, dt.date]:
    """The inclusive period a window evaluates (back=0) or the one ``back`` windows before.

    Always the ``count`` whole units just before the unit holding the as-of date; weeks
    run Monday to Sunday."""
    if unit == "day":
        end = as_of - dt.timedelta(days=1 + count * back)
        return end - dt.timedelta(days=count - 1), end
    if unit == "week":
        monday = as_of - dt.timedelta(days=as_of.weekday())
        end = monday - dt.timedelta(days=1 + 7 * count * back)
        return end - dt.timedelta(days=7 * count - 1), end
    months = {"month": 1, "quarter": 3, "year": 12}[unit] * count
    first = {"month": as_of.month - 1, "quarter": (as_of.month - 1) // 3 * 3, "year": 0}[unit]
    end_next = _month_start(as_of.year, first - months * back)
    start = _month_start(as_of.year, first - months * (back + 1))
    return start, end_next - dt.timedelta(days=1)


def periods(spec: Spec, as_of: dt.date) -> list[tuple[dt.date, dt.date]]:
    """The current period, and the previous one for ``change``."""
    cur = period(spec.unit, spec.count, as_of)
    return [cur, period(spec.unit, spec.count, as_of, 1)] if spec.change else [cur]


# ---------------------------------------------------------------------------- results


def _value(spec: Spec, group: Group | None) -> float | None:
    """The left-hand side before ``change``; None is NO_DATA (no rows, a metric with no
    non-blank cell, a zero denominator)."""
    if group is None or group.rows == 0 or group.counts[spec.num] == 0:
        return None
    if spec.den is None:
        return group.sums[spec.num]
    if group.counts[spec.den] == 0 or group.sums[spec.den] == 0:
        return None
    return group.sums[spec.num] / group.sums[spec.den]


def _holds(value: float, op: str, threshold: float) -> bool:
    return {">=": value >= threshold, ">": value > threshold,
            "<=": value <= threshold, "<": value < threshold}[op]


def status(spec: Spec, value: float | None) -> str:
    if value is None:
        return NO_DATA
    if not _holds(value, spec.op, spec.threshold):
        return FAIL
    if spec.warn is not None and not _holds(value, spec.op, spec.warn):
        return WARN
    return PASS


def results(spec: Spec, as_of: dt.date, cur: dict[tuple, Group],
            prev: dict[tuple, Group] | None = None) -> list[dict]:
    """One result per segment (sorted; for ``change`` the segments of either period), as
    the normalised dicts ``run.py`` compares: name, status, value, period, segment."""
    start, end = period(spec.unit, spec.count, as_of)
    keys = sorted(set(cur) | set(prev or {})) if spec.by else [()]
    out = []
    for key in keys:
        value = _value(spec, cur.get(key))
        if spec.change:
            before = _value(spec, (prev or {}).get(key))
            value = None if value is None or not before else (value - before) / before
        out.append({
            "name": spec.name, "status": status(spec, value),
            "value": None if value is None else float(value),
            "period": [start.isoformat(), end.isoformat()],
            "segment": dict(zip(spec.by, key)) if spec.by else None,
        })
    return out


# ------------------------------------------------------------------ shared aggregates


@dataclass(frozen=True)
class Slot:
    """One distinct (period, filters, segments) combination: the unit of sharing."""

    start: dt.date
    end: dt.date
    filters: tuple[Filter, ...]
    by: tuple[str, ...]


def plan(specs: list[Spec], as_of: dt.date) -> dict[Slot, set[str]]:
    """Every distinct slot the rules need and the metrics needed in it."""
    slots: dict[Slot, set[str]] = {}
    for spec in specs:
        for start, end in periods(spec, as_of):
            slots.setdefault(Slot(start, end, spec.filters, spec.by), set()).update(spec.columns)
    return slots


def results_from_slots(specs: list[Spec], as_of: dt.date,
                       computed: dict[Slot, dict[tuple, Group]]) -> list[dict]:
    out = []
    for spec in specs:
        groups = [computed[Slot(s, e, spec.filters, spec.by)] for s, e in periods(spec, as_of)]
        out += results(spec, as_of, *groups)
    return out
