"""Reading a Google Sheet by what the rules need (connectors/gsheets_read.py), against the
Sheets emulator over real HTTP: exact call counts for `check` with and without a Settings
tab, a wide sheet whose unused columns are never asked for (the emulator's request log),
the results identical to those of the same data as a CSV file, and the `timeout` setting.
Peak memory of the 100,000 x 20 read is measured in bench/sheets.py, not here."""

from __future__ import annotations

import csv
import datetime as dt
import json

import pytest
from click.testing import CliRunner

from kpirules.cli.main import cli

KEY = "wide"
AS_OF = "2026-11-26"
START = dt.date(2026, 7, 1)
RULES = [["Name", "Rule"],
         ["conversion", "sum(signups) / sum(visits) >= 2% weekly"],
         ["by_campaign", "sum(visits) >= 100 weekly by campaign"],
         ["paid", "sum(revenue) >= 10 daily where channel = \"paid\""]]
# 30 columns: the rules use visits, signups, revenue (metrics), campaign (by), channel
# (where); 24 filler columns no rule names.
HEADERS = ["date", "region", "note", "campaign", "channel", "visits", "signups", "revenue",
           *[f"extra_{i}" for i in range(22)]]


def wide_rows(n: int) -> list[list]:
    rows = []
    for i in range(n):
        day = START + dt.timedelta(days=(i * 149) // n)
        rows.append([day, f"r{i % 3}", "x", f"c{i % 4}", "paid" if i % 2 else "organic",
                     100 + i % 37, 2 + i % 5, round(0.5 + (i % 11) * 0.25, 2),
                     *[i * k for k in range(22)]])
    return rows


def as_csv(tmp_path, rows):
    """The same data as a CSV file and the same rules as a .kpi file: (data, rules)."""
    path = tmp_path / "wide.csv"
    with open(path, "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(HEADERS)
        out.writerows([[r[0].isoformat(), *r[1:]] for r in rows])
    rules = tmp_path / "rules.kpi"
    rules.write_text("".join(f"{n}: {r}\n" for n, r in RULES[1:]))
    return path, rules


@pytest.fixture
def emulator(sheets_emulator, monkeypatch):
    monkeypatch.setenv("KPIRULES_SHEETS_EMULATOR_HOST", sheets_emulator.host)
    for name in ("KPIRULES_CREDENTIALS", "GOOGLE_APPLICATION_CREDENTIALS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(sheets_emulator_dir(monkeypatch))
    return sheets_emulator


def sheets_emulator_dir(monkeypatch):
    import tempfile

    return tempfile.mkdtemp()  # no kpirules.toml around: the defaults


def gets(emu) -> list[dict]:
    return [r for r in emu.requests() if r["api"].startswith("spreadsheets")]


def ranges(call: dict) -> list[str]:
    asked = call["query"]["ranges"]
    return [asked] if isinstance(asked, str) else list(asked)


def check(*args):
    return CliRunner().invoke(cli, ["check", *args, "--as-of", AS_OF, "--format", "json"])


def small_sheet(emu, *, settings: bool) -> None:
    tabs = {"Data": [HEADERS[:8], *[r[:8] for r in wide_rows(300)]], "Rules": RULES}
    if settings:
        tabs["Settings"] = [["Key", "Value"], ["timezone", "Europe/Warsaw"]]
    emu.add_spreadsheet(KEY, tabs)


def test_check_costs_one_call_with_a_settings_tab_and_two_without(emulator):
    small_sheet(emulator, settings=True)
    assert check(KEY).exit_code in (0, 1)
    assert [(r["api"], r["status"]) for r in gets(emulator)] == [("spreadsheets.get", 200)]

    emulator.reset()
    small_sheet(emulator, settings=False)
    result = check(KEY)
    assert result.exit_code in (0, 1), result.output
    # Google's 400 names the Settings range: asked again without it, not 3 calls.
    assert [(r["api"], r["status"]) for r in gets(emulator)] == [("spreadsheets.get", 400),
                                                                ("spreadsheets.get", 200)]


def test_a_big_wide_sheet_is_read_by_the_columns_the_rules_use(emulator, tmp_path):
    rows = wide_rows(3_000)
    emulator.add_spreadsheet(KEY, {"Data": [HEADERS, *rows], "Rules": RULES,
                                   "Settings": [["Key", "Value"], ["timezone", "Etc/GMT"]]})
    result = check(KEY)
    assert result.exit_code in (0, 1), result.output
    calls = gets(emulator)
    # The head (rows 1-1,000, every column, with Rules and Settings), then one page: the
    # 2,001 rows below it, only A:H: the first three columns (the date column, and where
    # totals are labelled) and campaign..revenue; the 22 extra columns are never asked for.
    assert len(calls) == 2
    assert ranges(calls[0]) == ["'Data'!1:1000", "'Rules'", "'Settings'"]
    assert ranges(calls[1]) == ["'Data'!A1001:H3001"]
    assert not any("extra" in str(c["query"]) for c in calls)

    # The same results as the same data read whole from a CSV file.
    path, rules = as_csv(tmp_path, rows)
    from_csv = check(str(path), "--rules", str(rules))
    ours, theirs = json.loads(result.output)["results"], json.loads(from_csv.output)["results"]
    assert [(r["name"], r["status"], r["value"]) for r in ours] == \
        [(r["name"], r["status"], r["value"]) for r in theirs]
    assert len(ours) >= 6 and ours[0]["value"] is not None


def test_unused_columns_with_gaps_are_skipped_and_a_rules_file_reads_them_all(emulator, tmp_path):
    headers = ["date", "a", "b", *[f"pad_{i}" for i in range(10)], "visits", "more"]
    rows = [[START + dt.timedelta(days=i % 100), 1, 2, *range(10), i, 7] for i in range(1_500)]
    emulator.add_spreadsheet(KEY, {"Data": [headers, *rows],
                                   "Rules": [["Name", "Rule"], ["v", "sum(visits) >= 1 weekly"]]})
    assert check(KEY).exit_code in (0, 1, 6)  # 6: the data end months before the as-of date
    assert ranges(gets(emulator)[-1]) == ["'Data'!A1001:C1501", "'Data'!N1001:N1501"]
    # Rules from a file: the read does not know them, so it reads every column.
    emulator.reset_requests()
    rules = tmp_path / "rules.kpi"
    rules.write_text("v: sum(visits) >= 1 weekly\n")
    assert check(KEY, "--rules", str(rules)).exit_code in (0, 1, 6)
    assert ranges(gets(emulator)[-1]) == ["'Data'!A1001:O1501"]


def test_the_timeout_setting_is_used_and_a_slow_read_names_it(emulator, tmp_path):
    from kpirules.source import read_source

    small_sheet(emulator, settings=True)
    config = tmp_path / "kpirules.toml"
    config.write_text("timeout = 0.25\n")
    conn, _, settings = read_source(KEY, config=str(config))
    assert settings.timeout == 0.25 and conn.timeout == 0.25

    emulator.set_latency(1.0)  # every call answers after 1 s: past a 0.25 s timeout
    result = CliRunner().invoke(cli, ["check", KEY, "--as-of", AS_OF, "--config", str(config)])
    assert result.exit_code == 3, result.output
    assert "did not answer within 0.25 s" in result.output
    assert "`timeout`" in result.output  # the hint names the setting that exists
    emulator.set_latency(0)


def test_a_settings_tab_timeout_applies_to_the_pages(emulator):
    from kpirules.source import read_source

    emulator.add_spreadsheet(KEY, {"Data": [HEADERS[:8], *[r[:8] for r in wide_rows(1_200)]],
                                   "Rules": RULES, "Settings": [["Key", "Value"], ["timeout", "45"]]})
    conn, workbook, settings = read_source(KEY)
    assert settings.timeout == 45 and conn.timeout == 45
    assert len(workbook.data.rows) == 1_200


@pytest.mark.slow  # ~15-40 s on a shared 2-core machine: building 2M cells in the emulator
def test_a_hundred_thousand_rows_by_twenty_columns(emulator):
    n = 100_000
    headers = ["date", "campaign", "visits", "signups", *[f"x{i}" for i in range(16)]]
    rows = [[START + dt.timedelta(days=i // 700), f"c{i % 7}", 10 + i % 13, i % 3, *([i] * 16)]
            for i in range(n)]
    emulator.add_spreadsheet(KEY, {"Data": [headers, *rows], "Rules": [
        ["Name", "Rule"], ["conv", "sum(signups) / sum(visits) >= 1% weekly by campaign"]]})
    last = rows[-1][0]
    del rows
    # As of the day after the data's last date: the weeks judged are complete (not late).
    result = CliRunner().invoke(cli, ["check", KEY, "--as-of", (last + dt.timedelta(days=1)).isoformat(),
                                      "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    calls = gets(emulator)
    # Below the head: 99,001 rows x 4 columns (A:D), 50,000 rows a page. (Before them: the
    # head, after the one call that asked for the Settings tab this sheet does not have.)
    assert [ranges(c) for c in calls[-2:]] == [["'Data'!A1001:D51000"], ["'Data'!A51001:D100001"]]
    assert len(calls) == 4
    statuses = {r["status"] for r in json.loads(result.output)["results"]}
    assert statuses <= {"PASS", "WARN", "FAIL"} and statuses
