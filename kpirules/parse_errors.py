"""Lark's parse errors in the user's words.

Lark reports *where* parsing stopped, the token found there and the terminals it would
have accepted. Together with the token before it, that is enough to say what the user
left out, in their terms ("a threshold after `>=`") rather than the grammar's (NUMBER).
``explain`` turns an ``UnexpectedToken`` or ``UnexpectedCharacters`` into one ``Problem``
with a suggestion; ``kpirules.parser`` calls it only when a rule fails to parse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

from kpirules.errors import SYNTAX, Problem, did_you_mean
from kpirules.i18n import N_, _
from kpirules.names import normalise
from kpirules.transform import ARITHMETIC_TOKENS, WINDOW_HELP, Invalid, end_of_rule

__all__ = ["explain"]

_WINDOW_TOKENS = frozenset({"DAILY", "WEEKLY", "MONTHLY", "QUARTERLY", "YEARLY", "OVER"})
_CLAUSE_TOKENS = _WINDOW_TOKENS | {"BY", "WHERE", "WARN", "VS", "WITH"}
_KEYWORDS = _CLAUSE_TOKENS | {"LAST", "AT", "BETWEEN", "AND", "OR", "NOT", "IN"}
# Clause words (kpirules.ast.CLAUSE_WORDS): where a name is expected, they are names.
_CLAUSE_WORD_TOKENS = frozenset({"PREVIOUS", "YEAR", "AVERAGE", "OF", "WEEK", "MONTH", "QUARTER",
                                 "TO", "DATE", "LEAST", "CONFIDENCE"})
_TO_DATE_UNITS = frozenset({"WEEK", "MONTH", "QUARTER", "YEAR"})
_CLAUSES = N_("`by`, `where`, `warn at`, `vs` or `with`")
_WINDOW_WORDS = ("daily", "weekly", "monthly", "quarterly", "yearly")
_WINDOW_SYNONYMS = {
    "fortnightly": "over last 2 weeks", "biweekly": "over last 2 weeks",
    "annually": "yearly", "annual": "yearly", "day": "daily", "week": "weekly",
    "month": "monthly", "quarter": "quarterly", "year": "yearly", "weekday": "daily",
}
# What each terminal is, for "expected ..." in the words of the docs. Order = message order.
_PHRASES = (
    ("NUMBER", N_("a value (a column, or a number like 2% or 15k)")),
    ("NAME", N_("a column name")),
    ("STRING", N_('a quoted value like "email"')),
    ("COMP_OP", N_("a comparison (>=, >, <=, <, =, != or between)")),
    ("SLASH", N_("an operator (+ - * /)")),
    ("WEEKLY", N_("a window ({windows})")),
    ("BY", _CLAUSES),
    ("AND", "`and`"),
    ("OR", "`or`"),
    ("RPAR", "`)`"),
    ("LPAR", "`(`"),
    ("COMMA", "`,`"),
    ("IN", "`in`"),
    ("AT", "`at`"),
    ("LAST", "`last`"),
    ("$END", N_("the end of the rule")),
)
_BAD_CHARACTERS = {
    "≥": N_("write `>=` instead of `≥`"), "≤": N_("write `<=` instead of `≤`"),
    "≠": N_("write `!=` instead of `≠`"), "&": N_("write `and` instead of `&`"),
    "|": N_("write `or` instead of `|`"),
    "!": N_("`!` alone is not an operator: write `!=` for not equal, or `not (...)`"),
    "%": N_("a % sign goes right after its number, without a space: `2%`"),
    "$": N_("leave out currency signs: `spend <= 5k`"), "€": N_("leave out currency signs: `spend <= 5k`"),
    "£": N_("leave out currency signs: `spend <= 5k`"),
}


def explain(source: str, exc: Any, lex: Callable[[str], Iterable[Any]]) -> Problem:
    """The ``Problem`` for Lark's ``UnexpectedInput`` ``exc`` on ``source``. ``lex`` is the
    parser's lexer: the tokens around the error say what the user left out."""
    from lark.exceptions import UnexpectedToken

    if isinstance(exc, UnexpectedToken):
        message, where, hint = _unexpected_token(_Context.of(source, exc, lex))
    else:  # UnexpectedCharacters: no token starts with this character
        message, where, hint = _unexpected_character(exc)
    return Invalid(SYNTAX, message, where, hint).problem(source)


def _unexpected_character(exc: Any) -> tuple[str, Any, str | None]:
    char = exc.char
    where = (exc.line, exc.column, 1)
    if char in "\"'“„":
        return _("this quote is never closed"), where, _('close it on the same line: "email"')
    if char == "`":
        return (_("this backtick is never closed"), where,
                _("put a column name between two backticks: `Emails sent`"))
    shown = char if char.isprintable() else f"U+{ord(char):04X}"
    return (_("`{char}` cannot appear in a rule").format(char=shown), where,
            _(_BAD_CHARACTERS.get(char, N_("a rule is made of column names, numbers, + - * / ( ), "
                                           "comparisons and quoted text"))))


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
    def of(cls, source: str, exc: Any, lex: Callable[[str], Iterable[Any]]) -> _Context:
        from lark.exceptions import UnexpectedCharacters

        tokens: list = []
        try:
            tokens.extend(lex(source))
        except UnexpectedCharacters:
            pass
        token = exc.token
        at_end = token.type == "$END"
        index = len(tokens) if at_end else next(
            (i for i, t in enumerate(tokens) if t.start_pos == token.start_pos), len(tokens))
        parser = exc.interactive_parser
        expected = set(parser.accepts() if parser is not None else exc.expected)
        return cls(tokens, index, token, tokens[index - 1] if index else None, expected,
                   _("the end of the rule") if at_end else f"`{token.value}`",
                   end_of_rule(source) if at_end else token)

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
    clause = _clause_words(ctx)
    if clause:
        return clause
    if "RPAR" in expected:
        opening = _unclosed_paren(ctx)
        if opening is not None:
            return _("this parenthesis is never closed"), opening, _("add `)` where the group ends")
    typo = _operator_typo(ctx)
    if typo:
        return typo
    if ctx.kind == "RPAR" and "RPAR" not in expected:
        return _("`)` has no matching `(`"), ctx.where, _("remove it, or add `(` where the group starts")
    if "NUMBER" in expected:
        return _missing_value(ctx), ctx.where, _keyword_hint(ctx) or _string_hint(ctx)
    if "STRING" in expected:
        return _missing_text(ctx)
    if "NAME" in expected and "COMP_OP" not in expected:
        return _missing_name(ctx), ctx.where, _keyword_hint(ctx)
    if expected == {"COMP_OP", "IN"}:
        return (_("expected =, != or in after `{word}`").format(word=ctx.prev.value), ctx.where,
                _('e.g. `where channel = "email"`'))
    if ctx.prev_kind == "LAST" and expected == {"LPAR"}:
        return (_("`last` alone is not a column: `last(x)` is the latest value of x"), ctx.prev,
                _("`{word}` is a reserved word; a column with that name is written in backticks: "
                  "`{word}`").format(word="last"))
    if ctx.prev_kind == "IN":
        return (_("put the values after `in` in parentheses"), ctx.where,
                _('e.g. `where channel in ("search", "social")`'))
    if expected == {"AT"}:
        return _("write `warn at`"), ctx.where, _("e.g. `warn at 2.5%`")
    if expected == {"LAST"}:
        return _("write `over last N days|weeks|months`"), ctx.where, _("e.g. `over last 28 days`")
    if "COMP_OP" in expected and "WEEKLY" not in expected:
        return _missing_comparison(ctx)
    if "WEEKLY" in expected:
        return _after_condition(ctx)
    return _("unexpected {found}; expected {expected}").format(found=ctx.found, expected=_phrase(expected)), \
        ctx.where, None


def _clause_words(ctx: _Context) -> tuple[str, Any, str | None] | None:
    """Inside `vs ...`, `with ...` and `<unit> to date`: say how the clause is written."""
    expected, prev = ctx.expected, ctx.prev_kind
    before = ctx.tokens[ctx.index - 2].type if ctx.index >= 2 else None
    if expected <= {"TO", "DATE"} and expected:
        unit = ctx.seen(_TO_DATE_UNITS)
        word = unit.value.lower() if unit is not None else "month"
        single = "daily" if word == "day" else f"{word}ly"
        return (_("unknown window `{word}`; did you mean `{single}` or `{word} to date`?").format(
                    word=word, single=single),
                unit if unit is not None else ctx.where, _("the windows: {windows}").format(windows=WINDOW_HELP))
    if prev == "VS" or (prev == "LAST" and before == "VS") or prev == "AVERAGE" and before == "VS":
        return (_("expected a baseline after `vs`, found {found}").format(found=ctx.found), ctx.where,
                _("write `vs previous`, `vs last year` or `vs average of last 4`"))
    if prev == "OF" and before == "AVERAGE" or expected == {"LAST"} and prev == "OF":
        return (_("write `vs average of last N`"), ctx.where, _("e.g. `vs average of last 4`"))
    if prev == "WITH":
        return (_("expected `at least N ...` or `C% confidence` after `with`, found {found}").format(
                    found=ctx.found),
                ctx.where, _("e.g. `with at least 1000 visits` or `with 95% confidence`"))
    if prev == "LEAST":
        return (_("expected a number after `with at least`, e.g. `with at least 1000 visits`"),
                ctx.where, None)
    if expected == {"LEAST"}:
        return _("write `with at least`"), ctx.where, _("e.g. `with at least 1000 visits`")
    if expected == {"CONFIDENCE"}:
        return (_("write `with {level} confidence`").format(level=ctx.prev.value), ctx.where,
                _("a confidence level is a percent from 50% to 99.9%"))
    if prev == "NUMBER" and ctx.seen(frozenset({"LEAST"})) is not None and "NAME" in expected \
            and "COMP_OP" not in expected:
        return (_("expected what to count after `{n}`, e.g. `{n} visits` or `30 count(orders)`").format(
                    n=ctx.prev.value), ctx.where, None)
    return None


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
        return _("`{pair}` is written `{meant}`").format(pair=pair, meant=meant), (prev.line, prev.column, 2), None
    if pair in (">=", "<=", "!="):
        return _("write `{pair}` without a space").format(pair=pair), prev, None
    return None


def _missing_value(ctx: _Context) -> str:
    """A value was due: say what it was for."""
    prev, kind = ctx.prev, ctx.prev_kind
    if kind is None:
        return _("a rule starts with the value to check, not {found}; "
                 "e.g. `signups / visits >= 2% weekly`").format(found=ctx.found)
    if kind == "COMP_OP":
        return _("expected a threshold after `{op}`, e.g. `{op} 2%`").format(op=prev.value)
    if kind in ARITHMETIC_TOKENS:
        return _("`{op}` needs a value on its right, found {found}; e.g. `signups / visits`").format(
            op=prev.value, found=ctx.found)
    if kind == "BETWEEN":
        return _("expected the low end after `between`, e.g. `between 25% and 40%`")
    if kind == "AND" and "NOT" not in ctx.expected:
        return _("expected the high end after `and`, e.g. `between 25% and 40%`")
    if kind == "NOT":
        return _("expected a condition after `not`, e.g. `not (signups < 10)`")
    if kind in ("AND", "OR"):
        word = prev.value.lower()
        return _("expected a condition after `{word}`, e.g. `{word} change(visits) > 0`").format(word=word)
    if kind == "AT":
        return _("expected a threshold after `warn at`, e.g. `warn at 2.5%`")
    if kind == "LAST":
        return _("expected how many after `over last`, e.g. `over last 28 days`")
    return _("expected a value after `{word}`, found {found}").format(word=prev.value, found=ctx.found)


def _missing_text(ctx: _Context) -> tuple[str, Any, str | None]:
    """A quoted value was due (in `where`)."""
    hint = None
    if ctx.kind in ("NAME", "NUMBER"):
        hint = _('put the value in quotes: "{value}"').format(value=ctx.token.value)
    if ctx.prev_kind == "COMP_OP":
        column = ctx.tokens[ctx.index - 2].value
        op = ctx.prev.value
        return (_('expected a quoted value after `{op}`, e.g. `{column} {op} "email"`').format(op=op, column=column),
                ctx.where, hint)
    return _('expected a quoted value, e.g. `in ("search", "social")`'), ctx.where, hint


def _missing_name(ctx: _Context) -> str:
    prev, kind = ctx.prev, ctx.prev_kind
    if kind == "BY":
        return _("expected a column after `by`, e.g. `by channel`")
    if kind in ("WHERE", "AND"):
        return _('expected a filter after `{word}`, e.g. `where channel = "email"`').format(word=prev.value.lower())
    if kind == "NUMBER" and ctx.index >= 3 and ctx.tokens[ctx.index - 2].type == "LAST":
        return _("expected days, weeks or months after `over last {n}`").format(n=prev.value)
    if kind == "COMMA":
        return _("expected another column after `,`")
    return _("expected a column name")


def _keyword_hint(ctx: _Context) -> str | None:
    """A reserved word where a name could stand: say how to name such a column."""
    word = ctx.token
    if word.type not in _KEYWORDS or (ctx.prev is not None and word.type in _CLAUSE_TOKENS):
        return None
    return _("`{word}` is a reserved word; a column with that name is written in backticks: "
             "`{word}`").format(word=word.value)


def _string_hint(ctx: _Context) -> str | None:
    if ctx.kind == "STRING" and ctx.prev_kind == "COMP_OP":
        return _("quotes are for text in `where`; write numbers without them: `>= 10`")
    return None


def _missing_comparison(ctx: _Context) -> tuple[str, Any, str | None]:
    prev, token = ctx.prev, ctx.token
    if token.type in ("NAME", "QUOTED_NAME", "NUMBER", "LPAR") and prev is not None:
        hint = None
        if token.type == "NAME" and prev.type == "NAME":
            words = f"{prev.value} {token.value}"
            hint = _("if `{words}` is one column, write `{name}` or put it in backticks: `{words}`").format(
                words=words, name=normalise(words))
        return (_("expected an operator (+ - * /) or a comparison between `{left}` and `{right}`").format(
                    left=prev.value, right=token.value), ctx.where, hint)
    return (_("expected a comparison (>=, >, <=, <, =, != or between) before {found}").format(found=ctx.found),
            ctx.where, _("e.g. `signups / visits >= 2% weekly`"))


def _after_condition(ctx: _Context) -> tuple[str, Any, str | None]:
    """The condition is complete; a window or a clause was due."""
    kind, value = ctx.kind, ctx.token.value
    has_window = ctx.seen(_WINDOW_TOKENS) is not None
    clause = ctx.seen(_CLAUSE_TOKENS)
    later_window = any(t.type in _WINDOW_TOKENS for t in ctx.tokens[ctx.index + 1:])
    if kind == "$END":
        return _("every rule needs one window: {windows}").format(windows=WINDOW_HELP), ctx.where, None
    if kind == "NAME" and not has_window and not later_window:
        guess = _WINDOW_SYNONYMS.get(value.lower()) or did_you_mean(value.lower(), _WINDOW_WORDS)
        return (_("unknown window `{word}`; expected {windows}").format(word=value, windows=WINDOW_HELP), ctx.where,
                _("did you mean `{guess}`?").format(guess=guess) if guess else None)
    if kind == "LAST":
        return _last_without_over(ctx)
    if clause is not None and clause.type == "BY" and kind in ("AND", "NAME"):
        return (_("separate the columns of `by` with commas"), ctx.where,
                _("e.g. `by channel, campaign`"))
    if clause is not None and clause.type == "WHERE" and kind in ("OR", "COMMA"):
        return (_("join the filters of `where` with `and`"), ctx.where,
                _('for one of several values write `channel in ("search", "social")`'))
    if kind in ("AND", "OR") and has_window:
        return (_("`{word}` cannot follow the window: write the window once, after the whole "
                  "condition").format(word=value), ctx.where, _("e.g. `signups > 10 and visits > 100 weekly`"))
    if kind == "COMMA" and ctx.prev_kind == "NUMBER":
        return (_("write numbers without thousands separators, and decimals with a dot"),
                ctx.where, _("e.g. 1000 or 1k, 2.5%"))
    if kind == "COMP_OP":
        return (_("comparisons do not chain; for a range write `between`"), ctx.where,
                _("e.g. `spend / clicks between 0.5 and 2 weekly`"))
    if has_window:
        hint = _("to get one result per `{word}`, write `by {word}`").format(word=value) if kind == "NAME" else None
        return (_("unexpected {found} after the window; expected {clauses}").format(found=ctx.found,
                                                                                    clauses=_(_CLAUSES)),
                ctx.where, hint)
    return (_("unexpected {found}; expected a window ({windows}) or an operator").format(
                found=ctx.found, windows=WINDOW_HELP), ctx.where, None)


def _last_without_over(ctx: _Context) -> tuple[str, Any, str | None]:
    after = ctx.next()
    named = after is not None and (after.type == "NAME" or after.type in _CLAUSE_WORD_TOKENS)
    unit = after.value.lower().rstrip("s") if named else ""
    if unit in ("day", "week", "month", "quarter", "year"):
        word = "daily" if unit == "day" else f"{unit}ly"
        return (_("for the last whole {unit} write `{word}`").format(unit=unit, word=word), ctx.where,
                _("for several, write `over last N days|weeks|months`"))
    example = f"over last {after.value} days" if after is not None and after.type == "NUMBER" else "over last 28 days"
    return (_("a window over the last N days is written `over last N days`"), ctx.where,
            _("e.g. `{example}`").format(example=example))


def _phrase(expected: set) -> str:
    """``{"NUMBER", "RPAR"}`` -> "a value (...) or `)`"."""
    aliases = {"QUOTED_NAME": "NAME", "MINUS": "NUMBER", "PLUS": "SLASH", "STAR": "SLASH",
               "BETWEEN": "COMP_OP", "DAILY": "WEEKLY", "MONTHLY": "WEEKLY",
               "QUARTERLY": "WEEKLY", "YEARLY": "WEEKLY", "OVER": "WEEKLY", "WHERE": "BY",
               "WARN": "BY", "VS": "BY", "WITH": "BY",
               **{t: "NAME" for t in _CLAUSE_WORD_TOKENS}}
    wanted = {aliases.get(t, t) for t in expected}
    if "NUMBER" in wanted:
        wanted.discard("NAME")  # "a value" already says "a column"
    parts = [_(phrase).format(windows=WINDOW_HELP) if name == "WEEKLY" else _(phrase)
             for name, phrase in _PHRASES if name in wanted]
    if not parts:
        return _("something else")
    return parts[0] if len(parts) == 1 else _("{some} or {last}").format(some=", ".join(parts[:-1]), last=parts[-1])
