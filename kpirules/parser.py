"""Rule text -> ``kpirules.ast.Rule``.

The grammar (``grammar/kpi.lark``) fixes the shape of a rule; this module builds the AST
while Lark parses (an LALR transformer runs inline, so no parse tree is ever built), checks
what a context-free grammar cannot (one window, clauses not repeated, ``warn at`` stricter
than the threshold, function names and arguments) and turns every failure into a
``KpiError`` carrying one ``Problem`` in the user's words -- never a Lark exception.

``parse_rule`` is memoised by text: the same rule text written on many rows, or checked
again by ``validate`` and ``check``, is parsed once. Rules are immutable, so sharing them is
safe.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from kpirules.ast import (
    AGGREGATE_FUNCTIONS,
    FUNCTIONS,
    Aggregate,
    Between,
    BinOp,
    BoolOp,
    Change,
    Column,
    Compare,
    Expr,
    Filter,
    Neg,
    Node,
    Not,
    Number,
    Rule,
    Span,
    Window,
)
from kpirules.errors import INVALID_RULE, SYNTAX, UNKNOWN_FUNCTION, KpiError, Problem, did_you_mean
from kpirules.names import normalise

__all__ = ["parse_rule", "source_line", "WINDOW_HELP"]

WINDOW_HELP = "daily, weekly, monthly, quarterly, yearly or over last N days|weeks|months"

# ------------------------------------------------------------------------ the parser


@cache
def _lark() -> Any:
    """Lark's LALR parser for ``grammar/kpi.lark``, built on first use so that ``import
    kpirules`` never pays for Lark. The AST is built inline (``transformer=``), so no parse
    tree exists at any point. ``cache=True`` keeps Lark's grammar analysis in a temporary
    file between runs (about 25 -> 3 ms; Lark rebuilds quietly when the file is missing,
    stale or unwritable)."""
    from importlib.resources import files

    from lark import Lark

    grammar = (files("kpirules.grammar") / "kpi.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", lexer="basic", start="rule",
                transformer=_Builder(), cache=True)


@cache
def _parser() -> Any:
    """The fast driver over Lark's tables, or Lark itself if its internals have moved."""
    try:
        return _FastLALR(_lark())
    except (AttributeError, KeyError, TypeError, ValueError):  # pragma: no cover
        return _lark()


@lru_cache(maxsize=8192)
def parse_rule(text: str) -> Rule:
    """Parse one rule. Raises ``KpiError`` (category ``syntax``, ``unknown-function`` or
    ``invalid-rule``) with line/column counted within ``text``."""
    if not isinstance(text, str):
        raise TypeError(f"a rule is text, not {type(text).__name__}")
    source = text
    # Names compare in NFC (kpirules.names); a rule pasted in decomposed form would
    # otherwise split `ś` into a letter and a stray combining accent.
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        source = unicodedata.normalize("NFC", text)
    if not source.strip():
        raise KpiError(Problem(SYNTAX, "the rule is empty", line=1, column=1,
                               source_line=source_line(source, 1),
                               suggestion="write a rule such as `signups / visits >= 2% weekly`"))
    from lark.exceptions import UnexpectedInput

    try:
        condition, clauses = _parser().parse(source)
        return _assemble(source, text, condition, clauses)
    except _Invalid as exc:
        raise KpiError(exc.problem(source)) from None
    except UnexpectedInput as exc:
        raise KpiError(_explain(source, exc)) from None


class _Token:
    """What the fast driver hands to the callbacks: the attributes of ``lark.Token`` they
    use, at a third of its cost."""

    __slots__ = ("type", "value", "line", "column", "end_line", "end_column", "start_pos",
                 "end_pos")

    def __init__(self, type_: str, value: str, line: int, column: int, end_line: int,
                 end_column: int, start_pos: int, end_pos: int):
        self.type, self.value, self.line, self.column = type_, value, line, column
        self.end_line, self.end_column, self.start_pos, self.end_pos = (
            end_line, end_column, start_pos, end_pos)


class _FastLALR:
    """Lark's own LALR tables, lexer regex and callbacks, driven by a tighter loop.

    With the same callbacks, Lark's general-purpose loop takes ~75 us for a typical rule
    and this one ~47 us (docs/language.md, "Performance"). It reads Lark's
    internals (``parse_table``, the lexer's compiled scanner), so ``_parser`` falls back to
    Lark if they move, and ``tests/test_parser_fuzz.py`` checks that both agree. On any
    input it cannot take, it hands the text to Lark, whose exception carries the parser
    state that ``_explain`` turns into a message. Two shortcuts over Lark: whitespace is
    skipped inside the token regex, and reductions through a one-child ``?rule`` (the
    precedence ladder) move the state without calling anything, as Lark's callback would
    only return its child."""

    def __init__(self, lark: Any):
        from lark.parsers.lalr_analysis import Shift

        self._lark = lark
        lexer = lark.parser.lexer
        (scanner,) = lexer.scanner._mres  # one regex: fewer than 100 terminals
        ignore = [t for t in lark.terminals if t.name in lexer.ignore_types]
        if [t.pattern.to_regexp() for t in ignore] != [r"\s+"]:
            raise ValueError("the fast driver only knows how to skip whitespace")
        self._match = re.compile(r"\s*(?:" + scanner.pattern + ")", scanner.flags).match
        self._ignore = lexer.ignore_types
        # Keywords: Lark lexes `Weekly` as NAME, then retypes it (an UnlessCallback).
        self._retype = {}
        for name, callback in lexer.callback.items():
            words = {}
            for term in callback.scanner.terminals:
                if "i" not in term.pattern.flags:
                    raise ValueError("keywords are expected to be case-insensitive")
                words[term.pattern.value.lower()] = term.name
            self._retype[name] = words
        parser = lark.parser.parser.parser
        callbacks, table = parser.callbacks, parser.parse_table
        self._states: dict = {}
        for state, actions in table.states.items():
            row = {}
            for symbol, (action, arg) in actions.items():
                if action is Shift:
                    row[symbol] = (arg, None)
                    continue
                passthrough = (arg.options.expand1 and arg.alias is None
                               and len(arg.expansion) == 1 and not arg.expansion[0].is_term)
                row[symbol] = (None, (len(arg.expansion), arg.origin.name,
                                      None if passthrough else callbacks[arg]))
            self._states[state] = row
        self._start, self._end = table.start_states["rule"], table.end_states["rule"]

    def parse(self, text: str) -> Any:
        match, states, retype, ignore = self._match, self._states, self._retype, self._ignore
        state_stack, value_stack = [self._start], []
        pos, size, line, line_start = 0, len(text), 1, 0
        while True:
            if pos < size:
                m = match(text, pos)
                if m is None:
                    return self._lark.parse(text)  # raises UnexpectedCharacters
                kind = m.lastgroup
                start, end = m.start(kind), m.end()
                if "\n" in text[pos:start]:
                    line += text.count("\n", pos, start)
                    line_start = text.rfind("\n", pos, start) + 1
                pos = end
                if kind in ignore:
                    continue
                value = m.group(kind)
                if kind in retype:
                    kind = retype[kind].get(value.lower(), kind)
                column = start - line_start + 1
                token = _Token(kind, value, line, column, line, column + end - start, start, end)
            else:
                kind, token = "$END", None
            while True:
                action = states[state_stack[-1]].get(kind)
                if action is None:
                    return self._lark.parse(text)  # raises UnexpectedToken
                shift, reduce = action
                if reduce is None:
                    state_stack.append(shift)
                    value_stack.append(token)
                    break
                length, origin, callback = reduce
                if callback is None:
                    state_stack[-1] = states[state_stack[-2]][origin][0]
                else:
                    children = value_stack[-length:] if length else []
                    if length:
                        del state_stack[-length:], value_stack[-length:]
                    value_stack.append(callback(children))
                    state_stack.append(states[state_stack[-1]][origin][0])
                if token is None and state_stack[-1] == self._end:
                    return value_stack[-1]


# ----------------------------------------------------------------- building the AST


class _Invalid(Exception):
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


def _end(source: str) -> tuple[int, int, int]:
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


def _span(first: Any, last: Any) -> Span:
    """The span from the start of ``first`` to the end of ``last`` (tokens or nodes)."""
    a = first.span if isinstance(first, Node) else first
    b = last.span if isinstance(last, Node) else last
    return Span(a.line, a.column, b.end_line, b.end_column)


@dataclass(frozen=True, slots=True)
class _Clause:
    """One clause after the condition, before ``_assemble`` files it into the Rule.
    Keeping clauses as a list (not fixed slots in the grammar) lets them come in any
    order and lets new clauses be added without touching the others."""

    kind: str  # "window" | "by" | "where" | "warn"
    value: Any
    span: Span


_WINDOWS = {"daily": "day", "weekly": "week", "monthly": "month", "quarterly": "quarter",
            "yearly": "year"}
_OVER_LAST_UNITS = {"day": "day", "days": "day", "week": "week", "weeks": "week",
                    "month": "month", "months": "month"}
_OVER_LAST_EXAMPLES = {"day": "over last 28 days", "week": "over last 4 weeks",
                       "month": "over last 3 months"}
_ARITHMETIC = frozenset({"PLUS", "MINUS", "STAR", "SLASH"})

# `15k`, `0.25M`, `2%`: the letters after the digits scale the number; value = digits
# written in exponent form, so float() rounds once (1.7% is exactly float("1.7e-2")).
_SUFFIXES = {"": (None, ""), "%": ("%", "e-2"), "k": ("k", "e3"), "K": ("k", "e3"),
             "M": ("M", "e6")}
_NUMBER = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(.*)", re.S)


class _Builder:
    """Lark callbacks, one per grammar rule or alias; each gets the rule's children (nodes
    and kept tokens) and returns the AST node. Not a ``lark.Transformer`` subclass, so
    importing this module does not import Lark."""

    def number(self, children: list) -> Number:
        (token,) = children
        digits, suffix = _NUMBER.fullmatch(token.value).groups()
        if suffix not in _SUFFIXES:
            raise _Invalid(SYNTAX, *_bad_suffix(digits, suffix, token))
        unit, exponent = _SUFFIXES[suffix]
        return Number(float(digits + exponent), unit, token.value, span=_span(token, token))

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
                raise _Invalid(SYNTAX, "a column name in backticks needs letters or digits", token,
                               "write the column's header between the backticks: `Emails sent`")
        return Column(normalise(text), text, span=_span(token, token))

    def implicit_sum(self, children: list) -> Aggregate:
        (column,) = children
        return Aggregate("sum", column, implicit=True, span=column.span)

    def call(self, children: list) -> Expr:
        name_token, *args, rpar = children
        args = [a for a in args if a is not None]  # `f()` gives one None placeholder
        name = name_token.value.lower()
        span = _span(name_token, rpar)
        if name in AGGREGATE_FUNCTIONS:
            if len(args) != 1 or not (isinstance(args[0], Aggregate) and args[0].implicit):
                raise _Invalid(INVALID_RULE, f"`{name}` takes one column, e.g. `{name}(visits)`",
                               args[0] if len(args) == 1 else name_token,
                               _aggregate_hint(name, args))
            return Aggregate(name, args[0].column, span=span)
        if name == "change":
            if len(args) != 1:
                raise _Invalid(INVALID_RULE, "`change` takes one value, e.g. `change(signups)`",
                               name_token)
            (operand,) = args
            if not _names_column(operand):
                raise _Invalid(INVALID_RULE, "`change` needs a value from the data, e.g. "
                               "`change(signups)`", operand)
            if any(isinstance(n, Change) for n in operand.walk()):
                raise _Invalid(INVALID_RULE, "`change` cannot be nested", operand,
                               "compare the change itself: `change(signups) >= -10%`")
            return Change(operand, span=span)
        raise _Invalid(UNKNOWN_FUNCTION, *_unknown_function(name, name_token))

    def binop(self, children: list) -> Any:
        left, op, right = children
        span = _span(left, right)
        if op.type == "COMP_OP":
            return Compare(op.value, left, right, span=span)
        if op.type in _ARITHMETIC:
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
        return _Clause("window", Window(_WINDOWS[token.value.lower()], 1, token.value, span=span),
                       span)

    def window_over_last(self, children: list) -> _Clause:
        over, last, count, unit = children
        span = _span(over, unit)
        text = f"{over.value} {last.value} {count.value} {unit.value}"
        if unit.value.lower() not in _OVER_LAST_UNITS:
            raise _Invalid(SYNTAX, *_bad_over_unit(count.value, unit))
        if not count.value.isdecimal() or int(count.value) < 1:
            example = _OVER_LAST_EXAMPLES[_OVER_LAST_UNITS[unit.value.lower()]]
            raise _Invalid(INVALID_RULE, f"`over last` needs a whole number of at least 1, "
                           f"not `{count.value}`", count, f"for example `{example}`")
        window = Window(_OVER_LAST_UNITS[unit.value.lower()], int(count.value), text, span=span)
        return _Clause("window", window, span)

    def by_clause(self, children: list) -> _Clause:
        columns = tuple(c for c in children[1:] if isinstance(c, Column))
        return _Clause("by", columns, _span(children[0], children[-1]))

    def where_clause(self, children: list) -> _Clause:
        filters = tuple(f for f in children[1:] if isinstance(f, Filter))
        return _Clause("where", filters, _span(children[0], children[-1]))

    def filter_compare(self, children: list) -> Filter:
        column, op, value = children
        if op.value not in ("=", "!="):
            raise _Invalid(SYNTAX, f"`where` compares text with =, != or in, not `{op.value}`",
                           op, f'for example `where {column.text} = "email"`')
        return Filter(column, op.value, (value.value[1:-1],), span=_span(column, value))

    def filter_in(self, children: list) -> Filter:
        column, _, *values = children
        texts = tuple(v.value[1:-1] for v in values)
        return Filter(column, "in", texts, span=_span(column, values[-1]))

    def warn_clause(self, children: list) -> _Clause:
        warn, _, threshold = children
        return _Clause("warn", threshold, _span(warn, threshold))

    def rule(self, children: list) -> tuple[Any, list[_Clause]]:
        return children[0], children[1:]


# ------------------------------------------------------------ checks on the whole rule

_DUPLICATE = {
    "window": ("a rule has exactly one window; this is a second one",
               "keep one window, e.g. `weekly`; to look at several periods write several rules"),
    "by": ("`by` is given twice", "list every segment in one clause: `by channel, campaign`"),
    "where": ("`where` is given twice",
              'join the filters with `and`: `where channel = "email" and country = "PL"`'),
    "warn": ("`warn at` is given twice", "a rule has one warn level"),
}


def _assemble(source: str, text: str, condition: Any, clauses: list[_Clause]) -> Rule:
    found: dict[str, _Clause] = {}
    for clause in clauses:
        if clause.kind in found:
            message, hint = _DUPLICATE[clause.kind]
            raise _Invalid(SYNTAX, message, clause, hint)
        found[clause.kind] = clause
    if "window" not in found:
        raise _Invalid(SYNTAX, f"every rule needs one window: {WINDOW_HELP}", _end(source),
                       f"for example `{source.strip()} weekly`")
    if not _names_column(condition):
        raise _Invalid(INVALID_RULE, "this rule names no column: it compares only numbers",
                       condition, "compare a value from the data, e.g. `signups >= 10`")
    warn = found["warn"].value if "warn" in found else None
    if warn is not None:
        _check_warn(condition, warn)
    last = max(clauses, key=lambda c: (c.span.end_line, c.span.end_column))
    return Rule(
        condition,
        found["window"].value,
        segments=found["by"].value if "by" in found else (),
        filters=found["where"].value if "where" in found else (),
        warn=warn,
        text=text,
        span=_span(condition, last.span),
    )


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
        raise _Invalid(INVALID_RULE, f"`warn at` works with >=, >, <= and <, not with {what}",
                       warn, "write the warning as a separate rule")
    limit = _constant_value(warn)
    if limit is None:
        raise _Invalid(INVALID_RULE, "`warn at` takes a number, e.g. `warn at 2.5%`", warn)
    threshold = _constant_value(condition.right)
    if threshold is None:
        raise _Invalid(INVALID_RULE, "`warn at` needs a number as the threshold it is stricter "
                       "than, e.g. `signups / visits >= 2% weekly warn at 2.5%`", condition.right)
    higher = condition.op in (">=", ">")
    if (limit > threshold) if higher else (limit < threshold):
        return
    shown = getattr(condition.right, "text", "") or f"{threshold:g}"
    raise _Invalid(
        INVALID_RULE,
        f"`warn at {_text(warn)}` must be stricter than the threshold {shown}: "
        f"{'higher' if higher else 'lower'} for a `{condition.op}` rule",
        warn,
        f"a `{condition.op} {shown}` rule warns when the value passes but is "
        f"{'below' if higher else 'above'} the warn level, so the warn level must be "
        f"{'above' if higher else 'below'} {shown}",
    )


def _constant_value(expr: Any) -> float | None:
    """The value of an expression made only of numbers, else None (also for x / 0)."""
    if isinstance(expr, Number):
        return expr.value
    if isinstance(expr, Neg):
        inner = _constant_value(expr.operand)
        return None if inner is None else -inner
    if isinstance(expr, BinOp):
        left, right = _constant_value(expr.left), _constant_value(expr.right)
        if left is None or right is None:
            return None
        if expr.op == "+":
            return left + right
        if expr.op == "-":
            return left - right
        if expr.op == "*":
            return left * right
        return None if right == 0 else left / right
    return None


def _text(expr: Any) -> str:
    return expr.text if isinstance(expr, Number) else "..."


# ------------------------------------------------------- messages for the checks above

_FUNCTION_SYNONYMS = {"mean": "avg", "average": "avg", "median": "avg", "total": "sum",
                      "minimum": "min", "maximum": "max", "cnt": "count", "latest": "last",
                      "earliest": "first", "delta": "change", "pct_change": "change",
                      "growth": "change"}


def _unknown_function(name: str, token: Any) -> tuple[str, Any, str]:
    guess = _FUNCTION_SYNONYMS.get(name) or did_you_mean(name, FUNCTIONS)
    message = f"unknown function `{name}`"
    if guess:
        message += f"; did you mean `{guess}`?"
    return message, token, "the functions are " + ", ".join(FUNCTIONS[:-1]) + " and change"


def _aggregate_hint(name: str, args: list) -> str:
    if len(args) > 1 or (args and isinstance(args[0], BinOp)):
        return f"aggregate each column, then combine: `{name}(a) / {name}(b)`"
    return "a bare column name means its sum over the period"


def _bad_suffix(digits: str, suffix: str, token: Any) -> tuple[str, Any, str]:
    if suffix == "m":
        return (f"`{token.value}` is ambiguous: write `{digits}M` for million",
                token, "k means thousand and M million: 15k = 15,000, 1M = 1,000,000")
    return (f"`{suffix}` after a number is not understood",
            token, "a number may end with % (2% = 0.02), k (15k = 15,000) or M "
                   "(1M = 1,000,000); put a space between a number and a word")


def _bad_over_unit(count: str, unit: Any) -> tuple[str, Any, str]:
    word = unit.value.lower().rstrip("s")
    if word in ("quarter", "year"):
        hint = f"use `{word}ly` for the {word} before the current one"
    elif word == "fortnight" and count.isdecimal():
        hint = f"for example `over last {2 * int(count)} weeks`"
    else:
        hint = "for example `over last 28 days` or `over last 4 weeks`"
    return (f"`over last {count}` counts days, weeks or months, not `{unit.value}`", unit, hint)


# ------------------------------------------------------------ parse errors, in words
#
# Lark reports *where* parsing stopped, the token found there and the terminals it would
# have accepted. Together with the token before it, that is enough to say what the user
# left out, in their terms ("a threshold after `>=`") rather than the grammar's (NUMBER).

_WINDOW_TOKENS = frozenset({"DAILY", "WEEKLY", "MONTHLY", "QUARTERLY", "YEARLY", "OVER"})
_CLAUSE_TOKENS = _WINDOW_TOKENS | {"BY", "WHERE", "WARN"}
_KEYWORDS = _CLAUSE_TOKENS | {"LAST", "AT", "BETWEEN", "AND", "OR", "NOT", "IN"}
_WINDOW_WORDS = ("daily", "weekly", "monthly", "quarterly", "yearly")
_WINDOW_SYNONYMS = {
    "fortnightly": "over last 2 weeks", "biweekly": "over last 2 weeks",
    "annually": "yearly", "annual": "yearly", "day": "daily", "week": "weekly",
    "month": "monthly", "quarter": "quarterly", "year": "yearly", "weekday": "daily",
}
# What each terminal is, for "expected ..." in the words of the docs. Order = message order.
_PHRASES = (
    ("NUMBER", "a value (a column, or a number like 2% or 15k)"),
    ("NAME", "a column name"),
    ("STRING", 'a quoted value like "email"'),
    ("COMP_OP", "a comparison (>=, >, <=, <, =, != or between)"),
    ("SLASH", "an operator (+ - * /)"),
    ("WEEKLY", f"a window ({WINDOW_HELP})"),
    ("BY", "`by`, `where` or `warn at`"),
    ("AND", "`and`"),
    ("OR", "`or`"),
    ("RPAR", "`)`"),
    ("LPAR", "`(`"),
    ("COMMA", "`,`"),
    ("IN", "`in`"),
    ("AT", "`at`"),
    ("LAST", "`last`"),
    ("$END", "the end of the rule"),
)
_BAD_CHARACTERS = {
    "≥": "write `>=` instead of `≥`", "≤": "write `<=` instead of `≤`",
    "≠": "write `!=` instead of `≠`", "&": "write `and` instead of `&`",
    "|": "write `or` instead of `|`",
    "!": "`!` alone is not an operator: write `!=` for not equal, or `not (...)`",
    "%": "a % sign goes right after its number, without a space: `2%`",
    "$": "leave out currency signs: `spend <= 5k`", "€": "leave out currency signs: `spend <= 5k`",
    "£": "leave out currency signs: `spend <= 5k`",
}


def _explain(source: str, exc: Any) -> Problem:
    from lark.exceptions import UnexpectedToken

    if isinstance(exc, UnexpectedToken):
        message, where, hint = _unexpected_token(_Context.of(source, exc))
    else:  # UnexpectedCharacters: no token starts with this character
        message, where, hint = _unexpected_character(exc)
    return _Invalid(SYNTAX, message, where, hint).problem(source)


def _unexpected_character(exc: Any) -> tuple[str, Any, str | None]:
    char = exc.char
    where = (exc.line, exc.column, 1)
    if char in "\"'“„":
        return "this quote is never closed", where, 'close it on the same line: "email"'
    if char == "`":
        return ("this backtick is never closed", where,
                "put a column name between two backticks: `Emails sent`")
    shown = char if char.isprintable() else f"U+{ord(char):04X}"
    return (f"`{shown}` cannot appear in a rule", where,
            _BAD_CHARACTERS.get(char, "a rule is made of column names, numbers, + - * / ( ), "
                                      "comparisons and quoted text"))


@dataclass
class _Context:
    """Where Lark stopped: the tokens around it and what it would have accepted."""

    tokens: list  # every token of the rule (up to a character no token matches)
    index: int  # of the unexpected token in ``tokens`` (len(tokens) at the end)
    token: Any
    prev: Any  # the token before, or None at the start
    expected: set  # terminal names that would have been accepted
    found: str  # the unexpected token, in words
    where: Any  # a token, or (line, column, width)

    @classmethod
    def of(cls, source: str, exc: Any) -> "_Context":
        from lark.exceptions import UnexpectedCharacters

        tokens: list = []
        try:
            tokens.extend(_lark().lex(source))
        except UnexpectedCharacters:
            pass
        token = exc.token
        at_end = token.type == "$END"
        index = len(tokens) if at_end else next(
            (i for i, t in enumerate(tokens) if t.start_pos == token.start_pos), len(tokens))
        parser = exc.interactive_parser
        expected = set(parser.accepts() if parser is not None else exc.expected)
        return cls(tokens, index, token, tokens[index - 1] if index else None, expected,
                   "the end of the rule" if at_end else f"`{token.value}`",
                   _end(source) if at_end else token)

    @property
    def kind(self) -> str:
        return self.token.type

    @property
    def prev_kind(self) -> str | None:
        return self.prev.type if self.prev is not None else None

    def seen(self, kinds: frozenset) -> Any:
        """The last token before this one whose type is in ``kinds``."""
        return next((t for t in reversed(self.tokens[:self.index]) if t.type in kinds), None)

    def next(self, offset: int = 1) -> Any:
        i = self.index + offset
        return self.tokens[i] if i < len(self.tokens) else None


def _unexpected_token(ctx: _Context) -> tuple[str, Any, str | None]:
    expected = ctx.expected
    if "RPAR" in expected:
        opening = _unclosed_paren(ctx)
        if opening is not None:
            return "this parenthesis is never closed", opening, "add `)` where the group ends"
    typo = _operator_typo(ctx)
    if typo:
        return typo
    if ctx.kind == "RPAR" and "RPAR" not in expected:
        return "`)` has no matching `(`", ctx.where, "remove it, or add `(` where the group starts"
    if "NUMBER" in expected:
        return _missing_value(ctx), ctx.where, _keyword_hint(ctx) or _string_hint(ctx)
    if "STRING" in expected:
        return _missing_text(ctx)
    if "NAME" in expected and "COMP_OP" not in expected:
        return _missing_name(ctx), ctx.where, _keyword_hint(ctx)
    if expected == {"COMP_OP", "IN"}:
        return (f"expected =, != or in after `{ctx.prev.value}`", ctx.where,
                'e.g. `where channel = "email"`')
    if ctx.prev_kind == "LAST" and expected == {"LPAR"}:
        return ("`last` alone is not a column: `last(x)` is the latest value of x", ctx.prev,
                "`last` is a reserved word; a column with that name is written in backticks: "
                "`last`")
    if ctx.prev_kind == "IN":
        return ("put the values after `in` in parentheses", ctx.where,
                'e.g. `where channel in ("search", "social")`')
    if expected == {"AT"}:
        return "write `warn at`", ctx.where, "e.g. `warn at 2.5%`"
    if expected == {"LAST"}:
        return "write `over last N days|weeks|months`", ctx.where, "e.g. `over last 28 days`"
    if "COMP_OP" in expected and "WEEKLY" not in expected:
        return _missing_comparison(ctx)
    if "WEEKLY" in expected:
        return _after_condition(ctx)
    return f"unexpected {ctx.found}; expected {_phrase(expected)}", ctx.where, None


def _unclosed_paren(ctx: _Context) -> Any:
    """The last `(` before the error that no `)` in the whole rule closes, or None."""
    stack: list = []
    for token in ctx.tokens:
        if token.type == "LPAR":
            stack.append(token)
        elif token.type == "RPAR" and stack:
            stack.pop()
    before = [t for t in stack if ctx.tokens.index(t) < ctx.index]
    return before[-1] if before else None


def _operator_typo(ctx: _Context) -> tuple[str, Any, str | None] | None:
    """``==``, ``=>``, ``=<``, ``<>`` and ``> =``: two tokens the user meant as one."""
    prev, token = ctx.prev, ctx.token
    if prev is None or prev.type != "COMP_OP" or token.type != "COMP_OP":
        return None
    pair = prev.value + token.value
    meant = {"==": "=", "=>": ">=", "=<": "<=", "<>": "!="}.get(pair)
    if meant and prev.end_pos == token.start_pos:
        return f"`{pair}` is written `{meant}`", (prev.line, prev.column, 2), None
    if pair in (">=", "<=", "!="):
        return f"write `{pair}` without a space", prev, None
    return None


def _missing_value(ctx: _Context) -> str:
    """A value was due: say what it was for."""
    prev, kind = ctx.prev, ctx.prev_kind
    if kind is None:
        return (f"a rule starts with the value to check, not {ctx.found}; "
                "e.g. `signups / visits >= 2% weekly`")
    if kind == "COMP_OP":
        return f"expected a threshold after `{prev.value}`, e.g. `{prev.value} 2%`"
    if kind in _ARITHMETIC:
        return f"`{prev.value}` needs a value on its right, found {ctx.found}; e.g. `signups / visits`"
    if kind == "BETWEEN":
        return "expected the low end after `between`, e.g. `between 25% and 40%`"
    if kind == "AND" and "NOT" not in ctx.expected:
        return "expected the high end after `and`, e.g. `between 25% and 40%`"
    if kind == "NOT":
        return "expected a condition after `not`, e.g. `not (signups < 10)`"
    if kind in ("AND", "OR"):
        word = prev.value.lower()
        return f"expected a condition after `{word}`, e.g. `{word} change(visits) > 0`"
    if kind == "AT":
        return "expected a threshold after `warn at`, e.g. `warn at 2.5%`"
    if kind == "LAST":
        return "expected how many after `over last`, e.g. `over last 28 days`"
    return f"expected a value after `{prev.value}`, found {ctx.found}"


def _missing_text(ctx: _Context) -> tuple[str, Any, str | None]:
    """A quoted value was due (in `where`)."""
    hint = None
    if ctx.kind in ("NAME", "NUMBER"):
        hint = f'put the value in quotes: "{ctx.token.value}"'
    if ctx.prev_kind == "COMP_OP":
        column = ctx.tokens[ctx.index - 2].value
        op = ctx.prev.value
        return f'expected a quoted value after `{op}`, e.g. `{column} {op} "email"`', ctx.where, hint
    return 'expected a quoted value, e.g. `in ("search", "social")`', ctx.where, hint


def _missing_name(ctx: _Context) -> str:
    prev, kind = ctx.prev, ctx.prev_kind
    if kind == "BY":
        return "expected a column after `by`, e.g. `by channel`"
    if kind in ("WHERE", "AND"):
        return f'expected a filter after `{prev.value.lower()}`, e.g. `where channel = "email"`'
    if kind == "NUMBER" and ctx.index >= 3 and ctx.tokens[ctx.index - 2].type == "LAST":
        return f"expected days, weeks or months after `over last {prev.value}`"
    if kind == "COMMA":
        return "expected another column after `,`"
    return "expected a column name"


def _keyword_hint(ctx: _Context) -> str | None:
    """A reserved word where a name could stand: say how to name such a column."""
    word = ctx.token
    if word.type not in _KEYWORDS or (ctx.prev is not None and word.type in _CLAUSE_TOKENS):
        return None
    return (f"`{word.value}` is a reserved word; a column with that name is written in "
            f"backticks: `{word.value}`")


def _string_hint(ctx: _Context) -> str | None:
    if ctx.kind == "STRING" and ctx.prev_kind == "COMP_OP":
        return "quotes are for text in `where`; write numbers without them: `>= 10`"
    return None


def _missing_comparison(ctx: _Context) -> tuple[str, Any, str | None]:
    prev, token = ctx.prev, ctx.token
    if token.type in ("NAME", "QUOTED_NAME", "NUMBER", "LPAR") and prev is not None:
        hint = None
        if token.type == "NAME" and prev.type == "NAME":
            words = f"{prev.value} {token.value}"
            hint = (f"if `{words}` is one column, write `{normalise(words)}` "
                    f"or put it in backticks: `{words}`")
        return (f"expected an operator (+ - * /) or a comparison between `{prev.value}` and "
                f"`{token.value}`", ctx.where, hint)
    return (f"expected a comparison (>=, >, <=, <, =, != or between) before {ctx.found}",
            ctx.where, "e.g. `signups / visits >= 2% weekly`")


def _after_condition(ctx: _Context) -> tuple[str, Any, str | None]:
    """The condition is complete; a window or a clause was due."""
    kind, value = ctx.kind, ctx.token.value
    has_window = ctx.seen(_WINDOW_TOKENS) is not None
    clause = ctx.seen(_CLAUSE_TOKENS)
    later_window = any(t.type in _WINDOW_TOKENS for t in ctx.tokens[ctx.index + 1:])
    if kind == "$END":
        return f"every rule needs one window: {WINDOW_HELP}", ctx.where, None
    if kind == "NAME" and not has_window and not later_window:
        guess = _WINDOW_SYNONYMS.get(value.lower()) or did_you_mean(value.lower(), _WINDOW_WORDS)
        return (f"unknown window `{value}`; expected {WINDOW_HELP}", ctx.where,
                f"did you mean `{guess}`?" if guess else None)
    if kind == "LAST":
        return _last_without_over(ctx)
    if clause is not None and clause.type == "BY" and kind in ("AND", "NAME"):
        return ("separate the columns of `by` with commas", ctx.where,
                "e.g. `by channel, campaign`")
    if clause is not None and clause.type == "WHERE" and kind in ("OR", "COMMA"):
        return ("join the filters of `where` with `and`", ctx.where,
                'for one of several values write `channel in ("search", "social")`')
    if kind in ("AND", "OR") and has_window:
        return (f"`{value}` cannot follow the window: write the window once, after the whole "
                f"condition", ctx.where, "e.g. `signups > 10 and visits > 100 weekly`")
    if kind == "COMMA" and ctx.prev_kind == "NUMBER":
        return ("write numbers without thousands separators, and decimals with a dot",
                ctx.where, "e.g. 1000 or 1k, 2.5%")
    if kind == "COMP_OP":
        return ("comparisons do not chain; for a range write `between`", ctx.where,
                "e.g. `spend / clicks between 0.5 and 2 weekly`")
    if has_window:
        hint = f"to get one result per `{value}`, write `by {value}`" if kind == "NAME" else None
        return (f"unexpected {ctx.found} after the window; expected `by`, `where` or `warn at`",
                ctx.where, hint)
    return (f"unexpected {ctx.found}; expected a window ({WINDOW_HELP}) or an operator",
            ctx.where, None)


def _last_without_over(ctx: _Context) -> tuple[str, Any, str | None]:
    after = ctx.next()
    unit = after.value.lower().rstrip("s") if after is not None and after.type == "NAME" else ""
    if unit in ("day", "week", "month", "quarter", "year"):
        word = "daily" if unit == "day" else f"{unit}ly"
        return (f"for the last whole {unit} write `{word}`", ctx.where,
                "for several, write `over last N days|weeks|months`")
    example = f"over last {after.value} days" if after is not None and after.type == "NUMBER" else "over last 28 days"
    return "a window over the last N days is written `over last N days`", ctx.where, f"e.g. `{example}`"


def _phrase(expected: set) -> str:
    """``{"NUMBER", "RPAR"}`` -> "a value (...) or `)`"."""
    aliases = {"QUOTED_NAME": "NAME", "MINUS": "NUMBER", "PLUS": "SLASH", "STAR": "SLASH",
               "BETWEEN": "COMP_OP", "DAILY": "WEEKLY", "MONTHLY": "WEEKLY",
               "QUARTERLY": "WEEKLY", "YEARLY": "WEEKLY", "OVER": "WEEKLY", "WHERE": "BY",
               "WARN": "BY"}
    wanted = {aliases.get(t, t) for t in expected}
    if "NUMBER" in wanted:
        wanted.discard("NAME")  # "a value" already says "a column"
    parts = [phrase for name, phrase in _PHRASES if name in wanted]
    if not parts:
        return "something else"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]
