"""`kpirules run` on a Google Sheet: the real connector (gspread over HTTP) against the
Sheets emulator on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from click.testing import CliRunner
from test_run_common import (
    AS_OF,
    DATA_HEADERS,
    EXPECTED,
    HYPER,
    INJECT,
    RULES,
    USER_COLUMNS,
    by_header,
    data_rows,
    history_keys,
    recovered,
    rules_grid,
)
from test_run_notify import config, servers  # noqa: F401 (a fixture)

from kpirules.cli.main import cli

KEY = "1KpiRulesRunTestSheet0123456789abcdefghijk"
OWNER_FILL = {"red": 1, "green": 0.949, "blue": 0.8}


@pytest.fixture
def emulator(monkeypatch):
    from kpirules_emulator.sheets import SheetsEmulator

    with SheetsEmulator() as emu:
        monkeypatch.setenv("KPIRULES_SHEETS_EMULATOR_HOST", emu.host)
        yield emu


def text(value):
    """User text that starts with "=" as the sheet stores typed text: a string value."""
    if isinstance(value, str) and value.startswith("="):
        return {"userEnteredValue": {"stringValue": value}}
    return value


def rules_tab(columns=USER_COLUMNS, rules=RULES):
    """The Rules tab as a user leaves it: bold coloured headers, a note, filled cells, a formula."""
    grid = rules_grid(columns, rules)
    out = [[{"userEnteredValue": {"stringValue": h}, "note": "the owner" if h == "Owner" else None,
             "userEnteredFormat": {"textFormat": {"bold": True}, "backgroundColor": {"red": 0.8, "green": 0.9, "blue": 1}}}
            for h in grid[0]]]
    owner = columns.index("Owner")
    for row in grid[1:]:
        cells = [text(v) for v in row]
        cells[owner] = {"userEnteredValue": {"stringValue": row[owner]},
                        "userEnteredFormat": {"backgroundColor": OWNER_FILL}}
        out.append(cells)
    out.append([])
    out.append([None] * owner + ['=UPPER("ops")'])
    return out


def make_sheet(emu, key=KEY, *, rules=None, rows=None, extra=None):
    tabs = {"Data": [DATA_HEADERS] + [[text(c) for c in r] for r in (rows or data_rows())],
            "Rules": rules or rules_tab()}
    tabs.update(extra or {})
    return emu.add_spreadsheet(key, tabs, time_zone="Europe/Warsaw")


def run(*args, key=KEY):
    return CliRunner().invoke(cli, ["run", key, "--as-of", AS_OF.isoformat(), *args])


def apis(emu):
    return [e["api"] for e in emu.requests()]


def test_statuses_land_next_to_their_rules_and_are_coloured(emulator):
    make_sheet(emulator)
    result = run()
    assert result.exit_code == 2, result.output
    rules = by_header(emulator.values(KEY, "Rules"))
    assert {n: r["status"] for n, r in rules.items()} == EXPECTED
    assert rules["by_campaign"]["message"] == f"2 of 3 campaigns below 1.5%: {INJECT} 1.00%, social_prospect 1.20%"
    assert "\n" not in rules["typo"]["message"]  # one line; the rule and caret in its note
    headers = emulator.values(KEY, "Rules")[0]
    status = "ABCDEFGHIJK"[headers.index("Status")]
    warn = emulator.cell(KEY, "Rules", f"{status}2")
    assert warn["userEnteredValue"] == {"stringValue": "WARN"}
    assert warn["userEnteredFormat"]["backgroundColor"] == pytest.approx({"red": 1, "green": 0.898, "blue": 0.6}, abs=1e-3)
    assert emulator.cell(KEY, "Rules", f"{status}1")["note"].startswith("Written by kpirules run")
    message = "ABCDEFGHIJK"[headers.index("Message")]
    typo_row = 1 + [row[headers.index("Name")] if row else None for row in emulator.values(KEY, "Rules")].index("typo")
    typo = emulator.cell(KEY, "Rules", f"{message}{typo_row}")
    assert "\n^^^^^^" in typo["note"] and "WRAP" not in str(typo.get("userEnteredFormat"))


def test_rows_and_columns_moved_by_the_user_are_followed(emulator):
    columns = ["Message", "Status", "Enabled", "Rule", "Owner", "Name", "Description"]
    rules = list(reversed(RULES))
    stale = [dict(r, Status="PASS", Message="yesterday") for r in rules]
    make_sheet(emulator, rules=rules_tab(columns, stale))
    assert run().exit_code == 2
    values = emulator.values(KEY, "Rules")
    assert values[0][:7] == columns
    assert values[0][7:] == ["Value", "Target", "Period", "Checked"]  # only the missing ones added
    assert {n: r["status"] for n, r in by_header(values).items()} == EXPECTED
    assert by_header(values)["daily_visits"]["message"].startswith("2,100 meets target >= 1000")


def test_the_users_cells_are_unchanged(emulator):
    make_sheet(emulator)
    before = emulator.spreadsheet(KEY)
    assert run().exit_code == 2
    after = emulator.spreadsheet(KEY)

    def sheet(doc, title):
        return next(s for s in doc["sheets"] if s["properties"]["title"] == title)

    assert sheet(after, "Data")["data"] == sheet(before, "Data")["data"]
    user = len(USER_COLUMNS)

    def user_cells(doc):
        rows = sheet(doc, "Rules")["data"][0].get("rowData", [])
        return [r.get("values", [])[:user] for r in rows]

    assert user_cells(after) == user_cells(before)
    assert emulator.cell(KEY, "Rules", "C2")["userEnteredFormat"]["backgroundColor"] == pytest.approx(OWNER_FILL)
    assert emulator.cell(KEY, "Rules", "C9")["userEnteredValue"] == {"formulaValue": '=UPPER("ops")'}


@pytest.mark.parametrize("copies", [1, 12])
def test_a_full_run_that_sends_nothing_costs_one_read_and_one_write(emulator, copies):
    # docs/running.md, "What a run costs": the read, then the results with the lease taken
    # and given back in the same write (no channel: nothing to send, so no last write).
    rules = [dict(r, Name=f"{r['Name']}_{i}") for i in range(copies) for r in RULES]
    make_sheet(emulator, rules=rules_tab(rules=rules))
    assert run().exit_code == 2  # the first run creates History, Alerts and Settings
    emulator.reset_requests()
    result = run()
    assert result.exit_code == 2, result.output
    assert apis(emulator) == ["spreadsheets.get", "spreadsheets.batchUpdate"]
    assert len(by_header(emulator.values(KEY, "Rules"))) == len(RULES) * copies
    lease = dict((r + [None, None])[:2] for r in emulator.values(KEY, "kpirules-lease"))
    assert lease["state"] == "free" and lease["run"]


def test_history_repeated_runs_update_and_a_race_heals(emulator):
    from kpirules.config import Settings
    from kpirules.connectors.gsheets import GoogleSheetsConnector
    from kpirules.writeback import sheets
    from kpirules.writeback.runner import evaluate_and_plan

    make_sheet(emulator)
    assert run().exit_code == 2
    first = history_keys(emulator.values(KEY, "History"))
    assert len(first) == len(set(first)) and len(first) > 10
    assert run().exit_code == 2
    assert history_keys(emulator.values(KEY, "History")) == first

    # Two runs for the next week race: both read before either writes. Sheets has no
    # locks, so both append the same new rows; nothing is lost...
    now = dt.datetime(2026, 12, 3, 7, 0)
    racers = [GoogleSheetsConnector(KEY) for _ in range(2)]
    reads = [c.read(extra_tabs=("History", "Alerts", "Settings")) for c in racers]
    for conn, wb in zip(racers, reads):
        outcome = evaluate_and_plan(wb, Settings(restate_periods=0), as_of=dt.date(2026, 12, 3), now=now)
        sheets.write(conn, outcome.plan)
    raced = history_keys(emulator.values(KEY, "History"))
    assert set(first) < set(raced)
    # ...and the next run finds the duplicates and removes them.
    assert run("--as-of", "2026-12-03").exit_code == 2
    healed = history_keys(emulator.values(KEY, "History"))
    assert len(healed) == len(set(healed)) and set(healed) == set(raced)


def test_one_alert_per_status_change(emulator):
    make_sheet(emulator)
    assert run().exit_code == 2
    alerts = emulator.values(KEY, "Alerts")
    assert len(alerts) == 5
    assert run().exit_code == 2
    assert emulator.values(KEY, "Alerts") == alerts

    from kpirules_emulator.sheets import gspread_client_for

    rows = data_rows(change=recovered)
    data = gspread_client_for(emulator.host).open_by_key(KEY).worksheet("Data")
    data.update([[r[3]] for r in rows], f"D2:D{len(rows) + 1}")  # late numbers arrive
    assert run().exit_code == 2
    after = emulator.values(KEY, "Alerts")
    head = after[0]
    new = [(r[head.index("Rule")], r[head.index("Segment")], r[head.index("From")], r[head.index("To")])
           for r in after[len(alerts):]]
    assert new == [("by_campaign", "campaign=social_prospect", "FAIL", "PASS")]
    assert run().exit_code == 2
    assert emulator.values(KEY, "Alerts") == after


def test_nothing_is_ever_written_as_a_formula(emulator):
    make_sheet(emulator)
    assert run().exit_code == 2
    doc = emulator.spreadsheet(KEY)
    formulas = []
    for s in doc["sheets"]:
        for r, row in enumerate(s["data"][0].get("rowData", [])):
            for c, cell in enumerate(row.get("values", [])):
                if "formulaValue" in cell.get("userEnteredValue", {}):
                    formulas.append((s["properties"]["title"], r, c, cell["userEnteredValue"]["formulaValue"]))
    assert [f[:3] for f in formulas if f[0] != "Dashboard"] == [("Rules", 8, 2)]  # the user's =UPPER("ops")
    # The Dashboard's: sparklines over its own row, and references to History's cells, only.
    board = [f[3] for f in formulas if f[0] == "Dashboard"]
    assert board and all(re.fullmatch(r"=SPARKLINE\(I\d+:[I-T]\d+\)|='History'!F\d+", f) for f in board), board
    history = emulator.values(KEY, "History")
    assert any(row[0] == HYPER for row in history)
    assert any(row[1] == f"campaign={INJECT}" for row in history)
    batch = next(e for e in emulator.requests() if e["api"] == "spreadsheets.batchUpdate")
    sent = re.findall(r"'formulaValue': '((?:[^'\\]|\\.)*)'|'formulaValue': \"([^\"]*)\"", str(batch["body"]))
    assert sent and all(re.fullmatch(r"=SPARKLINE\(I\d+:[I-T]\d+\)|='History'!F\d+", a or b) for a, b in sent)


def test_an_injected_write_failure_leaves_the_sheet_as_it_was(emulator):
    make_sheet(emulator)
    before = emulator.snapshot(KEY)
    emulator.inject("spreadsheets.batchUpdate", status=500, times=5)
    result = run()
    assert result.exit_code == 3, result.output
    assert emulator.snapshot(KEY) == before
    assert apis(emulator).count("spreadsheets.batchUpdate") == 1  # a write that may have landed is not retried
    emulator.clear_faults()
    assert run().exit_code == 2
    assert len(emulator.values(KEY, "Alerts")) == 5


def test_dry_run_reads_once_and_writes_nothing(emulator):
    make_sheet(emulator)
    before = emulator.snapshot(KEY)
    result = run("--dry-run")
    assert result.exit_code == 2
    assert emulator.snapshot(KEY) == before
    assert "spreadsheets.batchUpdate" not in apis(emulator)
    assert "History: new tab" in result.output


def test_notifications_are_sent_once_with_a_link_to_the_sheet(emulator, servers, tmp_path):
    ok, gone, box, smtp_port = servers
    settings = config(tmp_path, ok, gone, smtp_port)
    settings.write_text(settings.read_text().replace(
        'sheet_url = "https://docs.google.com/spreadsheets/d/kpi-sheet/edit"\n', ""))
    make_sheet(emulator)
    result = run("--config", str(settings))
    assert result.exit_code == 2, result.output
    assert len(ok.bodies) == 4 and len(box.received) == 1
    assert {b["link"] for b in ok.bodies} == {f"https://docs.google.com/spreadsheets/d/{KEY}/edit#gid=0"}
    alerts = emulator.values(KEY, "Alerts")
    head = alerts[0]
    assert all("webhook bi: sent" in row[head.index("Notified")] for row in alerts[1:])
    # The results with the alerts owed, then what each channel did: two writes.
    assert apis(emulator).count("spreadsheets.batchUpdate") == 2
    assert run("--config", str(settings)).exit_code == 2
    assert len(ok.bodies) == 4 and len(box.received) == 1
