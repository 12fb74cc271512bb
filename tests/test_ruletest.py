"""``kpirules test``: the YAML format, the series notation, exit statuses, expected/got
output and JUnit XML (docs/testing.md)."""

from __future__ import annotations

import datetime as dt
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from kpirules.cli.main import cli
from kpirules.ruletest.runner import series_table
from kpirules.ruletest.schema import SeriesInput, TestFileError, load_test_file
from kpirules.ruletest.series import SeriesError, expand, parse_key

ROOT = Path(__file__).resolve().parent.parent

RULES = """\
conversion: signups / visits >= 2% weekly warn at 2.5%
by_channel: signups / visits >= 2% weekly by channel
"""

PASSING = """\
rule_files: [rules.kpi]
tests:
  - name: good week
    as_of: 2026-11-26
    input:
      start: 2026-11-16
      series:
        visits: "1000x6"
        signups: "30x6"
    expect:
      - {rule: conversion, status: PASS, value: 3%, period: 2026-11-16..2026-11-22, message: "210 signups"}
  - name: channels
    as_of: 2026-11-26
    input:
      start: 2026-11-16
      series:
        visits{channel=email}: "100x6"
        signups{channel=email}: "3x6"
        visits{channel=social}: "200x6"
        signups{channel=social}: "2x6"
    expect:
      - {rule: by_channel, segment: {channel: email}, status: PASS, value: 0.03}
      - {rule: by_channel, segment: {channel: social}, status: FAIL, value: 1%, tolerance: 0.0001}
"""

FAILING = """\
rule_files: [rules.kpi]
tests:
  - name: expects the wrong status
    as_of: 2026-11-26
    input:
      start: 2026-11-16
      series:
        visits: "1000x6"
        signups: "10x6"
    expect:
      - rule: conversion
        status: PASS
        value: 0.02
        message: "meets"
  - name: still fine
    as_of: 2026-11-26
    input:
      columns: [date, visits, signups]
      rows:
        - [2026-11-16, 1000, 30]
        - [2026-11-22, 1000, 30]  # the data reach the end of the week: it is complete
    expect:
      - {rule: conversion, status: PASS}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write(tmp_path, "rules.kpi", RULES)
    return tmp_path


def run(*args: str):
    return CliRunner().invoke(cli, ["test", *args], catch_exceptions=False)


def test_a_folder_runs_every_yaml_file_under_it_and_an_empty_one_is_invalid(tmp_path):
    import shutil

    examples = ROOT / "examples"
    tests = tmp_path / "kpi"
    shutil.copytree(examples / "tests", tests)
    for name in ("marketing.kpi", "marketing.csv"):
        shutil.copy(examples / name, tmp_path / name)
    (tests / "sub").mkdir()
    money = (tests / "money.yaml").read_text(encoding="utf-8").replace("../marketing", "../../marketing")
    (tests / "sub" / "money.yml").write_text(money, encoding="utf-8")  # a level down, .yml
    (tests / "money.yaml").unlink()
    (tests / "notes.txt").write_text("not a test", encoding="utf-8")
    result = run(str(tests))
    assert result.exit_code == 0, result.output
    ran = [line for line in result.output.splitlines() if line.startswith(str(tests))]
    assert [Path(p).relative_to(tests).as_posix() for p in ran] == [
        "baselines.yaml", "channels.yaml", "funnel.yaml", "marketing_data.yaml", "sub/money.yml"]
    assert result.output.strip().endswith("19 tests: 19 passed, 0 failed")
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run(str(empty))
    assert result.exit_code == 2 and "no test file (*.yaml, *.yml) in the folder" in result.output


# ------------------------------------------------------------------ series notation


@pytest.mark.parametrize("text, values", [
    ("1000+10x6", [1000, 1010, 1020, 1030, 1040, 1050, 1060]),  # n+1 values, as promtool
    ("5x2", [5, 5, 5]),
    ("10-2x3", [10, 8, 6, 4]),
    ("0.1+0.1x2", [0.1, 0.2, 0.3]),  # decimal steps do not drift
    ("_ 3 _x2 4", [None, 3, None, None, 4]),  # `_xn` is n blanks
    ("2% 15k 0.25M", [0.02, 15000, 250000]),
    ("-3", [-3]),
])
def test_series_notation_expands(text, values):
    assert expand(text) == values


@pytest.mark.parametrize("text, fragment", [
    ("1000+10", "needs a count"),
    ("abc", "`abc` is not a series item"),
    ("_+1x3", "cannot grow"),
    ("", "empty"),
    ("1000x99999999", "at most 36,525 values"),  # a typo, not a CI job that builds rows until killed
    ("1x20000 _x20000", "this one would hold 40,001"),
])
def test_series_notation_rejects(text, fragment):
    with pytest.raises(SeriesError, match=fragment):
        expand(text)


def test_series_keys_carry_dimension_values():
    assert parse_key("visits") == ("visits", {})
    assert parse_key('visits{channel=email, campaign="spring, promo"}') == (
        "visits", {"channel": "email", "campaign": "spring, promo"})
    with pytest.raises(SeriesError):
        parse_key("visits{channel}")


def test_series_build_one_row_per_date_and_label_set():
    spec = SeriesInput.model_validate({"start": "2026-11-16", "series": {
        "visits{channel=email}": "10 11", "signups{channel=email}": "1", "visits{channel=social}": "20"}})
    raw = series_table(spec)
    assert raw.headers == ["date", "channel", "visits", "signups"]
    assert raw.rows == [["2026-11-16", "email", 10, 1], ["2026-11-17", "email", 11, None],
                        ["2026-11-16", "social", 20, None]]


def test_series_steps_by_week_and_month():
    weekly = series_table(SeriesInput.model_validate({"start": dt.date(2026, 1, 5), "step": "week",
                                                      "series": {"x": "1x2"}}))
    assert [r[0] for r in weekly.rows] == ["2026-01-05", "2026-01-12", "2026-01-19"]
    monthly = series_table(SeriesInput.model_validate({"start": "2026-01-31", "step": "month",
                                                       "series": {"x": "1x2"}}))
    assert [r[0] for r in monthly.rows] == ["2026-01-31", "2026-02-28", "2026-03-31"]


# ----------------------------------------------------------------------- the schema


def problems_of(text: str) -> list[str]:
    with pytest.raises(TestFileError) as info:
        load_test_file(textwrap.dedent(text), "t.yaml")
    return [p.render() for p in info.value.problems]


def test_unknown_keys_and_bad_values_are_reported_with_line_and_column():
    found = problems_of("""\
        rule_files: [rules.kpi]
        tests:
          - name: one
            as_of: 2026-11-26
            input: {start: 2026-11-16, series: {visits: "1x6"}}
            expect:
              - rule: conversion
                status: pas
                valu: 3
              - {rule: conversion, status: PASS, tolerance: -1}
        """)
    assert any(p.startswith("t.yaml:8:9: test-file: `status`: unknown status") for p in found), found
    assert any(p.startswith("t.yaml:9:9: test-file: unknown key `valu`") and "did you mean `value`?" in p
               for p in found), found
    assert any(p.startswith("t.yaml:10:") and "tolerance" in p for p in found), found
    assert len(found) == 3


def test_missing_keys_bad_dates_bad_series_and_unknown_input_shapes():
    found = problems_of("""\
        rule_files: [rules.kpi]
        tests:
          - name: one
            as_of: 20261126
            input: {start: 2026-11-16, series: {visits: "1x6 zz"}}
            expect: [{rule: r, status: PASS}]
          - name: two
            input: {sheet: Data}
            expect: [{rule: r, status: PASS}]
          - name: three
            as_of: 0001-01-02
            input: {start: 2026-11-16, series: {visits: "1x6"}}
            expect: [{rule: r, status: PASS}]
        """)
    text = "\n".join(found)
    assert "t.yaml:4:5: test-file: `as_of`: 20261126 is not a date" in text
    assert "t.yaml:5:" in text and "`zz` is not a series item" in text
    assert "t.yaml:7:5: test-file: `as_of` is missing" in text
    assert "t.yaml:8:5: test-file: `input`: give the data as" in text
    assert "t.yaml:11:5: test-file: `as_of`: '0001-01-02' is outside the dates kpirules judges" in text


def test_an_infinite_or_nan_number_is_a_located_problem():
    found = problems_of("""\
        rule_files: [rules.kpi]
        tests:
          - name: one
            as_of: 2026-11-26
            input: {start: 2026-11-16, series: {visits: [1, .nan, 3]}}
            expect: [{rule: r, status: PASS, value: 1e400}]
        """)
    text = "\n".join(found)
    assert "t.yaml:5:" in text and "nan is not a finite number" in text, text
    assert "t.yaml:6:" in text and "'1e400' is not a finite number" in text, text


def test_a_series_past_the_calendar_is_a_located_problem_not_an_internal_error():
    found = problems_of("""\
        rule_files: [rules.kpi]
        tests:
          - name: days
            as_of: 2026-11-26
            input: {start: 9999-12-25, series: {visits: "1x20"}}
            expect: [{rule: r, status: PASS}]
          - name: months
            as_of: 2026-11-26
            input: {start: 9998-06-01, step: month, series: {visits: "1x6", signups: "1x7"}}
            expect: [{rule: r, status: PASS}]
        """)
    assert found[0].startswith("t.yaml:5:5: test-file: `input`: the series runs past 9998-12-31: 21 values "
                               "from 9999-12-25, one a day, end after 9999-12-31"), found
    assert found[1].startswith("t.yaml:9:5: test-file: `input`: the series runs past 9998-12-31: 8 values "
                               "from 9998-06-01, one a month, end on 9999-01-01"), found


def test_anchors_under_x_keys_and_mistakes_inside_merged_input():
    found = problems_of("""\
        rule_files: [rules.kpi]
        x-week: &week
          start: 2026-11-16
          series: {visits: "1000x6"}
        tests:
          - name: shares the week
            as_of: 2026-11-26
            input:
              <<: *week
              stepp: day
            expect: [{rule: r, status: PASS}]
        """)
    # the misspelt key is where it was written, not in the anchor it merged
    (problem,) = found
    assert problem.startswith("t.yaml:10:7: test-file: unknown key `stepp`\n          stepp: day\n")
    assert problem.endswith("hint: did you mean `step`?")


def test_yaml_syntax_errors_are_located():
    found = problems_of("tests:\n  - name: [unclosed\n")
    assert found[0].startswith("t.yaml:3:") and "not valid YAML" in found[0]


def test_a_file_needs_rules():
    found = problems_of("""\
        tests:
          - {name: x, as_of: 2026-11-26, input: {columns: [date]}, expect: [{rule: r, status: PASS}]}
        """)
    assert "rule_files" in found[0]


# ---------------------------------------------------------------------- the command


def test_passing_file_exits_0(project: Path):
    path = write(project, "ok.yaml", PASSING)
    result = run(str(path))
    assert result.exit_code == 0, result.output
    assert "PASS  good week" in result.output and "PASS  channels" in result.output
    assert "2 tests: 2 passed, 0 failed" in result.output


def test_failing_file_exits_1_with_expected_got_and_diff(project: Path):
    path = write(project, "bad.yaml", FAILING)
    result = run(str(path))
    assert result.exit_code == 1, result.output
    out = result.output
    assert "FAIL  expects the wrong status (line 3)" in out
    assert "rule `conversion` as of 2026-11-26 (line 11)" in out
    assert "exp: status=PASS, value=0.02, message=…meets…" in out
    assert "got: status=FAIL, value=0.01, message=“1.00% misses target >= 2%" in out
    # the diff marks what differs, and only that
    assert "- status: PASS\n" in out and "+ status: FAIL\n" in out
    assert "- value: 0.02\n" in out and "+ value: 0.01\n" in out
    assert "- message: …meets…" in out
    assert "PASS  still fine" in out
    assert "2 tests: 1 passed, 1 failed" in out


def test_every_failure_of_a_test_is_reported_not_only_the_first(project: Path):
    path = write(project, "segs.yaml", """\
        rule_files: [rules.kpi]
        tests:
          - name: all wrong
            as_of: 2026-11-26
            input:
              start: 2026-11-16
              # inside {...} a key with braces must be quoted
              series: {"visits{channel=a}": "100x6", "signups{channel=a}": "1x6",
                       "visits{channel=b}": "100x6", "signups{channel=b}": "9x6"}
            expect:
              - {rule: by_channel, status: PASS}
              - {rule: by_channel, segment: {channel: zz}, status: PASS}
        """)
    out = run(str(path)).output
    assert "rule `by_channel` [channel=a] as of 2026-11-26" in out  # the segment that fails
    assert "[channel=b]" not in out  # it passes
    assert "no result for this segment; the rule gave: channel=a; channel=b" in out


def test_invalid_file_exits_2_and_names_the_line(project: Path):
    ok = write(project, "ok.yaml", PASSING)
    bad = write(project, "invalid.yaml", """\
        rule_files: [rules.kpi, missing/*.kpi]
        tests:
          - name: x
            as_of: 2026-11-26
            input: {columns: [date, visits], rows: []}
            expect:
              - {rule: conversoin, status: PASS}
        """)
    result = run(str(ok), str(bad))
    assert result.exit_code == 2, result.output
    assert "PASS  good week" in result.output  # the valid file still ran
    assert f"{bad}:1:" in result.output and "`missing/*.kpi` matches no file" in result.output
    assert f"{bad}:7:" in result.output and "no rule named `conversoin`" in result.output
    assert "did you mean `conversion`?" in result.output
    assert "1 invalid test file" in result.output


def test_missing_test_file_is_invalid(project: Path):
    result = run(str(project / "nope.yaml"))
    assert result.exit_code == 2
    assert "no such test file" in result.output


def test_run_selects_tests_by_pattern(project: Path):
    path = write(project, "ok.yaml", PASSING)
    result = run(str(path), "--run", "^chan")
    assert result.exit_code == 0
    assert "channels" in result.output and "good week" not in result.output
    assert "1 test: 1 passed" in result.output
    nothing = run(str(path), "--run", "nomatch")
    assert nothing.exit_code == 2 and "no test matches --run nomatch" in nothing.output
    assert run(str(path), "--run", "(").exit_code == 2


def test_junit_xml_parses_back(project: Path):
    ok = write(project, "ok.yaml", PASSING)
    bad = write(project, "bad.yaml", FAILING)
    broken = write(project, "broken.yaml", "rule_files: [rules.kpi]\ntests: []\n")
    report = project / "junit.xml"
    result = run(str(ok), str(bad), str(broken), "--junit", str(report))
    assert result.exit_code == 2
    root = ET.parse(report).getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("5", "1", "1")
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert [c.get("name") for c in suites[str(ok)].findall("testcase")] == ["good week", "channels"]
    assert not suites[str(ok)].findall(".//failure")
    (failure,) = suites[str(bad)].findall(".//failure")
    assert failure.get("message") == "1 result not as expected"
    assert "exp: status=PASS" in failure.text and "+ status: FAIL" in failure.text
    (error,) = suites[str(broken)].findall(".//error")
    assert "broken.yaml:2:" in error.text


def test_inline_rules_csv_input_null_value_and_per_expectation_as_of(tmp_path: Path):
    write(tmp_path, "data.csv", "date,visits,signups\n2026-11-16,1000,30\n2026-11-23,1000,10\n"
          "2026-11-30,0,0\n")
    path = write(tmp_path, "inline.yaml", """\
        rules:
          conversion: signups / visits >= 2% weekly
        tests:
          - name: csv data, two weeks
            as_of: 2026-11-26
            input: data.csv
            expect:
              - {rule: conversion, status: PASS, value: 3%}
              - {rule: conversion, status: FAIL, value: 1%, as_of: 2026-12-03}
              - {rule: conversion, status: NO_DATA, value: null, as_of: 2026-12-10}
        """)
    result = run(str(path))
    assert result.exit_code == 0, result.output


def test_inline_rule_that_does_not_parse_is_an_error_result(tmp_path: Path):
    path = write(tmp_path, "broken_rule.yaml", """\
        rules:
          conversion: signups / visits >= weekly
        tests:
          - name: broken
            as_of: 2026-11-26
            input: {start: 2026-11-16, series: {visits: "1x6", signups: "1x6"}}
            expect:
              - {rule: conversion, status: ERROR}
              - {rule: conversion, status: PASS}
        """)
    result = run(str(path))
    assert result.exit_code == 1
    assert "- status: PASS\n" in result.output and "+ status: ERROR\n" in result.output


def test_the_bundled_examples_pass():
    files = sorted(str(p) for p in (ROOT / "examples" / "tests").glob("*.yaml"))
    assert len(files) >= 3
    result = run(*files)
    assert result.exit_code == 0, result.output
    assert " 0 failed" in result.output


def test_the_documented_example_is_a_valid_test_file():
    import re

    text = (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")
    block = re.search(r"## The file\n\n```yaml\n(.*?)```", text, re.S).group(1)
    spec, _ = load_test_file(block, "docs/testing.md")
    assert spec.tests[0].expect[0].status.value == "WARN"


def test_rules_from_a_workbook_tab_even_when_switched_off(tmp_path: Path):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "Data"
    wb.active.append(["date", "visits"])
    rules = wb.create_sheet("Rules")
    rules.append(["Name", "Rule", "Enabled"])
    rules.append(["traffic", "visits >= 100 weekly", "no"])
    wb.save(tmp_path / "book.xlsx")
    path = write(tmp_path, "book.yaml", """\
        rule_files: [book.xlsx]
        tests:
          - name: off in the sheet, tested all the same
            as_of: 2026-11-26
            input: {start: 2026-11-16, series: {visits: "10x6"}}
            expect:
              - {rule: traffic, status: FAIL, value: 70}
        """)
    result = run(str(path))
    assert result.exit_code == 0, result.output
