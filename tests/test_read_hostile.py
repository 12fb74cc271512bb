"""Hostile exports and rules files through the real CLI, on both table backends: what a
demanding analyst met and the engine got wrong once (each test names the mistake)."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from kpirules import backends
from kpirules.cli.main import cli

AS_OF = "2026-11-20"
CAMPAIGNS = ("search_brand", "search_generic", "social_a", "social_b", "email_news", "email_promo")


def check(monkeypatch, backend: str, *args: str):
    """``kpirules check ... --format json`` with ``backend``: (exit code, the results'
    document, or the error's message and hint when the source or the settings failed)."""
    monkeypatch.setenv(backends.ENV_VAR, backend)
    res = CliRunner().invoke(cli, ["check", *args, "--as-of", AS_OF, "--format", "json"])
    doc = json.loads(res.stdout)
    if "error" in doc:
        assert res.exit_code == doc["error"]["exit_status"]  # the same error on stderr too
        assert doc["error"]["message"] in res.stderr
        return res.exit_code, f"{doc['error']['message']}\n{doc['error'].get('hint', '')}"
    return res.exit_code, doc


def odd_cell(tmp_path, day: str, column: int, text: str) -> tuple[str, list[list[str]], int]:
    """A CSV file of ``daily_rows`` (September to 19 November 2026) whose first row of
    ``day`` holds ``text`` in ``column``: its path, its rows, and that row's index."""
    rows = daily_rows(dt.date(2026, 9, 1), dt.date(2026, 11, 19))
    at = next(i for i, r in enumerate(rows) if r[0] == day)
    rows[at][column] = text
    return write(tmp_path / "d.csv", rows), rows, at


def check_book(monkeypatch, path, calamine: str):
    """``check`` of the workbook at ``path``, read by calamine, or with ``calamine ==
    "refuses"`` by openpyxl after calamine's refusal (simulated: a workbook calamine refuses
    cannot be made on purpose)."""
    if calamine == "refuses":
        import python_calamine

        def refuse(*args, **kwargs):
            raise python_calamine.CalamineError("unexpected part")

        monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_path", refuse)
    return check(monkeypatch, "python", str(path))


def daily_rows(start: dt.date, end: dt.date) -> list[list[str]]:
    """Rows of date, campaign, revenue: cents that do not add up exactly in binary."""
    rows, day, k = [], start, 0
    while day <= end:
        for campaign in CAMPAIGNS:
            k += 1
            rows.append([day.isoformat(), campaign, f"{(k * 7919) % 9000 + 100}.{(k * 37) % 100:02d}"])
        day += dt.timedelta(days=1)
    return rows


def write(path: Path, rows: list[list[str]], header=("Date", "Campaign", "Revenue")) -> str:
    path.write_text("\n".join(",".join(r) for r in [list(header), *rows]) + "\n", encoding="utf-8")
    return str(path)


def rules(tmp_path: Path, text: str) -> str:
    path = tmp_path / "r.kpi"
    path.write_text(text, encoding="utf-8")
    return str(path)


def values(doc: dict) -> dict[str, float]:
    return {r["name"]: r["value"] for r in doc["results"]}


# ------------------------------------------------------------ last() and first()


@pytest.mark.parametrize("backend", ["python", "duckdb"])
def test_last_and_first_add_a_days_cells_as_sum_does(tmp_path, monkeypatch, backend):
    """last(x) is the sum of x on the period's last day with a value. The Python path added
    that day's cells with a running +=, one bit off math.fsum (what `sum` and the DuckDB
    backend use): `last(revenue) weekly` and `revenue daily` of the same day differed."""
    if backend == "duckdb":
        pytest.importorskip("duckdb")
    rows = daily_rows(dt.date(2026, 10, 1), dt.date(2026, 11, 19))
    data = write(tmp_path / "d.csv", rows)
    text = "last_week: last(revenue) >= 0 weekly\nfirst_week: first(revenue) >= 0 weekly\n"
    code, doc = check(monkeypatch, backend, data, "--rules", rules(tmp_path, text))
    assert code == 0, doc
    got = values(doc)

    def day_sum(day: str) -> float:
        return math.fsum(float(r[2]) for r in rows if r[0] == day)

    # the week before the as-of date's week: 2026-11-09 .. 2026-11-15
    assert (got["last_week"], got["first_week"]) == (day_sum("2026-11-15"), day_sum("2026-11-09"))


# ------------------------------------------------------------ dates past the sample


@pytest.mark.parametrize("backend", ["python", "duckdb"])
def test_a_day_first_date_deep_in_an_iso_column_is_read_by_both_backends(tmp_path, monkeypatch, backend):
    """The DuckDB backend decides the read recipe from the head and tail of a file. A
    13/10/2026 further in (an export pasted into another) proves the column day first, and
    the Python path reads it so; the DuckDB path called it "not a date" (exit 3), because it
    asked the recipe's reader, whose order was never decided, instead of handing the file
    to the Python path as it does for every date SQL does not read."""
    if backend == "duckdb":
        pytest.importorskip("duckdb")
    data, rows, at = odd_cell(tmp_path, "2026-10-13", 0, "13/10/2026")
    code, doc = check(monkeypatch, backend, data, "--rules", rules(tmp_path, "oct: revenue >= 0 monthly\n"))
    assert code == 0, doc
    assert values(doc)["oct"] == math.fsum(float(r[2]) for r in rows if r[0].startswith("2026-10") or r is rows[at])


@pytest.mark.parametrize("backend", ["python", "duckdb"])
def test_an_ambiguous_date_deep_in_an_iso_column_is_the_same_error_in_both_backends(tmp_path, monkeypatch, backend):
    """05/10/2026 could be the 5th of October or the 10th of May: the Python path says so and
    names the settings that decide; the DuckDB path said the cell is not a date at all."""
    if backend == "duckdb":
        pytest.importorskip("duckdb")
    data, _, _ = odd_cell(tmp_path, "2026-10-05", 0, "05/10/2026")
    code, out = check(monkeypatch, backend, data, "--rules", rules(tmp_path, "oct: revenue >= 0 monthly\n"))
    assert code == 3
    assert "(such as 05/10/2026) could be day/month or month/day" in out and "date_format" in out
    assert "Traceback" not in out


# ------------------------------------------------------------ rows wider than the header


@pytest.mark.parametrize("backend", ["python", "duckdb"])
def test_an_unquoted_thousands_comma_is_refused_not_read_as_a_smaller_number(tmp_path, monkeypatch, backend):
    """`2026-10-13,search_brand,1,234.50` in a comma-separated file is four cells under three
    headers. The reader kept the first three and dropped the rest without a word, so revenue
    read 1 instead of 1,234.50 and the rule gave a verdict on it (exit 0). Now: exit 3,
    naming the cell right of the headers and saying how to fix the export."""
    if backend == "duckdb":
        pytest.importorskip("duckdb")
    data, _, at = odd_cell(tmp_path, "2026-10-13", 2, "1,234.50")
    code, out = check(monkeypatch, backend, data, "--rules", rules(tmp_path, "oct: revenue >= 0 monthly\n"))
    assert code == 3, out
    assert f"'d.csv'!D{at + 2} holds '234.50' right of the last header ('d.csv'!C1)" in out
    assert "quote such cells" in out and "Traceback" not in out


@pytest.mark.parametrize("backend", ["python", "duckdb"])
def test_a_trailing_delimiter_on_every_data_row_is_still_read(tmp_path, monkeypatch, backend):
    """Blank cells right of the headers (a trailing comma, as some exports write) hold no
    value that could be misplaced: the file is read as before."""
    if backend == "duckdb":
        pytest.importorskip("duckdb")
    rows = daily_rows(dt.date(2026, 9, 1), dt.date(2026, 11, 19))
    data = write(tmp_path / "d.csv", [[*r, ""] for r in rows])
    code, doc = check(monkeypatch, backend, data, "--rules", rules(tmp_path, "oct: revenue >= 0 monthly\n"))
    assert code == 0, doc
    assert values(doc)["oct"] == math.fsum(float(r[2]) for r in rows if r[0].startswith("2026-10"))


# ------------------------------------------------------------ kpirules test --junit


def test_junit_report_stays_well_formed_xml_with_control_characters(tmp_path):
    """A test name (or a message, or a segment's value from a pasted cell) holding a control
    character such as \\x0b went into the JUnit file as it was: XML 1.0 cannot hold it even
    escaped, so the CI's parser rejected the whole report. It is written as an escape."""
    import xml.etree.ElementTree as ET

    spec = tmp_path / "t.yaml"
    spec.write_text(
        'rules:\n  conv: signups / visits >= 2% weekly\n'
        'tests:\n'
        '  - name: "pasted \\x0b name & <more>"\n'
        '    as_of: 2026-11-26\n'
        '    input: {start: 2026-11-16, series: {visits: "1000x6", signups: "10x6"}}\n'
        '    expect: [{rule: conv, status: PASS, message: "bell \\x07"}]\n', encoding="utf-8")
    report = tmp_path / "junit.xml"
    res = CliRunner().invoke(cli, ["test", str(spec), "--junit", str(report)])
    assert res.exit_code == 1, res.output
    case = ET.parse(report).find(".//testcase")
    assert case is not None and case.get("name") == "pasted \\x0b name & <more>"
    failure = case.find("failure")
    assert failure is not None and "bell \\x07" in (failure.text or "")


# ------------------------------------------------------------ the DuckDB path's temporary copy


def test_check_of_a_windows_1250_file_leaves_no_copy_in_the_temporary_folder(tmp_path):
    """DuckDB reads UTF-8 only, so the DuckDB path checks a Windows-1250 export (Polish
    Excel) through a UTF-8 copy that an exit handler removes. `check`'s fast path ends with
    os._exit, which skips exit handlers: every run left a full copy of the data behind."""
    pytest.importorskip("duckdb")
    import os
    import subprocess
    import sys

    rows = [[d, c.replace("search", "wyszukiwarka_łódź"), v.replace(".", ",")]
            for d, c, v in daily_rows(dt.date(2026, 9, 1), dt.date(2026, 11, 19))]
    (tmp_path / "d.csv").write_bytes(("Data;Kampania;Przychód\n" + "".join(
        ";".join(r) + "\n" for r in rows)).encode("cp1250"))
    (tmp_path / "r.kpi").write_text("oct: przychód >= 0 monthly\n", encoding="utf-8")
    temp = tmp_path / "temp"
    temp.mkdir()
    root = Path(__file__).resolve().parent.parent
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KPIRULES", "LANG", "LC_"))}
    env.update(PYTHONPATH=os.pathsep.join([str(root), env.get("PYTHONPATH", "")]), TMPDIR=str(temp),
               KPIRULES_BACKEND="duckdb")
    done = subprocess.run([sys.executable, "-m", "kpirules", "check", "d.csv", "--rules", "r.kpi",
                           "--as-of", AS_OF, "--format", "json"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    oct_sum = math.fsum(float(r[2].replace(",", ".")) for r in rows if r[0].startswith("2026-10"))
    assert json.loads(done.stdout)["results"][0]["value"] == pytest.approx(oct_sum, rel=1e-12)
    assert list(temp.iterdir()) == []


# ------------------------------------------------------------ a rules tab asked for by name


def _workbook(path: Path) -> str:
    import openpyxl

    book = openpyxl.Workbook()
    data = book.active
    data.title = "Data"
    data.append(["Date", "Campaign", "Revenue"])
    for day, campaign, revenue in daily_rows(dt.date(2026, 10, 1), dt.date(2026, 11, 19)):
        data.append([dt.date.fromisoformat(day), campaign, float(revenue)])
    rules_tab = book.create_sheet("Rules")
    rules_tab.append(["Name", "Rule"])
    rules_tab.append(["oct", "revenue >= 0 monthly"])
    book.save(path)
    return str(path)


@pytest.mark.parametrize("command", ["check", "explain", "report"])
def test_a_missing_rules_tab_is_named_as_asked_for(tmp_path, command):
    """`--rules-tab KPIs` on a workbook without that tab said "has no Rules tab": the wrong
    tab, and a hint to add the one that is there. It names the tab asked for, the tabs there
    are, and --rules-tab."""
    book = _workbook(tmp_path / "book.xlsx")
    args = {"check": [book], "explain": [book, "oct"], "report": [book, "--out", str(tmp_path / "r.html")]}[command]
    res = CliRunner().invoke(cli, [command, *args, "--rules-tab", "KPIs", "--as-of", AS_OF])
    assert res.exit_code == 3, res.output
    assert "has no tab named 'KPIs' (tabs: Data, Rules)" in res.output
    assert "--rules-tab" in res.output and "Traceback" not in res.output


def test_a_missing_rules_tab_named_by_the_settings_names_the_setting(tmp_path):
    book = _workbook(tmp_path / "book.xlsx")
    config = tmp_path / "kpirules.toml"
    config.write_text('rules_tab = "KPIs"\n', encoding="utf-8")
    res = CliRunner().invoke(cli, ["check", book, "--config", str(config), "--as-of", AS_OF])
    assert res.exit_code == 3, res.output
    assert "has no tab named 'KPIs' (tabs: Data, Rules) (`rules_tab = KPIs` from" in res.output
    assert "correct `rules_tab` there, or override it with --rules-tab" in res.output


# ------------------------------------------------------------ rules files that are not UTF-8


def test_a_windows_1250_rules_file_is_refused_at_its_first_bad_byte(tmp_path):
    """A rules file Notepad saved as ANSI: "is not UTF-8 text", nothing said about where.
    Past the text reader's first chunk the offset it reported was the chunk's, so the
    position is taken from the file's bytes: line and column (in characters) of the `ż`."""
    rules_file = tmp_path / "r.kpi"
    rules_file.write_bytes((("# " + "x" * 100 + "\n") * 200 + "zażółć: visits >= 1 weekly\n").encode("cp1250"))
    for command in (["validate", str(rules_file)], ["lint", str(rules_file)],
                    ["check", write(tmp_path / "d.csv", daily_rows(dt.date(2026, 11, 1), dt.date(2026, 11, 19))),
                     "--rules", str(rules_file)]):
        res = CliRunner().invoke(cli, command)
        assert res.exit_code == 3, res.output
        assert f"{rules_file}:201:3: not UTF-8 text (byte 0xBF)" in res.output
        assert "save the rules file as UTF-8" in res.output and "Traceback" not in res.output


def test_a_workbook_given_as_the_rules_file_is_said_to_be_one(tmp_path):
    """`check data.csv --rules rules.xlsx` said "rules.xlsx is not UTF-8 text: save the rules
    file as UTF-8", a hint no one can follow for a workbook."""
    book = _workbook(tmp_path / "book.xlsx")
    data = write(tmp_path / "d.csv", daily_rows(dt.date(2026, 11, 1), dt.date(2026, 11, 19)))
    res = CliRunner().invoke(cli, ["check", data, "--rules", book, "--as-of", AS_OF])
    assert res.exit_code == 3, res.output
    assert f"{book} is a workbook, not a rules file" in res.output
    assert f"kpirules check {book}" in res.output


# ------------------------------------------------------------ 01-Oct-2026


@pytest.mark.parametrize("backend", ["python", "duckdb"])
def test_day_month_name_year_with_hyphens_is_a_date(tmp_path, monkeypatch, backend):
    """`13-Oct-2026` (Excel's and many reports' dd-mmm-yyyy) was "not a date": the pattern
    after the month read `[ -,]`, the characters from space to comma, which leaves the
    hyphen out; `13 Oct 2026` was read. A whole column of them was no date column at all."""
    if backend == "duckdb":
        pytest.importorskip("duckdb")
    rows = daily_rows(dt.date(2026, 9, 1), dt.date(2026, 11, 19))
    named = [[dt.date.fromisoformat(d).strftime("%d-%b-%Y"), c, v] for d, c, v in rows]
    data = write(tmp_path / "d.csv", named)
    code, doc = check(monkeypatch, backend, data, "--rules", rules(tmp_path, "oct: revenue >= 0 monthly\n"))
    assert code == 0, doc
    assert values(doc)["oct"] == math.fsum(float(r[2]) for r in rows if r[0].startswith("2026-10"))


# ------------------------------------------------------------ xlsx read by openpyxl


@pytest.mark.parametrize("calamine", ["reads", "refuses"])
def test_formulas_saved_without_values_are_errors_whichever_reader_reads_the_workbook(tmp_path, monkeypatch,
                                                                                        calamine):
    """A workbook written by a program (openpyxl, an export script) holds formulas without
    their values. calamine's path names each such cell; the openpyxl path, taken when
    calamine refuses a workbook, read them as blanks: revenue "has no values", a NO_DATA
    where the data are there but unread. Both paths now put the formula back."""
    import openpyxl

    book = openpyxl.Workbook()
    data = book.active
    data.title = "Data"
    data.append(["Date", "Visits", "Revenue"])
    for i, day in enumerate(range(1, 20), start=2):
        data.append([dt.date(2026, 11, day), 10 + day, f"=B{i}*10"])
    rules_tab = book.create_sheet("Rules")
    rules_tab.append(["Name", "Rule"])
    rules_tab.append(["rev", "revenue >= 1 weekly"])
    path = tmp_path / "book.xlsx"
    book.save(path)
    code, doc = check_book(monkeypatch, path, calamine)
    assert code == 2, doc
    (result,) = doc["results"]
    assert result["status"] == "ERROR"
    assert "Data!C10 holds the formula =B10*10 saved without its value" in result["message"]


def test_a_rule_cell_with_an_error_or_an_unsaved_formula_is_an_error_not_a_missing_rule(tmp_path, monkeypatch):
    """A rule built by a formula (`="revenue >= "&C2&" weekly"`) whose value is #REF!, or
    that a program saved without its value, reads as an empty cell, and a row with an empty
    rule is skipped: the rule vanished and check said "1 rule: 1 PASS", exit 0."""
    import openpyxl

    book = openpyxl.Workbook()
    data = book.active
    data.title = "Data"
    data.append(["Date", "Revenue", "Target"])
    for day in range(1, 20):
        data.append([dt.date(2026, 11, day), 100 + day, 5])
    rules_tab = book.create_sheet("Rules")
    rules_tab.append(["Name", "Rule"])
    rules_tab.append(["ok", "revenue >= 1 weekly"])
    rules_tab.append(["built", '="revenue >= "&Data!C2&" weekly"'])  # saved without its value
    rules_tab.append(["broken", "#REF!"])  # openpyxl writes an error cell
    path = tmp_path / "book.xlsx"
    book.save(path)
    code, doc = check(monkeypatch, "python", str(path))
    assert code == 2, doc
    got = {r["name"]: (r["status"], r["error"]["message"] if r.get("error") else None) for r in doc["results"]}
    assert got["ok"][0] == "PASS"
    assert got["built"] == ("ERROR", "the rule is the formula =\"revenue >= \"&Data!C2&\" weekly\", saved "
                            "without its value")
    assert got["broken"] == ("ERROR", "the rule cell holds the error #REF!")
    res = CliRunner().invoke(cli, ["validate", str(path)])
    assert res.exit_code == 1 and "book.xlsx:Rules!B4: invalid-rule: the rule cell holds the error #REF!" in res.output


# ------------------------------------------------------------ totals and lines of delimiters


@pytest.mark.parametrize("backend", ["python", "duckdb"])
@pytest.mark.parametrize("where", ["top", "bottom"])
def test_a_total_row_next_to_a_line_of_delimiters_is_left_out_by_both_backends(tmp_path, monkeypatch,
                                                                                 backend, where):
    """Excel ends a CSV saved from a formatted sheet with lines of delimiters (`,,`). DuckDB
    skips empty lines but reads those as records, and the DuckDB path counted only non-blank
    rows when it skipped the recipe's totals: the total row was read as a data row without a
    date, exit 3, where the Python path leaves it out (exit 0)."""
    if backend == "duckdb":
        pytest.importorskip("duckdb")
    rows = daily_rows(dt.date(2026, 9, 1), dt.date(2026, 11, 19))
    total = ["Total", "", f"{math.fsum(float(r[2]) for r in rows):.2f}"]
    body = [["", "", ""], total, *rows] if where == "top" else [*rows, total, ["", "", ""], ["", "", ""]]
    data = write(tmp_path / "d.csv", body)
    code, doc = check(monkeypatch, backend, data, "--rules", rules(tmp_path, "oct: revenue >= 0 monthly\n"))
    assert code == 0, doc
    assert values(doc)["oct"] == math.fsum(float(r[2]) for r in rows if r[0].startswith("2026-10"))
    assert doc["warnings"] == ["read d.csv: 1 total row left out"]


@pytest.mark.parametrize("calamine", ["reads", "refuses"])
def test_a_rules_tab_reads_the_same_whichever_reader_reads_the_workbook(tmp_path, monkeypatch, calamine):
    """calamine read a rule named 1 as `1.0` (openpyxl and Google Sheets say `1`), so the
    results and History were keyed on another name depending on the reader; and openpyxl,
    which reads an error cell as its text, made #REF! a syntax error about `#` where
    calamine's path says the cell holds an error."""
    import openpyxl

    book = openpyxl.Workbook()
    data = book.active
    data.title = "Data"
    data.append(["Date", "Revenue"])
    for day in range(1, 20):
        data.append([dt.date(2026, 11, day), 100 + day])
    rules_tab = book.create_sheet("Rules")
    rules_tab.append(["Name", "Rule"])
    rules_tab.append([1, "revenue >= 1 weekly"])
    rules_tab.append(["broken", "#REF!"])
    path = tmp_path / "book.xlsx"
    book.save(path)
    code, doc = check_book(monkeypatch, path, calamine)
    assert code == 2, doc
    got = {r["name"]: (r["status"], r["error"]["message"] if r.get("error") else None) for r in doc["results"]}
    assert got == {"1": ("PASS", None), "broken": ("ERROR", "the rule cell holds the error #REF!")}


# ------------------------------------------------------------ validate FILE...


def test_validate_tells_every_files_problems_when_one_file_cannot_be_read(tmp_path):
    """`kpirules validate rules/*.kpi` with one file it cannot read (not UTF-8, gone) stopped
    there: the problems of the files before it were never printed and the files after it
    never checked. Each unreadable file is now said, every other file is checked, and the
    exit status is 3 (a file could not be read)."""
    first = tmp_path / "a.kpi"
    first.write_text("a: visits >= weekly\n", encoding="utf-8")
    broken = tmp_path / "b.kpi"
    broken.write_bytes("b: wyświetlenia >= 1 weekly\n".encode("cp1250"))
    last = tmp_path / "c.kpi"
    last.write_text("c: visits >= 1 fortnightly\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["validate", str(first), str(broken), str(tmp_path / "gone.kpi"), str(last)])
    assert res.exit_code == 3, res.output
    assert f"{first}:1:14: syntax: expected a threshold after `>=`" in res.output
    assert f"error: {broken}:1:6: not UTF-8 text (byte 0x9C)" in res.output
    assert f"error: no such rules file: {tmp_path / 'gone.kpi'}" in res.output
    assert f"{last}:1:16: syntax: unknown window `fortnightly`" in res.output
    assert res.output.rstrip().endswith("in 4 files: 2 problems, 2 files could not be read")
    alone = CliRunner().invoke(cli, ["validate", str(broken)])
    assert alone.exit_code == 3 and "no problems" not in alone.output  # never said of an unread file
    assert alone.output.rstrip().endswith(": 1 file could not be read")
    doc = json.loads(CliRunner().invoke(cli, ["validate", str(first), str(broken), "--format", "json"]).stdout)
    assert [p["file"] for p in doc["problems"]] == [str(first)]
    assert [u["file"] for u in doc["unreadable"]] == [str(broken)]


def test_lint_lints_every_readable_file_when_one_cannot_be_read(tmp_path):
    """As validate: `lint rules/*.kpi --strict` stopped at a file it could not read, so
    the other files' findings went unsaid. Exit 3 still, after the rest is linted."""
    first = tmp_path / "a.kpi"
    first.write_text("reach: visits >= 100 weekly\n", encoding="utf-8")
    broken = tmp_path / "b.kpi"
    broken.write_bytes("b: wyświetlenia >= 1 weekly\n".encode("cp1250"))
    res = CliRunner().invoke(cli, ["lint", str(broken), str(first), "--strict"])
    assert res.exit_code == 3, res.output
    assert f"error: {broken}:1:6: not UTF-8 text (byte 0x9C)" in res.output
    assert f"{first}:1: KPI001 `reach`" in res.output


def test_a_duplicate_in_another_file_is_named_with_that_file(tmp_path):
    """KPI004 across two files said "what `conv` (line 1) says": line 1 of which file? (With
    the same name in both, "delete `conv` and keep `conv`" left nothing to go on.)"""
    first = tmp_path / "a.kpi"
    first.write_text("# funnel\nconv: signups / visits >= 2% weekly\n", encoding="utf-8")
    second = tmp_path / "b.kpi"
    second.write_text("conv: signups/visits >= 2% weekly\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["lint", str(first), str(second)])
    assert res.exit_code == 0, res.output
    assert f"{second}:1: KPI004 `conv`: it says exactly what `conv` ({first}:2) says" in res.output


def test_a_key_given_twice_in_a_test_file_makes_it_invalid(tmp_path):
    """YAML keeps the last of two equal keys without a word: a test with `as_of` twice ran
    as of the second date while its author read the first. It is refused at the second,
    naming the first's line; a key that overrides one merged from an anchor is not a repeat."""
    (tmp_path / "r.kpi").write_text("conv: signups / visits >= 2% weekly\n", encoding="utf-8")
    spec = tmp_path / "t.yaml"
    spec.write_text(
        "rule_files: [r.kpi]\n"
        "x-week: &week {start: 2026-11-16, series: {visits: \"1000x6\", signups: \"30x6\"}}\n"
        "tests:\n"
        "  - name: merged then overridden\n"
        "    as_of: 2026-11-26\n"
        "    input: {<<: *week, start: 2026-11-16}\n"
        "    expect: [{rule: conv, status: PASS}]\n"
        "  - name: twice\n"
        "    as_of: 2026-11-26\n"
        "    as_of: 2026-12-03\n"
        "    input: *week\n"
        "    expect: [{rule: conv, status: PASS}]\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["test", str(spec)])
    assert res.exit_code == 2, res.output
    assert "t.yaml:10:5: test-file: `as_of` is given twice here (first on line 9)" in res.output
    spec.write_text("\n".join(spec.read_text(encoding="utf-8").splitlines()[:9] + [
        "    input: *week", "    expect: [{rule: conv, status: PASS}]"]) + "\n", encoding="utf-8")
    assert CliRunner().invoke(cli, ["test", str(spec)]).exit_code == 0


@pytest.mark.parametrize("separator", ["\u2028", "\x0c", "\x85"])
def test_a_line_separator_inside_a_comment_does_not_end_the_line(tmp_path, separator):
    """str.splitlines also breaks at U+2028 (pasted from a web page), a form feed or U+0085:
    the rest of the comment became a bogus rule ("a rule line needs a name...", exit 1 for
    a valid file) and every later problem was reported a line too low."""
    path = tmp_path / "r.kpi"
    path.write_text(f"# notes{separator}more notes\na: visits >= 1 weekly\nb: visits >= weekly\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["validate", str(path)])
    assert res.exit_code == 1, res.output
    assert f"{path}:3:14: syntax: expected a threshold" in res.output
    assert "needs a name" not in res.output and "2 rules in 1 file: 1 problem" in res.output


@pytest.mark.parametrize("backend", ["python", "duckdb"])
def test_a_csv_file_without_rules_still_asks_for_rules_whatever_tab_was_named(tmp_path, monkeypatch, backend):
    """A CSV file has no tabs: its rules come from --rules, whichever tab --rules-tab names."""
    if backend == "duckdb":
        pytest.importorskip("duckdb")
    data = write(tmp_path / "d.csv", daily_rows(dt.date(2026, 9, 1), dt.date(2026, 11, 19)))
    code, out = check(monkeypatch, backend, data, "--rules-tab", "KPIs")
    assert code == 3
    assert "has no Rules tab" in out and "give the rules with --rules FILE" in out


OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # an Excel 97-2003 file, or a password-protected .xlsx


@pytest.mark.parametrize("name, content, said, hint", [
    ("export.csv", "xlsx", "export.csv is an .xlsx workbook (a zip file), not a CSV file", "rename it to .xlsx"),
    ("export.csv", OLE + bytes(600), "is an Excel 97-2003 (.xls) file or a password-protected workbook, not a CSV",
     "save it as .xlsx (without a password)"),
    ("book.xlsx", b"date,visits\n2026-11-25,3\n", "book.xlsx holds text (a CSV file?), not an .xlsx workbook",
     "rename it to .csv"),
    ("book.xlsx", OLE + bytes(600), "book.xlsx is an Excel 97-2003 (.xls) file or a password-protected workbook",
     "save it as .xlsx (without a password)"),
    ("book.xlsx", b"", "book.xlsx is empty (0 bytes)", "save it again"),
    ("old.xls", OLE + bytes(600), "old.xls: Excel 97-2003 (.xls) files are not read", "save it as .xlsx"),
    ("sheet.ods", b"PK\x03\x04", "sheet.ods: OpenDocument (.ods) files are not read", "save it as .xlsx"),
])
def test_a_file_that_is_not_what_its_name_says_is_said_as_it_is(tmp_path, monkeypatch, name, content, said, hint):
    # Before: "holds a NUL byte at byte 5", "invalid Zip archive: Could not find EOCD", or
    # "cannot tell what kind of source": the reader's complaint, not what to do.
    path = tmp_path / name
    if content == "xlsx":
        path.write_bytes((Path(__file__).resolve().parents[1] / "examples" / "marketing.xlsx").read_bytes())
    else:
        path.write_bytes(content)
    for backend in ("python", "duckdb"):
        monkeypatch.setenv(backends.ENV_VAR, backend)
        result = CliRunner().invoke(cli, ["check", str(path), "--as-of", "2026-11-26", "--rules",
                                          rules(tmp_path, "v: visits >= 1 daily\n")])
        assert result.exit_code == 3, result.output
        assert said in result.output and hint in result.output, result.output
