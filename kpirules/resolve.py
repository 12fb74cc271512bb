"""Names in a rule against the data's headers (spec/semantics.md, "Names").

Parsing needs no data; this step does, and it runs before any cell is read, so a typo such
as ``signup`` is reported with the closest header (``signups``) instead of a column of
NO_DATA results.
"""

from __future__ import annotations

import re
from typing import Iterable

from kpirules.ast import Column, Rule
from kpirules.errors import UNKNOWN_NAME, Problem, did_you_mean
from kpirules.i18n import _
from kpirules.names import normalise
from kpirules.parser import source_line as _source_line

__all__ = ["check_names"]

_SHOWN_HEADERS = 12  # a hint lists at most this many headers; wide sheets have hundreds
_HYPHENATED = re.compile(r"[\w-]*-[\w-]*")


def check_names(rule: Rule, headers: Iterable[str]) -> list[Problem]:
    """One ``unknown-name`` problem per column the rule names that is not a header.

    ``headers`` are the data's column names (normalised here again, so raw headers work
    too). Each unknown name is reported once, where it is first written, with line/column
    within ``rule.text``."""
    known = {normalise(h) for h in headers if h is not None}
    known.discard("")
    problems: list[Problem] = []
    seen: set[str] = set()
    for column in rule.columns():
        if column.name in known or column.name in seen:
            continue
        seen.add(column.name)
        problems.append(_unknown(rule, column, known))
    return problems


def _unknown(rule: Rule, column: Column, known: set[str]) -> Problem:
    line = column.span.line if column.span else None
    col = column.span.column if column.span else None
    source_line = _source_line(rule.text, line) if line and rule.text else None
    width = len(column.text) if column.text else 1
    shown = column.text or column.name
    message = _("unknown column `{name}`").format(name=shown)
    hyphenated = _hyphenated_header(source_line, col, known)
    guess = did_you_mean(column.name, known)
    if hyphenated:
        message += "; " + _("`{words}` reads as a subtraction: write `{name}` or put it in backticks").format(
            words=hyphenated, name=normalise(hyphenated))
    elif guess:
        message += "; " + _("did you mean `{guess}`?").format(guess=guess)
    return Problem(UNKNOWN_NAME, message, line=line, column=col, source_line=source_line,
                   width=width, suggestion=_columns_hint(known))


def _hyphenated_header(source_line: str | None, column: int | None,
                       known: set[str]) -> str | None:
    """``cost-per-lead`` in a rule parses as ``cost - per - lead``; when the whole word is
    a header, say so instead of reporting three unknown columns as typos."""
    if source_line is None or column is None:
        return None
    for match in _HYPHENATED.finditer(source_line):
        if match.start() <= column - 1 < match.end() and normalise(match.group()) in known:
            return match.group()
    return None


def _columns_hint(known: set[str]) -> str:
    names = sorted(known)
    listed = ", ".join(names[:_SHOWN_HEADERS])
    if len(names) > _SHOWN_HEADERS:
        listed += " " + _("and {n} more").format(n=len(names) - _SHOWN_HEADERS)
    return _("the data's columns: {names}").format(names=listed) if names else _("the data has no columns")
