"""Property tests of the parser.

* Whatever text comes in (typed, pasted from a document, half-edited), ``parse_rule``
  returns a Rule or raises KpiError with a usable position -- never another exception.
* Rules generated together with the tree they must parse to come back as that tree, so
  precedence and nesting are checked beyond the hand-written cases.
* The fast LALR driver and Lark's own parser agree, spans included.
"""

from __future__ import annotations

import os
import unicodedata

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kpirules.ast import (
    Aggregate,
    Between,
    BinOp,
    BoolOp,
    Change,
    Column,
    Compare,
    Neg,
    Not,
    Number,
    Rule,
)
from kpirules.errors import INVALID_RULE, SYNTAX, UNKNOWN_FUNCTION, KpiError
from kpirules.names import normalise
from kpirules.parser import _Invalid, _lark, _parser, parse_rule

# KPI_FUZZ_EXAMPLES=5000 for a deeper run by hand; CI keeps the suite quick.
FAST = settings(max_examples=int(os.environ.get("KPI_FUZZ_EXAMPLES", "150")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

VALID = [
    "signups / visits >= 2% weekly warn at 2.5%",
    "(revenue - spend) / spend >= 200% monthly",
    "orders / signups between 25% and 40% weekly",
    "change(signups / visits) >= -5% monthly",
    "not (change(orders) < -20%) monthly",
    "change(visits) > 0 and change(signups) > 0 weekly",
    'clicks / impressions >= 1.7% over last 28 days by campaign where channel in ("search", "social")',
    'clicks >= 2.5k weekly where channel = "social" and campaign != "social_retarget"',
    "spend / clicks <= 0.87 monthly by channel warn at 0.86",
    "`Emails sent` / Wyświetlenia >= 1% over last 4 weeks by `Traffic source`",
    "last(engagement) >= 4000 weekly",
    "delta(signups / visits) >= -0.5pp weekly vs average of last 4 with at least 1000 visits",
    "change(pace(revenue)) >= 0 month to date vs last year by channel",
    "signups / visits >= 2% weekly with 95% confidence warn at 2.5%",
    "year + month >= 3 week to date",
]
VOCABULARY = [
    "signups", "visits", "Wyświetlenia", "`Emails sent`", "`last`", "sum", "avg", "last",
    "change", "median", "(", ")", ",", "+", "-", "*", "/", ">=", ">", "<=", "<", "=", "!=",
    "==", "2%", "15k", "0.25M", "1m", "7", "-10%", ".5", "1,5", "between", "and", "or", "not",
    "daily", "weekly", "monthly", "quarterly", "yearly", "over", "last", "28", "days", "weeks",
    "by", "channel", "where", "in", '"email"', "'PL'", "„PL”", '"open', "warn", "at", "≥",
    "$", "#", "`", "\n", "\t", "\u00a0", "fortnightly",
    "vs", "previous", "year", "average", "of", "with", "least", "confidence", "95%", "-0.5pp",
    "week", "month", "to", "date", "delta", "pace",
]
ERROR_CATEGORIES = {SYNTAX, UNKNOWN_FUNCTION, INVALID_RULE}


def check(text: str) -> None:
    """``text`` parses, or fails with a problem that points inside ``text``."""
    try:
        rule = parse_rule(text)
    except KpiError as exc:
        problem = exc.problem
        assert problem.category in ERROR_CATEGORIES
        assert problem.message and "\n" not in problem.message
        source = unicodedata.normalize("NFC", text)
        lines = source.split("\n")
        assert 1 <= problem.line <= len(lines)
        assert problem.source_line == lines[problem.line - 1].rstrip("\r")
        assert 1 <= problem.column <= len(problem.source_line) + 1
        assert problem.width >= 1
        assert problem.render()
    else:
        assert isinstance(rule, Rule)
        assert rule.text == text


@FAST
@given(st.text(max_size=80))
def test_any_text_gives_a_rule_or_a_located_error(text):
    check(text)


@FAST
@given(st.lists(st.sampled_from(VOCABULARY), max_size=16).map(" ".join))
def test_token_soup_gives_a_rule_or_a_located_error(text):
    check(text)


@st.composite
def mutations(draw):
    """A valid rule with one typing accident: a slice lost, doubled, or a stray insert."""
    text = draw(st.sampled_from(VALID))
    i = draw(st.integers(0, len(text)))
    j = draw(st.integers(i, min(len(text), i + 8)))
    kind = draw(st.sampled_from(["delete", "duplicate", "insert", "replace"]))
    insert = draw(st.sampled_from(VOCABULARY) | st.characters())
    if kind == "delete":
        return text[:i] + text[j:]
    if kind == "duplicate":
        return text[:j] + text[i:j] + text[j:]
    if kind == "insert":
        return text[:i] + insert + text[i:]
    return text[:i] + insert + text[j:]


@FAST
@given(mutations())
def test_mutated_rules_give_a_rule_or_a_located_error(text):
    check(text)


@pytest.mark.parametrize("text", VALID)
def test_the_seed_rules_are_valid(text):
    assert isinstance(parse_rule(text), Rule)


# --------------------------------------------- generated rules parse to their tree

COLUMNS = ["signups", "visits", "Spend", "kliknięcia", "`Emails sent`", "`Zapisy (newsletter)`"]
LITERALS = [("2%", 0.02, "%"), ("15k", 15_000.0, "k"), ("7", 7.0, None),
            ("0.25M", 250_000.0, "M"), ("1.5", 1.5, None), ("200%", 2.0, "%")]


def column_of(text: str) -> Column:
    inner = text.strip("`")
    return Column(normalise(inner), inner)


leaves = st.one_of(
    st.sampled_from(COLUMNS).map(lambda c: (c, Aggregate("sum", column_of(c), implicit=True))),
    st.tuples(st.sampled_from(["sum", "avg", "min", "max", "count", "last", "first"]),
              st.sampled_from(COLUMNS)).map(
        lambda fc: (f"{fc[0]}({fc[1]})", Aggregate(fc[0], column_of(fc[1])))),
    st.sampled_from(LITERALS).map(lambda lit: (lit[0], Number(lit[1], lit[2], lit[0]))),
)


def _compose(children):
    binary = st.tuples(children, st.sampled_from("+-*/"), children).map(
        lambda t: (f"({t[0][0]} {t[1]} {t[2][0]})", BinOp(t[1], t[0][1], t[2][1])))
    negated = children.filter(lambda c: not isinstance(c[1], Number)).map(
        lambda c: (f"-{c[0]}", Neg(c[1])))
    return st.one_of(binary, negated)


values = st.recursive(leaves, _compose, max_leaves=6)


def reads_data(node) -> bool:
    return any(isinstance(n, Column) for n in node.walk())


changed = values.filter(lambda v: reads_data(v[1])).map(
    lambda v: (f"change({v[0]})", Change(v[1])))
sides = st.one_of(values, changed)

comparisons = st.one_of(
    st.tuples(sides, st.sampled_from([">=", ">", "<=", "<", "=", "!="]), sides).map(
        lambda t: (f"{t[0][0]} {t[1]} {t[2][0]}", Compare(t[1], t[0][1], t[2][1]))),
    st.tuples(sides, sides, sides).map(
        lambda t: (f"{t[0][0]} between {t[1][0]} and {t[2][0]}", Between(t[0][1], t[1][1], t[2][1]))),
)


def _combine(children):
    both = st.tuples(children, st.sampled_from(["and", "or"]), children).map(
        lambda t: (f"({t[0][0]} {t[1]} {t[2][0]})", BoolOp(t[1], t[0][1], t[2][1])))
    negated = children.map(lambda c: (f"not ({c[0]})", Not(c[1])))
    return st.one_of(both, negated)


conditions = st.recursive(comparisons, _combine, max_leaves=4)


@FAST
@given(conditions, st.sampled_from(["weekly", "over last 28 days", "monthly by channel"]))
def test_generated_rules_parse_to_the_tree_they_were_written_from(condition, window):
    text, expected = condition
    assume(reads_data(expected))
    assert parse_rule(f"{text} {window}").condition == expected


# ----------------------------------------------------- the fast driver matches Lark


def outcome(parse, text):
    try:
        condition, clauses = parse(text)
    except _Invalid as exc:
        return ("invalid", exc.category, exc.message, exc.line, exc.column)
    except Exception as exc:  # noqa: BLE001 - Lark's own exceptions, compared by type
        return ("lark", type(exc).__name__)
    spans = [n.span for n in condition.walk()]
    return ("ok", condition, spans, clauses)


@FAST
@given(st.one_of(st.sampled_from(VALID), mutations(),
                 st.lists(st.sampled_from(VOCABULARY), max_size=16).map(" ".join)))
def test_fast_driver_and_lark_agree(text):
    fast = _parser()
    assert fast is not _lark(), "the fast driver should be in use with this Lark"
    assert outcome(fast.parse, text) == outcome(_lark().parse, text)
