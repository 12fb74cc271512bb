"""Text from the user's data (segment cells, rule names, file names) printed to a terminal:
control characters, DEL and bidi overrides are shown as escapes (``\\x1b``, ``\\u202e``),
each result stays on its line, JSON stays exact, and a workbook written back holds what
an xlsx file can hold (real CSV and xlsx files, the CLI through click's CliRunner)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from test_run_common import AS_OF, data_rows, history_keys
from test_run_xlsx import make_workbook, tab_rows

from kpirules.cli.main import cli
from kpirules.cli.output import status_text, terminal_text
from kpirules.errors import shown, xml_text

# What a terminal acts on: none may reach it raw.
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

# Campaign names a hostile export can carry in a CSV file (the reader refuses C0 controls
# other than tab, newline and carriage return in a text file: those come by xlsx below).
CSV_CAMPAIGNS = {
    "cr": "fine\rPASS    everything",  # \r rewinds the line: the FAIL before it hidden
    "lines": "two\nlines\tand a tab",
    "bidi": "abc\u202eLIAF",  # RIGHT-TO-LEFT OVERRIDE: "FAIL" printed backwards
    "c1": "csi\x9b2J del\x7f",  # U+009B is a one-character ESC [
}


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), env={"NO_COLOR": "1"}, catch_exceptions=False)


@pytest.fixture
def hostile_csv(tmp_path: Path):
    lines = ["date,campaign,visits,signups"]
    for day in range(9, 26):
        for name in CSV_CAMPAIGNS.values():
            quoted = '"' + name.replace('"', '""') + '"'
            lines.append(f"2026-11-{day:02d},{quoted},1000,10")
    data = tmp_path / "data.csv"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="")
    rules = tmp_path / "rules.kpi"
    rules.write_text("by_campaign: signups / visits >= 2% weekly by campaign\n", encoding="utf-8")
    return data, rules


def test_check_shows_control_characters_of_segments_as_escapes_one_result_a_line(hostile_csv):
    data, rules = hostile_csv
    res = invoke("check", str(data), "--rules", str(rules), "--as-of", "2026-11-26")
    assert res.exit_code == 1, res.output
    assert not RAW.search(res.output), repr(res.output)
    lines = res.output.splitlines()
    results = [line for line in lines if line.startswith("FAIL")]
    assert len(results) == 4, lines  # one line each: no value broke the table
    shown_names = "\n".join(results)
    for escaped in ("fine\\x0dPASS", "two\\x0alines\\x09and a tab", "abc\\u202eLIAF", "csi\\x9b2J del\\x7f"):
        assert escaped in shown_names
    # The columns still line up: every message starts at the same place.
    assert len({line.index("1.00% misses") for line in results}) == 1


def test_check_json_keeps_the_exact_values(hostile_csv):
    data, rules = hostile_csv
    res = invoke("check", str(data), "--rules", str(rules), "--as-of", "2026-11-26", "--format", "json")
    doc = json.loads(res.output)
    assert {r["segment"]["campaign"] for r in doc["results"]} == set(CSV_CAMPAIGNS.values())


def test_explain_shows_control_characters_of_segments_as_escapes(hostile_csv):
    data, rules = hostile_csv
    res = invoke("explain", str(data), "by_campaign", "--rules", str(rules), "--as-of", "2026-11-26")
    assert res.exit_code == 1, res.output
    assert not RAW.search(res.output), repr(res.output)
    assert "campaign=two\\x0alines\\x09and a tab" in res.output
    assert "campaign=abc\\u202eLIAF" in res.output


def test_a_line_printed_keeps_kpirules_colours_and_escapes_any_other_sequence():
    fail = status_text("FAIL", True)
    hostile = "evil\x1b[2J\x1b]0;pwned\x07\x1b]8;;http://evil.example\x1b\\link\x1b[8m"
    line = terminal_text(f"{fail} {hostile}\nnext line\ttab")
    assert line.startswith(fail)  # our own colour codes stay
    assert line.count("\x1b") == fail.count("\x1b")  # and nothing else reaches the terminal raw
    assert "evil\\x1b[2J\\x1b]0;pwned\\x07\\x1b]8;;http://evil.example\\x1b\\link\\x1b[8m" in line
    assert line.endswith("\nnext line\ttab")  # the layout's own newline and tab are kept
    assert shown("a\tb\nc") == "a\\x09b\\x0ac"  # a value on its one line
    assert shown("plain text ąę") == "plain text ąę"


def test_xml_text_keeps_what_xml_holds_and_escapes_the_rest():
    assert xml_text("a\x07b\x1b[2J\tc\nd\re") == "a\\x07b\\x1b[2J\tc\nd\re"
    assert xml_text("ok ąę \u202e") == "ok ąę \u202e"


def _hostile_book(tmp_path: Path) -> Path:
    """A workbook whose data name a campaign with a BEL and an ESC, as Excel stores them
    (``_x0007_``): calamine, the xlsx reader, reads them back as the characters."""
    rows = [[d, "bell_x0007_ring_x001B_[2J" if campaign == "social_prospect" else campaign, v, s]
            for d, campaign, v, s in data_rows()]
    return make_workbook(tmp_path / "kpis.xlsx", rows=rows)


def test_run_of_a_segment_with_control_characters_writes_a_workbook_that_opens_again(tmp_path):
    book = _hostile_book(tmp_path)
    first = CliRunner().invoke(cli, ["run", str(book), "--as-of", AS_OF.isoformat()], env={"NO_COLOR": "1"})
    assert "internal error" not in first.output, first.output
    assert not RAW.search(first.output), repr(first.output)
    assert "campaign=bell\\x07ring\\x1b[2J" in first.output
    # Every part of the file is XML a program reads: openpyxl opens it, charts included.
    history = tab_rows(book, "History")
    segments = {row[1] for row in history[1:] if row[1] and "bell" in row[1]}
    assert segments == {"campaign=bell\\x07ring\\x1b[2J"}  # nothing dropped: shown as escapes
    alerts = [row for row in tab_rows(book, "Alerts") if row[2] and "bell" in str(row[2])]
    assert len(alerts) == 1
    # The next run finds the rows it wrote: it updates them and alerts nothing anew.
    second = CliRunner().invoke(cli, ["run", str(book), "--as-of", AS_OF.isoformat()], env={"NO_COLOR": "1"})
    assert "internal error" not in second.output, second.output
    assert "0 new / 24 updated" in second.output and "0 alerts" in second.output, second.output
    keys = history_keys(tab_rows(book, "History"))
    assert len(keys) == len(set(keys))
    wb = openpyxl.load_workbook(book)
    titles = [c.title.tx.rich.p[0].r[0].t for c in wb["Dashboard"]._charts if c.title is not None]
    assert titles and not any(RAW.search(t) for t in titles)


def test_check_of_a_workbook_shows_escape_sequences_of_its_cells_as_escapes(tmp_path):
    book = _hostile_book(tmp_path)
    res = invoke("check", str(book), "--as-of", AS_OF.isoformat())
    assert "by_campaign [bell\\x07ring\\x1b[2J]" in res.output, res.output
    assert not RAW.search(res.output), repr(res.output)


def test_validate_lint_and_check_keep_a_hostile_rules_tab_on_its_lines(tmp_path):
    """Rule names typed (or pasted) into a Rules tab with a line break and escape sequences."""
    from test_run_common import RULES

    rules = [dict(r) for r in RULES]
    rules[0]["Name"] = "conv\nersion_x001B_[2J"  # Alt+Enter, then ESC as Excel stores it
    rules[2]["Name"] = "bro\nken_x001B_]0;title_x0007_"
    rules[2]["Rule"] = "signups >="
    book = make_workbook(tmp_path / "kpis.xlsx", rules=rules)
    validate = invoke("validate", str(book))
    assert validate.exit_code == 1, validate.output
    lint = invoke("lint", str(book))
    check = invoke("check", str(book), "--as-of", AS_OF.isoformat())
    for res in (validate, lint, check):
        assert not RAW.search(res.output), repr(res.output)
        assert not any(line.startswith(("ersion", "ken")) for line in res.output.splitlines())  # no name split
    assert "conv\\x0aersion\\x1b[2J" in check.output
    assert "bro\\x0aken\\x1b]0;title\\x07" in check.output


def test_a_google_sheet_run_with_control_characters_in_a_segment_keeps_one_history(monkeypatch):
    """The same segment text as in an xlsx file (the escapes), so a workbook moved between
    the two keeps its History; and the next run finds its rows (Sheets emulator over HTTP)."""
    from test_run_sheets import KEY, make_sheet

    from kpirules_emulator.sheets import SheetsEmulator

    rows = [[d, "bell\x07ring\x1b[2J" if campaign == "social_prospect" else campaign, v, s]
            for d, campaign, v, s in data_rows()]
    with SheetsEmulator() as emu:
        monkeypatch.setenv("KPIRULES_SHEETS_EMULATOR_HOST", emu.host)
        make_sheet(emu, rows=rows)
        first = CliRunner().invoke(cli, ["run", KEY, "--as-of", AS_OF.isoformat()], env={"NO_COLOR": "1"})
        assert "internal error" not in first.output and not RAW.search(first.output), first.output
        history = emu.values(KEY, "History")
        assert {r[1] for r in history[1:] if r[1] and "bell" in r[1]} == {"campaign=bell\\x07ring\\x1b[2J"}
        second = CliRunner().invoke(cli, ["run", KEY, "--as-of", AS_OF.isoformat()], env={"NO_COLOR": "1"})
        assert "0 new / 24 updated" in second.output and "0 alerts" in second.output, second.output
        keys = history_keys(emu.values(KEY, "History"))
        assert len(keys) == len(set(keys))


def test_a_file_name_with_control_characters_is_shown_escaped(tmp_path):
    """A real process writing to a pipe: a rules file whose name holds a newline and ESC."""
    import subprocess
    import sys

    rules = tmp_path / "ru\nles\x1b[2J.kpi"
    rules.write_text("broken: signups >=\n", encoding="utf-8")
    for command in ("validate", "lint"):
        done = subprocess.run([sys.executable, "-m", "kpirules", command, str(rules)], capture_output=True,
                              text=True, encoding="utf-8", timeout=120)
        assert done.returncode in (1, 2), done.stderr
        assert "ru\\x0ales\\x1b[2J.kpi:1:19: syntax:" in done.stdout
        assert not RAW.search(done.stdout + done.stderr)
