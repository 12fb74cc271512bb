"""Rule text -> ``kpirules.ast.Rule``.

The grammar (``grammar/kpi.lark``) fixes the shape of a rule. This module builds Lark's
LALR parser on first use and drives it; the AST is built while Lark parses
(``kpirules.transform``: an inline transformer, so no parse tree is ever built, plus the
checks a context-free grammar cannot make), and every failure becomes a ``KpiError``
carrying one ``Problem`` in the user's words (``kpirules.parse_errors`` for what Lark
reports) -- never a Lark exception.

``parse_rule`` is memoised by text: the same rule text written on many rows, or checked
again by ``validate`` and ``check``, is parsed once. Rules are immutable, so sharing them is
safe. A text of a shape parsed before (the same words, other numbers, strings and columns)
is built from that shape's template (``kpirules.rule_templates``) without parsing.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache, update_wrapper
from typing import Any, Callable

from kpirules import rule_templates
from kpirules.ast import Rule
from kpirules.errors import INVALID_RULE, SYNTAX, KpiError, Problem
from kpirules.i18n import _
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
    from lark import Lark

    return Lark(_grammar_text(), parser="lalr", lexer="basic", start="rule",
                transformer=Builder(), cache=True)


@cache
def _parser() -> Any:
    """The fast driver over the tables shipped in ``kpirules.parse_tables`` (no Lark import,
    no grammar analysis at run time), or Lark itself if those tables cannot be read."""
    try:
        from kpirules import parse_tables

        return _FastLALR(parse_tables)
    except (ImportError, AttributeError, KeyError, TypeError, ValueError):  # pragma: no cover
        return _lark()


def _table_data(lark: Any) -> dict[str, Any]:
    """What the fast driver needs from Lark's analysis of the grammar, as plain literals:
    the lexer's one regex, the keywords, and the LALR table with each reduction's callback
    described by how Lark would build it (``parse_tree_builder``: the user method or a
    default tree, ``?rule`` expansion, which children are kept or inlined)."""
    from lark.parsers.lalr_analysis import Shift

    lexer = lark.parser.lexer
    (scanner,) = lexer.scanner._mres  # one regex: fewer than 100 terminals
    ignore = [t for t in lark.terminals if t.name in lexer.ignore_types]
    if [t.pattern.to_regexp() for t in ignore] != [r"\s+"]:
        raise ValueError("the fast driver only knows how to skip whitespace")
    # Keywords: Lark lexes `Weekly` as NAME, then retypes it (an UnlessCallback).
    retype: dict[str, dict[str, str]] = {}
    for name, callback in sorted(lexer.callback.items()):
        words = {}
        for term in callback.scanner.terminals:
            if "i" not in term.pattern.flags:
                raise ValueError("keywords are expected to be case-insensitive")
            words[term.pattern.value.lower()] = term.name
        retype[name] = dict(sorted(words.items()))
    table = lark.parser.parser.parser.parse_table
    rules: list[Any] = []
    index: dict[Any, int] = {}
    states: dict[int, dict[str, int]] = {}
    for state, actions in sorted(table.states.items()):
        row = {}
        for symbol, (action, arg) in sorted(actions.items()):
            if action is Shift:
                row[symbol] = arg
                continue
            if arg not in index:
                index[arg] = len(rules)
                rules.append(_rule_data(arg, lark.options.maybe_placeholders))
            row[symbol] = -1 - index[arg]  # reductions are negative: rule -1 - n
        states[state] = row
    return {"PATTERN": scanner.pattern, "FLAGS": int(scanner.flags),
            "IGNORE": sorted(lexer.ignore_types), "RETYPE": retype,
            "START": table.start_states["rule"], "END": table.end_states["rule"],
            "RULES": rules, "STATES": states}


def _rule_data(rule: Any, placeholders: bool) -> tuple[Any, ...]:
    """(length, origin, callback name, expand1, passthrough, children filter) for one rule,
    following ``lark.parse_tree_builder.ParseTreeBuilder._init_builders``."""
    from lark.parse_tree_builder import maybe_create_child_filter

    expansion, options = rule.expansion, rule.options
    passthrough = (options.expand1 and rule.alias is None and len(expansion) == 1
                   and not expansion[0].is_term)
    made = maybe_create_child_filter(expansion, options.keep_all_tokens, False,
                                     options.empty_indices if placeholders else None)
    keep: Any = None
    if made is not None:  # a partial(ChildFilter..., to_include[, nones at the end])
        keep = [list(item) for item in made.args[0]]
        if len(made.args) == 2:  # with placeholders: (index, inline, nones before), nones after
            keep = {"with_none": keep, "after": made.args[1]}
    name = rule.alias or options.template_source or rule.origin.name
    return (len(expansion), rule.origin.name, name, bool(options.expand1 and not rule.alias),
            bool(passthrough), keep)


def render_tables() -> str:
    """The text of ``kpirules/parse_tables.py`` for the grammar as it is now."""
    import hashlib
    import importlib.metadata
    import pprint

    data = _table_data(_lark())
    grammar = _grammar_text()
    lines = ['"""LALR tables of ``grammar/kpi.lark``, generated by ``python -m kpirules.parser``:',
             "do not edit (tests/test_parse_tables.py checks they match the grammar).", "",
             "Shipped so that parsing a rule never imports Lark nor analyses the grammar; Lark",
             'is loaded only to explain a syntax error (kpirules.parse_errors)."""', "",
             f"GRAMMAR_SHA256 = {hashlib.sha256(grammar.encode()).hexdigest()!r}",
             f"LARK_VERSION = {importlib.metadata.version('lark')!r}"]
    for key, value in data.items():
        if key == "STATES":
            lines.append("STATES = {")
            lines += [f"    {state}: {row!r}," for state, row in value.items()]
            lines.append("}")
        elif key == "RULES":
            lines.append("RULES = [")
            lines += [f"    {rule!r}," for rule in value]
            lines.append("]")
        else:
            lines.append(f"{key} = {pprint.pformat(value, width=100, sort_dicts=False)}")
    return "\n".join(lines) + "\n"


def _grammar_text() -> str:
    import os

    import kpirules.grammar

    # The grammar ships as a plain file inside the package (wheel or checkout); reading it
    # by path spares importlib.resources.
    path = os.path.join(os.path.dirname(kpirules.grammar.__file__), "kpi.lark")
    with open(path, encoding="utf-8") as fh:
        return fh.read()


TEMPLATES_AFTER = 100  # rules parsed the plain way before rule templates are used
_plain_parses = 0


def _parse_rule(text: str, templates: bool = True) -> Rule:
    """Parse one rule. Raises ``KpiError`` (category ``syntax``, ``unknown-function`` or
    ``invalid-rule``) with line/column counted within ``text``. ``templates=False`` parses
    even a text of a known shape (tests compare both ways)."""
    if not isinstance(text, str):
        raise TypeError(f"a rule is text, not {type(text).__name__}")
    source = text
    # Names compare in NFC (kpirules.names); a rule pasted in decomposed form would
    # otherwise split `ś` into a letter and a stray combining accent.
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        source = unicodedata.normalize("NFC", text)
    if not source.strip():
        raise KpiError(Problem(SYNTAX, _("the rule is empty"), line=1, column=1,
                               source_line=source_line(source, 1),
                               suggestion=_("write a rule such as `signups / visits >= 2% weekly`")))
    if len(source) > MAX_RULE_CHARS:
        raise KpiError(Problem(
            INVALID_RULE, _("the rule is {n} characters long; a rule may have at most {max}").format(
                n=f"{len(source):,}", max=f"{MAX_RULE_CHARS:,}"), line=1, column=1,
            source_line=source_line(source, 1)[:200], suggestion=_("split it into several rules")))
    # A rule of a shape parsed before (other numbers, strings, columns) is built from it;
    # anything that does not fit is parsed, and teaches the shape (kpirules.rule_templates).
    # That pays once shapes repeat; the first rules are parsed without a key (a file of a
    # hundred rules has few repeats, and lexing and learning each would cost more).
    global _plain_parses
    tokens = None
    if templates and _plain_parses >= TEMPLATES_AFTER:
        tokens = rule_templates.lex(source, text)
    elif templates:
        _plain_parses += 1
    if tokens is not None:
        built = rule_templates.build(tokens)
        if built is not None:
            return built
    rule = _parse_source(source, text)
    if tokens is not None:
        rule_templates.learn(tokens, rule)
    return rule


def _parse_source(source: str, text: str) -> Rule:
    parser = _parser()
    try:
        condition, clauses = parser.parse(source)
        if not isinstance(parser, _FastLALR):  # the fast driver checks the depth as it goes
            _check_depth(condition, source)
        return assemble(source, text, condition, clauses)
    except _Invalid as exc:
        raise KpiError(exc.problem(source)) from None
    except RecursionError:  # last resort: the checks above should make this unreachable
        raise KpiError(_too_deep(source, None)) from None
    except Exception as exc:
        if not _rejected_by_lark(exc):
            raise
        from kpirules.parse_errors import explain  # only when a rule does not parse

        try:
            raise KpiError(explain(source, exc, _lark().lex)) from None
        except RecursionError:  # Lark's own pass built a deep tree before the error
            raise KpiError(_too_deep(source, None)) from None


class _Memoised:
    """``parse_rule``: ``_parse_rule`` memoised by text (the same rule written on many rows,
    or checked again by ``validate`` and ``check``, is parsed once; rules are immutable, so
    sharing them is safe). ``cache_clear`` also forgets the rule templates, so that a
    function plugin unloaded (tests) is looked up again, and starts over as a new process."""

    def __init__(self, parse: Callable[[str], Rule]):
        self._cached = lru_cache(maxsize=8192)(parse)
        update_wrapper(self, parse)  # its docstring and __wrapped__
        self.__name__ = self.__qualname__ = "parse_rule"

    def __call__(self, text: str) -> Rule:
        return self._cached(text)

    def cache_clear(self) -> None:
        global _plain_parses
        self._cached.cache_clear()
        rule_templates.clear()
        _plain_parses = 0

    def cache_info(self) -> Any:
        return self._cached.cache_info()


parse_rule = _Memoised(_parse_rule)


def _rejected_by_lark(exc: Exception) -> bool:
    """Whether ``exc`` is Lark's ``UnexpectedInput`` (the grammar rejects the text). Lark
    is loaded only once a text needs it, so if it is not loaded, the error is not Lark's:
    catching Lark's exceptions costs nothing on the path where every rule parses."""
    import sys

    exceptions = sys.modules.get("lark.exceptions")
    return exceptions is not None and isinstance(exc, exceptions.UnexpectedInput)


def _too_deep(source: str, where: Any) -> Problem:
    line, column = 1, 1
    span = getattr(where, "span", None)
    if span is not None:
        line, column = span.line, span.column
    elif getattr(where, "line", None) is not None:  # a token
        line, column = where.line, where.column
    return Problem(INVALID_RULE, _("the rule nests more than {max} levels deep "
                                   "(operators, `not`, parentheses and calls)").format(max=MAX_RULE_DEPTH),
                   line=line, column=column, source_line=source_line(source, line)[:200],
                   suggestion=_("split it into several rules, or add the columns up in the data"))


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


class _Tree:
    """Lark's default node (``lark.Tree``) for a rule without a method: only the helper
    rules of repetitions (``__rule_star_0``) make one, and their parents inline it."""

    __slots__ = ("data", "children")

    def __init__(self, data: str, children: list):
        self.data, self.children = data, children


def _reduction(builder: Any, length: int, origin: str, name: str, expand1: bool,
               passthrough: bool, keep: Any) -> tuple[int, str, Any]:
    """(length, origin, callback) for one rule: the callback Lark's ``ParseTreeBuilder``
    would compose (children filter, then ``?rule`` expansion, then the method), or None
    where the rule only passes its one child through."""
    if passthrough:
        return length, origin, None
    method = getattr(builder, name, None)
    call: Any = method if method is not None else (lambda children: _Tree(name, children))
    if expand1:
        inner = call

        def call(children: list) -> Any:
            return children[0] if len(children) == 1 else inner(children)
    if keep is not None:
        call = _children_filter(keep, call)
    return length, origin, call


def _children_filter(keep: Any, node_builder: Any) -> Any:
    """``lark.parse_tree_builder.ChildFilterLALR`` (and its no-placeholder variant): drop
    the filtered tokens, inline ``_rule`` children, insert None for empty ``[optional]``s."""
    if isinstance(keep, dict):
        with_none, after = [tuple(k) for k in keep["with_none"]], keep["after"]

        def placeholders(children: list) -> Any:
            filtered: list = []
            for i, inline, nones in with_none:
                if nones:
                    filtered += [None] * nones
                if inline:
                    if filtered:
                        filtered += children[i].children
                    else:  # left recursion: reuse the list
                        filtered = children[i].children
                else:
                    filtered.append(children[i])
            if after:
                filtered += [None] * after
            return node_builder(filtered)
        return placeholders
    pairs = [tuple(k) for k in keep]

    def no_placeholders(children: list) -> Any:
        filtered: list = []
        for i, inline in pairs:
            if inline:
                if filtered:
                    filtered += children[i].children
                else:  # left recursion: reuse the list
                    filtered = children[i].children
            else:
                filtered.append(children[i])
        return node_builder(filtered)
    return no_placeholders


class _FastLALR:
    """Lark's LALR tables, lexer regex and callbacks, driven by a tighter loop.

    With the same callbacks, Lark's general-purpose loop takes ~75 us for a typical rule
    and this one ~47 us (docs/language.md, "Performance"). Its tables are Lark's, taken
    once from Lark's internals by ``python -m kpirules.parser`` and shipped as literals in
    ``kpirules.parse_tables`` (tests/test_parse_tables.py keeps them in sync with the
    grammar; ``tests/test_parser_fuzz.py`` checks that this driver and Lark agree). On any
    input it cannot take, it hands the text to Lark, whose exception carries the parser
    state that ``parse_errors.explain`` turns into a message. Two shortcuts over Lark:
    whitespace is skipped inside the token regex, and reductions through a one-child
    ``?rule`` (the precedence ladder) move the state without calling anything, as Lark's
    callback would only return its child."""

    def __init__(self, tables: Any):
        self._match = re.compile(r"\s*(?:" + tables.PATTERN + ")", tables.FLAGS).match
        self._ignore = frozenset(tables.IGNORE)
        self._retype = tables.RETYPE
        builder = Builder()
        reductions = [_reduction(builder, *rule) for rule in tables.RULES]
        self._states = {state: {symbol: (arg, None) if arg >= 0 else (None, reductions[-1 - arg])
                                for symbol, arg in actions.items()}
                        for state, actions in tables.STATES.items()}
        self._start, self._end = tables.START, tables.END
        # (state below, state on top, lookahead) -> the state on top after the run of
        # one-child reductions that lookahead sets off there: the precedence ladder climbs
        # several rungs for every operand, each a table lookup, the same every time.
        self._climbs: dict[tuple[Any, Any, str | None], Any] = {}

    def _climb(self, below: Any, top: Any, kind: str | None) -> Any:
        states = self._states
        while top != self._end:  # the end state: parse() returns there, as before
            action = states[top].get(kind)
            if action is None or action[1] is None or action[1][2] is not None:
                break
            top = states[below][action[1][1]][0]
        return top

    def parse(self, text: str) -> Any:
        match, states, retype, ignore = self._match, self._states, self._retype, self._ignore
        climbs = self._climbs
        state_stack, value_stack, depth_stack = [self._start], [], []
        pos, size, line, line_start = 0, len(text), 1, 0
        while True:
            if pos < size:
                m = match(text, pos)
                if m is None:
                    return _lark().parse(text)  # raises UnexpectedCharacters
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
                    return _lark().parse(text)  # raises UnexpectedToken
                shift, reduce = action
                if reduce is None:
                    state_stack.append(shift)
                    value_stack.append(token)
                    depth_stack.append(0)
                    break
                length, origin, callback = reduce
                if callback is None:
                    key = (state_stack[-2], state_stack[-1], kind)
                    top = climbs.get(key)
                    if top is None:
                        top = climbs[key] = self._climb(*key)
                    state_stack[-1] = top
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


if __name__ == "__main__":  # python -m kpirules.parser: regenerate kpirules/parse_tables.py
    import os

    target = os.path.join(os.path.dirname(os.path.abspath(__file__)), "parse_tables.py")
    with open(target, "w", encoding="utf-8") as out:
        out.write(render_tables())
    print(f"wrote {target}")
