"""What evaluation produces: one ``RuleResult`` per rule and segment, with the numbers it
came from (``Detail``) so that messages, ``explain`` and the History tab can show them."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Any, Callable

from kpirules.dataclass_fast import dataclass, field
from kpirules.errors import Problem


class Status(str, Enum):  # noqa: UP042 - StrEnum would change str(Status.PASS)
    PASS = "PASS"
    WARN = "WARN"
    FAIL = "FAIL"
    NO_DATA = "NO_DATA"
    INCONCLUSIVE = "INCONCLUSIVE"  # data exist but are too few to judge (semantics.md)
    ERROR = "ERROR"

    def __str__(self) -> str:
        return self.value

    @property
    def severity(self) -> int:
        """Worst-first ordering for summaries:
        ERROR > FAIL > WARN > INCONCLUSIVE > NO_DATA > PASS."""
        return _SEVERITY[self]

    @property
    def is_verdict(self) -> bool:
        """PASS, WARN and FAIL judge the KPI; NO_DATA, INCONCLUSIVE and ERROR do not, so
        alerts compare verdicts only (a late NO_DATA is not a change of verdict)."""
        return self in (Status.PASS, Status.WARN, Status.FAIL)


_SEVERITY = {Status.PASS: 0, Status.NO_DATA: 1, Status.INCONCLUSIVE: 2, Status.WARN: 3,
             Status.FAIL: 4, Status.ERROR: 5}


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def to_json(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}

    def __str__(self) -> str:
        if self.start == self.end:
            return self.start.isoformat()
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


@dataclass(frozen=True)
class Term:
    """One aggregate the value used: ``sum(signups) = 32`` over ``rows`` rows on ``days`` days."""

    label: str  # "signups", "avg(visits)"
    func: str
    column: str
    value: float | None  # None: no non-blank cell in the period
    rows: int  # rows in the period (after where, within the segment)
    cells: int  # non-blank cells of the column among them
    days: int  # distinct dates among those rows


@dataclass(frozen=True)
class Detail:
    """How a value came about: the expression, its terms, and (for ``change``) the previous
    period's value and terms."""

    expression: str  # the left-hand side as written, e.g. "signups / visits"
    value: float | None
    terms: tuple[Term, ...] = ()
    period: Period | None = None
    rows: int = 0
    days: int = 0
    previous: Detail | None = None  # the baseline of change/delta (its mean for an average)
    reason: str | None = None  # why the value is missing (NO_DATA): "visits is 0", ...
    # For a baseline that is an average (`vs average of last N`): each period's detail,
    # nearest first; a period whose value is missing is left out of the mean.
    baselines: tuple[Detail, ...] = ()
    baseline: str | None = None  # the baseline in words: "the same week last year"
    pace: tuple[int, int] | None = None  # (d, D) of pace(): days so far, days of the unit
    current: float | None = None  # change/delta: its operand in this period


@dataclass(frozen=True)
class GuardCheck:
    """One term of `with at least N x` in one period: what it was, what it needed."""

    label: str  # "visits", "count(orders)"
    minimum: float
    value: float | None  # None: no value (counts as not enough)
    period: Period | None = None

    @property
    def met(self) -> bool:
        return self.value is not None and self.value >= self.minimum


@dataclass
class RuleResult:
    name: str
    rule: str  # the rule text as written
    status: Status
    value: float | None = None
    threshold: float | None = None
    period: Period | None = None
    segment: dict[str, str] | None = None
    message: str = ""
    error: Problem | None = None
    detail: Detail | None = None  # None for ERROR results and for and/or/not conditions
    warn: float | None = None  # the warn-at threshold, if any
    unit: str | None = None  # how the threshold was written: "%", "k", "M" or None
    data_problems: tuple[Problem, ...] = ()  # bad cells that affected this result
    meta: dict[str, Any] = field(default_factory=dict)  # owner, description... from the Rules tab
    # NO_DATA because a period the rule needs is not yet complete for one of its metrics
    # (late data, semantics.md "Complete periods"): not a change of verdict for alerts.
    incomplete: bool = False
    interval: tuple[float, float] | None = None  # `with C% confidence`: Wilson [lo, hi]
    confidence: float | None = None  # the level of `with C% confidence` (0.95)
    # `with at least`: each guard in each period it was checked in (evaluated first).
    guards: tuple[GuardCheck, ...] = ()

    def copy(self) -> RuleResult:
        """A shallow copy, made without the constructor: the engine starts each segment's
        result as a copy of its rule's (50,000 segments make 50,000 results)."""
        made = RuleResult.__new__(RuleResult)
        made.__dict__.update(self.__dict__)
        return made

    def defer_detail(self, build: Callable[[], Detail]) -> None:
        """Have ``build`` make ``detail`` when something first reads it (explain, the History
        tab's Numbers, a test), not now: ``check`` prints messages only, and a run with
        10,000 rules or 50,000 segments would build a Detail and its Terms for every result
        for nothing (issue 14). ``build`` gives what the evaluation would have given then."""
        self.__dict__["detail"] = _Deferred(build)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "detail": self.detail}  # pickled built, not as a closure

    def to_json(self) -> dict[str, Any]:
        """The result as spec/cli.md fixes it (keys may be added, never changed)."""
        out: dict[str, Any] = {
            "name": self.name,
            "rule": self.rule,
            "status": self.status.value,
            "value": self.value,
            "threshold": self.threshold,
            "period": self.period.to_json() if self.period else None,
            "segment": self.segment,
            "message": self.message,
        }
        return self.json_extras(out)

    def json_extras(self, out: dict[str, Any]) -> dict[str, Any]:
        """``out`` with the keys of ``to_json`` that only some results have, added after the
        eight all have (``kpirules.results_json`` writes those eight itself)."""
        if self.warn is not None:
            out["warn"] = self.warn
        if self.error is not None:
            out["error"] = self.error.to_json()
        if self.interval is not None:
            out["interval"] = list(self.interval)
        if self.incomplete:
            out["incomplete"] = True  # NO_DATA because the data are late (semantics.md)
        if self.data_problems:
            out["data_problems"] = [p.to_json() | {"message": p.message} for p in self.data_problems]
        return out


class _Deferred:
    """A detail not built yet (``RuleResult.defer_detail``)."""

    __slots__ = ("build",)

    def __init__(self, build: Callable[[], Detail]):
        self.build = build


def _get_detail(result: RuleResult) -> Detail | None:
    value = result.__dict__["detail"]
    if value.__class__ is _Deferred:
        value = result.__dict__["detail"] = value.build()
    return value  # type: ignore[no-any-return]


def _set_detail(result: RuleResult, value: Detail | None) -> None:
    result.__dict__["detail"] = value


# ``detail`` stays a dataclass field (the constructor, ``replace``, equality and repr take
# it as before); reading it builds a deferred one. A property set after the class is made,
# because the field's default would take its place in the class body.
RuleResult.detail = property(_get_detail, _set_detail)  # type: ignore[assignment]


@dataclass
class Report:
    """The results of one evaluation, in rule order, segments sorted within a rule."""

    as_of: dt.date
    results: list[RuleResult]
    data_problems: list[Problem] = field(default_factory=list)  # every bad cell found
    # Per metric column: (data start F(x), data end L(x)) up to as_of - 1 (semantics.md
    # "Complete periods"); columns with no non-blank cell are absent.
    extents: dict[str, tuple[dt.date, dt.date]] = field(default_factory=dict)
    # Metric columns whose data end is older than the `late_after` setting allows (exit 6,
    # `data_late` alerts), with their data end.
    late: dict[str, dt.date] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # said once per run (skipped rows, ...)

    @property
    def exit_status(self) -> int:
        """The results' part of the exit status (kpirules.exitcodes): 2 if any ERROR,
        else 1 if any FAIL, else 0. Commands combine it with late data, delivery, locks."""
        from kpirules.exitcodes import Exit

        statuses = {r.status for r in self.results}
        if Status.ERROR in statuses:
            return int(Exit.ERROR)
        if Status.FAIL in statuses:
            return int(Exit.FAIL)
        return int(Exit.OK)

    @property
    def exit_code(self) -> int:
        """``exit_status`` with late data (exit 6) combined as spec/cli.md orders them:
        what ``check`` exits with."""
        from kpirules.exitcodes import Exit, combine

        return combine([self.exit_status, *([Exit.LATE] if self.late else [])])

    def warning_lines(self) -> list[str]:
        """Every warning of the run, as the table output prints them after "warning: ":
        the data problems (cells, headers, rows without a date), then ``warnings``."""
        lines = [f"{p.cell}: {p.one_line()}" if p.cell else p.one_line() for p in self.data_problems]
        return lines + list(self.warnings)

    def to_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "results": [r.to_json() for r in self.results],
            "warnings": self.warning_lines(),
            # How far the data reach (spec/semantics.md, "Complete periods").
            "extents": {name: {"start": start.isoformat(), "end": end.isoformat()}
                        for name, (start, end) in sorted(self.extents.items())},
            "late": {name: end.isoformat() for name, end in sorted(self.late.items())},
        }
