"""Late and partial data (spec/semantics.md, "Complete periods") and what the commands make
of them: NO_DATA naming the data end, never a verdict; the report's extents and late
metrics; `complete_through` and `late_after`; exit status 6 (spec/cli.md).

Also the honest edges around them: a `by` rule left without segments, unreadable dates in
rows of numbers and empty data tabs (exit 3), bad settings files (exit 2 in every command),
the Settings tab read by `check` on Google Sheets in its one call, a BOM in a .kpi file,
and the warnings in `--format json`.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import kpirules
from kpirules.completeness import Extents, parse_late_after, through_text
from kpirules.connectors.base import RawTable
from kpirules.engine import evaluate
from kpirules.errors import SourceError
from kpirules.results import Period, Status
from kpirules.rulesfile import parse_rules_file
from kpirules.table import load_table

AS_OF = dt.date(2026, 11, 23)  # a Monday: last week is 2026-11-16..22
D = dt.date


def days(start: str, end: str) -> list[str]:
    first, last = D.fromisoformat(start), D.fromisoformat(end)
    return [(first + dt.timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def csv_text(rows: list[list]) -> str:
    return "\n".join(",".join("" if v is None else str(v) for v in row) for row in rows) + "\n"


# Visits through Sunday 2026-11-22, signups only through Friday 2026-11-20 (the export of
# signups lags), orders begin on Wednesday 2026-11-04.
ROWS = [["date", "visits", "signups", "orders"]] + [
    [d, 1000, 30 if d <= "2026-11-20" else None, 5 if d >= "2026-11-04" else None]
    for d in days("2026-10-01", "2026-11-22")]
RULES = """\
rate: signups / visits >= 2% weekly
visits: visits >= 5000 weekly
orders_monthly: orders >= 10 monthly
count_signups: count(signups) >= 1 daily
change_visits: change(visits) >= -10% weekly
"""


def raw(rows: list[list]) -> RawTable:
    return RawTable(headers=rows[0], rows=[list(r) for r in rows[1:]], sheet="Data")


def report_of(rows=ROWS, rules=RULES, as_of=AS_OF, **kwargs):
    return evaluate(parse_rules_file(rules), load_table(raw(rows)), as_of, **kwargs)


def by_name(report) -> dict:
    return {r.name: r for r in report.results}


# ------------------------------------------------------------------ the engine


def test_late_metric_is_no_data_naming_its_data_end_and_flagged_incomplete():
    results = by_name(report_of())
    rate = results["rate"]
    assert rate.status is Status.NO_DATA and rate.value is None and rate.incomplete
    assert "signups are in only up to 2026-11-20" in rate.message
    assert rate.period == Period(D(2026, 11, 16), D(2026, 11, 22))
    # visits are complete: the same week gets its verdict
    assert results["visits"].status is Status.PASS and not results["visits"].incomplete
    assert results["visits"].value == 7000
    # count never makes NO_DATA on its own, but a late period does
    assert results["count_signups"].status is Status.NO_DATA and results["count_signups"].incomplete


def test_a_period_before_the_data_start_is_no_data_naming_it():
    (result,) = report_of(rules="orders_monthly: orders >= 10 monthly\n", as_of=D(2026, 12, 1)).results
    assert result.period == Period(D(2026, 11, 1), D(2026, 11, 30))
    # November ends after the data (2026-11-22): late, not begun
    assert result.incomplete and "orders are in only up to 2026-11-22" in result.message
    (result,) = report_of(rules="orders_monthly: orders >= 10 monthly\n", as_of=D(2026, 11, 5)).results
    assert result.period == Period(D(2026, 10, 1), D(2026, 10, 31))
    assert result.status is Status.NO_DATA and result.incomplete
    assert "orders begin only on 2026-11-04" in result.message


def test_the_previous_period_of_change_must_be_complete_too():
    rows = [r for r in ROWS if r[0] == "date" or r[0] >= "2026-11-11"]  # from a Wednesday
    (result,) = report_of(rows, "change_visits: change(visits) >= -10% weekly\n").results
    assert result.status is Status.NO_DATA and result.incomplete
    assert "visits begin only on 2026-11-11" in result.message and "previous period" in result.message


def test_a_non_blank_unreadable_cell_counts_as_data_and_is_an_error():
    rows = [list(r) for r in ROWS]
    # signups on Sunday: not a number, but there ("n/a" or "--" would read as no value,
    # as exports write it: kpirules.read.numbers.BLANK_WORDS)
    rows[-1][2] = "twelve"
    (rate,) = report_of(rows, "rate: signups / visits >= 2% weekly\n").results
    assert rate.status is Status.ERROR and rate.error.cell == f"Data!C{len(rows)}"


@pytest.mark.parametrize("placeholder", ["--", "-", "\u2014", "n/a", " N/A ", "#N/A", "na", "   "])
def test_a_placeholder_is_no_value_and_covers_no_day(placeholder):
    """An export's "no value" (`--`, `n/a`...) is left out of the sums (a blank cell is
    missing), so it does not make a day covered either: signups written as placeholders
    from Saturday on are still late, never a week summed over five days."""
    rows = [list(r) for r in ROWS]
    for row in rows[1:]:
        if row[0] >= "2026-11-21":
            row[2] = placeholder
    report = report_of(rows, "rate: signups / visits >= 2% weekly\n")
    assert report.extents["signups"] == (D(2026, 10, 1), D(2026, 11, 20))
    (rate,) = report.results
    assert rate.status is Status.NO_DATA and rate.incomplete
    assert "signups are in only up to 2026-11-20" in rate.message
    # A placeholder before the first value does not start the data either.
    rows = [list(r) for r in ROWS]
    for row in rows[1:]:
        if row[0] < "2026-11-04":
            row[3] = placeholder
    assert report_of(rows, "orders_monthly: orders >= 10 monthly\n").extents["orders"][0] == D(2026, 11, 4)


def test_report_extents_and_late_metrics():
    report = report_of(as_of=D(2026, 11, 26))  # A-1 = 11-25, late_after 2 days: older than 11-23 is late
    assert report.extents == {"visits": (D(2026, 10, 1), D(2026, 11, 22)),
                              "signups": (D(2026, 10, 1), D(2026, 11, 20)),
                              "orders": (D(2026, 11, 4), D(2026, 11, 22))}
    assert report.late == {"orders": D(2026, 11, 22), "signups": D(2026, 11, 20), "visits": D(2026, 11, 22)}
    assert any("signups data end on 2026-11-20" in w for w in report.warnings)
    assert report.exit_code == 6
    relaxed = report_of(as_of=D(2026, 11, 26), late_after="1 week")
    assert relaxed.late == {} and relaxed.exit_code == report.exit_status
    assert report_of().late == {}  # Monday: A-1 - 2 days = Friday, the lagging signups' end
    assert report_of(as_of=D(2026, 11, 24)).late == {"signups": D(2026, 11, 20)}


def test_complete_through_replaces_every_data_end():
    results = by_name(report_of(complete_through="yesterday"))
    assert results["rate"].status is Status.PASS and not results["rate"].incomplete
    assert results["rate"].value == pytest.approx(150 / 7000)  # five days of signups
    dated = report_of(complete_through=D(2026, 11, 21))
    assert by_name(dated)["visits"].status is Status.NO_DATA  # declared complete only through Saturday
    assert dated.extents["visits"] == (D(2026, 10, 1), D(2026, 11, 21))


def test_settings_carry_complete_through_and_late_after():
    from kpirules.config import Settings

    settings = Settings(complete_through="yesterday", late_after="1 week")
    assert (settings.complete_through, settings.late_after) == ("yesterday", "1 week")
    report = report_of(settings=settings, as_of=D(2026, 11, 26))
    assert by_name(report)["rate"].status is Status.PASS and report.late == {}
    with pytest.raises(ValueError, match="neither a date"):
        Settings(complete_through="tomorrow")
    with pytest.raises(ValueError, match="not a duration"):
        Settings(late_after="soon")
    assert Settings(late_after=3).late_after == "3 days"
    assert parse_late_after("2 weeks") == dt.timedelta(days=14)


def test_a_column_with_no_data_has_no_extent():
    rows = [["date", "visits", "empty"]] + [[d, 1, None] for d in days("2026-11-01", "2026-11-22")]
    report = report_of(rows, "e: count(empty) = 0 weekly\ns: empty >= 1 weekly\n")
    count, total = report.results
    assert count.status is Status.PASS and total.status is Status.NO_DATA and not total.incomplete
    assert "empty" not in report.extents and report.late == {}


def test_extents_gap_and_through_text():
    ext = Extents.build({"a": (D(2026, 1, 5), D(2026, 11, 20))}, D(2026, 11, 23))
    assert ext.gap("a", Period(D(2026, 11, 16), D(2026, 11, 22))) == "a is in only up to 2026-11-20"
    assert ext.gap("a", Period(D(2026, 1, 1), D(2026, 1, 31))) == "a begins only on 2026-01-05"
    assert ext.gap("a", Period(D(2026, 2, 1), D(2026, 2, 28))) is None
    assert ext.gap("unknown", Period(D(2026, 2, 1), D(2026, 2, 28))) is None
    assert through_text({"a": (D(2026, 1, 1), D(2026, 11, 22))}) == "data through 2026-11-22"
    assert through_text({"a": (D(2026, 1, 1), D(2026, 11, 22)), "b": (D(2026, 1, 1), D(2026, 11, 22)),
                         "c": (D(2026, 1, 1), D(2026, 11, 20))}) == \
        "data through 2026-11-22 (a, b), 2026-11-20 (c)"


# ---------------------------------------------------------------- `by` rules


SEGMENTED = [["date", "channel", "visits"]] + [[d, ch, 100] for d in days("2026-11-09", "2026-11-22")
                                               for ch in ("email", "search")]


def test_a_by_rule_without_segments_gives_one_no_data_result():
    (result,) = report_of(SEGMENTED, 'fr: visits >= 1 weekly by channel where channel = "tv"\n').results
    assert result.status is Status.NO_DATA and result.segment is None and not result.incomplete
    assert result.period == Period(D(2026, 11, 16), D(2026, 11, 22))
    assert "no rows in the period for any channel" in result.message
    both = report_of(SEGMENTED, "v: visits >= 1 weekly by channel\n").results
    assert [r.segment for r in both] == [{"channel": "email"}, {"channel": "search"}]


# ---------------------------------------------------------------- unreadable data


def test_an_unreadable_date_in_a_row_of_numbers_is_a_source_error():
    rows = ROWS[:3] + [["soon", 5, 5, 5], ["", 7, 7, 7], ["notes", "text only", None, None]]
    with pytest.raises(SourceError) as info:
        load_table(raw(rows))
    assert "Data!A4 holds 'soon', which is not a date, but its row holds numbers" in info.value.message
    # numbers under a blank date are a data row missing its date unless they are their
    # columns' sums (a total without a label, as the exports reader decides: test_read_errors)
    with pytest.raises(SourceError, match="Data!A4 is empty, but its row holds numbers"):
        load_table(raw(ROWS[:3] + [["", 7, 7, 7], ["notes", "text only", None, None]]))
    # a total that adds up and a row without numbers below it are left out with a warning
    table = load_table(raw(ROWS[:3] + [["", 2000, 60, None], ["notes", "text only", None, None]]))
    assert table.row_count == 2 and table.warnings == ["read Data: 1 total row left out"]


def test_an_empty_data_tab_is_a_source_error():
    with pytest.raises(SourceError, match="holds no data: nothing below its header row"):
        load_table(raw([["date", "visits"], [None, None]]))


# ------------------------------------------------------------------ commands


def invoke(*args: str):
    return CliRunner().invoke(kpirules_cli(), list(args), env={"NO_COLOR": "1"}, catch_exceptions=False)


def kpirules_cli():
    from kpirules.cli.main import cli

    return cli


@pytest.fixture
def project(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.csv").write_text(csv_text(ROWS), encoding="utf-8")
    (tmp_path / "rules.kpi").write_text(RULES, encoding="utf-8")
    return tmp_path


def test_check_says_how_far_the_data_reach_and_waits_for_late_data(project):
    res = invoke("check", "data.csv", "--rules", "rules.kpi", "--as-of", "2026-11-23")
    assert res.exit_code == 0, res.output  # no FAIL: the late week is not judged
    assert "signups are in only up to 2026-11-20" in res.stdout
    assert "waiting for late data" in res.stdout
    assert "data through 2026-11-22 (orders, visits), 2026-11-20 (signups)" in res.stdout


def test_check_exits_6_when_the_data_are_late_and_json_says_why(project):
    res = invoke("check", "data.csv", "--rules", "rules.kpi", "--as-of", "2026-11-26", "--format", "json")
    assert res.exit_code == 6
    doc = json.loads(res.stdout)
    assert doc["late"] == {"orders": "2026-11-22", "signups": "2026-11-20", "visits": "2026-11-22"}
    assert doc["extents"]["signups"] == {"start": "2026-10-01", "end": "2026-11-20"}
    assert any("signups data end on 2026-11-20" in w for w in doc["warnings"])
    rate = next(r for r in doc["results"] if r["name"] == "rate")
    assert rate["status"] == "NO_DATA" and rate["incomplete"] is True
    # a FAIL beside late data: 6 wins over 1 (spec/cli.md order 3, 2, 7, 5, 6, 1, 0)
    (project / "fail.kpi").write_text("v: visits >= 1M monthly\n", encoding="utf-8")
    assert invoke("check", "data.csv", "--rules", "fail.kpi", "--as-of", "2026-11-26").exit_code == 6
    assert invoke("check", "data.csv", "--rules", "fail.kpi", "--as-of", "2026-11-23").exit_code == 1


def test_complete_through_in_the_settings_file(project):
    (project / "kpirules.toml").write_text('complete_through = "yesterday"\n', encoding="utf-8")
    res = invoke("check", "data.csv", "--rules", "rules.kpi", "--as-of", "2026-11-23", "--format", "json")
    rate = next(r for r in json.loads(res.stdout)["results"] if r["name"] == "rate")
    assert rate["status"] == "PASS"


def test_json_carries_the_data_warnings_the_table_prints(project):
    # a row without a date or numbers among the data (below them it would be a footnote)
    (project / "data.csv").write_text(csv_text(ROWS[:10] + [["", "see note", None, None]] + ROWS[10:]),
                                      encoding="utf-8")
    table = invoke("check", "data.csv", "--rules", "rules.kpi", "--as-of", "2026-11-23")
    res = invoke("check", "data.csv", "--rules", "rules.kpi", "--as-of", "2026-11-23", "--format", "json")
    warnings = json.loads(res.stdout)["warnings"]
    assert warnings and all(f"warning: {w}" in table.stderr for w in warnings)
    assert any("'data.csv'!A11 is empty, so the row has no date" in w for w in warnings)


def test_by_rule_without_segments_is_in_every_output(project):
    (project / "seg.csv").write_text(csv_text(SEGMENTED), encoding="utf-8")
    (project / "seg.kpi").write_text('fr: visits >= 1 weekly by channel where channel = "tv"\n'
                                     "all: visits >= 1 weekly\n", encoding="utf-8")
    res = invoke("check", "seg.csv", "--rules", "seg.kpi", "--as-of", "2026-11-23", "--format", "json")
    assert [(r["name"], r["status"], r["segment"]) for r in json.loads(res.stdout)["results"]] == \
        [("fr", "NO_DATA", None), ("all", "PASS", None)]
    table = invoke("check", "seg.csv", "--rules", "seg.kpi", "--as-of", "2026-11-23")
    assert "NO_DATA fr" in table.stdout and "2 rules, 2 results" in table.stdout
    explained = invoke("explain", "seg.csv", "fr", "--rules", "seg.kpi", "--as-of", "2026-11-23")
    assert explained.exit_code == 0 and "NO_DATA" in explained.stdout


def test_run_writes_no_data_for_a_by_rule_without_segments(tmp_path, monkeypatch):
    from openpyxl import Workbook, load_workbook

    monkeypatch.chdir(tmp_path)
    wb = Workbook()
    wb.active.title = "Rules"
    wb["Rules"].append(["Name", "Rule"])
    wb["Rules"].append(["fr", 'visits >= 1 weekly by channel where channel = "tv"'])
    data = wb.create_sheet("Data")
    for row in SEGMENTED:
        data.append([D.fromisoformat(row[0]) if row[0] != "date" else "date", *row[1:]])
    wb.save(tmp_path / "book.xlsx")
    res = invoke("run", "book.xlsx", "--as-of", "2026-11-23")
    assert res.exit_code == 0, res.output
    rules = load_workbook(tmp_path / "book.xlsx")["Rules"]
    header = [c.value for c in rules[1]]
    assert rules[2][header.index("Status")].value == "NO_DATA"


def test_unreadable_dates_and_empty_data_exit_3(project):
    (project / "bad.csv").write_text("date,visits\n2026-11-16,5\nsoon,7\n", encoding="utf-8")
    res = invoke("check", "bad.csv", "--rules", "rules.kpi", "--as-of", "2026-11-23")
    assert res.exit_code == 3 and "'bad.csv'!A3 holds 'soon', which is not a date" in res.stderr
    (project / "empty.csv").write_text("date,visits\n", encoding="utf-8")
    res = invoke("check", "empty.csv", "--rules", "rules.kpi", "--as-of", "2026-11-23")
    assert res.exit_code == 3 and "holds no data: nothing below its header row" in res.stderr
    # validate --data fails where check does
    assert invoke("validate", "rules.kpi", "--data", "bad.csv").exit_code == 3


def test_validate_data_finds_what_check_refuses(project):
    (project / "dup.csv").write_text("date,visits,Visits,signups\n2026-11-16,1,2,3\n", encoding="utf-8")
    (project / "r.kpi").write_text("ok: signups >= 1 weekly\ndup: visits >= 1 weekly\n"
                                   "day: date >= 1 weekly\n", encoding="utf-8")
    res = invoke("validate", "r.kpi", "--data", "dup.csv")
    assert res.exit_code == 1
    assert "r.kpi:2: data: column `visits` cannot be told apart" in res.stdout
    assert "r.kpi:3: invalid-rule: `date` is the date column" in res.stdout
    check = invoke("check", "dup.csv", "--rules", "r.kpi", "--as-of", "2026-11-23")
    assert check.exit_code == 2


@pytest.mark.parametrize("command", [
    ["check", "data.csv", "--rules", "rules.kpi"],
    ["explain", "data.csv", "rate", "--rules", "rules.kpi"],
    ["run", "book.xlsx"],
    ["lint", "rules.kpi"],
    ["lint", "rules.kpi", "--data", "data.csv"],
    ["validate", "rules.kpi"],
    ["validate", "rules.kpi", "--data", "data.csv"],
])
@pytest.mark.parametrize("toml,where", [
    ('late_after = "soon"\n', "kpirules.toml:1"),
    ('data_tab = "Data"\nlate_after = 2 days\n', "kpirules.toml:2"),
])
def test_a_bad_settings_file_is_exit_2_with_its_line_in_every_command(project, command, toml, where):
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "Rules"
    book["Rules"].append(["Name", "Rule"])
    book.create_sheet("Data").append(["date", "visits"])
    book.save(project / "book.xlsx")
    (project / "kpirules.toml").write_text(toml, encoding="utf-8")
    res = invoke(*command)
    assert res.exit_code == 2, res.output
    assert f"error: {where}" in res.stderr and "Traceback" not in res.output


def test_a_bom_is_not_part_of_the_first_rule_name(project):
    (project / "bom.kpi").write_bytes("\ufeffrate: signups / visits >= 2% weekly\n".encode("utf-8"))
    res = invoke("check", "data.csv", "--rules", "bom.kpi", "--as-of", "2026-11-23", "--format", "json")
    assert json.loads(res.stdout)["results"][0]["name"] == "rate"


def test_check_on_sheets_reads_the_settings_tab_in_its_one_call(sheet_from_rows, sheets_emulator, monkeypatch,
                                                               tmp_path):
    monkeypatch.setenv("KPIRULES_SHEETS_EMULATOR_HOST", sheets_emulator.host)
    monkeypatch.chdir(tmp_path)
    rows = [["Day", *ROWS[0][1:]]] + [[D.fromisoformat(r[0]), *r[1:]] for r in ROWS[1:]]
    key = sheet_from_rows(rows, tabs={
        "Rules": [["Name", "Rule"], ["rate", "signups / visits >= 2% weekly"]],
        "Settings": [["Key", "Value"], ["date_column", "Day"], ["complete_through", "yesterday"]]})
    report = kpirules.check(key, as_of=AS_OF)
    assert [(r.name, r.status) for r in report.results] == [("rate", Status.PASS)]
    calls = [r["api"] for r in sheets_emulator.requests() if r["api"].startswith("spreadsheets")]
    assert calls == ["spreadsheets.get"]


def test_duckdb_computes_the_same_extents(tmp_path):
    pytest.importorskip("duckdb")
    from kpirules.backends.duckdb_table import DuckTable

    rows = [list(r) for r in ROWS]
    rows[5][2] = " "  # whitespace only: blank, as in the Python path
    rows[-1][3] = "\u00a0"  # a no-break space alone: blank too
    rows[-2][1] = "n/a"  # not a number, but there
    path = tmp_path / "data.csv"
    path.write_text(csv_text(rows), encoding="utf-8")
    entries = parse_rules_file(RULES)
    for as_of in (AS_OF, D(2026, 11, 26), D(2026, 10, 15)):
        python = evaluate(entries, load_table(raw(rows)), as_of)
        duck = evaluate(entries, DuckTable(path), as_of)
        assert duck.extents == python.extents and duck.late == python.late
        assert [(r.status, r.message.replace("'data.csv'", "Data"), r.incomplete) for r in duck.results] == \
            [(r.status, r.message, r.incomplete) for r in python.results]
