"""`kpirules init` on new and existing workbooks, and on a Google Sheet in the emulator."""

from __future__ import annotations

import openpyxl
from click.testing import CliRunner
from test_run_common import AS_OF, ENGINE
from test_run_sheets import emulator  # noqa: F401 (a fixture)
from test_run_xlsx import make_workbook, style_snapshot, tab_rows, with_foreign_history

from kpirules.cli.main import cli

KEY = "1InitSheetKeyForTests0123456789abcdefghijkl"


def init(source, *args):
    return CliRunner().invoke(cli, ["init", str(source), *args])


def test_a_new_workbook_gets_every_tab_with_notes_and_a_dropdown(tmp_path):
    path = tmp_path / "new.xlsx"
    result = init(path)
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Data", "Rules", "History", "Alerts", "Settings"]
    rules = wb["Rules"]
    headers = [c.value for c in rules[1]]
    assert headers == ["Name", "Rule", "Enabled", "Owner", "Description", *ENGINE]
    for col, header in enumerate(headers, start=1):
        if header in ENGINE:
            assert rules.cell(row=1, column=col).comment.text.startswith("Written by kpirules run")
    (dv,) = rules.data_validations.dataValidation
    assert dv.type == "list" and dv.formula1 == '"yes,no"' and "C2" in dv.sqref and "C500" in dv.sqref
    examples = [r for r in tab_rows(path, "Rules")[1:] if r[1]]
    assert len(examples) >= 2
    from kpirules.parser import parse_rule

    for row in examples:
        parse_rule(row[1])  # every example rule parses
    assert wb["History"]["A1"].comment is not None and wb["Alerts"]["A1"].value == "Time"
    assert rules.freeze_panes == "A2"


def test_example_rules_use_the_data_tabs_own_columns(tmp_path):
    path = tmp_path / "d.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    ws.append(["Date", "Channel", "Emails sent", "Orders"])
    ws.append(["2026-11-01", "email", 1200, 14])
    ws.append(["2026-11-02", "email", 1100, 12])
    wb.save(path)
    assert init(path).exit_code == 0
    rules = {r[0]: r[1] for r in tab_rows(path, "Rules")[1:] if r[0]}
    # Trends on the outcome, not on e-mails sent (which lint calls activity; issue 18).
    assert rules["orders_week_over_week"] == "change(orders) >= -20% weekly warn at -10%"
    assert rules["orders_by_channel"] == "change(orders) >= -30% weekly by channel"
    assert not any("change(emails_sent)" in r for r in rules.values())
    result = CliRunner().invoke(cli, ["run", str(path), "--as-of", "2026-11-03"])
    assert result.exit_code in (0, 1), result.output  # the examples run without an ERROR


def test_an_existing_workbook_keeps_everything_and_init_is_safe_to_repeat(tmp_path):
    path = make_workbook(tmp_path / "kpis.xlsx")
    before = style_snapshot(path)
    result = init(path)
    assert result.exit_code == 0, result.output
    assert style_snapshot(path, skip_headers=ENGINE) == before
    rows = tab_rows(path, "Rules")
    assert rows[0][5:11] == ENGINE and len(rows) == len(tab_rows(path, "Rules"))
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Data", "Rules", "History", "Alerts", "Settings"]
    assert any("E2" in dv.sqref for dv in wb["Rules"].data_validations.dataValidation)
    once = path.read_bytes()
    again = init(path)
    assert again.exit_code == 0 and "already set up" in again.output
    assert path.read_bytes() == once
    assert CliRunner().invoke(cli, ["run", str(path), "--as-of", AS_OF.isoformat()]).exit_code == 2


def test_init_after_a_polish_run_finds_the_tabs_that_run_wrote(tmp_path):
    # A Polish run writes History and Alerts with Polish headers (Reguła, Czas...): init
    # run again must take them as its own, not refuse them as someone else's tabs.
    path = make_workbook(tmp_path / "kpis.xlsx")
    config = tmp_path / "kpirules.toml"
    config.write_text('language = "pl"\n')
    ran = CliRunner().invoke(cli, ["run", str(path), "--as-of", AS_OF.isoformat(), "--config", str(config)])
    assert ran.exit_code in (1, 2), ran.output
    assert tab_rows(path, "History")[0][0] == "Reguła" and tab_rows(path, "Alerts")[0][0] == "Czas"
    widths = {t: len(tab_rows(path, t)[0]) for t in ("History", "Alerts")}
    result = init(path, "--config", str(config))
    assert result.exit_code == 0, result.output
    assert {t: len(tab_rows(path, t)[0]) for t in ("History", "Alerts")} == widths  # no column added


def test_a_tab_of_someone_else_is_refused_in_the_language_of_the_settings(tmp_path):
    path = with_foreign_history(make_workbook(tmp_path / "kpis.xlsx"))
    config = tmp_path / "kpirules.toml"
    config.write_text('language = "pl"\n')
    result = init(path, "--config", str(config))
    assert result.exit_code == 3
    assert "karta History istnieje, ale nie należy do kpirules (nagłówki: When, What happened)" in result.output
    assert "zmień nazwę tej karty, aby kpirules mógł utworzyć własną kartę History" in result.output


def test_a_rules_tab_without_a_rule_column_is_refused(tmp_path):
    path = tmp_path / "odd.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "Data"
    wb.create_sheet("Rules").append(["Owner", "Notes"])
    wb.save(path)
    before = path.read_bytes()
    result = init(path)
    assert result.exit_code == 3 and "no Rule column" in result.output
    assert path.read_bytes() == before


def test_init_sets_a_google_sheet_up_in_one_write(emulator):
    emulator.add_spreadsheet(KEY, {"Data": [["Date", "Campaign", "Visits", "Signups"],
                                            ["2026-11-01", "search", 1000, 30]]})
    result = init(KEY)
    assert result.exit_code == 0, result.output
    assert [e["api"] for e in emulator.requests() if e["api"].endswith("batchUpdate")] == [
        "spreadsheets.batchUpdate"]
    rules = emulator.values(KEY, "Rules")
    assert rules[0] == ["Name", "Rule", "Enabled", "Owner", "Description", *ENGINE]
    assert emulator.cell(KEY, "Rules", "F1")["note"].startswith("Written by kpirules run")
    validations = emulator.data_validations(KEY, "Rules")
    # Enabled is a checkbox on Google Sheets (issue 16); the examples are ticked or not.
    assert validations["C2"]["condition"]["type"] == "BOOLEAN"
    assert {r[2] for r in rules[1:]} <= {True, False}
    assert emulator.values(KEY, "History")[0][:4] == ["Rule", "Segment", "Period start", "Period end"]
    assert_set_up(emulator)
    asked = len(emulator.requests())
    again = init(KEY)
    assert again.exit_code == 0
    assert "already set up; nothing to do" in again.output
    # Read only: the tabs, then the set-up with the header's notes and the checkboxes below.
    assert [e["api"] for e in emulator.requests()[asked:]] == ["spreadsheets.get", "spreadsheets.get"]
    assert emulator.values(KEY, "Rules") == rules  # no second set of examples, no new columns
    assert_set_up(emulator)  # and nothing of the set-up installed twice


def test_init_again_on_a_polish_sheet_writes_nothing(emulator):
    # Its notes are in Polish: compared in the sheet's language, none is written again.
    emulator.add_spreadsheet(KEY, {"Data": [["Date", "Visits"], ["2026-11-01", 10]]}, locale="pl_PL")
    assert init(KEY).exit_code == 0
    asked = len(emulator.requests())
    again = init(KEY)
    assert again.exit_code == 0 and "wszystko jest już przygotowane" in again.output
    assert not [e for e in emulator.requests()[asked:] if e["api"].endswith("batchUpdate")]


def test_init_again_restores_only_the_note_and_checkboxes_a_user_removed(emulator):
    from kpirules.connectors.gsheets import GoogleSheetsConnector

    emulator.add_spreadsheet(KEY, {"Data": [["Date", "Visits"], ["2026-11-01", 10]]})
    assert init(KEY).exit_code == 0
    value_note = emulator.cell(KEY, "Rules", "G1")["note"]
    sheet = emulator.sheet_properties(KEY, "Rules")["sheetId"]
    # Someone clears the Value column's note and makes Enabled a yes/no dropdown again.
    GoogleSheetsConnector(KEY).batch_update([
        {"updateCells": {"start": {"sheetId": sheet, "rowIndex": 0, "columnIndex": 6}, "rows": [{"values": [{}]}],
                         "fields": "note"}},
        {"setDataValidation": {"range": {"sheetId": sheet, "startRowIndex": 1, "endRowIndex": 501,
                                         "startColumnIndex": 2, "endColumnIndex": 3},
                               "rule": {"condition": {"type": "ONE_OF_LIST", "values": [
                                   {"userEnteredValue": "yes"}, {"userEnteredValue": "no"}]}, "strict": True}}}])
    assert "note" not in emulator.cell(KEY, "Rules", "G1")
    asked = len(emulator.requests())
    result = init(KEY)
    assert result.exit_code == 0, result.output
    assert "Rules: updated (1 note)" in result.output
    writes = [e for e in emulator.requests()[asked:] if e["api"].endswith("batchUpdate")]
    assert len(writes) == 1
    assert emulator.cell(KEY, "Rules", "G1")["note"] == value_note
    assert emulator.data_validations(KEY, "Rules")["C2"]["condition"]["type"] == "BOOLEAN"
    assert "already set up" in init(KEY).output


def assert_set_up(emulator, status_col=5):
    """Frozen header, Status colours (one conditional rule per status, on the Status
    column), and the six engine columns protected with a warning only."""
    assert emulator.sheet_properties(KEY, "Rules")["gridProperties"]["frozenRowCount"] == 1
    rules = emulator.conditional_formats(KEY, "Rules")
    assert [r["booleanRule"]["condition"]["values"][0]["userEnteredValue"] for r in rules] == [
        "PASS", "WARN", "FAIL", "NO_DATA", "INCONCLUSIVE", "ERROR", "OFF"]
    assert {r["ranges"][0]["startColumnIndex"] for r in rules} == {status_col}
    protected = emulator.protected_ranges(KEY, "Rules")
    assert sorted(p["range"]["startColumnIndex"] for p in protected) == list(range(status_col, status_col + 6))
    assert all(p["warningOnly"] for p in protected)


def test_init_turns_an_existing_enabled_column_into_checkboxes(emulator):
    emulator.add_spreadsheet(KEY, {
        "Data": [["Date", "Visits"], ["2026-11-01", 10]],
        "Rules": [["Name", "Rule", "Enabled", "Owner"], ["a", "count(visits) >= 1 daily", "yes", "Ana"],
                  ["b", "count(visits) >= 2 daily", "No", "Ana"], ["c", "count(visits) >= 3 daily", True, ""]]})
    assert init(KEY).exit_code == 0
    rules = emulator.values(KEY, "Rules")
    assert [r[2] for r in rules[1:]] == [True, False, True]
    assert emulator.data_validations(KEY, "Rules")["C2"]["condition"]["type"] == "BOOLEAN"
    assert_set_up(emulator, status_col=4)
    # run reads the checkboxes (and still reads yes/no: tests/test_run_*)
    result = CliRunner().invoke(cli, ["run", KEY, "--as-of", "2026-11-02"])
    assert "OFF     b" in result.output or "OFF b" in result.output


def test_init_on_a_sheet_without_a_data_tab_adds_one(emulator):
    emulator.add_spreadsheet(KEY, {"Sheet1": []})
    result = init(KEY)
    assert result.exit_code == 0, result.output
    assert emulator.values(KEY, "Data")[0] == ["Date", "Campaign", "Visits", "Signups"]
    assert emulator.values(KEY, "Rules")[1][0] == "signups_arrives"


def test_a_workbook_gets_status_colours_once_and_keeps_its_dropdown(tmp_path):
    path = tmp_path / "kpis.xlsx"
    assert init(path).exit_code == 0
    assert init(path).exit_code == 0  # again: nothing added twice

    def colours():
        ws = openpyxl.load_workbook(path)["Rules"]
        return [(str(cf.sqref), rule.formula) for cf in ws.conditional_formatting for rule in cf.rules]

    found = colours()
    assert len(found) == 7 and {where for where, _ in found} == {"F2:F501"}
    assert ['"PASS"'] in [formula for _, formula in found]
    assert ['LEFT(F2,5)="ERROR"'] in [formula for _, formula in found]
    rules = openpyxl.load_workbook(path)["Rules"]
    assert rules.freeze_panes == "A2"
    assert rules["C2"].value in ("yes", "no")  # Excel has no checkbox cells: the dropdown stays


def test_run_gives_the_columns_it_adds_the_same_set_up_once(emulator):
    emulator.add_spreadsheet(KEY, {"Data": [["Date", "Visits"], ["2026-11-01", 10]],
                                   "Rules": [["Name", "Rule"], ["a", "count(visits) >= 1 daily"]]})
    for _ in range(2):  # the second run adds no columns, and so nothing of the set-up again
        result = CliRunner().invoke(cli, ["run", KEY, "--as-of", "2026-11-02"])
        assert result.exit_code == 0, result.output
        assert_set_up(emulator, status_col=2)
