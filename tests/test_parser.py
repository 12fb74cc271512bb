"""The rule language: what each construct parses to (kpirules.ast), and that every
conformance rule parses or fails with its category. Error *wording* lives in
test_parse_errors.py; robustness on arbitrary text in test_parser_fuzz.py."""

from __future__ import annotations

import dataclasses
import json
import unicodedata
from pathlib import Path

import pytest

from kpirules.ast import (
    AGGREGATE_FUNCTIONS,
    RESERVED_WORDS,
    Aggregate,
    Between,
    BinOp,
    BoolOp,
    Change,
    Column,
    Compare,
    Filter,
    Neg,
    Not,
    Number,
    Rule,
    Span,
    Window,
)
from kpirules.errors import KpiError
from kpirules.names import normalise
from kpirules.parser import parse_rule
from kpirules.resolve import check_names

CONFORMANCE = Path(__file__).parent / "conformance"


# Column, Number and Window keep the text as written, and it takes part in equality.


def col(name: str) -> Aggregate:
    """A bare column, as the parser reads it: the implicit sum."""
    return Aggregate("sum", Column(name, name), implicit=True)


def column(name: str) -> Column:
    return Column(name, name)


def num(text: str) -> Number:
    """The literal ``text`` with the value and unit the spec gives it."""
    scale = {"%": ("%", 0.01), "k": ("k", 1e3), "M": ("M", 1e6)}
    unit, factor = scale.get(text[-1], (None, 1))
    digits = text[:-1] if unit else text
    return Number(float(digits) * factor if unit != "%" else float(digits + "e-2"), unit, text)


def cond(text: str):
    return parse_rule(f"{text} weekly").condition


def value(text: str):
    """The left-hand side of ``text >= 0``."""
    return cond(f"{text} >= 0").left


# ------------------------------------------------------------------------- values


def test_a_bare_column_is_its_implicit_sum():
    assert value("signups") == col("signups")
    assert value("signups").implicit


@pytest.mark.parametrize("func", AGGREGATE_FUNCTIONS)
def test_aggregate_functions(func):
    got = value(f"{func}(visits)")
    assert got == Aggregate(func, column("visits"))
    assert not got.implicit


def test_explicit_sum_differs_from_the_implicit_one_only_by_the_flag():
    explicit, implicit = value("sum(visits)"), value("visits")
    assert (explicit.func, explicit.column) == (implicit.func, implicit.column)
    assert (explicit.implicit, implicit.implicit) == (False, True)
    # They mean the same, so they compare equal (lint's duplicate check relies on it).
    assert explicit == implicit


def test_function_names_are_case_insensitive():
    assert value("AVG(visits)") == value("avg(visits)") == Aggregate("avg", column("visits"))
    assert value("Last(engagement)") == Aggregate("last", column("engagement"))


def test_last_stays_a_function_although_it_is_reserved():
    rule = parse_rule("last(engagement) >= 4000 over last 7 days")
    assert rule.condition.left == Aggregate("last", column("engagement"))
    assert rule.window == Window("day", 7, "over last 7 days")


def test_change_takes_an_expression():
    assert value("change(signups / visits)") == Change(BinOp("/", col("signups"), col("visits")))


def test_arithmetic_precedence_and_left_associativity():
    assert value("a + b * c") == BinOp("+", col("a"), BinOp("*", col("b"), col("c")))
    assert value("a - b - c") == BinOp("-", BinOp("-", col("a"), col("b")), col("c"))
    assert value("a / b / c") == BinOp("/", BinOp("/", col("a"), col("b")), col("c"))
    assert value("(a - b) / b") == BinOp("/", BinOp("-", col("a"), col("b")), col("b"))


def test_unary_minus():
    assert value("-a") == Neg(col("a"))
    assert value("-(a + b)") == Neg(BinOp("+", col("a"), col("b")))
    assert value("-a * b") == BinOp("*", Neg(col("a")), col("b"))


def test_minus_on_a_literal_is_folded_into_the_literal():
    assert cond("change(x) >= -10%").right == Number(-0.1, "%", "-10%")
    assert cond("x * -2 >= 1").left == BinOp("*", col("x"), Number(-2.0, None, "-2"))


@pytest.mark.parametrize("text,expected,unit", [
    ("2%", 0.02, "%"), ("1.5%", 0.015, "%"), ("-10%", -0.1, "%"), ("200%", 2.0, "%"),
    ("1.7%", 0.017, "%"), ("0.5%", 0.005, "%"),
    ("15k", 15_000.0, "k"), ("2.5k", 2_500.0, "k"), ("15K", 15_000.0, "k"),
    ("1M", 1_000_000.0, "M"), ("0.25M", 250_000.0, "M"),
    ("7", 7.0, None), ("0.87", 0.87, None), (".5", 0.5, None), ("1.", 1.0, None),
])
def test_literals_mean_what_they_say(text, expected, unit):
    got = cond(f"x >= {text}").right
    assert isinstance(got, Number)
    assert got.value == expected  # exact: scaling happens in the decimal text, not by * 0.01
    assert got.unit == unit
    assert got.text == text


# --------------------------------------------------------------------- conditions


@pytest.mark.parametrize("op", [">=", ">", "<=", "<", "=", "!="])
def test_comparisons(op):
    assert cond(f"signups {op} 10") == Compare(op, col("signups"), num("10"))


def test_comparisons_may_compare_two_values():
    assert cond("signups >= visits * 2%") == Compare(
        ">=", col("signups"), BinOp("*", col("visits"), num("2%")))


def test_between_is_inclusive_range_node():
    assert cond("orders / signups between 25% and 40%") == Between(
        BinOp("/", col("orders"), col("signups")), num("25%"), num("40%"))


def test_and_binds_tighter_than_or():
    a, b, c = (Compare(">", col(n), num("1")) for n in "abc")
    assert cond("a > 1 or b > 1 and c > 1") == BoolOp("or", a, BoolOp("and", b, c))
    assert cond("(a > 1 or b > 1) and c > 1") == BoolOp("and", BoolOp("or", a, b), c)
    assert cond("a > 1 and b > 1 and c > 1") == BoolOp("and", BoolOp("and", a, b), c)


def test_not_applies_to_the_condition_that_follows():
    a, b = (Compare(">", col(n), num("1")) for n in "ab")
    assert cond("not (a > 1)") == Not(a)
    assert cond("not a > 1 and b > 1") == BoolOp("and", Not(a), b)
    assert cond("not (a > 1 and b > 1)") == Not(BoolOp("and", a, b))


def test_between_inside_and():
    got = cond("x between 1 and 2 and y > 3")
    assert got == BoolOp("and", Between(col("x"), num("1"), num("2")), Compare(">", col("y"), num("3")))


def test_keywords_are_case_insensitive():
    upper = parse_rule('NOT (a > 1 OR b < 2) AND c BETWEEN 1 AND 2 Weekly BY channel WHERE c = "x"')
    lower = parse_rule('not (a > 1 or b < 2) and c between 1 and 2 weekly by channel where c = "x"')
    # Window.text keeps the spelling; everything else is the same.
    assert upper == dataclasses.replace(lower, window=Window("week", 1, "Weekly"))


# ------------------------------------------------------------------------ windows


@pytest.mark.parametrize("text,unit,count", [
    ("daily", "day", 1), ("weekly", "week", 1), ("monthly", "month", 1),
    ("quarterly", "quarter", 1), ("yearly", "year", 1),
    ("over last 28 days", "day", 28), ("over last 1 day", "day", 1),
    ("over last 4 weeks", "week", 4), ("over last 1 week", "week", 1),
    ("over last 3 months", "month", 3), ("over last 1 month", "month", 1),
    ("OVER LAST 7 Days", "day", 7),
])
def test_windows(text, unit, count):
    window = parse_rule(f"signups >= 10 {text}").window
    assert (window.unit, window.count, window.text) == (unit, count, text)


def test_over_last_unit_is_not_reserved_so_a_column_may_be_called_days():
    assert parse_rule("days >= 10 weekly").condition.left == col("days")


# ------------------------------------------------------------------------ clauses


def test_by_one_and_several_segments():
    assert parse_rule("leads >= 100 weekly by channel").segments == (column("channel"),)
    assert parse_rule("leads >= 100 weekly by channel, campaign").segments == (
        column("channel"), column("campaign"))


def test_where_filters():
    rule = parse_rule('leads >= 1 weekly where channel = "email" and campaign != "x" '
                      'and country in ("PL", "DE")')
    assert rule.filters == (
        Filter(column("channel"), "=", ("email",)),
        Filter(column("campaign"), "!=", ("x",)),
        Filter(column("country"), "in", ("PL", "DE")),
    )


@pytest.mark.parametrize("quoted", ['"PL"', "'PL'", "“PL”", "„PL”"])
def test_where_values_in_straight_or_typographic_quotes(quoted):
    assert parse_rule(f"leads >= 1 weekly where country = {quoted}").filters[0].values == ("PL",)


def test_where_values_are_kept_exactly_as_written():
    rule = parse_rule('leads >= 1 weekly where campaign = " Black Friday " and c = ""')
    assert [f.values for f in rule.filters] == [(" Black Friday ",), ("",)]


def test_warn_at():
    rule = parse_rule("signups / visits >= 2% weekly warn at 2.5%")
    assert rule.warn == num("2.5%")
    assert rule.threshold == num("2%")


@pytest.mark.parametrize("clauses", [
    'by channel where country = "PL" warn at 3%',
    'warn at 3% by channel where country = "PL"',
    'where country = "PL" warn at 3% by channel',
])
def test_clauses_come_in_any_order_and_mean_the_same(clauses):
    expected = parse_rule('signups / visits >= 2% weekly by channel where country = "PL" warn at 3%')
    assert parse_rule(f"signups / visits >= 2% weekly {clauses}") == expected


def test_the_window_may_follow_the_other_clauses():
    assert parse_rule("leads >= 100 by channel weekly") == parse_rule("leads >= 100 weekly by channel")


@pytest.mark.parametrize("op,warn", [(">=", "3"), (">", "2.5"), ("<=", "1"), ("<", "1.9")])
def test_warn_at_must_be_stricter_in_the_direction_of_the_comparison(op, warn):
    assert parse_rule(f"x {op} 2 weekly warn at {warn}").warn.value == float(warn)


# ------------------------------------------------------------------- names, quoting


def test_unicode_names_are_normalised_and_keep_their_text():
    got = value("Wyświetlenia")
    assert got.column == Column("wyświetlenia", "Wyświetlenia")
    assert got.column.text == "Wyświetlenia"
    assert value("zapisy_newsletter / kliknięcia").right.column.name == "kliknięcia"


def test_decomposed_unicode_reads_like_composed():
    decomposed = unicodedata.normalize("NFD", "kliknięcia >= 10 weekly")
    assert decomposed != "kliknięcia >= 10 weekly"
    assert parse_rule(decomposed) == parse_rule("kliknięcia >= 10 weekly")


def test_names_are_case_insensitive():
    rule = parse_rule("SignUps >= 10 weekly by Channel")
    assert [(c.name, c.text) for c in rule.columns()] == [("signups", "SignUps"), ("channel", "Channel")]


def test_backticks_quote_headers_with_spaces_and_punctuation():
    assert value("`Emails sent`").column == Column("emails_sent", "Emails sent")
    assert value("`Zapisy (newsletter)`").column.name == "zapisy_newsletter"
    assert value("` spaced  out `").column.name == "spaced_out"
    assert parse_rule("x >= 1 weekly by `Traffic source`").segments == (Column("traffic_source", "Traffic source"),)


@pytest.mark.parametrize("word", sorted(RESERVED_WORDS))
def test_backticks_quote_columns_named_like_reserved_words(word):
    assert value(f"`{word}`").column.name == word


@pytest.mark.parametrize("word", sorted(RESERVED_WORDS - {"last"}))
def test_reserved_words_are_never_column_names(word):
    with pytest.raises(KpiError) as info:
        parse_rule(f"{word} >= 10 weekly")
    assert info.value.category == "syntax"


def test_a_function_name_may_also_be_a_column():
    assert value("count") == col("count")
    assert value("count(count)") == Aggregate("count", column("count"))


# -------------------------------------------------------------------------- spans


def test_spans_are_one_based_with_exclusive_end():
    rule = parse_rule("signups / visits >= 2% weekly")
    left = rule.condition.left
    assert left.left.column.span == Span(1, 1, 1, 8)
    assert left.right.column.span == Span(1, 11, 1, 17)
    assert left.span == Span(1, 1, 1, 17)
    assert rule.condition.right.span == Span(1, 21, 1, 23)
    assert rule.window.span == Span(1, 24, 1, 30)
    assert rule.span == Span(1, 1, 1, 30)


def test_spans_cover_calls_and_clauses():
    rule = parse_rule("change( signups ) > 0 weekly by channel")
    assert rule.condition.left.span == Span(1, 1, 1, 18)
    assert rule.segments[0].span == Span(1, 33, 1, 40)


def test_spans_across_lines():
    rule = parse_rule("signups\n  >= 10\n  weekly by channel")
    assert rule.condition.right.span == Span(2, 6, 2, 8)
    assert rule.window.span == Span(3, 3, 3, 9)
    assert rule.span == Span(1, 1, 3, 20)


def test_spans_take_no_part_in_equality():
    assert parse_rule("signups>=10 weekly") == parse_rule("  signups  >=  10  weekly ")


# --------------------------------------------------------------- the Rule as a whole


def test_rule_keeps_its_text_and_helpers_work():
    text = 'change(leads) >= -15% weekly by channel where country = "PL"'
    rule = parse_rule(text)
    assert rule.text == text
    assert rule.uses_change
    assert [c.name for c in rule.columns()] == ["leads", "channel", "country"]


def test_rules_are_immutable_and_memoised():
    text = "signups / visits >= 2% weekly"
    first = parse_rule(text)
    assert parse_rule(text) is first  # same text, parsed once
    assert parse_rule(text + " ") == first  # other text, same meaning
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.warn = None  # type: ignore[misc]


def test_a_non_text_rule_is_a_programming_error():
    with pytest.raises(TypeError):
        parse_rule(None)  # type: ignore[arg-type]


# -------------------------------------------------------------------- conformance


def conformance_cases():
    from test_conformance import case_param  # part-two cases are strict expected failures

    for path in sorted(CONFORMANCE.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        for case in doc["cases"]:
            yield case_param(path.stem, doc["data"]["columns"], case)


@pytest.mark.parametrize("columns,case", list(conformance_cases()))
def test_conformance_rules_parse_or_fail_with_their_category(columns, case):
    headers = [normalise(c) for c in columns]
    try:
        rule = parse_rule(case["rule"])
    except KpiError as exc:
        assert exc.category == case.get("error"), exc.problem.render()
        return
    problems = check_names(rule, headers)
    if case.get("error") == "unknown-name":
        assert problems and problems[0].category == "unknown-name"
    else:
        assert "error" not in case, f"expected {case.get('error')}"
        assert problems == [], [p.render() for p in problems]


def test_conformance_rules_mean_what_the_spec_says():
    """Spot checks of shapes that the evaluating suite cannot tell apart by numbers."""
    rule = parse_rule('clicks / impressions >= 1.7% over last 28 days by campaign '
                      'where channel in ("search", "social")')
    assert rule == Rule(
        Compare(">=", BinOp("/", col("clicks"), col("impressions")), num("1.7%")),
        Window("day", 28, "over last 28 days"),
        segments=(column("campaign"),),
        filters=(Filter(column("channel"), "in", ("search", "social")),),
    )
    rule = parse_rule("spend / clicks <= 0.87 monthly by channel warn at 0.86")
    assert (rule.condition.op, rule.threshold, rule.warn) == ("<=", num("0.87"), num("0.86"))


# ------------------------------------------------------------------ name resolution


def test_check_names_reports_each_unknown_name_once_where_first_written():
    rule = parse_rule('signup / visits >= 2% weekly by chanel where chanel = "x"')
    problems = check_names(rule, ["date", "visits", "signups", "channel"])
    assert [(p.category, p.column, p.width) for p in problems] == [
        ("unknown-name", 1, 6), ("unknown-name", 33, 6)]
    assert problems[0].message == "unknown column `signup`; did you mean `signups`?"
    assert problems[1].message == "unknown column `chanel`; did you mean `channel`?"
    assert problems[0].suggestion == "the data's columns: channel, date, signups, visits"
    assert problems[0].source_line == rule.text


def test_check_names_accepts_raw_headers_and_is_quiet_when_all_are_known():
    rule = parse_rule("`Emails sent` / Wyświetlenia >= 1% weekly")
    assert check_names(rule, ["Date", "Emails sent", "Wyświetlenia"]) == []


def test_check_names_without_a_close_match_lists_the_columns():
    problem, = check_names(parse_rule("revenue >= 1 weekly"), ["date", "visits"])
    assert problem.message == "unknown column `revenue`"
    assert problem.suggestion == "the data's columns: date, visits"


def test_check_names_explains_hyphenated_headers():
    rule = parse_rule("cost-per-lead <= 30 weekly")
    problems = check_names(rule, ["date", "Cost-per-lead"])
    assert len(problems) == 3
    assert problems[0].message == ("unknown column `cost`; `cost-per-lead` reads as a "
                                   "subtraction: write `cost_per_lead` or put it in backticks")


def test_check_names_positions_follow_the_line():
    rule = parse_rule("visits >= 1\n  weekly by chanel")
    (problem,) = check_names(rule, ["visits", "channel"])
    assert (problem.line, problem.column, problem.source_line) == (2, 13, "  weekly by chanel")
