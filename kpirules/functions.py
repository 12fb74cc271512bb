"""The functions that are not aggregates, declared once: ``change``, ``delta`` and
``pace`` (spec/semantics.md, "Baselines" and "To-date windows and pace").

Each row says what the function takes (checked when a rule is parsed: the parser turns a
``ArgumentProblem`` into a located error), how it computes its value from numbers the
engine hands it (after aggregation, so the SQL path needs nothing: it only computes the
aggregates of every period the plan declares), and how explain and messages word the
arithmetic. Aggregates (``sum avg min max count first last``) are computed per scan by
kpirules.aggregate and the SQL backend.
"""

from __future__ import annotations

from typing import Any, Callable

from kpirules.ast import Aggregate, Change, Node, Pace
from kpirules.dataclass_fast import dataclass
from kpirules.i18n import _


class ArgumentProblem(Exception):
    """A call whose arguments do not fit its function: ``message`` at ``where`` (a node or
    the function's name token), with a ``hint``."""

    def __init__(self, message: str, where: Any, hint: str | None = None):
        super().__init__(message)
        self.message, self.where, self.hint = message, where, hint


class ZeroBaseline(Exception):
    """``change`` against a baseline of 0 has no value (NO_DATA)."""


@dataclass(frozen=True)
class BaselineFunction:
    """A function that compares a value with the rule's baseline (its ``vs`` clause)."""

    name: str
    example: str
    compute: Callable[[float, float], float]  # (now, baseline) -> value
    arithmetic: str  # how explain shows it, with {now} and {base}
    meaning: str  # for docs and hints


def _change(now: float, base: float) -> float:
    if base == 0:
        raise ZeroBaseline
    return (now - base) / base


BASELINE_FUNCTIONS: dict[str, BaselineFunction] = {
    "change": BaselineFunction("change", "change(signups) >= -10%", _change,
                               "({now} - {base}) / {base}", "the relative change"),
    "delta": BaselineFunction("delta", "delta(signups / visits) >= -0.5pp", lambda n, b: n - b,
                              "{now} - {base}", "the absolute change (in points for a rate)"),
}

# What `pace` may take: aggregates that grow with the days of the period.
PACE_AGGREGATES = ("sum", "count")


def pace(value: float, days: int, unit_days: int) -> float:
    """``e`` x D / d: where ``value`` ends the unit if it keeps its pace."""
    return value * unit_days / days


def _reads_data(node: Node) -> bool:
    return any(isinstance(n, Aggregate) for n in node.walk())


def build_baseline(name: str, args: list, name_token: Any) -> Change:
    """``change(e)`` / ``delta(e)`` from its parsed arguments."""
    if len(args) != 1:
        raise ArgumentProblem(_("`{name}` takes one value, e.g. `{name}(signups)`").format(name=name), name_token)
    (operand,) = args
    if not _reads_data(operand):
        raise ArgumentProblem(_("`{name}` needs a value from the data, e.g. `{name}(signups)`").format(name=name),
                              operand)
    if any(isinstance(n, Change) for n in operand.walk()):
        raise ArgumentProblem(_("`{name}` cannot be nested").format(name=name), operand,
                              _("compare the {name} itself: `{name}(signups) >= -10%`").format(name=name))
    return Change(operand, func=name)


def build_pace(name: str, args: list, name_token: Any) -> Pace:
    """``pace(x)``, ``pace(sum(x))`` or ``pace(count(x))``."""
    if len(args) != 1:
        raise ArgumentProblem(_("`pace` takes one column, e.g. `pace(revenue)`"), name_token)
    (operand,) = args
    if not isinstance(operand, Aggregate) or operand.func not in PACE_AGGREGATES:
        what = (f"`{operand.func}`" if isinstance(operand, Aggregate) else _("a computed value"))
        raise ArgumentProblem(
            _("`pace` takes a column, `sum(x)` or `count(x)`, not {what}").format(what=what), operand,
            _("pace projects a total to the end of the period: `pace(revenue) >= 300k month to "
              "date`; for a rate, check the rate itself: `signups / visits >= 2% month to date`"))
    return Pace(operand)


# name -> builder: the parser's table of the calls that are not aggregates.
CALLS: dict[str, Callable[[str, list, Any], Node]] = {
    **{name: build_baseline for name in BASELINE_FUNCTIONS},
    "pace": build_pace,
}
