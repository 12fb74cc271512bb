"""A Rules tab its owners edit between runs: History, alerts and the Dashboard follow the
rule (real xlsx files, the Sheets emulator over HTTP)."""

from __future__ import annotations

import openpyxl
from click.testing import CliRunner
from test_run_common import AS_OF, RULES, USER_COLUMNS, history_keys
from test_run_sheets import emulator  # noqa: F401 (a fixture)
from test_run_xlsx import make_workbook, tab_rows

from kpirules.cli.main import cli

CLEAN = [r for r in RULES if r["Name"] != "typo"]


def run(source):
    return CliRunner().invoke(cli, ["run", str(source), "--as-of", AS_OF.isoformat()])


def test_a_rule_renamed_only_in_its_capitals_keeps_its_history_and_alerts_nothing_again(tmp_path, emulator):
    # Names are compared without case (two rules "conversion" and "Conversion" are one name,
    # the second an ERROR), but History was keyed by the name as written: after
    # conversion -> Conversion the rule started a second History and its WARN was alerted
    # again as new.
    from test_run_sheets import KEY, make_sheet, rules_tab

    book = make_workbook(tmp_path / "kpis.xlsx", rules=CLEAN)
    make_sheet(emulator, rules=rules_tab(USER_COLUMNS, CLEAN))
    for source, history in ((book, lambda: tab_rows(book, "History")),
                            (KEY, lambda: emulator.values(KEY, "History"))):
        first = run(source)
        assert first.exit_code == 1 and "alert: conversion: new -> WARN" in first.output, first.output
        keys = history_keys(history())
        if source == book:
            wb = openpyxl.load_workbook(book)
            wb["Rules"]["A2"] = "Conversion"
            wb.save(book)
        else:
            from kpirules_emulator.sheets import gspread_client_for

            gspread_client_for(emulator.host).open_by_key(KEY).worksheet("Rules").update_acell("A2", "Conversion")
        again = run(source)
        assert again.exit_code == 1, again.output
        assert "alert:" not in again.output and "0 new / 24 updated" in again.output, again.output
        renamed = history_keys(history())
        assert len(renamed) == len(keys)
        assert sorted(renamed) == sorted(("Conversion", *k[1:]) if k[0] == "conversion" else k for k in keys)
    board = tab_rows(book, "Dashboard")
    hist = tab_rows(book, "History")
    line = next(r for r in board if r[0] == "Conversion")
    refs = [int(f.rsplit("F", 1)[1]) for f in line[8:] if isinstance(f, str) and f.startswith("='History'!F")]
    assert len(refs) == 4 and all(hist[n - 1][0] == "Conversion" for n in refs)
