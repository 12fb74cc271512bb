"""Issue 18, "the first hour": the commands agree with each other, take the same options,
find the same settings and speak plain English. Real workbooks, real settings files, real
HTTP receivers on 127.0.0.1; nothing mocked."""

from __future__ import annotations

import json
import re
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from test_run_common import AS_OF, DATA_HEADERS, data_rows
from test_run_notify import Receiver

from kpirules.cli.main import COMMANDS, cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "marketing.xlsx"


def invoke(*args, **kwargs):
    return CliRunner().invoke(cli, [str(a) for a in args], **kwargs)


def workbook(path, rules, *, settings=None):
    """Data from test_run_common, the given (Name, Rule, Enabled) rows, maybe a Settings tab."""
    wb = openpyxl.Workbook()
    data = wb.active
    data.title = "Data"
    data.append(DATA_HEADERS)
    for row in data_rows():
        data.append(row)
    ws = wb.create_sheet("Rules")
    ws.append(["Name", "Rule", "Enabled"])
    for row in rules:
        ws.append(list(row))
    if settings:
        tab = wb.create_sheet("Settings")
        tab.append(["Key", "Value"])
        for row in settings:
            tab.append(list(row))
    wb.save(path)
    return path


NAMED_BADLY = [("conversion", "signups / visits >= 2% weekly", "yes"),
               ("Conversion ", "signups >= 10 weekly", "yes"),  # the same name, however written
               (None, "visits >= 1000 daily", "yes"),  # no name
               ("off", "visits >= 1 weekly", "no"),
               ("traffic", "visits >= 1000 daily", "yes")]


# --------------------------------------------------------------------- 3. one rules list


def test_every_command_agrees_on_names_and_counts(tmp_path):
    book = workbook(tmp_path / "k.xlsx", NAMED_BADLY)
    as_of = ("--as-of", AS_OF.isoformat())

    checked = invoke("check", book, *as_of, "--format", "json")
    results = {r["name"]: r for r in json.loads(checked.output)["results"]}
    assert checked.exit_code == 2
    assert results["Conversion"]["status"] == "ERROR" and results["Conversion"]["error"]["cell"] == "Rules!A3"
    assert "already used by the rule in row 2" in results["Conversion"]["message"]
    assert results["row 4"]["status"] == "ERROR" and results["row 4"]["error"]["cell"] == "Rules!A4"
    assert "no name" in results["row 4"]["message"]
    assert results["conversion"]["status"] != "ERROR" and results["traffic"]["status"] == "PASS"
    assert "off" not in results
    text = invoke("check", book, *as_of).output
    assert "\n4 rules (1 disabled), 4 results as of 2026-11-26" in text

    ran = invoke("run", book, *as_of)
    assert ran.exit_code == 2
    assert "4 rules (1 disabled) as of 2026-11-26" in ran.output
    rows = {r[0]: r for r in openpyxl.load_workbook(book)["Rules"].iter_rows(min_row=2, values_only=True)}
    assert rows["Conversion "][3] == "ERROR" and rows[None][3] == "ERROR" and rows["off"][3] == "OFF"
    assert rows["conversion"][3] in ("PASS", "WARN", "FAIL")

    validated = invoke("validate", book)
    assert validated.exit_code == 1
    assert f"{book}:Rules!A3:" in validated.output and f"{book}:Rules!A4:" in validated.output
    assert "4 rules (1 disabled) in 1 file: 2 problems" in validated.output

    linted = invoke("lint", book, "--format", "json")
    assert linted.exit_code == 2
    document = json.loads(linted.output)
    assert {p["cell"] for p in document["problems"]} == {"Rules!A3", "Rules!A4"}
    assert document["disabled"] == 1

    explained = invoke("explain", book, "Conversion", *as_of)
    assert explained.exit_code == 2 and "Rules!A3" in explained.output
    assert invoke("explain", book, "conversion", *as_of).exit_code == 0


def test_a_rules_file_follows_the_same_rule(tmp_path):
    rules = tmp_path / "r.kpi"
    rules.write_text("conversion: signups / visits >= 2% weekly\nCONVERSION: signups >= 1 weekly\n"
                     ": visits >= 1 daily\n", encoding="utf-8")
    out = invoke("validate", rules)
    assert out.exit_code == 1
    assert f"{rules}:2:1: invalid-rule: the name `CONVERSION` is already used by the rule on line 1" in out.output
    assert f"{rules}:3:1: invalid-rule: this rule has no name" in out.output
    csv = tmp_path / "d.csv"
    csv.write_text("date,visits,signups\n2026-11-20,100,3\n", encoding="utf-8")
    checked = json.loads(invoke("check", csv, "--rules", rules, "--format", "json").output)
    assert [r["status"] for r in checked["results"]][1:] == ["ERROR", "ERROR"]


# --------------------------------------------------------------------- 4. settings


def test_every_command_takes_config_quiet_and_verbose():
    for name in COMMANDS:
        command = cli.get_command(None, name)
        leaves = command.commands.values() if hasattr(command, "commands") else [command]
        for leaf in leaves:
            options = {o for p in leaf.params for o in getattr(p, "opts", [])}
            if name != "completion":
                assert {"-q", "-v"} <= options, f"{name} {leaf.name}"
            if name not in ("auth", "completion"):
                assert "--config" in options, name


def test_settings_are_found_up_to_the_repository_root_and_blamed_by_name(tmp_path, monkeypatch):
    outside = tmp_path / "kpirules.toml"  # above the repository: never read
    outside.write_text('data_tab = "Elsewhere"\n')
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    (project / "ops" / "daily").mkdir(parents=True)
    workbook(project / "k.xlsx", [("traffic", "visits >= 1000 daily", "yes")])
    (project / "kpirules.toml").write_text('# team settings\ndata_tab = "Daily"\n')
    monkeypatch.chdir(project / "ops" / "daily")
    result = invoke("check", "../../k.xlsx", "--as-of", AS_OF.isoformat())
    assert result.exit_code == 3
    assert "no tab named 'Daily'" in result.output
    assert "(`data_tab = Daily` from ../../kpirules.toml:2)" in result.output
    assert "--data-tab" in result.output  # how to override it
    # The same setting is found by every command that reads the source.
    for args in (["run", "../../k.xlsx"], ["explain", "../../k.xlsx", "traffic"], ["lint", "../../k.xlsx"]):
        assert "`data_tab = Daily` from ../../kpirules.toml:2" in invoke(*args).output, args
    # A value given on the command line is not blamed on the file; --config names another file.
    assert invoke("check", "../../k.xlsx", "--data-tab", "Data", "--as-of", AS_OF.isoformat()).exit_code == 0
    other = project / "ops" / "other.toml"
    other.write_text('date_column = "day"\n')
    result = invoke("check", "../../k.xlsx", "--config", other)
    assert result.exit_code == 3 and f"`date_column = day` from {other}:1" in result.output
    verbose = invoke("check", "../../k.xlsx", "--data-tab", "Data", "-v", "--as-of", AS_OF.isoformat())
    assert "settings: ../../kpirules.toml" in verbose.output
    # Outside a repository only the current folder counts.
    (project / ".git").rmdir()
    assert invoke("check", "../../k.xlsx", "--as-of", AS_OF.isoformat()).exit_code == 0


def test_a_setting_from_the_settings_tab_is_named_at_its_cell(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    book = workbook(tmp_path / "k.xlsx", [("traffic", "visits >= 1000 daily", "yes")],
                    settings=[("date_column", "Day")])
    result = invoke("check", book, "--as-of", AS_OF.isoformat())
    assert result.exit_code == 3 and "(`date_column = Day` from Settings!B2)" in result.output


# --------------------------------------------------------------------- 5. machine output


def test_every_reporting_command_speaks_json(tmp_path):
    copy = tmp_path / "m.xlsx"
    as_of = ("--as-of", AS_OF.isoformat())
    ran = invoke("run", EXAMPLE, *as_of, "--out", copy, "--format", "json")
    doc = json.loads(ran.output)
    assert ran.exit_code == doc["exit_status"] == 1
    assert doc["counts"] == {"rules": 18, "disabled": 1} and len(doc["alerts"]) == 10 and doc["written"]
    assert doc["as_of"] == "2026-11-26" and doc["results"][0]["name"] == "visit_to_signup"
    validated = json.loads(invoke("validate", ROOT / "examples" / "mistakes.kpi", "--format", "json").output)
    assert validated["rules"] == "2 rules" and validated["problems"][0]["line"] == 3
    linted = json.loads(invoke("lint", EXAMPLE, "--format", "json").output)
    assert linted["rules"] == 18 and linted["disabled"] == 1
    tests = invoke("test", *sorted((ROOT / "examples" / "tests").glob("*.yaml")), "--format", "json")
    assert json.loads(tests.output)["passed"] == 19 and tests.exit_code == 0
    explained = json.loads(invoke("explain", EXAMPLE, "visit_to_signup", *as_of, "--format", "json").output)
    assert explained["enabled"] is True
    checked = json.loads(invoke("check", EXAMPLE, *as_of, "--format", "json").output)
    assert len(checked["results"]) == 34


def test_quiet_prints_problems_and_the_summary_only():
    out = invoke("check", EXAMPLE, "--as-of", AS_OF.isoformat(), "-q").output
    assert "PASS " not in out and re.search(r"^FAIL +orders_trend", out, re.M) and "18 rules (1 disabled), 34 results" in out
    assert invoke("lint", EXAMPLE, "-q").output == ""


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts(shell):
    result = invoke("completion", shell)
    assert result.exit_code == 0 and "_KPIRULES_COMPLETE" in result.output


def test_did_you_mean_for_commands_and_options():
    typo = invoke("chek", "x.csv")
    assert typo.exit_code == 2 and "Did you mean 'check'?" in typo.output
    option = invoke("check", "x.csv", "--as-f", "2026-11-26")
    assert option.exit_code == 2 and "Did you mean '--as-of'?" in option.output


# --------------------------------------------------------------------- 6. init and lint


def test_init_proposes_only_rules_its_lint_accepts(tmp_path):
    from kpirules.connectors import open_source
    from kpirules.writeback.scaffold import example_rules

    for data in (open_source(str(EXAMPLE)).read().data, None):
        rows = example_rules(data)
        kpi = tmp_path / "init.kpi"
        kpi.write_text("".join(f"{name}: {rule}\n" for name, rule, _, _ in rows), encoding="utf-8")
        result = invoke("lint", kpi, "--data", EXAMPLE, "--strict")
        assert result.exit_code == 0, result.output
        assert "no findings" in result.output
    rules = {name: rule for name, rule, _, _ in example_rules(open_source(str(EXAMPLE)).read().data)}
    assert rules["signups_per_visits"] == "signups / visits >= 2% weekly"  # the outcome over the activity
    assert not any("change(visits)" in r or "visits / signups" in r for r in rules.values())
    # The workbook init sets up: lint's only advice is to name an owner.
    book = tmp_path / "new.xlsx"
    assert invoke("init", book).exit_code == 0
    linted = invoke("lint", book, "--format", "json")  # stderr also says the new Data tab is empty
    codes = {f["code"] for f in json.loads(linted.stdout)["findings"]}
    assert codes <= {"KPI006"}


def test_lint_knows_a_freshness_rule_from_a_vanity_kpi(tmp_path):
    kpi = tmp_path / "r.kpi"
    kpi.write_text("visits_arrive: count(visits) >= 1 daily\nlikes_weekly: likes >= 50k weekly\n")
    findings = json.loads(invoke("lint", kpi, "--format", "json").output)["findings"]
    assert [(f["rule"], f["code"]) for f in findings] == [("likes_weekly", "KPI001")]


# --------------------------------------------------------------------- 7. the written sheet


def test_messages_are_one_line_and_an_old_note_goes_when_the_error_is_fixed(tmp_path):
    book = workbook(tmp_path / "k.xlsx", [("typo", "signup / visits >= 2% weekly", "yes")])
    invoke("run", book, "--as-of", AS_OF.isoformat())
    ws = openpyxl.load_workbook(book)["Rules"]
    message = [c.value for c in ws[1]].index("Message") + 1
    cell = ws.cell(row=2, column=message)
    assert "\n" not in cell.value and "^" in cell.comment.text and not cell.alignment.wrap_text
    wb = openpyxl.load_workbook(book)
    wb["Rules"].cell(row=2, column=2).value = "signups / visits >= 2% weekly"
    wb.save(book)
    invoke("run", book, "--as-of", AS_OF.isoformat())
    assert openpyxl.load_workbook(book)["Rules"].cell(row=2, column=message).comment is None
    init = tmp_path / "init.xlsx"
    invoke("init", init)
    ws = openpyxl.load_workbook(init)["Rules"]
    assert not any(c.alignment.wrap_text for row in ws.iter_rows(min_row=2) for c in row)


# --------------------------------------------------------------------- 8. words and numbers


def test_counts_agree_with_their_nouns(tmp_path):
    from kpirules.format import plural

    assert (plural(1, "day"), plural(8, "row"), plural(1234, "rule")) == ("1 day", "8 rows", "1,234 rules")
    csv = tmp_path / "d.csv"
    csv.write_text("date,visits\n2026-11-25,100\n2026-11-25,oops\n2026-11-25,lots\n", encoding="utf-8")
    rules = tmp_path / "r.kpi"
    rules.write_text("traffic: visits >= 1 daily\n")
    result = json.loads(invoke("check", csv, "--rules", rules, "--as-of", AS_OF.isoformat(),
                               "--format", "json").output)["results"][0]
    assert result["error"]["message"].endswith("(and 1 more bad cell)")
    import yaml

    funnel = ROOT / "examples" / "tests" / "funnel.yaml"
    first = yaml.safe_load(funnel.read_text())["tests"][0]["name"]
    out = invoke("test", funnel, "--run", f"^{re.escape(first)}$")
    assert "\n1 test: 1 passed, 0 failed" in out.output
    from kpirules.results import Detail, RuleResult, Status, Term
    from kpirules.writeback.history import numbers

    term = Term(label="spend", func="sum", column="spend", value=2311.68, rows=8, cells=8, days=1)
    detail = Detail(expression="spend", value=2311.68, terms=(term,), rows=8, days=1)
    assert numbers(RuleResult(name="x", rule="x", status=Status.PASS, detail=detail)).endswith("(8 rows, 1 day)")


def test_explain_says_a_disabled_rule_is_disabled():
    out = invoke("explain", EXAMPLE, "likes_target", "--as-of", AS_OF.isoformat())
    assert out.exit_code == 0
    assert "likes_target is disabled" in out.output and "0 segments" not in out.output
    assert "169,734" in out.output  # and how it would come out: examples/README.md's number


def test_readme_exit_statuses_match_the_spec():
    def table(text: str) -> dict[int, str]:
        return {int(m.group(1)): m.group(2) for m in re.finditer(r"^\| (\d) \| ([^|]+)\|", text, re.M)}

    readme = table((ROOT / "README.md").read_text(encoding="utf-8"))
    spec = table((ROOT / "docs" / "spec" / "cli.md").read_text(encoding="utf-8"))
    assert sorted(readme) == sorted(spec) == list(range(8))
    assert "3, 2, 7, 5, 6, 1, 0" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_a_failed_notification_is_reported_once_and_links_are_web_addresses(tmp_path):
    from test_run_xlsx import make_workbook

    slack, gone = Receiver(200), Receiver(404)
    try:
        settings = tmp_path / "kpirules.toml"
        settings.write_text(f'[[notifications]]\nname = "team"\ntype = "slack"\nwebhook_url = "{slack.url}"\n'
                            f'[[notifications]]\nname = "bi"\ntype = "webhook"\nurl = "{gone.url}"\n')
        book = make_workbook(tmp_path / "k.xlsx")
        result = invoke("run", book, "--as-of", AS_OF.isoformat(), "--config", settings)
        failures = [line for line in result.output.splitlines() if "NOT delivered" in line]
        sent, total = map(int, re.search(r"(\d+)/(\d+) notifications sent", result.output).groups())
        # Each failed delivery once (each was printed twice before: by the log and by run).
        assert failures and len(failures) == len(set(failures)) == total - sent, result.output
        assert slack.bodies and not any(str(book) in json.dumps(b) or "Open the sheet" in json.dumps(b)
                                        for b in slack.bodies)
        settings.write_text(settings.read_text().replace(
            "[[notifications]]", 'sheet_url = "https://example.com/kpis.xlsx"\n[[notifications]]', 1))
        slack.bodies.clear()
        invoke("run", make_workbook(tmp_path / "k2.xlsx"), "--as-of", AS_OF.isoformat(), "--config", settings)
        assert slack.bodies and all("https://example.com/kpis.xlsx|Open the sheet" in json.dumps(b)
                                    for b in slack.bodies)
    finally:
        slack.close()
        gone.close()
