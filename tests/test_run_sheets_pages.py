"""`kpirules run` on a big Google Sheet reads what `check` reads: the head with every tab of
the run (Rules, History, Alerts, Settings, Dashboard, the lease), then only the columns the
rules use, in pages (connectors/gsheets_read.py). Real gspread over HTTP against the Sheets
emulator; the calls and the ranges asked for come from the emulator's request log."""

from __future__ import annotations

import csv
import json

from click.testing import CliRunner
from test_gsheets_pages import AS_OF, HEADERS, KEY, RULES, emulator, gets, ranges, wide_rows  # noqa: F401 (a fixture)

from kpirules.cli.main import cli

RUN_TABS = ["'Rules'", "'History'", "'Alerts'", "'Settings'", "'Dashboard'", "'kpirules-lease'"]


def apis(emu) -> list[str]:
    return [r["api"] for r in emu.requests() if r["api"].startswith("spreadsheets")]


def test_run_on_a_big_sheet_reads_only_the_columns_the_rules_use(emulator, tmp_path):
    rows = wide_rows(3_000)
    emulator.add_spreadsheet(KEY, {"Data": [HEADERS, *rows], "Rules": RULES})
    first = CliRunner().invoke(cli, ["run", KEY, "--as-of", AS_OF])
    assert first.exit_code in (0, 1), first.output
    emulator.reset_requests()

    # The next run: the tabs the first run created are there.
    from kpirules.writeback.runner import run

    outcome = run(KEY, as_of=__import__("datetime").date.fromisoformat(AS_OF))
    calls = gets(emulator)
    # One read of the head and every tab of the run, one page below it (A:H only: the 22
    # extra columns are never asked for), then the run's two writes.
    assert apis(emulator) == ["spreadsheets.get", "spreadsheets.get",
                              "spreadsheets.batchUpdate", "spreadsheets.batchUpdate"]
    assert ranges(calls[0]) == ["'Data'!1:1000", *RUN_TABS]
    assert ranges(calls[1]) == ["'Data'!A1001:H3001"]
    assert not any("extra" in str(c["query"]) for c in calls)

    # The same verdicts as `check` on the same data read whole from a CSV file.
    path = tmp_path / "wide.csv"
    with open(path, "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(HEADERS)
        out.writerows([[r[0].isoformat(), *r[1:]] for r in rows])
    rules = tmp_path / "rules.kpi"
    rules.write_text("".join(f"{n}: {r}\n" for n, r in RULES[1:]))
    from_csv = CliRunner().invoke(cli, ["check", str(path), "--rules", str(rules), "--as-of", AS_OF,
                                        "--format", "json"])
    theirs = json.loads(from_csv.output)["results"]
    ours = [(r.name, r.status.value, r.value) for r in outcome.report.results]
    assert ours == [(r["name"], r["status"], r["value"]) for r in theirs]
    assert len(ours) >= 6 and ours[0][2] is not None


def test_rows_of_the_same_columns_are_written_as_one_block():
    """History upserts (rows of the same engine columns, one under the other) are one
    updateCells with a row each, not one request a row; a row that also takes another
    column (Restated) starts its own block; rows not adjacent do not join."""
    from kpirules.writeback.plan import Out, TabPlan, WritePlan
    from kpirules.writeback.sheets import build_requests

    tab = TabPlan(title="History")
    for row in (2, 3, 4, 5, 9):
        for col in range(3):
            tab.set(row, col, Out(f"r{row}c{col}"))
    tab.set(4, 4, Out("was FAIL"))
    requests = [r["updateCells"] for r in build_requests(WritePlan(tabs=[tab]), {"History": 3})]
    blocks = [(r["start"]["rowIndex"] + 1, r["start"]["columnIndex"],
               [[c["userEnteredValue"]["stringValue"] for c in row["values"]] for row in r["rows"]])
              for r in requests]
    assert blocks == [(2, 0, [["r2c0", "r2c1", "r2c2"], ["r3c0", "r3c1", "r3c2"], ["r4c0", "r4c1", "r4c2"],
                              ["r5c0", "r5c1", "r5c2"]]),
                      (4, 4, [["was FAIL"]]),
                      (9, 0, [["r9c0", "r9c1", "r9c2"]])]
