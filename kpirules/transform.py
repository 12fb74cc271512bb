"""Lark's callbacks that build ``kpirules.ast`` nodes, and the checks on a whole rule.

``kpirules.parser`` hands ``Builder`` to Lark as an inline transformer, so each grammar
rule becomes its AST node as it is reduced. What a context-free grammar cannot say is
checked here: number suffixes, function names and arguments while building, then in
``assemble`` one window, clauses not repeated, a column named, and ``warn at`` stricter
than the threshold. Every such failure is raised as ``Invalid``, already in the user's
words; ``kpirules.parse_errors`` words the failures Lark itself reports.

Nothing here imports Lark: callbacks only read the tokens' attributes.
"""

from __future__ import annotations

import re
from kpirules.dataclass_fast import dataclass, replace
from typing import Any

from kpirules.aggregate_functions import AggregateFunction, FunctionPluginError, find
from kpirules.ast import (
    Aggregate,
    Baseline,
    Between,
    BinOp,
    BoolOp,
    Change,
    Column,
    Compare,
    Expr,
    Filter,
    Guard,
    Neg,
    Node,
    Not,
    Number,
    Pace,
    Rule,
    Span,
    Window,
    constant,
)
from kpirules.errors import INVALID_RULE, SYNTAX, UNKNOWN_FUNCTION, Problem
from kpirules.functions import CALLS, ArgumentProblem
from kpirules.i18n import N_, _
from kpirules.names import normalise
from kpirules.parse_hints import (_aggregate_hint, _bad_over_unit, _bad_suffix, _bad_vs,
                                  _unknown_function)
from kpirules.periods import OVER_LAST_UNITS, SINGLE_WORDS, TO_DATE_UNITS, WINDOW_HELP

__all__ = ["ARITHMETIC_TOKENS", "Builder", "Invalid", "WINDOW_HELP", "assemble", "check_values", "end_of_rule",
           "number_value", "source_line"]

# ---------------------------------------------------------------- positions and failures


class Invalid(Exception):
    """A problem found while building the AST; ``parse_rule`` adds the source line."""

    def __init__(self, category: str, message: str, where: Any, suggestion: str | None = None):
        super().__init__(message)
        self.category, self.message, self.suggestion = category, message, suggestion
        self.line, self.column, self.width = _position(where)

    def problem(self, source: str) -> Problem:
        return Problem(self.category, self.message, line=self.line, column=self.column,
                       source_line=source_line(source, self.line), width=self.width,
                       suggestion=self.suggestion)


def source_line(text: str, line: int) -> str:
    """Line ``line`` (1-based) as Lark counts lines: only ``\\n`` ends one."""
    lines = text.split("\n")
    return lines[min(max(line, 1), len(lines)) - 1].rstrip("\r")


def end_of_rule(source: str) -> tuple[int, int, int]:
    """The position just after the last character that is not a space: where something
    missing at the end of a rule should go."""
    text = source.rstrip()
    return text.count("\n") + 1, len(text) - text.rfind("\n"), 1


def _position(where: Any) -> tuple[int, int, int]:
    """(line, column, caret width) of a token, a node, or a ready (line, column, width)."""
    if isinstance(where, tuple):
        return where
    span = where.span if isinstance(where, (Node, _Clause)) else where
    if span is None:
        return 1, 1, 1
    width = span.end_column - span.column if span.end_line == span.line else 1
    return span.line, span.column, max(1, width)


def _aggregate(name: str, token: Any) -> AggregateFunction | None:
    """The aggregate ``name`` (a plugin's is loaded now); a plugin that does not load is
    this call's problem, located at its name."""
    try:
        return find(name)
    except FunctionPluginError as exc:
        raise Invalid(INVALID_RULE, str(exc), token, "reinstall or remove the package that declares it") from None


def _span(first: Any, last: Any) -> Span:
    """The span from the start of ``first`` to the end of ``last`` (tokens or nodes)."""
    a = first.span if isinstance(first, Node) else first
    b = last.span if isinstance(last, Node) else last
    return Span(a.line, a.column, b.end_line, b.end_column)


# ----------------------------------------------------------------- building the AST


@dataclass(frozen=True, slots=True)
class _Clause:
    """One clause after the condition, before ``assemble`` files it into the Rule.
    Keeping clauses as a list (not fixed slots in the grammar) lets them come in any
    order and lets new clauses be added without touching the others."""

    kind: str  # "window" | "by" | "where" | "warn" | "vs" | "guards" | "confidence"
    value: Any
    span: Span


_OVER_LAST_EXAMPLES = {"day": "over last 28 days", "week": "over last 4 weeks",
                       "month": "over last 3 months"}
ARITHMETIC_TOKENS = frozenset({"PLUS", "MINUS", "STAR", "SLASH"})

# `15k`, `0.25M`, `2%`: the letters after the digits scale the number; value = digits
# written in exponent form, so float() rounds once (1.7% is exactly float("1.7e-2")).
# `pp` (percentage points) is a % by another name: it reads better for a delta of a rate.
_SUFFIXES = {"": (None, ""), "%": ("%", "e-2"), "pp": ("pp", "e-2"), "k": ("k", "e3"),
             "K": ("k", "e3"), "M": ("M", "e6")}
_NUMBER = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(.*)", re.S)


def number_value(text: str) -> tuple[float, str | None] | None:
    """(value, unit) of a NUMBER token's text (`2%` -> (0.02, "%")); None when the letters
    after the digits are no suffix (``Builder.number`` then says which were meant)."""
    found = _NUMBER.fullmatch(text)
    if found is None or found.group(2) not in _SUFFIXES:
        return None
    digits, suffix = found.groups()
    unit, exponent = _SUFFIXES[suffix]
    return float(digits + exponent), unit


class Builder:
    """Lark callbacks, one per grammar rule or alias; each gets the rule's children (nodes
    and kept tokens) and returns the AST node. Not a ``lark.Transformer`` subclass, so
    importing this module does not import Lark."""

    def number(self, children: list) -> Number:
        (token,) = children
        meaning = number_value(token.value)
        if meaning is None:
            digits, suffix = _NUMBER.fullmatch(token.value).groups()
            raise Invalid(SYNTAX, *_bad_suffix(digits, suffix, token))
        return Number(*meaning, token.value, span=_span(token, token))

    def neg(self, children: list) -> Expr:
        minus, operand = children
        span = _span(minus, operand)
        if isinstance(operand, Number):
            # `-10%` is a literal (-0.1), so a threshold stays a Number for formatting.
            return Number(-operand.value, operand.unit, "-" + operand.text, span=span)
        return Neg(operand, span=span)

    def column(self, children: list) -> Column:
        (token,) = children
        text = token.value
        if token.type == "QUOTED_NAME":
            text = text[1:-1]
            if not normalise(text):
                raise Invalid(SYNTAX, _("a column name in backticks needs letters or digits"), token,
                              _("write the column's header between the backticks: `Emails sent`"))
        return Column(normalise(text), text, span=_span(token, token))

    def implicit_sum(self, children: list) -> Aggregate:
        (column,) = children
        return Aggregate("sum", column, implicit=True, span=column.span)

    def call(self, children: list) -> Expr:
        name_token, *args, rpar = children
        args = [a for a in args if a is not None]  # `f()` gives one None placeholder
        name = name_token.value.lower()
        span = _span(name_token, rpar)
        build = CALLS.get(name)
        if build is None and _aggregate(name, name_token) is not None:
            if len(args) != 1 or not (isinstance(args[0], Aggregate) and args[0].implicit):
                raise Invalid(INVALID_RULE, _("`{name}` takes one column, e.g. `{name}(visits)`").format(name=name),
                              args[0] if len(args) == 1 else name_token,
                              _aggregate_hint(name, args))
            return Aggregate(name, args[0].column, span=span)
        if build is not None:
            try:
                node = build(name, args, name_token)
            except ArgumentProblem as exc:
                raise Invalid(INVALID_RULE, exc.message, exc.where, exc.hint) from None
            return replace(node, span=span)
        raise Invalid(UNKNOWN_FUNCTION, *_unknown_function(name, name_token))

    def binop(self, children: list) -> Any:
        left, op, right = children
        span = _span(left, right)
        if op.type == "COMP_OP":
            return Compare(op.value, left, right, span=span)
        if op.type in ARITHMETIC_TOKENS:
            return BinOp(op.value, left, right, span=span)
        return BoolOp(op.value.lower(), left, right, span=span)  # AND / OR

    def between(self, children: list) -> Between:
        operand, _, low, _, high = children
        return Between(operand, low, high, span=_span(operand, high))

    def not_(self, children: list) -> Not:
        token, operand = children
        return Not(operand, span=_span(token, operand))

    # -- clauses

    def window(self, children: list) -> _Clause:
        (token,) = children
        span = _span(token, token)
        return _Clause("window", Window(SINGLE_WORDS[token.value.lower()], 1, token.value,
                                        span=span), span)

    def window_over_last(self, children: list) -> _Clause:
        over, last, count, unit = children
        span = _span(over, unit)
        text = f"{over.value} {last.value} {count.value} {unit.value}"
        if unit.value.lower() not in OVER_LAST_UNITS:
            raise Invalid(SYNTAX, *_bad_over_unit(count.value, unit))
        if not count.value.isdecimal() or int(count.value) < 1:
            example = _OVER_LAST_EXAMPLES[OVER_LAST_UNITS[unit.value.lower()]]
            raise Invalid(INVALID_RULE, _("`over last` needs a whole number of at least 1, not `{count}`").format(
                count=count.value), count, _("for example `{example}`").format(example=example))
        window = Window(OVER_LAST_UNITS[unit.value.lower()], int(count.value), text, span=span)
        return _Clause("window", window, span)

    def window_to_date(self, children: list) -> _Clause:
        unit, to, date = children
        span = _span(unit, date)
        word = unit.value.lower()
        if word not in TO_DATE_UNITS:  # pragma: no cover - the grammar allows only these
            raise Invalid(SYNTAX, _("`{unit} to date` is not a window").format(unit=unit.value), unit, WINDOW_HELP)
        text = f"{unit.value} {to.value} {date.value}"
        return _Clause("window", Window(word, 1, text, to_date=True, span=span), span)

    def vs_word(self, children: list) -> _Clause:
        vs, word = children
        if word.value.lower() != "previous":
            raise Invalid(SYNTAX, *_bad_vs(word))
        return _Clause("vs", Baseline("previous", span=_span(vs, word)), _span(vs, word))

    def vs_last(self, children: list) -> _Clause:
        vs, _last, word = children
        if word.value.lower() != "year":
            raise Invalid(SYNTAX, _("`vs {word}` is not a baseline").format(word=f"last {word.value}"), word,
                          _("write `vs last year`, `vs previous` or `vs average of last 4`"))
        return _Clause("vs", Baseline("last_year", span=_span(vs, word)), _span(vs, word))

    def vs_average(self, children: list) -> _Clause:
        vs, *_words, count = children
        span = _span(vs, count)
        if not count.value.isdecimal() or not 1 <= int(count.value) <= MAX_AVERAGE:
            raise Invalid(INVALID_RULE, _("`vs average of last` takes a whole number from 1 to {max}, not `{count}`")
                          .format(max=MAX_AVERAGE, count=count.value), count,
                          _("for example `vs average of last 4` (the 4 periods before this one)"))
        return _Clause("vs", Baseline("average", int(count.value), span=span), span)

    def guard(self, children: list) -> Guard:
        minimum, value = children
        number = self.number([minimum])
        if isinstance(value, Column):
            value = Aggregate("sum", value, implicit=True, span=value.span)
        if not isinstance(value, Aggregate):
            raise Invalid(INVALID_RULE, _("`with at least` counts a column or an aggregate such as "
                                          "`count(orders)`, not `change`, `delta` or `pace`"), value,
                          _("for example `with at least 1000 visits and 30 count(orders)`"))
        return Guard(number, value, span=_span(minimum, value))

    def with_guards(self, children: list) -> _Clause:
        guards = tuple(g for g in children if isinstance(g, Guard))
        span = _span(children[0], children[-1])
        return _Clause("guards", guards, span)

    def with_confidence(self, children: list) -> _Clause:
        with_, level, word = children
        number = self.number([level])
        if number.unit != "%" or not CONFIDENCE_MIN <= number.value <= CONFIDENCE_MAX:
            raise Invalid(INVALID_RULE, _("a confidence level is a percent from 50% to 99.9%, not `{level}`").format(
                level=level.value), level, _("for example `with 95% confidence`"))
        return _Clause("confidence", number, _span(with_, word))

    def by_clause(self, children: list) -> _Clause:
        columns = tuple(c for c in children[1:] if isinstance(c, Column))
        return _Clause("by", columns, _span(children[0], children[-1]))

    def where_clause(self, children: list) -> _Clause:
        filters = tuple(f for f in children[1:] if isinstance(f, Filter))
        return _Clause("where", filters, _span(children[0], children[-1]))

    def filter_compare(self, children: list) -> Filter:
        column, op, value = children
        if op.value not in ("=", "!="):
            raise Invalid(SYNTAX, _("`where` compares text with =, != or in, not `{op}`").format(op=op.value),
                          op, _("for example `{example}`").format(example=f'where {column.text} = "email"'))
        return Filter(column, op.value, (value.value[1:-1],), span=_span(column, value))

    def filter_in(self, children: list) -> Filter:
        column, _in, *values = children
        texts = tuple(v.value[1:-1] for v in values)
        return Filter(column, "in", texts, span=_span(column, values[-1]))

    def warn_clause(self, children: list) -> _Clause:
        warn, _at, threshold = children
        return _Clause("warn", threshold, _span(warn, threshold))

    def rule(self, children: list) -> tuple[Any, list[_Clause]]:
        return children[0], children[1:]


# ------------------------------------------------------------ checks on the whole rule

_DUPLICATE = {
    "window": (N_("a rule has exactly one window; this is a second one"),
               N_("keep one window, e.g. `weekly`; to look at several periods write several rules")),
    "by": (N_("`by` is given twice"), N_("list every segment in one clause: `by channel, campaign`")),
    "where": (N_("`where` is given twice"),
              N_('join the filters with `and`: `where channel = "email" and country = "PL"`')),
    "warn": (N_("`warn at` is given twice"), N_("a rule has one warn level")),
    "vs": (N_("`vs` is given twice: a rule has one baseline"),
           N_("every change and delta of a rule compares with the same baseline")),
    "guards": (N_("`with at least` is given twice"),
               N_("list every minimum in one clause: `with at least 1000 visits and 30 count(orders)`")),
    "confidence": (N_("`with ... confidence` is given twice"), N_("a rule has one confidence level")),
}
MAX_AVERAGE = 104  # `vs average of last N`: up to two years of weeks
CONFIDENCE_MIN, CONFIDENCE_MAX = 0.5, 0.999


def assemble(source: str, text: str, condition: Any, clauses: list[_Clause]) -> Rule:
    found: dict[str, _Clause] = {}
    for clause in clauses:
        if clause.kind in found:
            message, hint = _DUPLICATE[clause.kind]
            raise Invalid(SYNTAX, _(message), clause, _(hint))
        found[clause.kind] = clause
    if "window" not in found:
        raise Invalid(SYNTAX, _("every rule needs one window: {windows}").format(windows=WINDOW_HELP),
                      end_of_rule(source), _("for example `{example}`").format(example=f"{source.strip()} weekly"))
    if not _names_column(condition):
        raise Invalid(INVALID_RULE, _("this rule names no column: it compares only numbers"),
                      condition, _("compare a value from the data, e.g. `signups >= 10`"))
    warn = found["warn"].value if "warn" in found else None
    if warn is not None:
        _check_warn(condition, warn)
    window = found["window"].value
    _check_baseline(condition, found.get("vs"))
    _check_pace(condition, window, found["window"])
    if "confidence" in found:
        _check_confidence(condition, found["confidence"])
    last = max(clauses, key=lambda c: (c.span.end_line, c.span.end_column))
    return Rule(
        condition,
        window,
        segments=found["by"].value if "by" in found else (),
        filters=found["where"].value if "where" in found else (),
        warn=warn,
        text=text,
        span=_span(condition, last.span),
        baseline=found["vs"].value if "vs" in found else None,
        guards=found["guards"].value if "guards" in found else (),
        confidence=found["confidence"].value if "confidence" in found else None,
    )


def check_values(rule: Rule) -> None:
    """The checks of ``assemble`` whose answer depends on the rule's numbers, not only on its
    shape (`warn at` stricter than the threshold; a confidence rule's threshold a number,
    which `1/0` is not): ``kpirules.rule_templates`` runs them on a rule it built from a
    template with other numbers. Raises ``Invalid``."""
    if rule.warn is not None:
        _check_warn(rule.condition, rule.warn)
    if rule.confidence is not None:
        _check_confidence(rule.condition, None)


def _check_baseline(condition: Any, clause: _Clause | None) -> None:
    """A `vs` clause picks the baseline of change/delta: without one it says nothing."""
    if clause is None or any(isinstance(n, Change) for n in condition.walk()):
        return
    raise Invalid(INVALID_RULE, _("`vs` sets the baseline of `change` or `delta`, and this rule has neither"), clause,
                  _("compare with it, e.g. `change(signups) >= -10% weekly vs last year`, or "
                    "remove the `vs` clause"))


def _check_pace(condition: Any, window: Window, clause: _Clause) -> None:
    """`pace` projects a to-date period to the end of its unit: nothing else has one."""
    if window.to_date:
        return
    found = next((n for n in condition.walk() if isinstance(n, Pace)), None)
    if found is not None:
        raise Invalid(INVALID_RULE, _("`pace` needs a to-date window (week, month, quarter or "
                                      "year to date), not `{window}`").format(window=window.text), clause,
                      _("for example `{example}`").format(example=f"{expr_text_of(found)} >= 300k month to date"))


def _check_confidence(condition: Any, clause: _Clause | None) -> None:
    """`with C% confidence` judges one share a / b against a number (spec: "Volume and
    confidence"); anything else has no interval to judge."""
    hint = _("for example `{example}`").format(example="signups / visits >= 2% weekly with 95% confidence")
    if not isinstance(condition, Compare):
        what = {Between: "`between`", BoolOp: "`and`/`or`", Not: "`not`"}.get(
            type(condition), _("this condition"))
        raise Invalid(INVALID_RULE, _("`with ... confidence` needs one comparison of a share, not {what}").format(
            what=what), clause, _("write each condition as its own rule"))
    if condition.op not in (">=", ">", "<=", "<"):
        raise Invalid(INVALID_RULE, _("`with ... confidence` compares with >=, >, <= or <, not `{op}`").format(
            op=condition.op), clause, hint)
    left = condition.left
    if any(isinstance(n, (Change, Pace)) for n in left.walk()):
        raise Invalid(INVALID_RULE, _("`with ... confidence` judges a share in one period, not a "
                                      "change, delta or pace"), clause, hint)
    if not (isinstance(left, BinOp) and left.op == "/" and _is_sum(left.left)
            and _is_sum(left.right)):
        raise Invalid(INVALID_RULE, _("`with ... confidence` needs a share of two columns, like "
                                      "`signups / visits` (each a column or sum(...))"), left, hint)
    if constant(condition.right) is None:
        raise Invalid(INVALID_RULE, _("`with ... confidence` compares the share with a number"),
                      condition.right, hint)


def _is_sum(node: Any) -> bool:
    return isinstance(node, Aggregate) and node.func == "sum"


def expr_text_of(node: Any) -> str:
    from kpirules.format import expr_text  # only on this error path

    return expr_text(node)


def _names_column(node: Any) -> bool:
    """Whether a condition or value reads the data (cheaper than ``walk``: the first
    aggregate found answers, and it is nearly always the left-hand side)."""
    if isinstance(node, Aggregate):
        return True
    for name in node.children:
        if _names_column(getattr(node, name)):
            return True
    return False


def _check_warn(condition: Any, warn: Expr) -> None:
    """``warn at T`` (spec: strictly stricter than the threshold, else invalid-rule)."""
    if not isinstance(condition, Compare) or condition.op in ("=", "!="):
        what = {Between: "`between`", BoolOp: "`and`/`or`", Not: "`not`"}.get(
            type(condition), f"`{getattr(condition, 'op', '')}`")
        raise Invalid(INVALID_RULE, _("`warn at` works with >=, >, <= and <, not with {what}").format(what=what),
                      warn, _("write the warning as a separate rule"))
    limit = constant(warn)
    if limit is None:
        raise Invalid(INVALID_RULE, _("`warn at` takes a number, e.g. `warn at 2.5%`"), warn)
    threshold = constant(condition.right)
    if threshold is None:
        raise Invalid(INVALID_RULE, _("`warn at` needs a number as the threshold it is stricter "
                                      "than, e.g. `signups / visits >= 2% weekly warn at 2.5%`"), condition.right)
    higher = condition.op in (">=", ">")
    if (limit > threshold) if higher else (limit < threshold):
        return
    shown = getattr(condition.right, "text", "") or f"{threshold:g}"
    values = {"warn": _text(warn), "threshold": shown, "op": condition.op}
    if higher:
        message = _("`warn at {warn}` must be stricter than the threshold {threshold}: higher for a `{op}` rule")
        hint = _("a `{op} {threshold}` rule warns when the value passes but is below the warn level, "
                 "so the warn level must be above {threshold}")
    else:
        message = _("`warn at {warn}` must be stricter than the threshold {threshold}: lower for a `{op}` rule")
        hint = _("a `{op} {threshold}` rule warns when the value passes but is above the warn level, "
                 "so the warn level must be below {threshold}")
    raise Invalid(INVALID_RULE, message.format(**values), warn, hint.format(**values))


def _text(expr: Any) -> str:
    return expr.text if isinstance(expr, Number) else "..."
