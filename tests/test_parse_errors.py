"""What a user sees when a rule is wrong: category, exact message, position, caret, hint.

Messages are part of the product (they land in terminals, Slack and sheet cells), so their
wording is pinned here. Each case is a mistake people make, most from errors.json of the
conformance suite."""

from __future__ import annotations

import pytest

from kpirules.errors import KpiError, Problem
from kpirules.parser import WINDOW_HELP, parse_rule
from kpirules.rulesfile import parse_rules_file


def error(text: str) -> Problem:
    with pytest.raises(KpiError) as info:
        parse_rule(text)
    problem = info.value.problem
    assert info.value.problems == [problem]
    return problem


def where(problem: Problem) -> tuple[str, int | None, int | None, int]:
    return problem.category, problem.line, problem.column, problem.width


# ---------------------------------------------------------- the conformance mistakes


def test_unknown_function_names_the_functions():
    problem = error("median(visits) >= 100 weekly")
    assert where(problem) == ("unknown-function", 1, 1, 6)
    assert problem.message == "unknown function `median`; did you mean `avg`?"
    assert problem.suggestion == "the functions are sum, avg, min, max, count, last, first, stddev, change, delta and pace"


def test_unknown_function_close_to_a_known_one():
    assert error("coutn(visits) >= 1 weekly").message == "unknown function `coutn`; did you mean `count`?"
    assert error("mean(visits) >= 1 weekly").message == "unknown function `mean`; did you mean `avg`?"
    assert error("foo(visits) >= 1 weekly").message == "unknown function `foo`"


def test_missing_threshold_renders_with_a_caret():
    assert error("signups / visits >= weekly").render() == (
        "<rule>:1:21: syntax: expected a threshold after `>=`, e.g. `>= 2%`\n"
        "    signups / visits >= weekly\n"
        "                        ^^^^^^"
    )


def test_missing_threshold_at_the_end():
    problem = error("signups / visits >=")
    assert problem.message == "expected a threshold after `>=`, e.g. `>= 2%`"
    assert (problem.line, problem.column) == (1, 20)  # just after the last character


def test_missing_operand_after_an_operator():
    problem = error("signups / >= 2% weekly")
    assert where(problem) == ("syntax", 1, 11, 2)
    assert problem.message == "`/` needs a value on its right, found `>=`; e.g. `signups / visits`"


def test_unclosed_parenthesis_points_at_the_parenthesis():
    assert error("(signups / visits >= 2% weekly").render() == (
        "<rule>:1:1: syntax: this parenthesis is never closed\n"
        "    (signups / visits >= 2% weekly\n"
        "    ^\n"
        "    hint: add `)` where the group ends"
    )


def test_unclosed_call_parenthesis():
    problem = error("sum(visits >= 2 weekly")
    assert (problem.message, problem.column) == ("this parenthesis is never closed", 4)


def test_a_closing_parenthesis_without_an_opening_one():
    problem = error("signups >= 10) weekly")
    assert (problem.message, problem.column) == ("`)` has no matching `(`", 14)


def test_unknown_window_with_did_you_mean():
    problem = error("signups >= 10 fortnightly")
    assert where(problem) == ("syntax", 1, 15, 11)
    assert problem.message == (
        "unknown window `fortnightly`; expected daily, weekly, monthly, quarterly, yearly, "
        "over last N days|weeks|months or week/month/quarter/year to date")
    assert problem.suggestion == "did you mean `over last 2 weeks`?"
    assert error("signups >= 10 weekyl").suggestion == "did you mean `weekly`?"
    assert error("signups >= 10 annually").suggestion == "did you mean `yearly`?"


def test_a_rule_without_a_window():
    problem = error("signups >= 10")
    assert where(problem) == ("syntax", 1, 14, 1)
    assert problem.message == f"every rule needs one window: {WINDOW_HELP}"
    assert problem.suggestion == "for example `signups >= 10 weekly`"
    assert error("signups >= 10 by channel").message == problem.message


def test_warn_at_must_be_stricter():
    problem = error("signups / visits >= 2% weekly warn at 1%")
    assert where(problem) == ("invalid-rule", 1, 39, 2)
    assert problem.message == ("`warn at 1%` must be stricter than the threshold 2%: higher for "
                               "a `>=` rule")
    assert problem.suggestion == ("a `>= 2%` rule warns when the value passes but is below the "
                                  "warn level, so the warn level must be above 2%")


@pytest.mark.parametrize("rule", [
    "signups >= 10 weekly warn at 10",  # equal is not stricter
    "signups > 10 weekly warn at 9",
    "spend <= 30 weekly warn at 35",
    "spend < 30 weekly warn at 30",
])
def test_warn_at_equal_or_looser_is_invalid(rule):
    assert error(rule).category == "invalid-rule"


@pytest.mark.parametrize("rule,what", [
    ("signups = 10 weekly warn at 12", "`=`"),
    ("signups != 10 weekly warn at 12", "`!=`"),
    ("signups between 1 and 5 weekly warn at 2", "`between`"),
    ("signups > 1 and visits > 1 weekly warn at 2", "`and`/`or`"),
    ("not (signups > 1) weekly warn at 2", "`not`"),
])
def test_warn_at_only_with_ordering_comparisons(rule, what):
    problem = error(rule)
    assert problem.category == "invalid-rule"
    assert problem.message == f"`warn at` works with >=, >, <= and <, not with {what}"


def test_warn_at_needs_numbers():
    assert error("signups >= 10 weekly warn at visits").message == \
        "`warn at` takes a number, e.g. `warn at 2.5%`"
    assert error("signups > visits weekly warn at 2").category == "invalid-rule"


def test_over_last_needs_a_positive_whole_number():
    problem = error("signups >= 10 over last 0 days")
    assert where(problem) == ("invalid-rule", 1, 25, 1)
    assert problem.message == "`over last` needs a whole number of at least 1, not `0`"
    assert error("signups >= 10 over last 2.5 weeks").suggestion == "for example `over last 4 weeks`"


def test_over_last_units():
    problem = error("signups >= 10 over last 2 fortnights")
    assert problem.message == "`over last 2` counts days, weeks or months, not `fortnights`"
    assert problem.suggestion == "for example `over last 4 weeks`"
    assert error("signups >= 10 over last 2 quarters").suggestion == \
        "use `quarterly` for the quarter before the current one"
    assert error("signups >= 10 over last 7").message == \
        "expected days, weeks or months after `over last 7`"
    assert error("signups >= 10 over last days").message == \
        "expected how many after `over last`, e.g. `over last 28 days`"
    assert error("signups >= 10 over 7 days").message == "write `over last N days|weeks|months`"


def test_a_rule_that_names_no_column():
    problem = error("5 > 3 weekly")
    assert where(problem) == ("invalid-rule", 1, 1, 5)
    assert problem.message == "this rule names no column: it compares only numbers"


@pytest.mark.parametrize("rule,message", [
    ("signups >= 10 weekly monthly", "a rule has exactly one window; this is a second one"),
    ("signups >= 10 weekly by channel by campaign", "`by` is given twice"),
    ('signups >= 10 weekly where a = "x" where b = "y"', "`where` is given twice"),
    ("signups >= 10 weekly warn at 20 warn at 30", "`warn at` is given twice"),
])
def test_a_clause_given_twice(rule, message):
    problem = error(rule)
    assert (problem.category, problem.message) == ("syntax", message)


def test_the_second_where_is_pointed_at_with_a_fix():
    problem = error('leads >= 1 weekly where channel = "email" where country = "PL"')
    assert problem.column == 43
    assert problem.suggestion == 'join the filters with `and`: `where channel = "email" and country = "PL"`'


# ------------------------------------------------------------- more common mistakes


@pytest.mark.parametrize("rule,message,column", [
    ("signups == 10 weekly", "`==` is written `=`", 9),
    ("signups => 10 weekly", "`=>` is written `>=`", 9),
    ("signups =< 10 weekly", "`=<` is written `<=`", 9),
    ("signups <> 10 weekly", "`<>` is written `!=`", 9),
    ("signups > = 10 weekly", "write `>=` without a space", 9),
    ('leads > 1 weekly where channel == "email"', "`==` is written `=`", 32),
])
def test_operator_typos(rule, message, column):
    problem = error(rule)
    assert (problem.category, problem.message, problem.column) == ("syntax", message, column)


@pytest.mark.parametrize("char,hint", [
    ("≥", "write `>=` instead of `≥`"),
    ("&", "write `and` instead of `&`"),
    ("$", "leave out currency signs: `spend <= 5k`"),
])
def test_characters_that_are_not_part_of_the_language(char, hint):
    problem = error(f"signups {char} 10 weekly")
    assert (problem.message, problem.suggestion, problem.column) == (
        f"`{char}` cannot appear in a rule", hint, 9)


def test_invisible_characters_are_named_by_code_point():
    assert error("signups >= 10 weekly\u200b").message == "`U+200B` cannot appear in a rule"


def test_unclosed_quote_and_backtick():
    problem = error('leads > 1 weekly where channel = "email')
    assert (problem.message, problem.column) == ("this quote is never closed", 34)
    assert error("`Emails sent >= 10 weekly").message == "this backtick is never closed"
    assert error("`` >= 10 weekly").message == "a column name in backticks needs letters or digits"


def test_where_values_need_quotes():
    problem = error("leads > 1 weekly where channel = email")
    assert problem.message == 'expected a quoted value after `=`, e.g. `channel = "email"`'
    assert problem.suggestion == 'put the value in quotes: "email"'
    assert error("leads > 1 weekly where channel in (email)").suggestion == 'put the value in quotes: "email"'


def test_where_compares_text_only_with_equality():
    problem = error('leads > 1 weekly where channel > "a"')
    assert problem.message == "`where` compares text with =, != or in, not `>`"


@pytest.mark.parametrize("rule,message", [
    ('leads > 1 weekly where channel in "a"', "put the values after `in` in parentheses"),
    ("leads > 1 weekly where channel", "expected =, != or in after `channel`"),
    ("leads > 1 weekly where", 'expected a filter after `where`, e.g. `where channel = "email"`'),
    ("leads > 1 weekly by", "expected a column after `by`, e.g. `by channel`"),
    ("leads > 1 weekly by channel,", "expected another column after `,`"),
    ("leads > 1 weekly by channel and campaign", "separate the columns of `by` with commas"),
    ('leads > 1 weekly where a = "x" or a = "y"', "join the filters of `where` with `and`"),
    ("leads > 1 weekly warn 2", "write `warn at`"),
    ("leads > 1 weekly warn at", "expected a threshold after `warn at`, e.g. `warn at 2.5%`"),
])
def test_clause_mistakes(rule, message):
    problem = error(rule)
    assert (problem.category, problem.message) == ("syntax", message)


@pytest.mark.parametrize("rule,message", [
    ("signups / visits weekly",
     "expected a comparison (>=, >, <=, <, =, != or between) before `weekly`"),
    ("signups 10 weekly", "expected an operator (+ - * /) or a comparison between `signups` and `10`"),
    ("signups >= 10 and weekly", "expected a condition after `and`, e.g. `and change(visits) > 0`"),
    ("not weekly", "expected a condition after `not`, e.g. `not (signups < 10)`"),
    ("signups between weekly", "expected the low end after `between`, e.g. `between 25% and 40%`"),
    ("signups between 1 and weekly", "expected the high end after `and`, e.g. `between 25% and 40%`"),
    ("1 < signups < 3 weekly", "comparisons do not chain; for a range write `between`"),
    (">= 10 weekly", "a rule starts with the value to check, not `>=`; e.g. `signups / visits >= 2% weekly`"),
])
def test_condition_mistakes(rule, message):
    problem = error(rule)
    assert (problem.category, problem.message) == ("syntax", message)


def test_a_header_with_spaces_written_without_quoting():
    problem = error("Emails sent >= 10k weekly")
    assert problem.message == "expected an operator (+ - * /) or a comparison between `Emails` and `sent`"
    assert problem.suggestion == ("if `Emails sent` is one column, write `emails_sent` or put it "
                                  "in backticks: `Emails sent`")


def test_a_reserved_word_as_a_column_says_how_to_quote_it():
    problem = error("last >= 10 weekly")
    assert (problem.message, problem.column) == (
        "`last` alone is not a column: `last(x)` is the latest value of x", 1)
    assert problem.suggestion == "`last` is a reserved word; a column with that name is written in backticks: `last`"
    assert error("signups >= 10 weekly by in").suggestion == \
        "`in` is a reserved word; a column with that name is written in backticks: `in`"


@pytest.mark.parametrize("rule,message", [
    ("signups > 1 weekly and visits > 2 weekly",
     "`and` cannot follow the window: write the window once, after the whole condition"),
    ("signups > 1 last week", "for the last whole week write `weekly`"),
    ("signups > 1 last 7 days", "a window over the last N days is written `over last N days`"),
    ("signups >= 1,000 weekly", "write numbers without thousands separators, and decimals with a dot"),
    ("signups > 1 weekly channel", "unexpected `channel` after the window; expected `by`, `where`, `warn at`, `vs` or `with`"),
])
def test_window_mistakes(rule, message):
    problem = error(rule)
    assert (problem.category, problem.message) == ("syntax", message)


def test_number_suffixes():
    problem = error("revenue >= 1m monthly")
    assert where(problem) == ("syntax", 1, 12, 2)
    assert problem.message == "`1m` is ambiguous: write `1M` for million"
    assert error("revenue >= 10x monthly").message == "`x` after a number is not understood"
    assert error("revenue >= 2 % monthly").suggestion == \
        "a % sign goes right after its number, without a space: `2%`"


def test_quoted_numbers_in_a_threshold():
    assert error('signups >= "10" weekly').suggestion == \
        "quotes are for text in `where`; write numbers without them: `>= 10`"


@pytest.mark.parametrize("rule,message", [
    ("sum(a + b) >= 1 weekly", "`sum` takes one column, e.g. `sum(visits)`"),
    ("avg() >= 1 weekly", "`avg` takes one column, e.g. `avg(visits)`"),
    ("max(a, b) >= 1 weekly", "`max` takes one column, e.g. `max(visits)`"),
    ("change(5) >= 1 weekly", "`change` needs a value from the data, e.g. `change(signups)`"),
    ("change(change(x)) >= 1 weekly", "`change` cannot be nested"),
    ("change(a, b) >= 1 weekly", "`change` takes one value, e.g. `change(signups)`"),
])
def test_function_arguments(rule, message):
    problem = error(rule)
    assert (problem.category, problem.message) == ("invalid-rule", message)


def test_an_empty_rule():
    assert error("   ").message == "the rule is empty"


# ------------------------------------------------------------------ positions


def test_positions_on_later_lines():
    problem = error("signups\n  >= 10\n  fortnightly")
    assert (problem.line, problem.column, problem.source_line) == (3, 3, "  fortnightly")
    assert error("signups\n  >=\n").line == 2  # the end of the rule, not the empty last line


def test_positions_in_a_rules_file_count_from_the_line_start():
    (entry,) = parse_rules_file("\n# funnel\nconversion: signups / visits >= weekly\n", file="kpi/funnel.kpi")
    assert entry.problem.render() == (
        "kpi/funnel.kpi:3:33: syntax: expected a threshold after `>=`, e.g. `>= 2%`\n"
        "    conversion: signups / visits >= weekly\n"
        "                                    ^^^^^^"
    )


def test_errors_are_never_lark_exceptions():
    from lark.exceptions import LarkError

    for text in ["(", ")", "signups >=", "'", "weekly", "a > 1 weekly by", "\x00"]:
        with pytest.raises(KpiError) as info:
            parse_rule(text)
        assert not isinstance(info.value, LarkError)
        assert info.value.__cause__ is None and info.value.__suppress_context__
