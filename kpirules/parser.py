"""Rule text -> ``kpirules.ast.Rule``.

The grammar (``grammar/kpi.lark``) fixes the shape of a rule. This module builds Lark's
LALR parser on first use and drives it; the AST is built while Lark parses
(``kpirules.transform``: an inline transformer, so no parse tree is ever built, plus the
checks a context-free grammar cannot make), and every failure becomes a ``KpiError``
carrying one ``Problem`` in the user's words (``kpirules.parse_errors`` for what Lark
reports) -- never a Lark exception.

``parse_rule`` is memoised by text: the same rule text written on many rows, or checked
again by ``validate`` and ``check``, is parsed once. Rules are immutable, so sharing them is
safe.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache
from typing import Any

from kpirules.ast import Rule
from kpirules.errors import INVALID_RULE, SYNTAX, KpiError, Problem
from kpirules.parse_errors import explain
# WINDOW_HELP and source_line are imported from here by callers (resolve, tests).
from kpirules.transform import WINDOW_HELP, Builder, assemble, source_line
from kpirules.transform import Invalid as _Invalid  # the name tests/test_parser_fuzz.py uses

__all__ = ["parse_rule", "source_line", "WINDOW_HELP", "MAX_RULE_CHARS", "MAX_RULE_DEPTH"]

# Stated limits (docs/language.md, "Limits"), checked while parsing so that every later walk
# over a rule's tree (evaluation, messages, lint, explain) is safe from Python's recursion
# limit: a Rules tab anyone can edit must not be able to take a run down.
MAX_RULE_CHARS = 5_000
MAX_RULE_DEPTH = 100  # levels of operators, `not` and calls, counted on the rule's tree

# ------------------------------------------------------------------------ the parser


@cache
def _lark() -> Any:
    """Lark's LALR parser for ``grammar/kpi.lark``, built on first use so that ``import
    kpirules`` never pays for Lark. The AST is built inline (``transformer=``), so no parse
    tree exists at any point. ``cache=True`` keeps Lark's grammar analysis in a temporary
    file between runs (about 25 -> 3 ms; Lark rebuilds quietly when the file is missing,
    stale or unwritable)."""
    import os

    from lark import Lark

    import kpirules.grammar

    # The grammar ships as a plain file inside the package (wheel or checkout); reading it
    # by path spares every start-up importlib.resources (~7 ms).
    path = os.path.join(os.path.dirname(kpirules.grammar.__file__), "kpi.lark")
    with open(path, encoding="utf-8") as fh:
        grammar = fh.read()
    return Lark(grammar, parser="lalr", lexer="basic", start="rule",
                transformer=Builder(), cache=True)


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
    if len(source) > MAX_RULE_CHARS:
        raise KpiError(Problem(
            INVALID_RULE, f"the rule is {len(source):,} characters long; a rule may have at most "
            f"{MAX_RULE_CHARS:,}", line=1, column=1, source_line=source_line(source, 1)[:200],
            suggestion="split it into several rules"))
    from lark.exceptions import UnexpectedInput

    parser = _parser()
    try:
        condition, clauses = parser.parse(source)
        if not isinstance(parser, _FastLALR):  # the fast driver checks the depth as it goes
            _check_depth(condition, source)
        return assemble(source, text, condition, clauses)
    except _Invalid as exc:
        raise KpiError(exc.problem(source)) from None
    except UnexpectedInput as exc:
        try:
            raise KpiError(explain(source, exc, _lark().lex)) from None
        except RecursionError:  # Lark's own pass built a deep tree before the error
            raise KpiError(_too_deep(source, None)) from None
    except RecursionError:  # last resort: the checks above should make this unreachable
        raise KpiError(_too_deep(source, None)) from None


def _too_deep(source: str, where: Any) -> Problem:
    line, column = 1, 1
    span = getattr(where, "span", None)
    if span is not None:
        line, column = span.line, span.column
    elif getattr(where, "line", None) is not None:  # a token
        line, column = where.line, where.column
    return Problem(INVALID_RULE, f"the rule nests more than {MAX_RULE_DEPTH} levels deep "
                   "(operators, `not`, parentheses and calls)", line=line, column=column,
                   source_line=source_line(source, line)[:200],
                   suggestion="split it into several rules, or add the columns up in the data")


def _check_depth(root: Any, source: str) -> None:
    """The tree's depth, without recursion (an explicit stack); ``KpiError`` past the limit."""
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_RULE_DEPTH:
            raise KpiError(_too_deep(source, node))
        children = getattr(node, "child_nodes", None)
        if children is not None:
            stack.extend((child, depth + 1) for child in children())


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
    state that ``parse_errors.explain`` turns into a message. Two shortcuts over Lark:
    whitespace is skipped inside the token regex, and reductions through a one-child
    ``?rule`` (the precedence ladder) move the state without calling anything, as Lark's
    callback would only return its child."""

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
        state_stack, value_stack, depth_stack = [self._start], [], []
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
                    depth_stack.append(0)
                    break
                length, origin, callback = reduce
                if callback is None:
                    state_stack[-1] = states[state_stack[-2]][origin][0]
                else:
                    children = value_stack[-length:] if length else []
                    # The tree's depth, kept beside the values: checked before the callback
                    # so that no callback ever walks a tree past the limit. Lark's helper
                    # rules for repetitions (`__by_clause_star_0`) make flat lists: no level.
                    depth = (origin[:2] != "__") + (max(depth_stack[-length:]) if length else 0)
                    if depth > MAX_RULE_DEPTH:
                        raise KpiError(_too_deep(text, children[-1] if children else None))
                    if length:
                        del state_stack[-length:], value_stack[-length:], depth_stack[-length:]
                    value_stack.append(callback(children))
                    depth_stack.append(depth)
                    state_stack.append(states[state_stack[-1]][origin][0])
                if token is None and state_stack[-1] == self._end:
                    return value_stack[-1]
