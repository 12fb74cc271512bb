"""`kpirules run` on a big Google Sheet reads what `check` reads: the head with every tab of
the run (Rules, History, Alerts, Settings, Dashboard, the lease), then only the columns the
rules use, in pages (connectors/gsheets_read.py). Real gspread over HTTP against the Sheets
emulator; the calls and the ranges asked for come from the emulator's request log."""

from __future__ import annotations

import json

from click.testing import CliRunner
from test_gsheets_pages import AS_OF, HEADERS, KEY, RULES, as_csv, emulator, gets, ranges, wide_rows  # noqa: F401 (a fixture)

from kpirules.cli.main import cli

RUN_TABS = ["'Rules'", "'Settings'", "'History'", "'Alerts'", "'Dashboard'", "'kpirules-lease'"]


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
    # extra columns are never asked for), then the run's write (no channel: one).
    assert apis(emulator) == ["spreadsheets.get", "spreadsheets.get", "spreadsheets.batchUpdate"]
    assert ranges(calls[0]) == ["'Data'!1:1000", *RUN_TABS]
    assert ranges(calls[1]) == ["'Data'!A1001:H3001"]
    assert not any("extra" in str(c["query"]) for c in calls)

    # The same verdicts as `check` on the same data read whole from a CSV file.
    path, rules = as_csv(tmp_path, rows)
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


SMALL = 300  # rows: the data tab fits in the head


def small_sheet(emu, **extra):
    emu.add_spreadsheet(KEY, {"Data": [HEADERS[:8], *[r[:8] for r in wide_rows(SMALL)]], "Rules": RULES,
                              **extra})


def titles(emu) -> list[str]:
    return [s["properties"]["title"] for s in emu.spreadsheet(KEY)["sheets"]]


def sheets_calls(emu) -> list[tuple[str, int]]:
    return [(c["api"], c["status"]) for c in emu.requests() if c["api"].startswith("spreadsheets")]


def test_a_first_run_on_a_bare_sheet_reads_twice_and_writes_as_any_run(emulator):
    """No Settings, History, Alerts, Dashboard or lease tab: Google's 400 names Settings
    (the first of them asked for); the read asks again for Data and Rules only, not for
    the tab list first. Then the run's write, which creates the tabs (no channel: nothing
    to send, so the lease is taken and given back in that one write)."""
    small_sheet(emulator)
    result = CliRunner().invoke(cli, ["run", KEY, "--as-of", AS_OF])
    assert result.exit_code in (0, 1), result.output
    assert sheets_calls(emulator) == [("spreadsheets.get", 400), ("spreadsheets.get", 200),
                                      ("spreadsheets.batchUpdate", 200)]
    assert ranges(gets(emulator)[1]) == ["'Data'!1:1000", "'Rules'"]
    assert {"Settings", "History", "Alerts", "Dashboard", "kpirules-lease"} <= set(titles(emulator))

    emulator.reset_requests()  # the next run: one read
    assert CliRunner().invoke(cli, ["run", KEY, "--as-of", AS_OF]).exit_code in (0, 1)
    assert apis(emulator) == ["spreadsheets.get", "spreadsheets.batchUpdate"]


def test_a_first_run_that_sends_alerts_reads_twice_and_writes_twice(emulator, tmp_path):
    """With a channel that its alerts go to: the 400, the read, the results with the lease,
    the sending, and the delivery states with the lease released. Each alert goes out
    once; the next run (nothing new) reads once and writes once."""
    from test_run_notify import Receiver

    small_sheet(emulator)
    hook = Receiver(200)
    config = tmp_path / "kpirules.toml"
    config.write_text(f'[[notifications]]\nname = "bi"\ntype = "webhook"\nurl = "{hook.url}"\n'
                      'on = ["fail", "warn"]\n')
    try:
        result = CliRunner().invoke(cli, ["run", KEY, "--as-of", AS_OF, "--config", str(config)])
        assert result.exit_code == 1, result.output
        assert sheets_calls(emulator) == [("spreadsheets.get", 400), ("spreadsheets.get", 200),
                                          ("spreadsheets.batchUpdate", 200), ("spreadsheets.batchUpdate", 200)]
        sent = [(b["rule"], str(b["segment"])) for b in hook.bodies]
        assert sent and len(sent) == len(set(sent))
        alerts = emulator.values(KEY, "Alerts")
        assert len(alerts) - 1 == len(sent) and all("webhook bi: sent" in str(r) for r in alerts[1:])
        lease = dict((r + [None, None])[:2] for r in emulator.values(KEY, "kpirules-lease"))
        assert lease["state"] == "free"

        emulator.reset_requests()
        again = CliRunner().invoke(cli, ["run", KEY, "--as-of", AS_OF, "--config", str(config)])
        assert again.exit_code == 1, again.output
        assert apis(emulator) == ["spreadsheets.get", "spreadsheets.batchUpdate"]
        assert len(hook.bodies) == len(sent)
    finally:
        hook.close()


def test_a_first_run_after_init_reads_twice(emulator):
    """`kpirules init` made Settings, History and Alerts; the first run finds the Dashboard
    (and, after it, the lease) missing: the tabs before it are read with the data."""
    small_sheet(emulator)
    assert CliRunner().invoke(cli, ["init", KEY]).exit_code == 0
    assert {"Settings", "History", "Alerts"} <= set(titles(emulator))
    emulator.reset_requests()
    result = CliRunner().invoke(cli, ["run", KEY, "--as-of", AS_OF])
    assert result.exit_code in (0, 1), result.output
    assert apis(emulator) == ["spreadsheets.get", "spreadsheets.get", "spreadsheets.batchUpdate"]
    assert ranges(gets(emulator)[1]) == ["'Data'!1:1000", "'Rules'", "'Settings'", "'History'", "'Alerts'"]


def test_a_tab_assumed_missing_that_is_there_costs_a_refused_write_and_nothing_else(emulator):
    """A bare sheet with a Dashboard tab of the user's own: the read assumes it missing
    (Settings is), the first write's addSheet is refused (all or nothing: nothing written),
    and the run starts over from the tab list: the user's Dashboard is left alone, the run
    writes its results, and no alert goes out twice."""
    theirs = [["Their own dashboard"], ["revenue", 12]]
    small_sheet(emulator, Dashboard=theirs)
    result = CliRunner().invoke(cli, ["run", KEY, "--as-of", AS_OF])
    assert result.exit_code in (0, 1), result.output
    writes = [(c["api"], c["status"]) for c in emulator.requests() if c["api"] == "spreadsheets.batchUpdate"]
    assert writes == [("spreadsheets.batchUpdate", 400), ("spreadsheets.batchUpdate", 200)]
    assert emulator.values(KEY, "Dashboard") == theirs
    assert {"Settings", "History", "Alerts", "kpirules-lease"} <= set(titles(emulator))
    history = emulator.values(KEY, "History")
    keys = [tuple(r[:4]) for r in history[1:]]
    assert keys and len(keys) == len(set(keys))


def test_a_lease_assumed_missing_that_is_there_is_read_again_not_reported_held(emulator):
    """The Dashboard deleted by hand on a sheet that has been run: the read assumes the
    lease (asked for after it) missing; adding it is refused, which must not read as
    another run holding the sheet (exit 7): the run starts over and takes the lease."""
    small_sheet(emulator)
    assert CliRunner().invoke(cli, ["run", KEY, "--as-of", AS_OF]).exit_code in (0, 1)
    sheet_id = next(s["properties"]["sheetId"] for s in emulator.spreadsheet(KEY)["sheets"]
                    if s["properties"]["title"] == "Dashboard")
    gspread_delete(emulator, sheet_id)
    emulator.reset_requests()
    result = CliRunner().invoke(cli, ["run", KEY, "--as-of", AS_OF])
    assert result.exit_code in (0, 1), result.output
    assert "another run holds" not in result.output
    writes = [c["status"] for c in emulator.requests() if c["api"] == "spreadsheets.batchUpdate"]
    assert writes == [400, 200]  # refused (the lease tab is there), then the run's one
    assert "Dashboard" in titles(emulator)
    assert dict((r + [None, None])[:2] for r in emulator.values(KEY, "kpirules-lease")).get("state") == "free"


def gspread_delete(emu, sheet_id: int) -> None:
    """Delete a tab as a user would, through the API (real gspread)."""
    from kpirules_emulator.sheets import gspread_client_for

    gspread_client_for(emu.host).open_by_key(KEY).batch_update({"requests": [{"deleteSheet": {"sheetId": sheet_id}}]})
