"""The words of the parser's own errors (kpirules.transform): what a misspelt function,
baseline, number suffix or window unit was probably meant to be. Each helper returns
(message, where, hint) for ``transform.Invalid``; nothing here raises."""

from __future__ import annotations

from typing import Any

from kpirules.aggregate_functions import declared_names
from kpirules.ast import BinOp
from kpirules.errors import did_you_mean
from kpirules.functions import CALLS
from kpirules.i18n import _

_FUNCTION_SYNONYMS = {"mean": "avg", "average": "avg", "median": "avg", "total": "sum",
                      "minimum": "min", "maximum": "max", "cnt": "count", "latest": "last",
                      "earliest": "first", "pct_change": "change", "growth": "change",
                      "diff": "delta", "difference": "delta", "projected": "pace",
                      "forecast": "pace", "run_rate": "pace"}


def function_names() -> list[str]:
    """Every function a rule may call: the aggregates (the plugins' too), then the others."""
    return list(dict.fromkeys([*declared_names(), *CALLS]))


def _unknown_function(name: str, token: Any) -> tuple[str, Any, str]:
    names = function_names()
    guess = _FUNCTION_SYNONYMS.get(name) or did_you_mean(name, names)
    message = _("unknown function `{name}`").format(name=name)
    if guess:
        message += "; " + _("did you mean `{guess}`?").format(guess=guess)
    return message, token, _("the functions are {some} and {last}").format(some=", ".join(names[:-1]), last=names[-1])


def _aggregate_hint(name: str, args: list) -> str:
    if len(args) > 1 or (args and isinstance(args[0], BinOp)):
        return _("aggregate each column, then combine: `{name}(a) / {name}(b)`").format(name=name)
    return _("a bare column name means its sum over the period")


def _bad_vs(word: Any) -> tuple[str, Any, str]:
    guess = {"prior": "previous", "prev": "previous", "last": "previous",
             "avg": "average of last 4", "average": "average of last 4", "mean": "average of last 4",
             "yoy": "last year", "ly": "last year", "lastyear": "last year",
             "last_year": "last year", "year": "last year"}.get(word.value.lower())
    message = _("`vs {word}` is not a baseline").format(word=word.value)
    if guess:
        message += "; " + _("did you mean `{guess}`?").format(guess=f"vs {guess}")
    return message, word, _("write `vs previous`, `vs last year` or `vs average of last N`")


def _bad_suffix(digits: str, suffix: str, token: Any) -> tuple[str, Any, str]:
    if suffix == "m":
        return (_("`{number}` is ambiguous: write `{digits}M` for million").format(number=token.value, digits=digits),
                token, _("k means thousand and M million: 15k = 15,000, 1M = 1,000,000"))
    return (_("`{suffix}` after a number is not understood").format(suffix=suffix),
            token, _("a number may end with % (2% = 0.02), pp (percentage points, -0.5pp = "
                     "-0.005), k (15k = 15,000) or M (1M = 1,000,000); put a space between a "
                     "number and a word"))


def _bad_over_unit(count: str, unit: Any) -> tuple[str, Any, str]:
    word = unit.value.lower().rstrip("s")
    if word in ("quarter", "year"):
        hint = _("use `{word}ly` for the {word} before the current one").format(word=word)
    elif word == "fortnight" and count.isdecimal():
        hint = _("for example `{example}`").format(example=f"over last {2 * int(count)} weeks")
    else:
        hint = _("for example `over last 28 days` or `over last 4 weeks`")
    return (_("`over last {count}` counts days, weeks or months, not `{unit}`").format(count=count, unit=unit.value),
            unit, hint)
