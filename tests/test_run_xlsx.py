"""`kpirules run` on real .xlsx files (openpyxl reads back what was written)."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import zipfile

import openpyxl
import pytest
from click.testing import CliRunner
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from test_run_common import (
    AS_OF,
    DATA_HEADERS,
    ENGINE,
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

from kpirules.cli.main import cli


def _text(cell, value):
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # user text that starts with "=" is text in their workbook too


def with_foreign_history(path):
    """The workbook at ``path`` with a History tab of someone else's (a log of launches)."""
    wb = openpyxl.load_workbook(path)
    wb.create_sheet("History").append(["When", "What happened"])
    wb["History"].append(["2026-01-01", "launch"])
    wb.save(path)
    return path


def make_workbook(path, *, columns=USER_COLUMNS, rules=RULES, rows=None, order=None):
    """A workbook the way a user leaves it: styled headers, a note, a formula, widths."""
    wb = openpyxl.Workbook()
    data = wb.active
    data.title = "Data"
    data.append(DATA_HEADERS)
    for row in rows if rows is not None else data_rows():
        data.append([None] * 4)
        for col, value in enumerate(row, start=1):
            _text(data.cell(row=data.max_row, column=col), value)
    ws = wb.create_sheet("Rules")
    rules = [rules[i] for i in order] if order else rules
    for r, row in enumerate(rules_grid(columns, rules), start=1):
        for c, value in enumerate(row, start=1):
            _text(ws.cell(row=r, column=c), value)
    for c in range(1, len(columns) + 1):
        head = ws.cell(row=1, column=c)
        head.font = Font(bold=True, color="FF1F3864")
        head.fill = PatternFill("solid", fgColor="FFCCE5FF")
        ws.column_dimensions[openpyxl.utils.get_column_letter(c)].width = 18 + c
    owner = columns.index("Owner") + 1
    for r in range(2, len(rules) + 2):
        ws.cell(row=r, column=owner).fill = PatternFill("solid", fgColor="FFFFF2CC")
    desc = ws.cell(row=2, column=columns.index("Description") + 1)
    desc.comment = Comment("written by Anna", "Anna")
    desc.alignment = Alignment(wrap_text=True)
    ws.cell(row=len(rules) + 3, column=owner).value = '=UPPER("ops")'  # a user formula below the rules
    ws.freeze_panes = "B2"
    wb.save(path)
    return path


def set_signups(path, change):
    """Rewrite the Signups column as ``data_rows(change=change)`` has it (late data)."""
    wb = openpyxl.load_workbook(path)
    for r, row in enumerate(data_rows(change=change), start=2):
        wb["Data"].cell(row=r, column=4).value = row[3]
    wb.save(path)


def run(path, *args):
    return CliRunner().invoke(cli, ["run", str(path), *args])


def tab_rows(path, title, data_only=False):
    wb = openpyxl.load_workbook(path, data_only=data_only)
    return [list(r) for r in wb[title].iter_rows(values_only=True)]


def style_snapshot(path, *, skip_headers=()):
    """Every cell of every tab that is the user's, with what openpyxl knows of its style."""
    wb = openpyxl.load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        if ws.title in ("History", "Alerts", "Settings", "Dashboard"):
            continue
        skip = set()
        if ws.title == "Rules":
            heads = [c.value for c in ws[1]]
            skip = {i + 1 for i, h in enumerate(heads) if h in skip_headers}
        for row in ws.iter_rows():
            for c in row:
                if c.column in skip:
                    continue
                out[(ws.title, c.coordinate)] = (
                    c.value, c.data_type, c.number_format, repr(c.font), repr(c.fill), repr(c.border),
                    repr(c.alignment), c.comment.text if c.comment else None)
        out[(ws.title, "widths")] = {k: v.width for k, v in ws.column_dimensions.items()
                                     if not skip or openpyxl.utils.column_index_from_string(k) not in skip}
        out[(ws.title, "freeze")] = ws.freeze_panes
    return out


@pytest.fixture
def book(tmp_path):
    return make_workbook(tmp_path / "kpis.xlsx")


def test_statuses_and_messages_land_next_to_their_rules(book):
    result = run(book, "--as-of", AS_OF.isoformat())
    assert result.exit_code == 2, result.output  # one rule has an ERROR
    rules = by_header(tab_rows(book, "Rules"))
    assert {name: row["status"] for name, row in rules.items()} == EXPECTED
    assert rules["by_campaign"]["message"] == (
        f"2 of 3 campaigns below 1.5%: {INJECT} 1.00%, social_prospect 1.20%")
    assert rules["by_campaign"]["period"] == "2026-11-16..22"
    assert rules["conversion"]["value"] == pytest.approx(301 / 14700)
    assert rules["conversion"]["target"] == ">= 2%, warn at 2.5%"
    # One line in the cell (issue 18: readable in every spreadsheet program); the rule and
    # its caret in the cell's note.
    assert "signup" in rules["typo"]["message"] and "\n" not in rules["typo"]["message"]
    assert rules["switched_off"]["message"] == "disabled in the Enabled column"
    wb = openpyxl.load_workbook(book)
    ws = wb["Rules"]
    status_col = [c.value for c in ws[1]].index("Status") + 1
    fills = {ws.cell(row=r, column=2).value: ws.cell(row=r, column=status_col).fill.fgColor.rgb
             for r in range(2, 8)}
    assert fills["signups / visits >= 2% weekly warn at 2.5%"] == "FFFFE599"  # amber
    assert fills["visits >= 1000 daily"] == "FFD9EAD3"  # green
    assert fills["signups >= 1M weekly"] == "FFF4CCCC"  # red
    assert ws.cell(row=1, column=status_col).comment.text.startswith("Written by kpirules run")
    message_col = [c.value for c in ws[1]].index("Message") + 1
    notes = {ws.cell(row=r, column=1).value: ws.cell(row=r, column=message_col).comment for r in range(2, 8)}
    assert "\n^^^^^^" in notes["typo"].text and notes["conversion"] is None
    assert not any(ws.cell(row=r, column=message_col).alignment.wrap_text for r in range(2, 8))


def test_rows_and_columns_moved_by_the_user_are_followed(tmp_path):
    book = make_workbook(tmp_path / "a.xlsx")
    assert run(book, "--as-of", AS_OF.isoformat()).exit_code == 2
    # The user reorders everything: engine columns first, user columns shuffled, rules reversed.
    rows = tab_rows(book, "Rules")
    header = rows[0]
    new_order = ["Message", "Status", "Enabled", "Rule", "Owner", "Name", "Checked", "Description",
                 "Period", "Value", "Target"]
    moved = [[row[header.index(h)] for h in new_order] for row in rows[:7]]
    moved = [moved[0]] + list(reversed(moved[1:]))
    wb = openpyxl.load_workbook(book)
    wb.remove(wb["Rules"])
    ws = wb.create_sheet("Rules", 1)
    for r, row in enumerate(moved, start=1):
        for c, value in enumerate(row, start=1):
            _text(ws.cell(row=r, column=c), value)
    for r in range(2, 8):  # yesterday's statuses, all deliberately wrong now
        ws.cell(row=r, column=2).value = "PASS"
    wb.save(book)
    assert run(book, "--as-of", AS_OF.isoformat()).exit_code == 2
    after = tab_rows(book, "Rules")
    assert after[0][:11] == new_order and len([h for h in after[0] if h]) == 11  # no column added
    assert {n: row["status"] for n, row in by_header(after).items()} == EXPECTED
    assert by_header(after)["by_campaign"]["message"].startswith("2 of 3 campaigns")


def test_the_users_cells_are_unchanged(book):
    before = style_snapshot(book)
    assert run(book, "--as-of", AS_OF.isoformat()).exit_code == 2
    after = style_snapshot(book, skip_headers=ENGINE)
    assert after == before
    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames == ["Data", "Rules", "History", "Alerts", "Settings", "Dashboard"]


def test_cached_formula_values_survive_the_write(tmp_path):
    from kpirules.writeback.xlsx import restore_formula_values

    path = make_workbook(tmp_path / "f.xlsx")
    wb = openpyxl.load_workbook(path)
    data = wb["Data"]
    data["E1"] = "Visits x2"
    data["E2"] = "=C2*2"
    wb.save(path)
    restore_formula_values(str(path), {"Data": {"E2": 2000}})  # as Excel would have left it
    assert tab_rows(path, "Data", data_only=True)[1][4] == 2000
    assert run(path, "--as-of", AS_OF.isoformat()).exit_code == 2
    assert tab_rows(path, "Data")[1][4] == "=C2*2"
    assert tab_rows(path, "Data", data_only=True)[1][4] == 2000


def test_history_is_keyed_repeated_runs_update_and_never_duplicate(book):
    assert run(book, "--as-of", AS_OF.isoformat()).exit_code == 2
    first = history_keys(tab_rows(book, "History"))
    assert len(first) == len(set(first))
    assert ("by_campaign", "campaign=social_prospect", "2026-11-16", "2026-11-22") in first
    # restate_periods defaults to 3: the three weeks before are there too.
    assert ("by_campaign", "campaign=social_prospect", "2026-10-26", "2026-11-01") in first
    assert run(book, "--as-of", AS_OF.isoformat()).exit_code == 2
    second = history_keys(tab_rows(book, "History"))
    assert second == first
    assert run(book, "--as-of", "2026-12-03", "--restate", "1").exit_code == 2
    third = history_keys(tab_rows(book, "History"))
    assert len(third) == len(set(third))
    assert ("by_campaign", "campaign=social_prospect", "2026-11-23", "2026-11-29") in third
    assert set(first) <= set(third)


def test_late_data_restates_an_earlier_period(book):
    assert run(book, "--as-of", AS_OF.isoformat()).exit_code == 2

    def late(day, campaign, visits, signups):  # the ad platform re-reported the week before
        if campaign == "social_prospect" and dt.date(2026, 11, 9) <= day <= dt.date(2026, 11, 15):
            return visits, 20
        return visits, signups

    set_signups(book, late)
    assert run(book, "--as-of", AS_OF.isoformat()).exit_code == 2
    rows = tab_rows(book, "History")
    head = rows[0]
    found = [r for r in rows[1:] if r[head.index("Segment")] == "campaign=social_prospect"
             and r[head.index("Period start")] == dt.datetime(2026, 11, 9)]  # a date cell
    assert len(found) == 1
    assert found[0][head.index("Status")] == "PASS"
    assert found[0][head.index("Restated")] == "was FAIL"
    keys = history_keys(rows)
    assert len(keys) == len(set(keys))


def test_one_alert_per_status_change(book):
    assert run(book, "--as-of", AS_OF.isoformat()).exit_code == 2
    alerts = tab_rows(book, "Alerts")
    head = alerts[0]
    got = sorted((r[head.index("Rule")], r[head.index("Segment")] or "", r[head.index("To")]) for r in alerts[1:])
    assert got == sorted([("conversion", "", "WARN"), ("by_campaign", f"campaign={INJECT}", "FAIL"),
                          ("by_campaign", "campaign=social_prospect", "FAIL"), (HYPER, "", "FAIL")])
    assert run(book, "--as-of", AS_OF.isoformat()).exit_code == 2  # nothing changed: nothing new
    assert len(tab_rows(book, "Alerts")) == len(alerts)

    set_signups(book, recovered)
    assert run(book, "--as-of", AS_OF.isoformat()).exit_code == 2
    after = tab_rows(book, "Alerts")
    # social_prospect recovered; conversion, now (30+20+1)*7/14700 = 2.43%, is still WARN.
    new = [(r[head.index("Rule")], r[head.index("Segment")], r[head.index("From")], r[head.index("To")])
           for r in after[len(alerts):]]
    assert new == [("by_campaign", "campaign=social_prospect", "FAIL", "PASS")]
    assert run(book, "--as-of", AS_OF.isoformat()).exit_code == 2
    assert len(tab_rows(book, "Alerts")) == len(after)


def test_nothing_from_data_or_users_is_ever_written_as_a_formula(book):
    assert run(book, "--as-of", AS_OF.isoformat()).exit_code == 2
    wb = openpyxl.load_workbook(book)
    formulas = [(ws.title, c.coordinate) for ws in wb.worksheets for row in ws.iter_rows() for c in row
                if c.data_type == "f" and ws.title != "Dashboard"]
    assert formulas == [("Rules", "C9")]  # the user's own =UPPER("ops"), nothing else
    # The Dashboard's formulas are references to History's cells and nothing else.
    board = [c.value for row in wb["Dashboard"].iter_rows() for c in row if c.data_type == "f"]
    assert board and all(re.fullmatch(r"='History'!F\d+", f) for f in board), board
    with zipfile.ZipFile(book) as zf:
        xml = b"".join(zf.read(n) for n in zf.namelist() if n.startswith("xl/worksheets/sheet"))
    found = re.findall(rb"<f>(.*?)</f>", xml)
    assert all(f == b'UPPER("ops")' or re.fullmatch(rb"'History'!F\d+", f) for f in found), found
    assert b"IMPORTXML" in xml and b"<f>IMPORTXML" not in xml
    history = tab_rows(book, "History")
    assert any(r[0] == HYPER for r in history)
    assert any(r[1] == f"campaign={INJECT}" for r in history)


def test_a_failed_write_leaves_the_file_as_it_was(book, monkeypatch):
    original = book.read_bytes()
    from openpyxl.writer.excel import ExcelWriter

    def broken_save(self):  # the disk fills up halfway through the save
        self._archive.writestr("xl/worksheets/sheet1.xml", b"<worksheet half a workbook")
        self._archive.fp.flush()
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ExcelWriter, "save", broken_save)
    result = run(book, "--as-of", AS_OF.isoformat())
    assert result.exit_code == 3
    assert "No space left on device" in result.output and "left as it was" in result.output
    assert book.read_bytes() == original
    assert sorted(p.name for p in book.parent.iterdir()) == ["kpis.xlsx"]  # no lock file left behind
    monkeypatch.undo()
    assert run(book, "--as-of", AS_OF.isoformat()).exit_code == 2  # and the lock was released


def test_dry_run_prints_and_writes_nothing(book):
    original = book.read_bytes()
    result = run(book, "--as-of", AS_OF.isoformat(), "--dry-run")
    assert result.exit_code == 2
    assert book.read_bytes() == original
    assert "dry run: nothing was written" in result.output
    assert "History: new tab" in result.output and "alert: by_campaign [campaign=social_prospect]" in result.output
    assert not (book.parent / ".kpis.xlsx.lock").exists()


def test_one_line_per_rule_and_a_summary(book):
    result = run(book, "--as-of", AS_OF.isoformat())
    lines = result.output.splitlines()
    rule_lines = [line for line in lines if line.split(" ")[0] in ("PASS", "WARN", "FAIL", "ERROR", "OFF")]
    assert len(rule_lines) == len(RULES)
    # Disabled rules are counted as check counts them (issue 18): not as rules, in brackets.
    assert lines[-1].startswith("5 rules (1 disabled) as of 2026-11-26: 1 PASS, 1 WARN, 2 FAIL, 1 ERROR; "
                                "wrote history")


def test_bad_sources_exit_3_with_a_clear_message(tmp_path):
    missing = run(tmp_path / "nope.xlsx")
    assert missing.exit_code == 3 and "no such file" in missing.output
    csv = tmp_path / "d.csv"
    csv.write_text("date,visits\n2026-11-01,3\n")
    result = run(csv)
    assert result.exit_code == 3 and "CSV file" in result.output
    not_ours = with_foreign_history(make_workbook(tmp_path / "h.xlsx"))
    before = not_ours.read_bytes()
    result = run(not_ours, "--as-of", AS_OF.isoformat())
    assert result.exit_code == 3 and "not a kpirules history" in result.output
    assert not_ours.read_bytes() == before


def test_two_processes_at_once_one_writes_the_others_exit_7_untouched(tmp_path):
    # One run per workbook at a time (docs/running.md): a run that finds the lock held
    # changes nothing, sends nothing and exits 7, naming since when it is held.
    book = make_workbook(tmp_path / "c.xlsx")
    cmd = [sys.executable, "-m", "kpirules", "run", str(book), "--restate", "0", "-q"]
    days = ("2026-11-26", "2026-12-03", "2026-11-26")
    procs = [subprocess.Popen(cmd + ["--as-of", day], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
             for day in days]
    outputs = [p.communicate(timeout=120)[0].decode() for p in procs]
    codes = [p.returncode for p in procs]
    assert set(codes) <= {2, 7} and 2 in codes, outputs
    for code, out in zip(codes, outputs):
        if code == 7:
            assert "another run holds this workbook since" in out and "changed nothing" in out
    keys = history_keys(tab_rows(book, "History"))
    assert len(keys) == len(set(keys))
    weeks = {"2026-11-26": ("2026-11-16", "2026-11-22"), "2026-12-03": ("2026-11-23", "2026-11-29")}
    for day, code in zip(days, codes):
        if code == 2:
            start, end = weeks[day]
            for campaign in ("search_brand", "social_prospect", INJECT):
                assert ("by_campaign", f"campaign={campaign}", start, end) in keys
    # Once the lock is free, the next run goes through.
    again = subprocess.run(cmd + ["--as-of", "2026-12-03"], capture_output=True, timeout=120)
    assert again.returncode == 2, again.stdout


def test_a_workbook_with_parts_openpyxl_would_drop_is_refused_untouched(book):
    with zipfile.ZipFile(book, "a") as zf:  # a threaded comment, as Excel 365 writes them
        zf.writestr("xl/threadedComments/threadedComment1.xml", "<ThreadedComments/>")
    before = book.read_bytes()
    result = run(book, "--as-of", AS_OF.isoformat())
    assert result.exit_code == 3
    assert "threaded comments" in result.output and "nothing was written" in result.output
    assert book.read_bytes() == before


def test_an_internal_crash_exits_2_not_1(book, monkeypatch):
    # A scheduler ignores 1 (some KPI fails); a crash must not hide behind it.
    import kpirules.writeback.runner as runner

    def boom(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(runner, "evaluate_and_plan", boom)
    before = book.read_bytes()
    result = run(book, "--as-of", AS_OF.isoformat())
    assert result.exit_code == 2 and "internal error" in result.output
    assert book.read_bytes() == before


def test_a_held_lock_exits_7_naming_since_when_and_changes_nothing(book):
    from kpirules.writeback.lock import file_lock

    before = book.read_bytes()
    with file_lock(str(book), since="07:00:12"):
        result = run(book, "--as-of", AS_OF.isoformat())
    assert result.exit_code == 7, result.output
    assert "another run holds this workbook since 07:00:12" in result.output
    assert book.read_bytes() == before
    assert run(book, "--as-of", AS_OF.isoformat()).exit_code == 2  # free again


_MINUTE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}")


def _content(path):
    """What a run changes, as values: the Rules tab and History (None: no History yet).
    When it ran is left out (the Checked times, the Alerts' Time and the Key made from it):
    a killed run's twin that completes a minute after the reference run is no third state."""
    wb = openpyxl.load_workbook(path)  # must open: a damaged file fails the test here
    out = {}
    for title in ("Rules", "History", "Alerts"):
        if title not in wb.sheetnames:
            continue
        rows = [list(r) for r in wb[title].iter_rows(values_only=True)]
        key = rows[0].index("Key") if title == "Alerts" and rows and "Key" in rows[0] else None
        out[title] = [["(time)" if isinstance(v, str) and _MINUTE.fullmatch(v) else
                       "(key)" if i == key and n else v for i, v in enumerate(r)] for n, r in enumerate(rows)]
    wb.close()
    return out


def test_a_run_killed_at_any_point_leaves_the_old_or_the_new_workbook_never_a_damaged_one(tmp_path):
    # kill -9 (no clean-up runs) at points spread over a whole run, most of them late, where
    # the write happens: the workbook opens and holds either what it held before or what a
    # complete run writes. Timings only choose where to kill; nothing about speed is asserted.
    import random
    import shutil
    import signal
    import time

    old = make_workbook(tmp_path / "old.xlsx")
    assert run(old, "--as-of", "2026-11-26", "--no-notify").exit_code in (1, 2)
    from kpirules.writeback import xlsx_rows
    from kpirules.writeback.plan import WritePlan

    # The runs below write History and Data in place, past openpyxl (xlsx_rows): that path.
    stub = xlsx_rows.prepare(str(old), WritePlan(tabs=[]))
    assert stub is not None and {"Data", "History"} <= {s.title for s in stub.sheets}
    new = tmp_path / "new.xlsx"
    shutil.copy(old, new)
    cmd = [sys.executable, "-m", "kpirules", "run", "--as-of", "2026-12-03", "--no-notify", "-q"]
    started = time.perf_counter()
    done = subprocess.run([*cmd, str(new)], capture_output=True, timeout=120)
    whole = time.perf_counter() - started
    assert done.returncode in (1, 2), done.stdout
    before, after = _content(old), _content(new)
    assert before != after
    seen = set()
    rng = random.Random(14)
    for i, share in enumerate((0.3, 0.55, 0.7, 0.8, 0.87, 0.93, 0.97, 1.0)):
        target = tmp_path / f"killed{i}.xlsx"
        shutil.copy(old, target)
        proc = subprocess.Popen([*cmd, str(target)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(whole * share * rng.uniform(0.9, 1.1))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        got = _content(target)
        assert got in (before, after), f"kill {i} at {share:.0%} of a run left a third state"
        seen.add("new" if got == after else "old")
    assert "old" in seen  # the early kills at least


def test_a_run_between_the_holders_lock_and_its_time_still_names_the_time(tmp_path):
    # The holder takes the lock, then writes its start time: a run arriving in between
    # read an empty file and said only "another run holds this workbook" (a flaky exit-7
    # message under load). It now looks again for a moment.
    import fcntl
    import threading

    from kpirules.writeback.lease import LeaseHeld
    from kpirules.writeback.lock import _write_since, file_lock, lock_path

    book = tmp_path / "w.xlsx"
    book.write_bytes(b"")
    fd = os.open(lock_path(str(book)), os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        threading.Timer(0.1, _write_since, (fd, "07:00:12")).start()
        with pytest.raises(LeaseHeld) as held:
            with file_lock(str(book), timeout=0):
                pass
        assert held.value.since == "07:00:12"
    finally:
        os.close(fd)
