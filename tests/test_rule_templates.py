"""Rule templates (kpirules.rule_templates): a rule built from the template of its shape is
the rule the parser makes of it, node for node, with every span, text and unit; a text the
template cannot take is parsed, so its error is the parser's, word for word; the caches
stay bounded."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpirules import parser, rule_templates
from kpirules.errors import KpiError
from kpirules.parser import _parse_rule, parse_rule

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import generate  # noqa: E402
from test_parser_fuzz import VALID  # noqa: E402


def full(value):
    """Everything a node holds, spans and the fields equality leaves out (text, unit,
    implicit) included; floats by repr, so that -0.0 is not 0.0."""
    fields = getattr(type(value), "__fast_fields__", None)
    if fields is not None:
        return (type(value).__name__, tuple((name, full(getattr(value, name))) for name in fields))
    if isinstance(value, tuple):
        return tuple(full(v) for v in value)
    return (type(value).__name__, repr(value))


def outcome(text, templates=True):
    try:
        return ("rule", full(_parse_rule(text, templates=templates)))
    except KpiError as exc:
        return ("error", repr(exc.problem), exc.problem.render())


@pytest.fixture(autouse=True)
def fresh_templates(monkeypatch):
    """A fresh start, with templates from the first rule (a process uses them after
    ``TEMPLATES_AFTER`` rules: test_the_first_rules_are_parsed_without_a_template)."""
    parse_rule.cache_clear()
    monkeypatch.setattr(parser, "TEMPLATES_AFTER", 0)
    yield
    parse_rule.cache_clear()


def built_from_template(text: str) -> bool:
    tokens = rule_templates.lex(text, text)
    return tokens is not None and rule_templates.build(tokens) is not None


def conformance_rules() -> list[str]:
    texts = []
    for path in sorted((ROOT / "tests" / "conformance").glob("*.json")):
        for case in json.loads(path.read_text(encoding="utf-8"))["cases"]:
            if "rule" in case:
                texts.append(case["rule"])
    return texts


def test_every_benchmark_and_conformance_rule_is_the_parsers_rule():
    """The generated rule sets (as bench/ writes them), the conformance rules and the fuzz
    tests' seeds, each in turn: built from a template where one fits, else parsed (and
    then a template); both ways give the same tree, or the same error."""
    texts = [text for _, text in generate.make_rules(3000)] + [text for _, text in generate.seg_rules(500)]
    texts += conformance_rules() + VALID
    built = 0
    for text in texts:
        built += built_from_template(text)
        assert outcome(text) == outcome(text, templates=False), text
    # Not vacuous: most of a generated file is a few hundred shapes.
    assert built > 0.8 * len(texts)


def test_a_rule_of_a_known_shape_is_built_with_its_own_words_and_places():
    parse_rule("sum(orders) >= 1.4k Weekly where channel = \"search\"")
    text = "sum(email_opens)   >=  93k Weekly where Channel = 'email'"
    assert built_from_template(text)
    rule = parse_rule(text)
    assert full(rule) == full(_parse_rule(text, templates=False))
    assert rule.text == text
    assert rule.condition.right.value == 93_000 and rule.condition.right.text == "93k"
    assert rule.filters[0].values == ("email",) and rule.filters[0].column.text == "Channel"
    assert rule.window.text == "Weekly"  # a keyword as written is part of the shape...
    assert not built_from_template(text.replace("Weekly", "weekly"))  # ...so this is another
    assert (rule.condition.right.span.column, rule.condition.right.span.end_column) == (24, 27)


def test_an_equal_sub_tree_at_the_same_place_is_one_object():
    first = parse_rule("sum(orders) >= 1 weekly")
    second = parse_rule("sum(orders) >= 2 weekly")
    assert second.condition.left is _parse_rule("sum(orders) >= 3 weekly").condition.left
    assert first.condition.right.value == 1 and second.condition.right.value == 2


@pytest.mark.parametrize("teacher, text", [
    ("signups / visits >= 2% weekly warn at 2.5%", "signups / visits >= 2% weekly warn at 1.5%"),
    ("signups / visits >= 2% weekly warn at 2.5%", "signups / visits >= 2x weekly warn at 2.5%"),
    ("signups / visits >= 2% weekly with 95% confidence", "signups / visits >= 2% weekly with 45% confidence"),
    ("signups / visits >= 2% weekly with 95% confidence", "signups / visits >= 1/0 weekly with 95% confidence"),
    ("signups / visits >= 2 / 1 weekly with 95% confidence", "signups / visits >= 2 / 0 weekly with 95% confidence"),
    ("visits >= 10 over last 4 weeks", "visits >= 10 over last 0 weeks"),
    ("visits >= 10 over last 4 weeks", "visits >= 10 over last 4 fortnights"),
    ("median(visits) >= 10 weekly", "median(visits) >= 10 weekly"),
    ("sum(visits) >= 10 weekly", "medain(visits) >= 10 weekly"),
    ("change(visits) >= -10% weekly vs average of last 4", "change(visits) >= -10% weekly vs average of last 400"),
    ("visits >= 10 weekly", "visits >= 10 weekly\nwarn at 12"),
    ("`Emails sent` >= 10 weekly", "`!!` >= 10 weekly"),
    ("Wyświetlenia >= 10 weekly", "Wys\u0301wietlenia >= 20 weekly"),  # decomposed: NFC first
    ("visits >= 10 weekly", "wyświetlenia\u00a0>=\t20\r weekly "),
    ("visits >= 10 weekly", "visits >= 10 weekly £"),
    ("visits >= 10 weekly", "visits >= 10 weekly weekly"),
])
def test_what_a_template_cannot_take_is_parsed_and_its_error_is_the_parsers(teacher, text):
    outcome(teacher)
    assert outcome(text) == outcome(text, templates=False)


# ------------------------------------------------- any words in the slots of any shape

NUMBERS = ["0", "2%", "15k", "0.25M", "3pp", "7", ".5", "10K", "2x", "1m", "00", "1.", "99.9%", "45%"]
STRINGS = ['"email"', "'PL'", "„PL”", '""', '"a b"']
NAMES = ["visits", "signups", "Wyświetlenia", "sum", "change", "days", "weeks", "x1", "median",
         "year", "weekly", "last", "count", "pace", "delta", "previous"]
SPACES = [" ", "  ", "\t", "\u00a0"]


@st.composite
def reworded(draw):
    """A seed rule and the same rule with other numbers, strings and names in its slots
    (some of them not fitting: a keyword for a name, a bad suffix) and other spacing."""
    seed = draw(st.sampled_from(VALID + ["sum(orders) >= 1.4k weekly where channel = \"search\"",
                                         "likes / reach >= 2% monthly where channel in (\"social\", \"video\")",
                                         "-(visits) <= -5 daily", "--5 <= visits daily by channel, campaign"]))
    tokens = rule_templates.lex(seed, seed)
    assert tokens is not None
    words = []
    for part, text in zip(tokens.key, tokens.texts):
        if part == "\0NUMBER" and draw(st.booleans()):
            text = draw(st.sampled_from(NUMBERS))
        elif part == "\0STRING" and draw(st.booleans()):
            text = draw(st.sampled_from(STRINGS))
        elif part == "\0NAME" and draw(st.booleans()):
            text = draw(st.sampled_from(NAMES))
        words.append(text)
    spaced = "".join(w + draw(st.sampled_from(SPACES)) for w in words).strip()
    return seed, spaced


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reworded())
def test_a_reworded_rule_is_the_parsers_rule_or_its_error(pair):
    seed, text = pair
    parse_rule.cache_clear()
    outcome(seed)  # the template
    assert outcome(text) == outcome(text, templates=False)


# ------------------------------------------------------------------------ memory bounds


def test_the_first_rules_are_parsed_without_a_template(monkeypatch):
    """A short file pays nothing for templates: its rules are not even lexed for a key."""
    monkeypatch.setattr(parser, "TEMPLATES_AFTER", 5)
    texts = [f"visits >= {n} weekly" for n in range(10)]
    rules = [parse_rule(text) for text in texts[:5]]
    assert not rule_templates._FIXED and not rule_templates._BUILDERS
    rules += [parse_rule(text) for text in texts[5:]]
    assert len(rule_templates._BUILDERS) == 1  # learnt from the 6th, used by the 7th to 10th
    assert [r.condition.right.value for r in rules] == list(range(10))
    parse_rule.cache_clear()  # a fresh start again
    parse_rule("visits >= 1 weekly")
    assert not rule_templates._FIXED


def test_templates_are_bounded_and_dropped_with_the_parse_cache(monkeypatch):
    monkeypatch.setattr(rule_templates, "MAX_TEMPLATES", 8)
    for n in range(1, 30):
        parse_rule("visits" + " + visits" * n + " >= 1 weekly")  # a new shape each time
        assert len(rule_templates._BUILDERS) <= 8 and len(rule_templates._FIXED) <= 8
    parse_rule.cache_clear()
    assert not rule_templates._BUILDERS and not rule_templates._SHARED


def test_shared_nodes_are_bounded(monkeypatch):
    monkeypatch.setattr(rule_templates, "_MAX_SHARED", 50)
    parse_rule("visits >= 1 weekly")
    for n in range(500):
        rule = parse_rule(f"visits >= {n} weekly")
        assert rule.condition.right.value == n
        # checked before each rule is built: at most one rule's nodes over the bound
        assert len(rule_templates._SHARED) <= 60 and len(rule_templates._SPANS) <= 60


def test_serve_sized_reuse_gives_the_same_rules_after_a_clear():
    text = "sum(orders) >= 7 weekly"
    parse_rule("sum(orders) >= 1 weekly")
    before = full(_parse_rule(text))
    rule_templates.clear()
    assert full(_parse_rule(text)) == before
    assert parser.parse_rule.cache_info().maxsize == 8192


def test_errors_found_after_parsing_point_at_the_same_place(monkeypatch):
    """Unknown names and the date column, found when a rule meets the data, are located by
    the built rule's spans: the same file:line:col and caret as from a parsed rule."""
    import datetime as dt

    from kpirules.plan import build_plan
    from kpirules.rulesfile import parse_rules_file

    text = ("a: sum(visits) >= 1k weekly where channel = \"email\"\n"
            "b:   sum(signups)  >= 20k weekly where channel = \"web\"\n"
            "c: sum(sigups) >= 300 weekly where channel = \"web\"\n"
            "d: sum(visits) >= 1 weekly where chanel = \"web\"   # a comment\n"
            "e: sum(date) >= 1 weekly where channel = \"web\"\n")

    def problems():
        parse_rule.cache_clear()
        plan = build_plan(parse_rules_file(text, "rules.kpi"), names=["date", "visits", "signups", "channel"],
                          as_of=dt.date(2026, 11, 26))
        return [rp.problem.render() if rp.problem else None for rp in plan.rules]

    built = problems()
    assert built_from_template('sum(sigups) >= 300 weekly where channel = "web"')
    monkeypatch.setattr(parser, "TEMPLATES_AFTER", 10**9)
    assert built == problems()
    assert built[:2] == [None, None] and "rules.kpi:3:8" in built[2] and "rules.kpi:4:34" in built[3]
    assert "date column" in built[4]
