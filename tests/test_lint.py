"""``kpirules lint``: every code with a rule that triggers it and one that does not,
rewrites that parse, the vocabulary file, suppression, and exit statuses (docs/lint.md)."""

from __future__ import annotations

import datetime as dt
import json
import re
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from kpirules.cli.main import cli
from kpirules.lint import RuleSet, lint, load_vocabulary
from kpirules.parser import parse_rule
from kpirules.rulesfile import parse_rules_file

START, END = dt.date(2026, 6, 1), dt.date(2026, 11, 22)  # as of 2026-11-23 for lint


def data_csv(path: Path) -> Path:
    """Daily rows with numbers chosen so each data check is easy to reason about:
    1,000 visits, 20 signups (so 140 a week), 3 orders on 20 signups... per day."""
    lines = ["date,visits,signups,orders,spend,likes,buyers"]
    day = START
    while day <= END:
        lines.append(f"{day.isoformat()},1000,20,100,10.5,500,3")
        day += dt.timedelta(days=1)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def lint_text(rules: str, *, table=None, **kwargs):
    entries = parse_rules_file(textwrap.dedent(rules), file="r.kpi")
    return lint([RuleSet("r.kpi", entries)], table=table, **kwargs)


def codes(result) -> list[tuple[str, str]]:
    return [(f.rule, f.code) for f in result.findings]


def rewrite_rule(rewrite: str) -> str:
    """The rule text of a rewrite such as ``name: rule   (note)``."""
    m = re.search(r"(?:^|: )([\w]+): (.+?)(?:   \(.*\))?$", rewrite)
    assert m, rewrite
    return m.group(2)


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    from kpirules.connectors import open_source
    from kpirules.table import load_table

    path = data_csv(tmp_path_factory.mktemp("data") / "data.csv")
    return load_table(open_source(str(path)).read().data)


# ------------------------------------------------------------------------- KPI001


def test_kpi001_vanity_metric_gets_an_outcome_ratio():
    result = lint_text("""\
        likes_weekly: likes >= 50k weekly by channel
        open_rate: opens / emails_sent >= 20% weekly
        zasieg: change(zasięg) >= 5% monthly
        conversion: signups / visits >= 2% weekly
        email_leads: leads / emails_sent >= 1% weekly
        both: change(revenue) >= 0 or change(likes) <= 0 weekly
        """)
    assert codes(result) == [("likes_weekly", "KPI001"), ("open_rate", "KPI001"), ("zasieg", "KPI001")]
    likes, opens, zasieg = result.findings
    assert "`likes` only counts likes" in likes.reason
    assert likes.rewrite.startswith("leads_per_likes: leads / likes >= 1% weekly by channel")
    # the base of a ratio of two activity metrics is its denominator
    assert opens.rewrite.startswith("leads_per_emails_sent: leads / emails_sent >= 1% weekly")
    assert zasieg.rewrite.startswith("leads_per_zasięg: leads / zasięg >= 0.5% monthly")
    for f in result.findings:
        parse_rule(rewrite_rule(f.rewrite))
    assert likes.location == "r.kpi:1"


def test_rewrites_quote_the_columns_that_need_it():
    result = lint_text('sends: `Emails sent` >= 1000 weekly by `Kanał reklamy` where `Typ kampanii` = "x"\n')
    (f,) = result.findings
    rule = rewrite_rule(f.rewrite)
    assert rule == 'leads / `Emails sent` >= 1% weekly by `Kanał reklamy` where `Typ kampanii` = "x"'
    parse_rule(rule)


def test_kpi001_suggests_an_outcome_the_data_has(table):
    result = lint_text("v: visits >= 1000 daily\nl: likes >= 10 daily\n", table=table)
    found = {f.rule: f for f in result.findings if f.code == "KPI001"}
    assert found["v"].rewrite.startswith("signups_per_visits: signups / visits >= 2% daily")
    # `leads` is not in the data: the first outcome of the vocabulary that is
    assert found["l"].rewrite.startswith("signups_per_likes: signups / likes")


def test_vocabulary_is_extendable(tmp_path: Path):
    team = tmp_path / "team.toml"
    team.write_text(textwrap.dedent("""\
        ignore = ["visits"]
        [activity.claps]
        what = "claps on articles"
        outcome = "subscribers"
        target = "2%"
        aliases = ["oklaski"]
        """), encoding="utf-8")
    vocabulary = load_vocabulary([str(team)])
    result = lint_text("a: oklaski >= 10 weekly\nb: visits >= 10 weekly\n", vocabulary=vocabulary)
    assert codes(result) == [("a", "KPI001")]
    assert "claps on articles" in result.findings[0].reason
    assert result.findings[0].rewrite.startswith("subscribers_per_oklaski: subscribers / oklaski >= 2% weekly")


def test_vocabulary_file_mistakes_are_reported(tmp_path: Path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[activity.claps]\noutcom = \"x\"\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["lint", str(tmp_path / "r.kpi"), "--vocabulary", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:2:1: vocabulary: unknown key `activity.claps.outcom`" in result.output


# ------------------------------------------------------------------------- KPI002


def test_kpi002_ratio_over_a_small_denominator(table):
    result = lint_text("""\
        order_rate: orders / buyers >= 30% weekly
        guarded: orders / buyers >= 30% or buyers < 40 weekly
        conversion: signups / visits >= 2% weekly
        per_spend: orders / spend >= 1% weekly
        """, table=table)
    assert [c for c in codes(result) if c[1] == "KPI002"] == [("order_rate", "KPI002")]
    (f,) = [f for f in result.findings if f.code == "KPI002"]
    # 3 buyers a day = 21 a week; a 30% share needs (1 - 0.3) / (0.3 * 0.25^2) = 37.3 -> 38
    assert "`buyers` is a median 21 per week (last 8 weeks)" in f.reason
    assert "it needs about 38" in f.reason
    assert f.rewrite.startswith("order_rate: orders / buyers >= 30% over last 2 weeks")
    parse_rule(rewrite_rule(f.rewrite))


def test_kpi002_needs_data_and_falls_back_to_a_guard(table):
    assert not lint_text("order_rate: orders / buyers >= 30% weekly\n").findings
    result = lint_text("r: orders / buyers >= 30% daily\n", table=table, min_volume=10_000)
    (f,) = result.findings
    assert "it needs about 10,000" in f.reason
    # 3,334 days would be silly: the rewrite keeps the window and guards the volume (the
    # language's `with at least` makes it INCONCLUSIVE, no longer a silent pass)
    assert f.rewrite.startswith("r: orders / buyers >= 30% daily with at least 10000 buyers")
    parse_rule(rewrite_rule(f.rewrite))
    guarded = lint_text("r: orders / buyers >= 30% daily with at least 10000 buyers\n", table=table,
                        min_volume=10_000)
    assert not guarded.findings
    sure = lint_text("r: orders / buyers >= 30% daily with 95% confidence\n", table=table,
                     min_volume=10_000)
    assert not sure.findings


# ------------------------------------------------------------------------- KPI003


def test_kpi003_threshold_written_for_another_window(table):
    result = lint_text("""\
        orders_daily: orders >= 3000 daily
        orders_ok: orders >= 90 daily
        """, table=table)
    assert codes(result) == [("orders_daily", "KPI003")]
    (f,) = result.findings
    # the median of the last four months (31, 30, 31 and 31 days of 100)
    assert "typically 100 per day but 3,100 per month" in f.reason
    assert f.rewrite == "orders_daily: orders >= 3000 monthly"


def test_kpi003_without_data_compares_rules_on_the_same_count():
    result = lint_text("""\
        orders_daily: orders >= 1000 daily
        orders_weekly: orders >= 1000 weekly
        orders_monthly: orders >= 30k monthly
        """)
    assert codes(result) == [("orders_weekly", "KPI003")]
    (f,) = result.findings
    # judged against the rule nearest the group's median daily rate: 30k / 30.44 days
    assert "143 a day while `orders_monthly` (line 3) asks 986 a day" in f.reason
    assert f.rewrite == "if `orders_monthly` is right: orders_weekly: orders >= 6900 weekly"  # 985.5 x 7, two digits
    pair = lint_text("a: orders >= 1000 daily\nb: orders >= 1000 weekly\n")
    assert [(f.rule, f.code) for f in pair.findings] == [("b", "KPI003")]


# ------------------------------------------------------------------------- KPI004


def test_kpi004_duplicates_however_written():
    result = lint_text("""\
        a: signups / visits >= 2% weekly
        b: sum(signups) / Visits >= 0.02 weekly
        c: signups / visits >= 2% monthly
        d: x >= 1 weekly where ch in ("a", "b")
        e: x >= 1 weekly where ch in ("b", "a")
        """)
    assert codes(result) == [("b", "KPI004"), ("e", "KPI004")]
    assert result.findings[0].rewrite == "delete `b` and keep `a`"
    assert "`a` (line 1)" in result.findings[0].reason


# ------------------------------------------------------------------------- KPI005


def test_kpi005_contradictory_thresholds():
    result = lint_text("""\
        high: signups / visits >= 3% weekly
        low: signups / visits <= 2% weekly
        band: signups / visits between 2% and 4% weekly
        other_window: signups / visits <= 2% monthly
        other_segment: signups / visits <= 2% weekly by channel
        """)
    assert codes(result) == [("low", "KPI005")]
    (f,) = result.findings
    assert "`signups / visits <= 2%` and `signups / visits >= 3%` of `high` (line 1) cannot both pass" in f.reason
    assert f.rewrite.endswith("if a band was meant: low: signups / visits between 2% and 3% weekly")
    parse_rule(rewrite_rule(f.rewrite))


def test_kpi005_touching_bounds():
    assert codes(lint_text("a: x >= 5 weekly\nb: x <= 5 weekly\n")) == []
    assert codes(lint_text("a: x > 5 weekly\nb: x <= 5 weekly\n")) == [("b", "KPI005")]


# ------------------------------------------------------------------------- KPI006


def workbook(path: Path, rules: list[list]) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Data"
    ws.append(["Date", "Visits", "Signups"])
    ws.append([dt.date(2026, 11, 16), 1000, 20])
    rt = wb.create_sheet("Rules")
    for row in rules:
        rt.append(row)
    wb.save(path)
    return path


def test_kpi006_owner_and_description_where_the_tab_has_them(tmp_path: Path):
    book = workbook(tmp_path / "book.xlsx", [
        ["Name", "Rule", "Owner", "Description"],
        ["conversion", "signups / visits >= 2% weekly", "Ana", "Funnel health"],
        ["orphan", "signups / visits >= 1% weekly", None, "Floor"],
        ["bare", "signups / visits >= 1.5% weekly", "", None],
    ])
    result = CliRunner().invoke(cli, ["lint", str(book), "--format", "json"])
    assert result.exit_code == 0, result.output
    findings = [f for f in json.loads(result.output)["findings"] if f["code"] == "KPI006"]
    assert [(f["rule"], f["cell"]) for f in findings] == [("orphan", "Rules!B3"), ("bare", "Rules!B4")]
    assert findings[0]["reason"] == "it has no owner: nobody is named to act when it fails"
    assert findings[0]["rewrite"].startswith("fill in Rules!C3 (the person who acts")
    assert "no owner or description" in findings[1]["reason"]
    assert "Rules!C4" in findings[1]["rewrite"] and "Rules!D4" in findings[1]["rewrite"]


def test_kpi006_polish_headers_and_never_for_rule_files(tmp_path: Path):
    book = workbook(tmp_path / "pl.xlsx", [
        ["Name", "Rule", "Właściciel", "Opis"],
        ["konwersja", "signups / visits >= 2% weekly", None, "Lejek"],
    ])
    result = CliRunner().invoke(cli, ["lint", str(book)])
    assert "KPI006 `konwersja`: it has no owner" in result.output
    (tmp_path / "r.kpi").write_text("konwersja: signups / visits >= 2% weekly\n", encoding="utf-8")
    assert "KPI006" not in CliRunner().invoke(cli, ["lint", str(tmp_path / "r.kpi")]).output


# ------------------------------------------------------------------------- KPI007


def test_kpi007_equality_on_a_ratio():
    result = lint_text("""\
        exact: signups / visits = 2% weekly
        avg_exact: avg(orders) = 100 weekly
        count_exact: count(orders) = 7 weekly
        """)
    assert codes(result) == [("exact", "KPI007"), ("avg_exact", "KPI007")]
    assert result.findings[0].rewrite.startswith("exact: signups / visits between 1.9% and 2.1% weekly")
    for f in result.findings:
        parse_rule(rewrite_rule(f.rewrite))


# ------------------------------------------------------------------------ the command


BAD = """\
likes_weekly: likes >= 50k weekly
conversion: signups / visits >= 2% weekly
"""


def test_findings_are_advice_unless_strict(tmp_path: Path):
    rules = tmp_path / "r.kpi"
    rules.write_text(BAD, encoding="utf-8")
    plain = CliRunner().invoke(cli, ["lint", str(rules)])
    assert plain.exit_code == 0
    assert f"{rules}:1: KPI001 `likes_weekly`:" in plain.output
    assert "    rewrite: leads_per_likes: leads / likes >= 1% weekly" in plain.output
    assert "2 rules linted: 1 finding" in plain.output
    assert CliRunner().invoke(cli, ["lint", str(rules), "--strict"]).exit_code == 4
    assert CliRunner().invoke(cli, ["lint", str(rules), "--strict", "--ignore", "KPI001"]).exit_code == 0
    assert CliRunner().invoke(cli, ["lint", str(rules), "--ignore", "KPI999"]).exit_code == 2


def test_invalid_rules_exit_2_even_with_findings(tmp_path: Path):
    rules = tmp_path / "r.kpi"
    rules.write_text(BAD + "broken: signups / >= 2% weekly\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["lint", str(rules), "--strict"])
    assert result.exit_code == 2
    assert f"{rules}:3:" in result.output and "KPI001" in result.output


def test_noqa_suppresses_a_code_on_its_line(tmp_path: Path):
    rules = tmp_path / "r.kpi"
    rules.write_text("a: likes >= 1 weekly  # noqa: KPI001\nb: likes >= 2 weekly # noqa: KPI004\n"
                     "c: likes >= 3 weekly # noqa\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["lint", str(rules), "--format", "json"])
    assert [f["rule"] for f in json.loads(result.output)["findings"]] == ["b"]


def test_json_output_and_data_option(tmp_path: Path):
    rules = tmp_path / "r.kpi"
    rules.write_text("orders_daily: orders >= 3000 daily\nok: signups / visits >= 2% weekly\n",
                     encoding="utf-8")
    csv = data_csv(tmp_path / "data.csv")
    result = CliRunner().invoke(cli, ["lint", str(rules), "--data", str(csv), "--format", "json",
                                      "--strict"])
    assert result.exit_code == 4
    doc = json.loads(result.output)
    assert doc["rules"] == 2 and doc["problems"] == []
    (f,) = doc["findings"]
    assert {k: f[k] for k in ("code", "rule", "file", "line")} == {
        "code": "KPI003", "rule": "orders_daily", "file": str(rules), "line": 1}
    assert f["rewrite"] == "orders_daily: orders >= 3000 monthly"


def test_missing_file_is_a_source_error(tmp_path: Path):
    assert CliRunner().invoke(cli, ["lint", str(tmp_path / "none.kpi")]).exit_code == 3


def test_the_example_rules_are_clean():
    root = Path(__file__).resolve().parent.parent
    result = CliRunner().invoke(cli, ["lint", str(root / "examples" / "marketing.kpi"), "--strict"])
    assert result.exit_code == 0, result.output


def test_pre_commit_hooks_run_real_commands_on_rule_files():
    import yaml

    root = Path(__file__).resolve().parent.parent
    hooks = {h["id"]: h for h in yaml.safe_load((root / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"kpirules-validate", "kpirules-lint"}
    for hook in hooks.values():
        assert re.search(hook["files"], "rules/funnel.kpi") and not re.search(hook["files"], "a.kpi.bak")
        program, command = hook["entry"].split()
        assert program == "kpirules"
        assert CliRunner().invoke(cli, [command, *hook.get("args", []), "--help"]).exit_code == 0
    assert hooks["kpirules-lint"]["args"] == ["--strict"]


def test_json_lists_a_file_that_could_not_be_read(tmp_path):
    """lint --format json said {"findings": [], "problems": [], "rules": 0} for a rules file
    it could not read (the error only on stderr): a script reading the document took it
    for a clean file. It is listed under `unreadable`, as validate lists it."""
    import json

    from click.testing import CliRunner

    from kpirules.cli.main import cli

    good = tmp_path / "a.kpi"
    good.write_text("conv: signups / visits >= 2% weekly\n", encoding="utf-8")
    broken = tmp_path / "b.kpi"
    broken.write_bytes("b: wyświetlenia >= 1 weekly\n".encode("cp1250"))
    res = CliRunner().invoke(cli, ["lint", str(good), str(broken), "--format", "json"])
    assert res.exit_code == 3, res.output
    doc = json.loads(res.stdout)
    assert doc["rules"] == 1
    assert [u["file"] for u in doc["unreadable"]] == [str(broken)] and "UTF-8" in doc["unreadable"][0]["message"]
    clean = json.loads(CliRunner().invoke(cli, ["lint", str(good), "--format", "json"]).stdout)
    assert "unreadable" not in clean
