"""Rule templates: rules that differ only in their numbers, strings and column names share
one parse.

A file of thousands of rules says a few hundred things many times over:
``sum(email_opens) >= 93k weekly where channel = "email"`` and ``sum(orders) >= 1.4k weekly
where channel = "search"`` are one shape with other words in it. The LALR parse of a rule
(which grammar rules reduce, which callbacks build which nodes) depends only on the kinds of
its tokens, so once a text has parsed, every text with the same *key* has the same tree:
the key is the kinds of its tokens, with the exact text of every token that is not a
number, a string or a name (keywords, operators, backticked names). Which of those numbers,
strings and names the tree keeps as values (a threshold, a `where` value, a column) is
learnt from the first tree: they are the template's *slots*. The others (a function's
name, `28` in `over last 28 days`, the unit after it, a confidence level) are checked by
the parser's callbacks, so the template holds only for texts that have the very same ones.

A text whose key and other words match a template is built from it: its slots put in,
every span moved to where its tokens are (spans start and end at token boundaries, so
a span maps from the template's tokens to this text's), sub-trees that do not change
shared with the template. The checks that depend on a slot's value run again: a number's
suffix (``transform.number_value``) and the rule's checks on numbers
(``transform.check_values``). Anything else -- a text on several lines, one the lexer
stops at, a slot that does not fit, a check that fails -- goes the normal way
(``parser.parse_rule``), which then learns the template from its tree; an error therefore
always comes from the normal parse, word for word. tests/test_rule_templates.py checks
that a built rule equals the parsed one, spans and texts included.

``parser.parse_rule`` uses templates from the 101st rule a process parses
(``parser.TEMPLATES_AFTER``): before shapes repeat, lexing and learning would cost more than
they save. Every cache here is bounded (``MAX_TEMPLATES`` templates, ``_MAX_SHARED`` spans,
columns and sub-trees) and dropped by ``parse_rule.cache_clear()``.
"""

from __future__ import annotations

import itertools
import re
from typing import Any, Callable

from kpirules.ast import Column, Filter, Node, Number, Rule, Span
from kpirules.names import normalise
from kpirules.transform import Invalid, check_values, number_value

__all__ = ["Tokens", "build", "clear", "learn", "lex", "MAX_TEMPLATES"]

MAX_TEMPLATES = 4096  # distinct shapes kept; a process that sees more starts over
_MAX_SHARED = 50_000  # spans and columns kept for sharing between rules

# The fast driver's lexer (kpirules.parser._FastLALR): the same regex, so the same tokens.
# Without its tables the parser uses Lark itself, and no text gets a key.
_MATCH: Callable[[str, int], Any] | None = None
try:
    from kpirules import parse_tables

    _MATCH = re.compile(r"\s*(?:" + parse_tables.PATTERN + ")", parse_tables.FLAGS).match
    _IGNORE = frozenset(parse_tables.IGNORE)
    _KEYWORDS: dict[str, str] = parse_tables.RETYPE.get("NAME", {})
except (ImportError, AttributeError):  # pragma: no cover - the tables ship with the package
    _MATCH = None
# What a slot's token stands for in a key (no token's text looks like these).
_NUMBER, _STRING, _NAME = "\0NUMBER", "\0STRING", "\0NAME"
_SLOT_KINDS = frozenset({_NUMBER, _STRING, _NAME})


class Tokens:
    """One rule text's tokens: its key, and each token's text and [start, end) offset."""

    __slots__ = ("key", "texts", "starts", "ends", "text")

    def __init__(self, key: tuple[str, ...], texts: list[str], starts: list[int], ends: list[int],
                 text: str):
        self.key, self.texts, self.starts, self.ends, self.text = key, texts, starts, ends, text


def lex(source: str, text: str) -> Tokens | None:
    """``source``'s tokens (``text`` is the rule as written, kept as ``Rule.text``); None for
    a text on several lines or one the lexer cannot read (the normal parse says why)."""
    match = _MATCH
    if match is None or "\n" in source:
        return None
    ignore, keywords = _IGNORE, _KEYWORDS
    key: list[str] = []
    texts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    pos, size = 0, len(source)
    while pos < size:
        m = match(source, pos)
        if m is None:
            return None
        kind: Any = m.lastgroup  # one group matches: every alternative is a named group
        pos = m.end()
        if kind in ignore:
            continue
        start = m.start(kind)
        value = source[start:pos]
        if kind == "NAME":
            key.append(value if value.lower() in keywords else _NAME)
        elif kind == "NUMBER":
            key.append(_NUMBER)
        elif kind == "STRING":
            key.append(_STRING)
        else:
            key.append(value)
        texts.append(value)
        starts.append(start)
        ends.append(pos)
    return Tokens(tuple(key), texts, starts, ends, text)


# key -> the indices of the tokens a template of that key needs word for word (None: texts
# of that key are never built from a template); (key, those words) -> the template's builder.
_FIXED: dict[tuple[str, ...], tuple[int, ...] | None] = {}
_BUILDERS: dict[tuple[Any, ...], Callable[[Tokens], Rule]] = {}
# Spans and columns, shared by every rule built here (immutable, compared by value).
_SPANS: dict[tuple[int, int], Span] = {}
_COLUMNS: dict[tuple[str, int], Column] = {}
# Other sub-trees, by the template's node (a number from _UIDS), the identity of their span
# and children, and their other values; each entry keeps what its key names alive.
_SHARED: dict[tuple[Any, ...], Node] = {}
_UIDS = itertools.count()


class _Misfit(Exception):
    """A slot's value the template cannot take (a number with no known suffix)."""


class _Unusable(Exception):
    """A tree a template cannot be made from (a span that is not on token boundaries)."""


def clear() -> None:
    _FIXED.clear()
    _BUILDERS.clear()
    _SPANS.clear()
    _COLUMNS.clear()
    _SHARED.clear()


def build(tokens: Tokens) -> Rule | None:
    """The rule of ``tokens`` built from a template, or None (no template fits: parse it)."""
    fixed = _FIXED.get(tokens.key)
    if fixed is None:
        return None
    texts = tokens.texts
    builder = _BUILDERS.get((tokens.key, *[texts[i] for i in fixed]))
    if builder is None:
        return None
    if len(_SPANS) > _MAX_SHARED or len(_COLUMNS) > _MAX_SHARED or len(_SHARED) > _MAX_SHARED:
        _SPANS.clear()
        _COLUMNS.clear()
        _SHARED.clear()
    try:
        rule = builder(tokens)
        check_values(rule)
    except (Invalid, _Misfit):
        return None
    return rule


def learn(tokens: Tokens, rule: Rule) -> None:
    """Make ``rule`` (parsed from ``tokens``) the template of texts with its key and words."""
    if tokens.key in _FIXED and _FIXED[tokens.key] is None:
        return
    if len(_BUILDERS) >= MAX_TEMPLATES or len(_FIXED) >= MAX_TEMPLATES:
        _FIXED.clear()
        _BUILDERS.clear()
    try:
        compiler = _Compiler(tokens)
        builder = compiler.node(rule)
    except _Unusable:
        _FIXED[tokens.key] = None
        return
    fixed = tuple(i for i, part in enumerate(tokens.key) if part in _SLOT_KINDS and i not in compiler.slots)
    if _FIXED.setdefault(tokens.key, fixed) != fixed:  # pragma: no cover - the key decides the tree
        _FIXED[tokens.key] = None
        return
    _BUILDERS[(tokens.key, *[tokens.texts[i] for i in fixed])] = builder


# --------------------------------------------------------------- making a template's builder

Maker = Callable[[Tokens], Any]


class _Compiler:
    """Turns a parsed rule into a function of the tokens of another text with its key."""

    def __init__(self, tokens: Tokens):
        self.tokens = tokens
        # 1-based columns, as spans count them, to the token that starts / ends there.
        self.first = {start + 1: i for i, start in enumerate(tokens.starts)}
        self.last = {end + 1: i for i, end in enumerate(tokens.ends)}
        self.slots: set[int] = set()
        self.numbers_fixed = False  # inside a confidence level: checked by its callback

    def bounds(self, span: Span) -> tuple[int, int]:
        """The first and last token of ``span``."""
        if span.line != 1 or span.end_line != 1:
            raise _Unusable
        try:
            return self.first[span.column], self.last[span.end_column]
        except KeyError:
            raise _Unusable from None

    def span(self, span: Span | None) -> Maker:
        if span is None:
            return _none
        first, last = self.bounds(span)
        spans = _SPANS

        def make(t: Tokens) -> Span:
            where = (t.starts[first], t.ends[last])
            made = spans.get(where)
            if made is None:
                made = spans[where] = Span(1, where[0] + 1, 1, where[1] + 1)
            return made
        return make

    def node(self, node: Node) -> Maker:
        made: Maker | None = None
        if type(node) is Number and not self.numbers_fixed:
            made = self.number(node)
        elif type(node) is Column:
            made = self.column(node)
        if made is not None:
            return made
        cls: Any = type(node)
        makers: list[tuple[int, Maker]] = []
        values: list[Any] = []
        for name in _fields(cls):
            value = getattr(node, name)
            maker = self.field(node, name, value)
            if maker is not None:
                makers.append((len(values), maker))
            values.append(value)
        span = self.span(node.span)
        if cls is Rule:  # one a text: nothing to share
            def make_rule(t: Tokens) -> Rule:
                args = values.copy()
                for index, maker in makers:
                    args[index] = maker(t)
                return Rule(*args, span=span(t))
            return make_rule
        return _shared(cls, values, [(index, maker, isinstance(values[index], Node)) for index, maker in makers],
                       span)

    def field(self, node: Node, name: str, value: Any) -> Maker | None:
        """The maker of one field's value, or None where it is the template's own."""
        if isinstance(value, Node):
            if name != "confidence" or type(node) is not Rule:
                return self.node(value)
            self.numbers_fixed = True
            try:
                return self.node(value)
            finally:
                self.numbers_fixed = False
        if isinstance(value, tuple):
            if name == "values" and type(node) is Filter:
                return self.strings(node)
            if any(isinstance(v, Node) for v in value):
                items = [self.node(v) if isinstance(v, Node) else _constant(v) for v in value]
                return lambda t: tuple([item(t) for item in items])
            return None
        if name == "text" and type(node) is Rule:
            return _rule_text
        return None

    def number(self, node: Number) -> Maker | None:
        """A number written in the text (`-5%` folds the minus in): a slot."""
        if node.span is None:
            return None
        first, last = self.bounds(node.span)
        key, texts = self.tokens.key, self.tokens.texts
        signs = last - first
        if (key[last] != _NUMBER or any(texts[i] != "-" for i in range(first, last))
                or node.text != "-" * signs + texts[last]):
            return None
        self.slots.add(last)
        span = self.span(node.span)
        uid, shared = next(_UIDS), _SHARED

        def make(t: Tokens) -> Number:
            written = t.texts[last]
            where = span(t)
            key = (uid, written, id(where))
            found = shared.get(key)
            if found is not None:
                return found  # type: ignore[return-value]
            meaning = number_value(written)
            if meaning is None:
                raise _Misfit
            value, unit = meaning
            for _ in range(signs):  # as the parser folds `-` into a literal, once a sign
                value, written = -value, "-" + written
            found = shared[key] = Number(value, unit, written, span=where)
            return found
        return make

    def column(self, node: Column) -> Maker | None:
        """A column written as a plain name: a slot (a backticked one is in the key)."""
        if node.span is None:
            return None
        first, last = self.bounds(node.span)
        if first != last or self.tokens.key[first] != _NAME or node.text != self.tokens.texts[first]:
            return None
        self.slots.add(first)
        columns = _COLUMNS

        def make(t: Tokens) -> Column:
            where = (t.texts[first], t.starts[first])
            made = columns.get(where)
            if made is None:
                name, start = where
                made = columns[where] = Column(normalise(name), name,
                                               span=Span(1, start + 1, 1, start + 1 + len(name)))
            return made
        return make

    def strings(self, node: Filter) -> Maker | None:
        """A filter's values, each a string token of its span: slots."""
        if node.span is None:
            return None
        first, last = self.bounds(node.span)
        key, texts = self.tokens.key, self.tokens.texts
        found = [i for i in range(first, last + 1) if key[i] == _STRING]
        if [texts[i][1:-1] for i in found] != list(node.values):
            return None
        self.slots.update(found)
        return lambda t: tuple([t.texts[i][1:-1] for i in found])


def _shared(cls: Any, values: list[Any], makers: list[tuple[int, Maker, bool]], span: Maker) -> Maker:
    """The maker of a node other than the rule: the same sub-tree at the same place
    (`sum(orders)` at column 1) is one object for every rule, built once, and what is
    derived from it by node identity (kpirules.ast.node_cache) is derived once. Its key: the
    template's node (a number from _UIDS), the identity of its span and of its children
    (which the entry keeps alive), its other values (a filter's strings). Written out for
    the usual none, one or two made fields: this runs for every node of every rule."""
    uid, shared = next(_UIDS), _SHARED
    if not makers:  # a window, a baseline: only the place changes
        def make_placed(t: Tokens) -> Any:
            where = span(t)
            key = (uid, id(where))
            found = shared.get(key)
            if found is None:
                found = shared[key] = cls(*values, span=where)
            return found
        return make_placed
    if len(makers) == 1:
        ((index, maker, by_id),) = makers

        def make_one(t: Tokens) -> Any:
            where, made = span(t), maker(t)
            key = (uid, id(where), id(made) if by_id else made)
            found = shared.get(key)
            if found is None:
                args = values.copy()
                args[index] = made
                found = shared[key] = cls(*args, span=where)
            return found
        return make_one
    if len(makers) == 2:
        (index_a, maker_a, by_id_a), (index_b, maker_b, by_id_b) = makers

        def make_two(t: Tokens) -> Any:
            where, a, b = span(t), maker_a(t), maker_b(t)
            key = (uid, id(where), id(a) if by_id_a else a, id(b) if by_id_b else b)
            found = shared.get(key)
            if found is None:
                args = values.copy()
                args[index_a], args[index_b] = a, b
                found = shared[key] = cls(*args, span=where)
            return found
        return make_two

    def make(t: Tokens) -> Any:
        where = span(t)
        made = [maker(t) for _, maker, _ in makers]
        key = (uid, id(where), *[id(m) if by_id else m for m, (_, _, by_id) in zip(made, makers)])
        found = shared.get(key)
        if found is None:
            args = values.copy()
            for m, (index, _, _) in zip(made, makers):
                args[index] = m
            found = shared[key] = cls(*args, span=where)
        return found
    return make


_FIELDS: dict[type, tuple[str, ...]] = {}


def _fields(cls: Any) -> tuple[str, ...]:
    """A node class's fields but its span, in the order its ``__init__`` takes them."""
    names = _FIELDS.get(cls)
    if names is None:
        specs = cls.__fast_fields__
        if any(spec.kw_only for name, spec in specs.items() if name != "span"):
            raise _Unusable  # pragma: no cover - no node has one but its span
        names = _FIELDS[cls] = tuple(name for name in specs if name != "span")
    return names


def _none(t: Tokens) -> None:
    return None


def _rule_text(t: Tokens) -> str:
    return t.text


def _constant(value: Any) -> Maker:
    return lambda t: value
