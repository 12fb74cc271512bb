"""One line of the Rules tab per rule: the worst status of its results, the value, the
target, the period and a message a marketer can act on.

A rule with segments gets one summary over all of them ("2 of 6 campaigns below 1.5%:
search_brand 1.45%, social_prospect 1.32%"); its per-segment results go to History. A rule
that could not be read shows the error and a caret under the spot, in its own row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kpirules.errors import xml_text
from kpirules.i18n import N_, _, language, ngettext
from kpirules.results import RuleResult, Status

if TYPE_CHECKING:  # pragma: no cover
    from kpirules.errors import Problem
    from kpirules.rulesfile import RuleEntry

# How many failing segments a message names before "and N more": a cell stays readable.
MAX_NAMED = 8


@dataclass
class RuleSummary:
    entry: RuleEntry
    results: list[RuleResult] = field(default_factory=list)
    status: str = "OFF"  # a Status value, or OFF for a disabled rule
    value: float | str | None = None  # a number for one result, text (a range) for segments
    unit: str | None = None
    target: str = ""
    period: str = ""
    message: str = ""


def worst(results: list[RuleResult]) -> Status:
    return max((r.status for r in results), key=lambda s: s.severity)


def summarise(entry: RuleEntry, results: list[RuleResult]) -> RuleSummary:
    """The Rules-tab line for ``entry`` from its results (empty for a disabled rule)."""
    from kpirules.format import format_value, period_text

    if entry.meta.get("enabled", True) is False:
        return RuleSummary(entry=entry, status="OFF", message=_("disabled in the Enabled column"))
    if not results:  # a rule the engine had nothing to say about: say so, do not guess
        return RuleSummary(entry=entry, status=Status.ERROR.value, message=_("the rule gave no result"))
    status = worst(results)
    first = results[0]
    summary = RuleSummary(entry=entry, results=results, status=status.value, unit=first.unit,
                          target=target_text(entry), period=period_text(first.period))
    if status is Status.ERROR and first.error is not None and len(results) == 1:
        summary.message = error_text(first.error)
        return summary
    if len(results) == 1 and first.segment is None:
        summary.value = first.value
        summary.message = first.message
        return summary
    values = [r.value for r in results if r.value is not None]
    if values:
        low, high = min(values), max(values)
        summary.value = (format_value(low, first.unit) if low == high else
                         f"{format_value(low, first.unit)} \u2013 {format_value(high, first.unit)}")
    summary.message = segments_message(entry, results)
    return summary


def error_text(problem: Problem) -> str:
    """The error for a cell: the message, then the rule and a caret under the spot."""
    text = problem.one_line()
    if problem.source_line is not None and problem.column is not None:
        pad = "".join(ch if ch == "\t" else " " for ch in problem.source_line[: problem.column - 1])
        text += f"\n{problem.source_line}\n{pad}{'^' * max(1, problem.width)}"
    return text


def target_text(entry: RuleEntry) -> str:
    """The threshold as the user wrote it: ``>= 2%, warn at 2.5%``; empty for and/or rules."""
    from kpirules import ast
    from kpirules.format import expr_text

    rule = entry.rule
    if rule is None:
        return ""
    cond = rule.condition
    if isinstance(cond, ast.Compare):
        text = f"{cond.op} {expr_text(cond.right)}"
    elif isinstance(cond, ast.Between):
        text = _("{low} to {high}").format(low=expr_text(cond.low), high=expr_text(cond.high))
    else:
        return ""
    if rule.warn is not None:
        text += _(", warn at {warn}").format(warn=expr_text(rule.warn))
    return text


_MISS = {">=": N_("below {target}"), ">": N_("not above {target}"), "<=": N_("above {target}"),
         "<": N_("not below {target}"), "=": N_("not at {target}"), "!=": N_("at {target}")}


def segments_message(entry: RuleEntry, results: list[RuleResult]) -> str:
    """``2 of 6 campaigns below 1.5%: search_brand 1.45%, social_prospect 1.32%``, then
    the segments at the warn level, without data, or in error; or, when all pass, so."""
    from kpirules import ast
    from kpirules.format import expr_text, format_value

    rule = entry.rule
    total = len(results)
    noun = _plural(results) if language() == "en" else ngettext("segment", "segments", total)
    cond = rule.condition if rule is not None else None
    if isinstance(cond, ast.Compare) and cond.op in _MISS:
        miss = _(_MISS[cond.op]).format(target=expr_text(cond.right))
        warn_miss = (_(_MISS[cond.op]).format(target=_("the warn level {warn}").format(warn=expr_text(rule.warn)))
                     if rule.warn else _("at warn"))
    elif isinstance(cond, ast.Between):
        miss = _("outside {low} to {high}").format(low=expr_text(cond.low), high=expr_text(cond.high))
        warn_miss = _("at warn")
    else:
        miss, warn_miss = _("failing"), _("at warn")

    def named(rs: list[RuleResult], with_value: bool = True) -> str:
        parts = []
        for r in rs[:MAX_NAMED]:
            label = segment_label(r.segment)
            if with_value and r.value is not None:
                label += " " + format_value(r.value, r.unit, against=r.threshold)
            parts.append(label)
        if len(rs) > MAX_NAMED:
            parts.append(_("and {n} more").format(n=len(rs) - MAX_NAMED))
        return ", ".join(parts)

    by = {s: [r for r in results if r.status is s] for s in Status}
    parts = []
    of = _("{n} of {total} {noun}")
    if by[Status.FAIL]:
        parts.append(f"{of.format(n=len(by[Status.FAIL]), total=total, noun=noun)} {miss}: {named(by[Status.FAIL])}")
    if by[Status.WARN]:
        parts.append(f"{of.format(n=len(by[Status.WARN]), total=total, noun=noun)} {warn_miss}: "
                     f"{named(by[Status.WARN])}")
    if by[Status.INCONCLUSIVE]:
        parts.append(_("too few to judge for {segments}: {named}").format(
            segments=of.format(n=len(by[Status.INCONCLUSIVE]), total=total, noun=noun),
            named=named(by[Status.INCONCLUSIVE])))
    if by[Status.NO_DATA]:
        parts.append(_("no data for {segments}: {named}").format(
            segments=of.format(n=len(by[Status.NO_DATA]), total=total, noun=noun),
            named=named(by[Status.NO_DATA], with_value=False)))
    if by[Status.ERROR]:
        first = by[Status.ERROR][0]
        why = f" ({first.error.one_line()})" if first.error else ""
        parts.append(_("{segments} could not be evaluated: {named}").format(
            segments=of.format(n=len(by[Status.ERROR]), total=total, noun=noun),
            named=named(by[Status.ERROR], with_value=False)) + why)
    if not parts:
        if total == 1:
            return _("the only segment ({named}) passes").format(named=named(results))
        if total == 2:
            return _("both {noun} pass").format(noun=noun)
        return _("all {total} {noun} pass").format(total=total, noun=noun)
    return "; ".join(parts)


def segment_label(segment: dict[str, str] | None) -> str:
    """``search_brand``, or ``search_brand / mobile`` for several dimensions."""
    if not segment:
        return ""
    return " / ".join(str(v) for v in segment.values())


def segment_key(segment: dict[str, str] | None) -> str:
    """The History tab's Segment cell: ``campaign=search_brand, device=mobile``. A control
    character in a cell of the data is written as its escape (``kpirules.errors.xml_text``):
    an xlsx cell cannot hold it, and History must read back the key it wrote, whichever
    workbook holds it, or every run would add the segment's rows again and alert anew."""
    if not segment:
        return ""
    return xml_text(", ".join(f"{k}={v}" for k, v in segment.items()))


def _plural(results: list[RuleResult]) -> str:
    seg = next((r.segment for r in results if r.segment), None)
    if not seg or len(seg) != 1:
        return "segments"
    word = next(iter(seg)).replace("_", " ")
    if not word.isascii():  # English plurals only for English-looking words: no "kanałs"
        return f"{word} segments"
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    if word.endswith("y") and len(word) > 1 and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"
