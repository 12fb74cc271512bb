"""``kpirules check`` and ``kpirules validate`` as a user meets them (click's CliRunner for
output and exit statuses; a real subprocess where start-up matters)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kpirules.cli.main import cli

DATA = "date,channel,visits,signups\n" + "".join(
    f"2026-11-{d:02d},{ch},1000,{s}\n" for d in range(9, 26) for ch, s in (("search", 25), ("social", 12)))


@pytest.fixture
def files(tmp_path: Path):
    data = tmp_path / "data.csv"
    data.write_text(DATA, encoding="utf-8")
    rules = tmp_path / "rules.kpi"
    rules.write_text(
        "# weekly funnel\n"
        "conversion: signups / visits >= 1.5% weekly warn at 2%\n"
        "by_channel: signups / visits >= 2% weekly by channel\n",
        encoding="utf-8")
    return data, rules


def invoke(*args: str, env: dict | None = None):
    return CliRunner().invoke(cli, list(args), env=env or {"NO_COLOR": "1"}, catch_exceptions=False)


def test_table_output_for_people(files):
    data, rules = files
    res = invoke("check", str(data), "--rules", str(rules), "--as-of", "2026-11-26")
    lines = res.output.splitlines()
    assert res.exit_code == 1  # social fails
    assert lines[0].startswith("WARN    conversion")
    assert "1.85% meets target >= 1.5% but not the warn level 2%" in lines[0]
    assert "(259 signups / 14,000 visits, 2026-11-16..22)" in lines[0]
    assert lines[1].startswith("PASS    by_channel [search]") and "2.50%" in lines[1]
    assert lines[2].startswith("FAIL    by_channel [social]") and "1.20% misses target >= 2%" in lines[2]
    assert lines[-1] == "2 rules, 3 results as of 2026-11-26: 1 PASS, 1 WARN, 1 FAIL"
    assert "\x1b[" not in res.output  # no colour off a terminal / with NO_COLOR


def test_json_output_is_one_document(files):
    data, rules = files
    res = invoke("check", str(data), "--rules", str(rules), "--as-of", "2026-11-26", "--format", "json")
    doc = json.loads(res.output)
    assert doc["as_of"] == "2026-11-26"
    first = doc["results"][0]
    assert {k: first[k] for k in ("name", "status", "threshold", "period", "segment")} == {
        "name": "conversion", "status": "WARN", "threshold": 0.015,
        "period": {"start": "2026-11-16", "end": "2026-11-22"}, "segment": None}
    assert first["value"] == pytest.approx(259 / 14000)
    assert first["rule"] == "signups / visits >= 1.5% weekly warn at 2%"
    assert [r["segment"] for r in doc["results"][1:]] == [{"channel": "search"}, {"channel": "social"}]


def test_broken_rule_is_an_error_result_and_the_others_still_run(files, tmp_path):
    data, _ = files
    rules = tmp_path / "bad.kpi"
    rules.write_text("ok: signups >= 10 weekly\ntypo: signup / visits >= 2% weekly\n", encoding="utf-8")
    res = invoke("check", str(data), "--rules", str(rules), "--as-of", "2026-11-26", "--format", "json")
    assert res.exit_code == 2
    ok, typo = json.loads(res.output)["results"]
    assert ok["status"] == "PASS"
    assert typo["status"] == "ERROR" and typo["value"] is None and typo["period"] is None
    assert typo["error"]["category"] == "unknown-name"
    assert (typo["error"]["line"], typo["error"]["column"]) == (2, 7)
    assert "signups" in typo["error"]["message"] + typo["error"].get("suggestion", "")


def test_the_table_says_where_a_broken_rule_is_so_an_editor_can_jump_there(files, tmp_path):
    data, _ = files
    rules = tmp_path / "bad.kpi"
    rules.write_text("ok: signups >= 10 weekly\ntypo: signup / visits >= 2% weekly\n", encoding="utf-8")
    res = invoke("check", str(data), "--rules", str(rules), "--as-of", "2026-11-26")
    lines = res.output.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("ERROR   typo"))
    assert lines[at + 1:at + 4] == [f"    {rules}:2:7", "    typo: signup / visits >= 2% weekly",
                                    "          ^^^^^^"]


def test_bad_cell_is_reported_by_cell_and_affects_only_its_rules(tmp_path):
    # `n/a` is a blank now (issue 10: exports write missing values so); text is still bad.
    data = tmp_path / "data.csv"
    data.write_text("date,visits,signups\n2026-11-16,1000,20\n2026-11-17,lots,20\n2026-11-18,1000,20\n"
                    "2026-11-22,1000,20\n",
                    encoding="utf-8")
    rules = tmp_path / "r.kpi"
    rules.write_text("rate: signups / visits >= 1% weekly\nvolume: signups >= 10 weekly\n", encoding="utf-8")
    res = invoke("check", str(data), "--rules", str(rules), "--as-of", "2026-11-26", "--format", "json")
    rate, volume = json.loads(res.output)["results"]
    assert rate["status"] == "ERROR" and rate["error"]["cell"] == "'data.csv'!B3"
    assert "'lots', not a number" in rate["error"]["message"]
    assert volume["status"] == "PASS"  # signups is clean


def test_missing_file_is_exit_3_with_a_hint():
    res = CliRunner().invoke(cli, ["check", "nope.xlsx"])
    assert res.exit_code == 3
    assert "no such file: nope.xlsx" in res.output


def test_bad_as_of_is_a_usage_error(files):
    data, rules = files
    res = invoke("check", str(data), "--rules", str(rules), "--as-of", "26/11/2026")
    assert res.exit_code == 2
    assert "write it as YYYY-MM-DD" in res.output


def test_validate_shows_every_problem_with_caret(tmp_path):
    rules = tmp_path / "rules.kpi"
    rules.write_text("good: signups / visits >= 2% weekly\n"
                     "threshold: signups / visits >= weekly\n"
                     "window: signups >= 10 fortnightly\n", encoding="utf-8")
    res = invoke("validate", str(rules))
    assert res.exit_code == 1
    out = res.output
    assert f"{rules}:2:32: syntax: expected a threshold after `>=`" in out
    assert f"{rules}:3:23: syntax: unknown window `fortnightly`" in out
    caret_line = out.splitlines()[out.splitlines().index("    threshold: signups / visits >= weekly") + 1]
    assert caret_line.index("^") == len("    threshold: signups / visits >= ")
    assert "3 rules in 1 file: 2 problems" in out


def test_validate_with_data_checks_names(files, tmp_path):
    data, _ = files
    rules = tmp_path / "rules.kpi"
    rules.write_text("typo: signup / visits >= 2% weekly\n", encoding="utf-8")
    assert invoke("validate", str(rules)).exit_code == 0
    res = invoke("validate", str(rules), "--data", str(data))
    assert res.exit_code == 1
    assert f"{rules}:1:7: unknown-name:" in res.output and "signups" in res.output


def test_help_and_version():
    res = invoke("--help")
    assert "check" in res.output and "validate" in res.output
    assert invoke("--version").output.startswith("kpirules, version ")
    assert "Examples:" in invoke("check", "--help").output


def test_settings_tab_names_the_date_column():
    # examples/polish.xlsx heads its date column "Data"; its Settings tab says so.
    examples = Path(__file__).resolve().parent.parent / "examples"
    res = invoke("check", str(examples / "polish.xlsx"), "--as-of", "2026-11-26", "--format", "json")
    assert res.exit_code == 0, res.output
    results = json.loads(res.output)["results"]
    assert results[0]["name"] == "Konwersja zapisów" and results[0]["status"] == "PASS"
    assert {r["status"] for r in results} == {"PASS", "WARN"}


def test_a_broken_rule_in_the_rules_tab_is_named_by_its_cell(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    data = wb.active
    data.title = "Data"
    for row in DATA.splitlines():
        data.append(row.split(","))
    rules = wb.create_sheet("Rules")
    rules.append(["Name", "Rule"])
    rules.append(["ok", "count(visits) >= 1 weekly"])
    rules.append(["typo", "signup / visits >= 2% weekly"])
    wb.save(tmp_path / "kpis.xlsx")
    res = invoke("check", str(tmp_path / "kpis.xlsx"), "--as-of", "2026-11-26")
    lines = res.output.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("ERROR   typo"))
    assert lines[at + 1] == "    Rules!B3"


def test_a_window_past_the_calendar_is_that_rules_error_and_the_others_still_run(files, tmp_path):
    data, _ = files
    rules = tmp_path / "far.kpi"
    rules.write_text("far: sum(visits) >= 1 over last 1000000 days\nok: sum(visits) >= 1 weekly\n", encoding="utf-8")
    res = invoke("check", str(data), "--rules", str(rules), "--as-of", "2026-11-26", "--format", "json")
    assert res.exit_code == 2
    far, ok = json.loads(res.output)["results"]
    assert far["status"] == "ERROR" and far["error"]["category"] == "invalid-rule"
    assert far["error"]["message"].startswith("`over last 1000000 days` reaches outside the calendar")
    assert (far["error"]["line"], far["error"]["column"]) == (1, 23)
    assert ok["status"] == "PASS"


@pytest.mark.parametrize("day", ["0001-01-02", "1899-12-31", "9999-12-31"])
def test_an_as_of_date_outside_the_judged_range_is_a_usage_error(files, day):
    data, rules = files
    res = invoke("check", str(data), "--rules", str(rules), "--as-of", day)
    assert res.exit_code == 2
    assert f"'{day}' is outside the dates kpirules judges: 1900-01-01 to 9998-12-31" in res.output
    assert "internal error" not in res.output


def test_json_output_is_one_document_when_the_source_or_the_settings_fail(files, tmp_path):
    # A script that parses stdout gets the error as the service gives it, not an empty output.
    _, rules = files
    res = CliRunner().invoke(cli, ["check", str(tmp_path / "gone.csv"), "--rules", str(rules), "--format", "json"],
                             env={"NO_COLOR": "1"})
    assert res.exit_code == 3
    error = json.loads(res.stdout)["error"]
    assert error["category"] == "source" and error["exit_status"] == 3 and "gone.csv" in error["message"]
    config = tmp_path / "kpirules.toml"
    config.write_text('late_after = "soon"\n', encoding="utf-8")
    data, _ = files
    res = CliRunner().invoke(cli, ["check", str(data), "--rules", str(rules), "--format", "json", "--config",
                                   str(config)], env={"NO_COLOR": "1"})
    assert res.exit_code == 2
    error = json.loads(res.stdout)["error"]
    assert error["category"] == "config" and error["exit_status"] == 2
    assert [p["where"] for p in error["problems"]] == [f"{config}:1"]
