"""No rule can take down a run: stated limits checked while parsing, one rule's failure is
that rule's ERROR, and a bug prints one line (a traceback only with --debug). Fuzzed with
hypothesis (bounded) over the parser, rules files, settings files and rule-test YAML."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kpirules.cli.main import cli

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
AS_OF = "2026-11-26"
MONSTERS = {
    "chain": "visits" + " + visits" * 1200 + " >= 1 weekly",
    "ands": "visits >= 1" + " and visits >= 1" * 400 + " weekly",
    "nots": "not (" * 1000 + "visits >= 1" + ")" * 1000 + " weekly",
    "tight": "visits" + "+visits" * 700 + ">=1 weekly",
    "change": "change(" + "visits+" * 900 + "visits) >= 1 weekly",
}
BIG = "x" * 1_000_000  # a 1 MB line
FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("name", list(MONSTERS))
def test_a_monstrous_rule_is_an_invalid_rule_error_never_a_recursion_error(name):
    from kpirules.errors import KpiError
    from kpirules.parser import parse_rule

    with pytest.raises(KpiError) as info:
        parse_rule(MONSTERS[name])
    assert info.value.problem.category == "invalid-rule"
    assert "at most" in info.value.problem.message or "levels deep" in info.value.problem.message


def test_rules_at_the_limits_still_parse():
    from kpirules.parser import MAX_RULE_DEPTH, parse_rule

    parse_rule("visits" + " + visits" * (MAX_RULE_DEPTH - 5) + " >= 1 weekly")
    parse_rule("visits >= 1 weekly by " + ", ".join(f"c{i}" for i in range(500)))
    parse_rule("visits >= 1 weekly where campaign in (" + ", ".join(f"'c{i}'" for i in range(500)) + ")")


def with_monster(tmp_path) -> tuple[Path, Path]:
    plain = tmp_path / "plain.kpi"
    shutil.copy(EXAMPLES / "marketing.kpi", plain)
    monster = tmp_path / "monster.kpi"
    text = plain.read_text()
    lines = text.splitlines()
    lines.insert(3, f"monster: {MONSTERS['chain']}")  # among the rules, not at the end
    lines.append(f"monster_not: {MONSTERS['nots']}")
    monster.write_text("\n".join(lines) + "\n")
    return plain, monster


def test_one_monstrous_rule_among_the_examples_is_error_and_changes_no_other_result(tmp_path):
    plain, monster = with_monster(tmp_path)
    csv = str(EXAMPLES / "marketing.csv")
    args = ["check", csv, "--as-of", AS_OF, "--format", "json"]
    base = CliRunner().invoke(cli, args + ["--rules", str(plain)])
    both = CliRunner().invoke(cli, args + ["--rules", str(monster)])
    assert both.exit_code == 2 and "Traceback" not in both.output
    results = json.loads(both.stdout)["results"]
    errors = {r["name"]: r for r in results if r["name"].startswith("monster")}
    assert set(errors) == {"monster", "monster_not"}
    assert all(r["status"] == "ERROR" and r["error"]["category"] == "invalid-rule" for r in errors.values())
    others = [r for r in results if not r["name"].startswith("monster")]
    assert others == json.loads(base.stdout)["results"]


@pytest.mark.parametrize("command", [["validate"], ["lint"], ["explain", "--rules"]])
def test_other_commands_report_the_monster_in_one_located_line(tmp_path, command):
    _, monster = with_monster(tmp_path)
    if command[0] == "explain":
        args = ["explain", str(EXAMPLES / "marketing.csv"), "--rules", str(monster), "monster", "--as-of", AS_OF]
    else:
        args = [*command, str(monster)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code in (1, 2), result.output
    assert "Traceback" not in result.output and "RecursionError" not in result.output
    assert "invalid-rule" in result.output
    assert max(len(line) for line in result.output.splitlines()) < 400  # a window, not the whole line


def test_one_monstrous_rule_in_a_workbook_run_is_that_rules_error_only(tmp_path):
    from test_run_common import RULES
    from test_run_xlsx import make_workbook, run, tab_rows

    rules = list(RULES) + [{"Name": "monster", "Rule": MONSTERS["chain"], "Enabled": "yes"}]
    plain = make_workbook(tmp_path / "plain.xlsx")
    monster = make_workbook(tmp_path / "monster.xlsx", rules=rules)
    assert run(plain, "--as-of", "2026-11-26").exit_code == 2
    result = run(monster, "--as-of", "2026-11-26")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert any(line.split()[:2] == ["ERROR", "monster:"] for line in result.output.splitlines() if line.strip())
    head = tab_rows(monster, "Rules")[0]
    status = {r[0]: r[head.index("Status")] for r in tab_rows(monster, "Rules")[1:] if r[0]}
    plain_status = {r[0]: r[head.index("Status")] for r in tab_rows(plain, "Rules")[1:] if r[0]}
    assert status.pop("monster") == "ERROR"
    assert status == plain_status
    assert len(tab_rows(monster, "History")) == len(tab_rows(plain, "History"))


def test_a_bug_prints_one_line_and_where_to_report_it_and_a_traceback_only_with_debug(monkeypatch):
    import kpirules.engine as engine

    def boom(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(engine, "check", boom)
    monkeypatch.setattr(engine, "prepare", boom)
    args = ["check", str(EXAMPLES / "marketing.csv"), "--rules", str(EXAMPLES / "marketing.kpi")]
    quiet = CliRunner().invoke(cli, args)
    assert quiet.exit_code == 2
    assert "Traceback" not in quiet.output
    (line,) = [x for x in quiet.output.splitlines() if x.strip()]
    assert "internal error (RuntimeError)" in line and "report" in line
    loud = CliRunner().invoke(cli, ["--debug", *args])
    assert loud.exit_code == 2 and "Traceback" in loud.output


def test_a_rule_whose_evaluation_hits_a_bug_is_its_own_error(monkeypatch):
    import datetime as dt

    import kpirules.engine as engine
    from kpirules.connectors.base import RawTable
    from kpirules.rulesfile import parse_rules_file
    from kpirules.table import load_table

    real = engine._evaluate_rule

    def flaky(rp, groups, *rest):
        if rp.entry.name == "bad":
            raise RecursionError("deep")
        return real(rp, groups, *rest)

    monkeypatch.setattr(engine, "_evaluate_rule", flaky)
    entries = parse_rules_file("good: visits >= 1 daily\nbad: visits >= 1 daily\nalso: visits >= 1 daily\n")
    table = load_table(RawTable(headers=["date", "visits"], rows=[["2026-11-25", 5]]))
    report = engine.evaluate(entries, table, dt.date(2026, 11, 26))
    assert [(r.name, r.status.value) for r in report.results] == [("good", "PASS"), ("bad", "ERROR"), ("also", "PASS")]
    assert report.results[1].error.category == "internal"


# ----------------------------------------------------------------------------- fuzzing

NASTY = st.sampled_from(["(", ")", "not ", " and ", " + ", "\x00", "`", "'", "\ufeff", "%", "weekly",
                         " by ", " where ", ">=", "change(", "sum(", "1e309", "\n", "\t", ":", "#"])
TEXTS = st.one_of(
    st.text(max_size=300),
    st.lists(NASTY, max_size=400).map("".join),
    st.tuples(st.sampled_from(["(", "not (", "[", "{", "- "]), st.integers(500, 5000)).map(lambda t: t[0] * t[1]),
    st.just("y" * 200_000),
)


@FUZZ
@given(TEXTS)
@example(BIG)
@example("\x00")
@example("[" * 5000)
@example("{a: " * 3000)
def test_fuzz_the_parser_raises_only_our_errors(text):
    from kpirules.errors import KpiError
    from kpirules.parser import parse_rule

    try:
        parse_rule(text)
    except KpiError:
        pass


@FUZZ
@given(st.lists(TEXTS, max_size=4))
@example([BIG, "\x00", "not (" * 3000])
def test_fuzz_rules_files_never_raise(lines):
    from kpirules.rulesfile import parse_rules_file

    entries = parse_rules_file("\n".join(f"r{i}: {t}" for i, t in enumerate(lines)) + "\n" + "\n".join(lines))
    for e in entries:
        assert e.rule is not None or e.problem is not None


@FUZZ
@given(TEXTS)
@example(BIG)
@example("\x00")
@example("[" * 5000)
@example("{a: " * 3000)
def test_fuzz_settings_files_raise_only_our_errors(tmp_path_factory, text):
    from kpirules.config import ConfigError, load_settings
    from kpirules.errors import SourceError

    path = tmp_path_factory.mktemp("s") / "kpirules.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    for body in (text, "a = " + text, "[[notifications]]\n" + text):
        path.write_bytes(body.encode("utf-8", "surrogatepass"))
        try:
            load_settings(str(path))
        except (ConfigError, SourceError):
            pass


@FUZZ
@given(TEXTS.map(lambda t: t[:20_000]))
@example("y" * 100_000)  # pure-Python PyYAML: a 1 MB scalar takes ~20 s
@example("\x00")
@example("[" * 5000)
@example("{a: " * 3000)
def test_fuzz_rule_test_yaml_raises_only_our_errors(tmp_path_factory, text):
    from kpirules.ruletest.runner import load
    from kpirules.ruletest.schema import TestFileError

    folder = tmp_path_factory.mktemp("y")
    for i, body in enumerate((text, "tests:\n  - " + text, "rules: " + text)):
        path = folder / f"t{i}.yaml"
        path.write_bytes(body.encode("utf-8", "surrogatepass"))
        try:
            load(str(path))
        except TestFileError:
            pass


RULE_PARTS = st.sampled_from(["visits", "signups", "sum(visits)", "change(visits)", " + ", " - ", " * ", " / ",
                              " >= ", " < ", " = ", "2%", "0", "1e308", "-", "(", ")", " and ", " or ", "not ",
                              " between 1 and 2", " weekly", " daily", " monthly", " over last 3 days",
                              " by campaign", " where campaign = 'a'", " warn at 3%"])


@FUZZ
@given(st.lists(st.lists(RULE_PARTS, min_size=1, max_size=30).map("".join), min_size=1, max_size=5))
def test_fuzz_evaluating_rules_gives_results_never_an_internal_error(rules):
    import datetime as dt

    from kpirules.connectors.base import RawTable
    from kpirules.engine import evaluate
    from kpirules.rulesfile import parse_rules_file
    from kpirules.table import load_table

    rows = [[(dt.date(2026, 11, 1) + dt.timedelta(days=i)).isoformat(), c, 100 + i, i % 7]
            for i in range(30) for c in ("a", "b")]
    table = load_table(RawTable(headers=["date", "campaign", "visits", "signups"], rows=rows))
    entries = parse_rules_file("\n".join(f"r{i}: {text}" for i, text in enumerate(rules)))
    report = evaluate(entries, table, dt.date(2026, 11, 26))
    assert {r.name for r in report.results} == {e.name for e in entries}
    assert not [r for r in report.results if r.error is not None and r.error.category == "internal"]
