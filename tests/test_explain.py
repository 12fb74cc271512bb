"""``kpirules explain`` checked against numbers computed by hand.

The data: two weeks (2026-11-09..22), three channels, one row per channel and day, and a
row per channel on 2026-11-25 (the current week, never evaluated: the data reach yesterday,
so they are not late).

    channel  visits/day  signups/day (week 1)  signups/day (week 2)
    email        100            1                     1
    social        50            1                     2
    search       200            1                     3

As of 2026-11-26 `weekly` is 2026-11-16..22 (week 2), and the previous period week 1.
Week 2: visits 350 x 7 = 2,450, signups 6 x 7 = 42, so 42 / 2,450 = 1.714%.
Week 1: visits 2,450, signups 3 x 7 = 21, so 0.857%; change = (1.714 - 0.857) / 0.857 = +100%.
Per channel in week 2: email 7 / 700 = 1%, search 21 / 1,400 = 1.5%, social 14 / 350 = 4%.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kpirules.cli.main import cli
from kpirules.explain import sparkline

AS_OF = "2026-11-26"
RULES = """\
conversion: signups / visits >= 1.5% weekly
by_channel: signups / visits >= 2% weekly by channel
growth: change(signups / visits) >= 10% weekly
either: signups >= 40 or visits >= 3000 weekly
"""
CHANNELS = {"email": (100, 1, 1), "social": (50, 1, 2), "search": (200, 1, 3)}


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("explain")
    lines = ["date,channel,visits,signups"]
    for i in range(14):
        day = dt.date(2026, 11, 9) + dt.timedelta(days=i)
        for channel, (visits, week1, week2) in CHANNELS.items():
            lines.append(f"{day.isoformat()},{channel},{visits},{week1 if i < 7 else week2}")
    lines += [f"2026-11-25,{channel},1,1" for channel in CHANNELS]
    data = folder / "data.csv"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rules = folder / "rules.kpi"
    rules.write_text(RULES, encoding="utf-8")
    return data, rules


def explain(files, name: str, *extra: str):
    data, rules = files
    result = CliRunner().invoke(cli, ["explain", str(data), name, "--rules", str(rules),
                                      "--as-of", AS_OF, *extra], catch_exceptions=False)
    return result


def engine_message(files, name: str, segment: dict | None = None) -> str:
    """What `check`/`run` say for the same rule: explain must open with the same words."""
    from kpirules import evaluate, load_table, parse_rules_file
    from kpirules.connectors import open_source

    data, rules = files
    entries = [e for e in parse_rules_file(rules.read_text(), str(rules)) if e.name == name]
    report = evaluate(entries, load_table(open_source(str(data)).read().data), dt.date(2026, 11, 26))
    return next(r.message for r in report.results if r.segment == segment)


def test_ratio(files):
    result = explain(files, "conversion")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "conversion: signups / visits >= 1.5% weekly"
    assert lines[1].split(None, 1) == ["PASS", engine_message(files, "conversion")]
    out = result.output
    assert "period     2026-11-16 .. 2026-11-22 (weekly, as of 2026-11-26)" in out
    assert "counted    21 rows on 7 days" in out
    assert "signups =         42   sum of 21 non-blank cells" in out
    assert "visits  =      2,450   sum of 21 non-blank cells" in out
    assert "value      signups / visits = 42 / 2,450 = 1.71%" in out
    assert "target     >= 1.5%: PASS" in out
    assert "previous   2026-11-09..15: 0.86%" in out
    # eight weekly periods; only the last two have data: 0.857% low, 1.714% high
    assert "history          ▁█  last 8 periods, oldest first (low 0.86%, high 1.71%)" in out


def test_segmented_rule_worst_first(files):
    result = explain(files, "by_channel")
    assert result.exit_code == 1, result.output  # as `check`: some segment fails
    lines = result.output.splitlines()
    assert lines[1] == "3 segments, worst first:"
    # both FAILs first, the one furthest below 2% (email, 1%) before search (1.5%)
    summary = [line.split()[:2] for line in lines[2:5]]
    assert summary == [["FAIL", "channel=email"], ["FAIL", "channel=search"], ["PASS", "channel=social"]]
    assert engine_message(files, "by_channel", {"channel": "email"}) in lines[2]
    out = result.output
    assert "value      signups / visits = 7 / 700 = 1.00%" in out
    assert "value      signups / visits = 21 / 1,400 = 1.50%" in out
    assert "value      signups / visits = 14 / 350 = 4.00%" in out
    assert out.count("counted    7 rows on 7 days") == 3
    # email was 1% in both weeks: a flat line; social went 2% -> 4%
    assert "channel=email         ▄▄  " in lines[2]
    assert "channel=social        ▁█  " in lines[4]
    assert out.index("FAIL    channel=email:") < out.index("FAIL    channel=search:") < out.index(
        "PASS    channel=social:")


def test_change_rule_shows_both_periods(files):
    result = explain(files, "growth")
    assert result.exit_code == 0, result.output
    out = result.output
    assert result.output.splitlines()[1].split(None, 1) == ["PASS", engine_message(files, "growth")]
    assert "now        signups / visits = 42 / 2,450 = 1.71%" in out
    assert "previous   2026-11-09..15: 21 rows on 7 days" in out
    assert "signups =         21   sum of 21 non-blank cells" in out  # the previous week's terms
    assert "signups / visits = 21 / 2,450 = 0.86%" in out
    assert "change     (1.71% - 0.86%) / 0.86% = 100.00%" in out
    assert "target     >= 10%: PASS" in out


def test_combined_condition_explains_each_part(files):
    out = explain(files, "either").output
    assert out.splitlines()[1].startswith("PASS")
    assert "part 1: signups >= 40: holds" in out
    assert "signups =         42   sum of 21 non-blank cells" in out
    assert "part 2: visits >= 3000: does not hold" in out
    assert "value      visits = 2,450" in out


def test_json(files):
    result = explain(files, "growth", "--format", "json")
    doc = json.loads(result.output)
    (r,) = doc["results"]
    assert r["status"] == "PASS" and r["value"] == pytest.approx(1.0)
    assert r["previous"]["value"] == pytest.approx(21 / 2450)
    assert [t["value"] for t in r["terms"]] == [42, 2450]
    assert len(r["history"]) == 8 and r["history"][-1]["period"] == {"start": "2026-11-16", "end": "2026-11-22"}
    assert [h["value"] for h in r["history"][:6]] == [None] * 6


def test_unknown_rule_suggests_the_closest(files):
    result = explain(files, "conversoin")
    assert result.exit_code == 2
    assert "no rule named 'conversoin'" in result.output and "did you mean 'conversion'?" in result.output


def test_invalid_rule_shows_the_problem(files, tmp_path: Path):
    rules = tmp_path / "bad.kpi"
    rules.write_text("broken: signups / >= 2% weekly\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["explain", str(files[0]), "broken", "--rules", str(rules)])
    assert result.exit_code == 2
    assert f"{rules}:1:" in result.output


def test_sparkline_scales_from_low_to_high():
    assert sparkline([1, 2, None, 8]) == "▁▂ █"
    assert sparkline([5, 5]) == "▄▄"
    assert sparkline([None, None]) == "  "


def test_json_errors_are_one_json_document_on_stdout(files, tmp_path):
    """--format json promises one JSON document on stdout: a rule that is not there or does
    not parse printed only text on stderr (a script's json.loads failed on '')."""
    result = explain(files, "convresion", "--format", "json")
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert error["category"] == "usage" and error["exit_status"] == 2
    assert "convresion" in error["message"] and "conversion" in error["hint"]
    assert "no rule named" in result.stderr
    data, _ = files
    broken = tmp_path / "broken.kpi"
    broken.write_text("open: sum(visits >= 1 daily\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["explain", str(data), "open", "--rules", str(broken), "--format", "json"])
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert error["category"] == "syntax" and error["problems"][0]["column"] == 10  # at the `(`


def test_a_polish_explain_says_every_working_line_in_polish(files, tmp_path):
    """A baseline averaged over earlier periods, a guard in another period, a confidence
    interval and pace: each line of the working in the run's language (`--lang pl`)."""
    data, _ = files
    rules = tmp_path / "rules.kpi"
    rules.write_text(
        "avg: change(signups) >= -50% weekly vs average of last 2\n"
        "guarded: signups / visits >= 1.5% weekly with at least 100 visits\n"
        "sure: signups / visits >= 1.5% weekly with 95% confidence\n"
        "paced: pace(signups) >= 10 month to date\n", encoding="utf-8")
    said = {}
    for name in ("avg", "guarded", "sure", "paced"):
        result = CliRunner().invoke(cli, ["explain", str(data), name, "--rules", str(rules), "--as-of", AS_OF,
                                          "--lang", "pl"], catch_exceptions=False)
        said[name] = result.output
    # Of the two weeks before, one has no data (the file starts 2026-11-09): left out of the mean.
    assert "  baza" in said["avg"] and "średnia z 1 = 21" in said["avg"] and "pominięty (" in said["avg"], said["avg"]
    assert "  minimum" in said["guarded"] and "(wystarczy)" in said["guarded"], said["guarded"]
    assert "  przedział" in said["sure"] and "przedział Wilsona" in said["sure"] and " wokół " in said["sure"]
    assert " dni = " in said["paced"], said["paced"]
    english = ("baseline", "left out", "mean of", "at least", "enough", "too few", "interval", "Wilson interval",
               "around", " days ")
    for name, text in said.items():
        working = "\n".join(text.splitlines()[1:])  # the first line is the rule, in rule words
        assert not [w for w in english if w in working], (name, text)
