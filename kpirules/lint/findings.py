"""What lint reports, and how a rewrite is written back as rule text.

A finding is only useful if the reader can act on it at once, so each carries a code to
look up (docs/lint.md), the one-sentence reason, and a concrete rewrite: a whole rule line
that parses, or one plain action ("delete `b`").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from kpirules import ast
from kpirules.format import rule_text, window_text  # noqa: F401  (the checks import rule_text from here)

CODES = {
    "KPI001": "counts activity or reach without relating it to an outcome",
    "KPI002": "ratio over too few events to be more than noise",
    "KPI003": "count threshold that does not match its window",
    "KPI004": "duplicated rule",
    "KPI005": "contradictory rules",
    "KPI006": "rule without an owner or a description",
    "KPI007": "exact equality on a ratio or average",
    "KPI008": "ratio often computed from too few events, without a volume guard",
    "KPI009": "relative change of a rate where a change in points is meant",
    "KPI010": "change against the previous period on data with a weekly or yearly pattern",
}

# The checks lint runs in any order (findings are sorted by rule, then code), each
# registered by its decorator with its code (a new code with its one-line title):
# ``@rule_check(code)``: ``(items) -> findings``, reading the rules only;
# ``@data_check(code)``: ``(items, recent) -> findings``, run when lint has the data (items
# whose columns the data has; ``recent``: kpirules.lint.volume.Recent over the table). A
# data check lives in volume.py or baselines.py, which lint imports when it reads data.
Check = Callable[..., Iterable["Finding"]]
RULE_CHECKS: list[Check] = []
DATA_CHECKS: list[Check] = []


def _registrar(checks: list[Check], code: str, title: str | None) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        if title is not None:
            CODES[code] = title
        assert code in CODES, f"{code} needs a title"
        checks.append(check)
        return check
    return register


def rule_check(code: str, title: str | None = None) -> Callable[[Check], Check]:
    return _registrar(RULE_CHECKS, code, title)


def data_check(code: str, title: str | None = None) -> Callable[[Check], Check]:
    return _registrar(DATA_CHECKS, code, title)


@dataclass
class Finding:
    code: str
    rule: str  # the rule's name
    reason: str  # one sentence
    rewrite: str  # a rule line (`name: rule`) or one action
    text: str = ""  # the rule as written
    file: str | None = None
    line: int | None = None
    cell: str | None = None
    item: Any = field(default=None, repr=False, compare=False)  # the lint Item it is about

    @property
    def location(self) -> str:
        if self.cell:
            return f"{self.file}:{self.cell}" if self.file else self.cell
        where = self.file or "<rules>"
        return f"{where}:{self.line}" if self.line else where

    def render(self) -> str:
        from kpirules.errors import shown
        from kpirules.i18n import _

        # The rule's name and text come from a Rules tab: each line stays one line.
        return (shown(f"{self.location}: {self.code} `{self.rule}`: {self.reason}")
                + f"\n    {_('rewrite')}: {shown(self.rewrite)}")

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "rule": self.rule, "text": self.text, "reason": self.reason,
                "rewrite": self.rewrite, "file": self.file, "line": self.line, "cell": self.cell}


# ------------------------------------------------------------------- rule text back out

def literal(value: float, unit: str | None = None) -> str:
    """A number as a rule literal in the unit the user wrote (2% for 0.02 with unit %)."""
    if unit == "%":
        return _plain(value * 100) + "%"
    if unit in ("k", "K"):
        return _plain(value / 1000) + "k"
    if unit == "M":
        return _plain(value / 1_000_000) + "M"
    return _plain(value)


def _plain(value: float) -> str:
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def nice_ceiling(value: float) -> int:
    """``value`` rounded up to two significant digits (784 -> 790, 1234 -> 1300)."""
    if value <= 10:
        return max(1, int(-(-value // 1)))
    digits = len(str(int(value))) - 2
    step = 10 ** digits
    return int(-(-value // step) * step)


def window_words(unit: str, count: int = 1) -> str:
    if unit == "quarter" and count > 1:
        unit, count = "month", 3 * count
    if unit == "year" and count > 1:
        unit, count = "month", 12 * count
    return window_text(ast.Window(unit, count))
