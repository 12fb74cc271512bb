"""The DuckDB backend gives exactly the pure-Python engine's results.

Every conformance case runs through it; the example data, and CSV files with every kind of
mess a real export has, run through both backends and must come back the same: statuses,
values (relative 1e-9), segments, periods, messages, and the problems naming bad cells.
Files only the Python path reads right must reach it (the "fallback" tests).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_conformance import assert_matches, case_param

pytest.importorskip("duckdb")

from kpirules import backends  # noqa: E402
from kpirules.backends.duckdb_table import DuckTable  # noqa: E402
from kpirules.connectors.csv_file import CsvConnector  # noqa: E402
from kpirules.engine import evaluate  # noqa: E402
from kpirules.errors import SourceError  # noqa: E402
from kpirules.rulesfile import parse_rules_file, read_rules_file  # noqa: E402
from kpirules.table import load_table  # noqa: E402

HERE = Path(__file__).parent
ROOT = HERE.parent
CASE_FILES = sorted((HERE / "conformance").glob("*.json"))
AS_OF = dt.date(2026, 11, 26)


def write_csv(path: Path, columns, rows, **fmt) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, **fmt)
        writer.writerow(columns)
        writer.writerows(["" if v is None else v for v in row] for row in rows)
    return path


def python_table(path: Path, date_column: str = "date"):
    return load_table(CsvConnector(str(path)).read().data, date_column=date_column)


def run_both(path: Path, rules: str, as_of: dt.date = AS_OF):
    """(python report, duckdb report, the DuckTable) for ``rules`` over the file."""
    entries = parse_rules_file(rules)
    duck = DuckTable(path)
    return evaluate(entries, python_table(path), as_of), evaluate(entries, duck, as_of), duck


def outcome(fn):
    """What ``fn`` gives: its value, or the source error it raises (message and hint)."""
    try:
        return fn()
    except SourceError as exc:
        return ("source error", exc.message, exc.hint)


def close(a, b) -> bool:
    """``a == b``, but floats anywhere inside (a value, a threshold computed from the data,
    an interval) within 1e-9 relative: engines may sum in another order."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b))
    return a == b


def assert_same(python, duck) -> None:
    """Identical reports: every key of every result, numbers within 1e-9 relative."""
    assert len(duck.results) == len(python.results)
    for p, d in zip(python.results, duck.results):
        pj, dj = p.to_json(), d.to_json()
        pv, dv = pj.pop("value"), dj.pop("value")
        assert (pv is None) == (dv is None), (pj, dj)
        if pv is not None:
            assert math.isclose(pv, dv, rel_tol=1e-9), (pj["name"], pv, dv)
        assert dj == pj or close(dj, pj), (dj, pj)
    assert [(x.cell, x.message) for x in duck.data_problems] == \
        [(x.cell, x.message) for x in python.data_problems]


# ------------------------------------------------------------------ conformance


def conformance_cases():
    for path in CASE_FILES:
        doc = json.loads(path.read_text(encoding="utf-8"))
        for case in doc["cases"]:
            yield case_param(path.stem, path.stem, case)


@pytest.fixture(scope="module")
def conformance_tables(tmp_path_factory):
    """One CSV file and one DuckTable per case file."""
    folder = tmp_path_factory.mktemp("conformance")
    tables = {}
    for path in CASE_FILES:
        doc = json.loads(path.read_text(encoding="utf-8"))
        source = write_csv(folder / f"{path.stem}.csv", doc["data"]["columns"], doc["data"]["rows"])
        tables[path.stem] = (doc, source)
    return tables


@pytest.mark.parametrize("stem,case", list(conformance_cases()))
def test_conformance_case(conformance_tables, stem, case):
    doc, source = conformance_tables[stem]
    table = DuckTable(source)
    entry = parse_rules_file(f"{case['name']}: {case['rule']}")[0]
    report = evaluate([entry], table, dt.date.fromisoformat(doc["as_of"]))
    got = [r.to_json() for r in report.results]
    assert table.backend == "duckdb", table.fallback_reason
    assert_matches(case, got)


# --------------------------------------------------------- same as the Python path


def test_example_data_gives_the_same_report():
    entries = read_rules_file(str(ROOT / "examples" / "marketing.kpi"))
    path = ROOT / "examples" / "marketing.csv"
    duck = DuckTable(path)
    assert_same(evaluate(entries, python_table(path), AS_OF), evaluate(entries, duck, AS_OF))
    assert duck.backend == "duckdb"


MESSY_COLUMNS = ["Date", "Channel", "Campaign", "Visits", "Signups", "Revenue", "Spend", "Spend", "", "Notes"]
MESSY_ROWS = [
    # unsorted dates, several rows a day, blanks, stray whitespace, dates in every form
    ["2026-11-20", "email", "promo", 100, 5, 10.5, 1, 2, "", "ok"],
    ["2026-11-17", " search ", "brand", 300, 9, None, 3, 4, "", ""],
    ["2026-11-17", "search", "generic", " 250 ", 7, 20.25, None, None, "", None],
    ["2026/11/18", "social", "prospect", 80, None, 3.5, 5, 6, "", "slash date"],
    ["2026-11-19 10:00:00", "social", "retarget", 90, 2, 1.25, 7, 8, "", "date-time"],
    ["2026-11-19T00:00:00+00:00", "email", "newsletter", 70, 3, None, 9, 10, "", ""],
    ["2026-11-21", "search, paid", "brand", 60, 1, 2.5, 1, 1, "", "comma in a cell"],
    ["2026-11-22", "email", "promo", "1e2", "+4", "-0.5", 2, 2, "", ""],
    ["2026-11-10", "email", "promo", 40, 4, 4.5, 1, 1, "", "previous week"],
    ["2026-11-11", "search", "brand", 45, 2, None, 1, 1, "", ""],
    ["2026-11-12", "social", "prospect", 50, 1, 5.5, 1, 1, "", ""],
    ["2026-10-15", "email", "promo", 400, 20, 44.0, 1, 1, "", "last month"],
    ["2026-10-02", "search", "brand", 410, 21, 45.0, 1, 1, "", ""],
    # bad metric cells, each one the Python path rejects
    ["2026-11-18", "email", "promo", "lots", "1,000", "nan", 1, 1, "", "bad cells"],
    ["2026-11-16", "social", "prospect", "1_000", 2, "inf", 1, 1, "", ""],
    ["2026-10-20", "search", "brand", 12, "12 leads", 3.0, 1, 1, "", ""],
    # rows without a usable date, and rows that are blank (without numbers: a data row
    # without a date is a source error since issue 10, tested below)
    ["", "email", "promo", "", "", "", "", "", "", "no date"],
    ["yesterday", "email", "promo", None, None, None, None, None, "", "words"],
    ["2026-02-30", "email", "promo", "--", None, None, None, None, "", "no such day"],
    ["0000-01-01", "email", "promo", None, None, None, None, None, "", "year zero"],
    ["", "", "", "", "", "", "", "", "", ""],
    ["2026-11-23", "email", "promo", 1, 1, 1.0, 1, 1, "x", "after as-of week; value under no header"],
]
MESSY_RULES = """
visits_weekly: visits >= 500 weekly
visits_by_channel: sum(visits) >= 100 weekly by channel
signups_by_channel_campaign: signups >= 3 weekly by channel, campaign
avg_revenue: avg(revenue) >= 5 weekly where channel != "search"
min_max: min(revenue) >= 1 and max(revenue) <= 20 weekly
count_revenue: count(revenue) >= 3 weekly
last_first: last(visits) - first(visits) >= 0 weekly by channel
last_revenue: last(revenue) >= 1 weekly
first_signups: first(signups) >= 1 monthly
filtered_in: visits >= 100 weekly where channel in ("email", "social")
filtered_eq: visits >= 100 weekly where channel = "search, paid"
change_visits: change(visits) >= -10% weekly by channel
ratio: revenue / visits >= 1% over last 28 days
monthly_visits: visits >= 100 monthly by campaign
ambiguous: spend >= 1 weekly
unknown: vists >= 1 weekly
notes_count: count(visits) >= 1 daily where notes = ""
by_notes: visits >= 1 weekly by notes
"""


def test_messy_csv_gives_the_same_report(tmp_path):
    path = write_csv(tmp_path / "data.csv", MESSY_COLUMNS, MESSY_ROWS)
    python, duck, table = run_both(path, MESSY_RULES)
    assert table.backend == "duckdb", table.fallback_reason
    assert_same(python, duck)
    # The mess was seen: bad cells make ERRORs naming them, rows without a date are problems.
    errors = [r for r in duck.results if r.status.value == "ERROR"]
    assert any(r.error.cell == "'data.csv'!D15" for r in errors)  # 'lots'
    assert "holds 'lots', not a number" in " ".join(p.message for r in errors for p in r.data_problems)
    assert {p.cell for p in duck.data_problems} >= {"'data.csv'!A18", "'data.csv'!A19",
                                                    "'data.csv'!A20", "'data.csv'!A21", "'data.csv'!I1"}


def test_problems_are_found_when_no_rule_reads_a_row(tmp_path):
    # Every rule is broken, so no scan runs: the problems still come from the file.
    path = write_csv(tmp_path / "data.csv", MESSY_COLUMNS, MESSY_ROWS)
    python, duck, _ = run_both(path, "unknown: vists >= 1 weekly\n")
    assert_same(python, duck)
    assert len(duck.data_problems) == 6


FUZZ_NUMBERS = ["1", "2.5", " 3 ", "-4", "+5", "1e3", ".5", "5.", "0", "-0", "", "", " ", "n/a", "1,000",
                "nan", "inf", "+-1", "\t8\n", "1e-3", "123456789.123", "0x10", "1 2", "TRUE", "12%"]
FUZZ_DATES = [f"2026-11-{d:02d}" for d in range(1, 26)] * 2 + [f"2026-10-{d:02d}" for d in range(1, 32)] + [
    "2026/11/3", "2026-11-4 10:00", "2026-11-05T00:00:00Z", " 2026-11-06", "2026-11-07 ", "", "bad",
    "2026-02-30", "0000-01-01", "20261108", "2026.11.09", "11/10/2026", "2026-11-1x", "2026-11-12\t"]
FUZZ_DIMS = ["email", "search", " email", "social ", "", "Email", "e,mail", "\u00a0search"]
FUZZ_RULES = """a: visits >= 10 weekly
b: sum(visits) >= 5 weekly by channel
c: avg(revenue) >= 1 weekly where channel != "search"
d: min(revenue) >= 0 and max(visits) <= 1000 monthly
e: count(revenue) >= 2 weekly by channel
f: last(visits) >= first(visits) weekly by channel
g: change(visits) >= -10% weekly
h: visits / revenue >= 1 over last 28 days where channel in ("email", "social")
"""


@pytest.mark.parametrize("seed", range(20))
def test_random_messy_files_give_the_same_report(tmp_path, seed):
    # (More odd cells, in files larger than the sample: test_backend_duckdb_typed.py.)
    import random

    rng = random.Random(seed)
    rows = [[rng.choice(FUZZ_DATES), rng.choice(FUZZ_DIMS), rng.choice(FUZZ_NUMBERS), rng.choice(FUZZ_NUMBERS)]
            for _ in range(rng.randint(1, 60))]
    path = write_csv(tmp_path / "data.csv", ["date", "channel", "visits", "revenue"], rows)
    assert_fuzz_rules_agree(path)


def assert_fuzz_rules_agree(path) -> None:
    """FUZZ_RULES over ``path`` give the same report on both paths, DuckDB's made in DuckDB;
    a data row without a readable date is the same source error on both (issue 10)."""
    entries = parse_rules_file(FUZZ_RULES)
    python = outcome(lambda: evaluate(entries, python_table(path), AS_OF))
    tables = []
    duck = outcome(lambda: evaluate(entries, tables.append(DuckTable(path)) or tables[0], AS_OF))
    if isinstance(python, tuple):
        assert duck == python
        return
    assert_same(python, duck)
    assert tables[0].backend == "duckdb", tables[0].fallback_reason


@pytest.mark.parametrize("middle", [
    [],  # ISO dates throughout: the cube is keyed by the date text
    [" 2026-11-06", "2026-11-04 10:00", "20261108", "2026-11-05T00:00:00Z"],  # in the hull, written otherwise
    ["2026-12-01", "2025-01-01", "2026-11-30"],  # after A-1, before the hull (and a blank row)
    ["bad", "2026-11-1x"],  # no date: the same source error
])
def test_dates_past_the_sample_give_the_same_report(tmp_path, middle):
    # The sample (head and tail) shows ISO dates only; rows in the middle of the file that
    # SQL would judge in the hull differently by their text must not change anything.
    import random

    rng = random.Random(7)
    days = [f"2026-{m:02d}-{d:02d}" for m in (9, 10, 11) for d in range(1, 29)]
    rows = [[rng.choice(days), rng.choice(["email", "search", " social"]), str(rng.randint(0, 50)),
             rng.choice(["1.5", "", "3", " 4 "])] for _ in range(400)]
    rows[200:200] = [[date, "email", "7", "2"] for date in middle] + ([["", "", "", ""]] if middle else [])
    path = write_csv(tmp_path / "data.csv", ["date", "channel", "visits", "revenue"], rows)
    assert_fuzz_rules_agree(path)


@pytest.mark.parametrize("name,text", [
    ("bom_semicolon_crlf", "\ufeffdate;channel;visits\r\n2026-11-17;email;5\r\n2026-11-18;\"a;b\";7\r\n"),
    ("tab", "date\tchannel\tvisits\n2026-11-17\temail\t5\n2026-11-18\tsearch\tx\n"),
    ("short_rows", "date,channel,visits,signups\n2026-11-17,email,5\n2026-11-18,search\n2026-11-19\n"),
    ("quoted_line_break", 'date,channel,visits\n2026-11-17,"two\nlines",5\n2026-11-18,email\n'),
    ("quote_inside_cell", 'date,channel,visits\n2026-11-17,a"b,5\n2026-11-18,email,6\n'),
    ("blank_lines_no_problems", "date,channel,visits\n2026-11-17,email,5\n\n2026-11-18,email,6\n\n"),
    # 1e400 is too large to be a number on both paths (issue 11): a bad cell, not infinity
    ("overflow_is_a_bad_cell", "date,channel,visits\n2026-11-17,email,1e400\n2026-11-18,x,5\n"),
])
def test_dialects_and_layouts_stay_in_duckdb(tmp_path, name, text):
    path = tmp_path / "data.csv"
    path.write_bytes(text.encode("utf-8"))
    rules = ("v: visits >= 1 weekly\nc: count(visits) >= 1 weekly by channel\n"
             "w: visits >= 1 weekly where channel != \"email\"\n")
    python, duck, table = run_both(path, rules)
    assert_same(python, duck)
    assert table.backend == "duckdb", table.fallback_reason


@pytest.mark.parametrize("name,text", [
    ("arabic_digits", "date,visits\n2026-11-17,\u0661\u0662\n2026-11-18,5\n"),
    ("arabic_date", "date,visits\n\u0662\u0660\u0662\u0666-11-17,3\n2026-11-18,5\n"),
    ("extra_cells", "date,visits\n2026-11-17,3,extra\n2026-11-18,5\n"),
    ("blank_line_before_a_bad_cell", "date,visits\n2026-11-16,1\n\n2026-11-17,lots\n2026-11-18,5\n"),
])
def test_files_only_python_reads_right_fall_back(tmp_path, name, text):
    path = tmp_path / "data.csv"
    path.write_bytes(text.encode("utf-8"))
    rules = "v: visits >= 1 weekly\nc: count(visits) >= 1 weekly\n"
    python, duck, table = run_both(path, rules)
    assert_same(python, duck)
    assert table.backend == "python" and table.fallback_reason


def test_doubled_quotes_are_read_alike_by_both(tmp_path):
    # Excel's dialect: a quote inside a quoted cell is doubled. Both paths read `a "b"`.
    path = tmp_path / "data.csv"
    path.write_text('date,channel,visits\n2026-11-16,"a ""b""",3\n2026-11-18,email,5\n'
                    '2026-11-23,email,1\n', encoding="utf-8")
    python, duck, table = run_both(path, 'q: visits >= 1 weekly where channel = \'a "b"\'\n')
    assert_same(python, duck)
    assert table.backend == "duckdb"
    assert python.results[0].value == 3


def test_not_utf8_is_the_csv_connector_error(tmp_path):
    path = tmp_path / "data.csv"
    # past the first 64 kB, which the header read decodes; bytes that neither UTF-8 nor
    # Windows-1250/1252 has (any other byte would make it a Windows-125x file, issue 10)
    path.write_bytes(b"date,visits\n" + b"2026-11-17,1\n" * 6000 + b"2026-11-18,\x81\x90\n")
    table = DuckTable(path)
    with pytest.raises(SourceError, match="not UTF-8"):
        evaluate(parse_rules_file("v: visits >= 1 weekly\n"), table, AS_OF)


def test_missing_date_column_is_the_same_error(tmp_path):
    # ("day" holding dates would be the date column, found by its content: issue 10)
    path = write_csv(tmp_path / "data.csv", ["day", "visits"], [["soon", 1]])
    with pytest.raises(SourceError) as python:
        python_table(path)
    with pytest.raises(SourceError) as duck:
        DuckTable(path)
    assert (duck.value.message, duck.value.hint) == (python.value.message, python.value.hint)


def test_a_configured_date_column(tmp_path):
    path = write_csv(tmp_path / "data.csv", ["Day", "visits"], [["2026-11-17", 1], ["2026-11-18", 2]])
    entries = parse_rules_file("v: visits >= 1 weekly\n")
    python = evaluate(entries, python_table(path, "Day"), AS_OF)
    assert_same(python, evaluate(entries, DuckTable(path, date_column="Day"), AS_OF))


# -------------------------------------------------------------------- selection


def test_choose_follows_the_variable_and_the_size(tmp_path, monkeypatch):
    path = write_csv(tmp_path / "data.csv", ["date", "visits"], [["2026-11-17", 1]])
    monkeypatch.delenv(backends.ENV_VAR, raising=False)
    assert backends.choose(path) == "python"  # small file
    monkeypatch.setattr(backends, "AUTO_MIN_BYTES", 1)
    assert backends.choose(path) == "duckdb"
    monkeypatch.setenv(backends.ENV_VAR, "python")
    assert backends.choose(path) == "python"
    monkeypatch.setattr(backends, "AUTO_MIN_BYTES", 10**12)
    monkeypatch.setenv(backends.ENV_VAR, "DuckDB")
    assert backends.choose(path) == "duckdb"
    assert backends.choose(path, backend="python") == "python"  # the argument wins
    monkeypatch.setenv(backends.ENV_VAR, "polars")
    with pytest.raises(SourceError, match="unknown table backend"):
        backends.choose(path)


def test_without_duckdb_auto_is_python_and_forcing_it_is_an_error(tmp_path, monkeypatch):
    path = write_csv(tmp_path / "data.csv", ["date", "visits"], [["2026-11-17", 1]])
    monkeypatch.setattr(backends, "duckdb_available", lambda: False)
    monkeypatch.setattr(backends, "AUTO_MIN_BYTES", 1)
    monkeypatch.delenv(backends.ENV_VAR, raising=False)
    assert backends.choose(path) == "python"
    with pytest.raises(SourceError, match="kpirules\\[fast\\]"):
        backends.choose(path, backend="duckdb")


def test_table_for_and_read_with_table(tmp_path, monkeypatch):
    path = write_csv(tmp_path / "data.csv", ["date", "visits"], [["2026-11-17", 1]])
    monkeypatch.chdir(tmp_path)  # no kpirules.toml around
    assert isinstance(backends.table_for(path, backend="duckdb"), DuckTable)
    assert not isinstance(backends.table_for(path, backend="python"), DuckTable)
    monkeypatch.setenv(backends.ENV_VAR, "duckdb")
    workbook, settings, table = backends.read_with_table(str(path), with_rules=False)
    assert isinstance(table, DuckTable) and settings is None
    assert workbook.data.headers == ["date", "visits"] and workbook.data.rows == []
    monkeypatch.setenv(backends.ENV_VAR, "python")
    workbook, _, table = backends.read_with_table(str(path), with_rules=False)
    assert table is None and workbook.data.rows == [["2026-11-17", "1"]]
    # Spreadsheets are never DuckDB's, whatever the variable says.
    monkeypatch.setenv(backends.ENV_VAR, "duckdb")
    _, _, table = backends.read_with_table(str(ROOT / "examples" / "marketing.xlsx"))
    assert table is None


def test_check_reads_the_settings_file_with_either_backend(tmp_path, monkeypatch):
    import kpirules

    path = write_csv(tmp_path / "data.csv", ["Day", "visits"], [["2026-11-16", 1], ["2026-11-18", 2]])
    rules = tmp_path / "rules.kpi"
    rules.write_text("v: visits >= 1 weekly\n", encoding="utf-8")
    # The data end on Wednesday: the week is complete only as the settings declare it.
    (tmp_path / "kpirules.toml").write_text('date_column = "Day"\ncomplete_through = "yesterday"\n',
                                            encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    used = []
    groups = DuckTable.groups
    monkeypatch.setattr(DuckTable, "groups", lambda self, plan: used.append(self) or groups(self, plan))
    reports = {}
    for backend in ("python", "duckdb"):
        monkeypatch.setenv(backends.ENV_VAR, backend)
        reports[backend] = kpirules.check(str(path), rules=str(rules), as_of=AS_OF)
    assert_same(reports["python"], reports["duckdb"])
    assert [r.status.value for r in reports["duckdb"].results] == ["PASS"]
    assert len(used) == 1 and used[0].backend == "duckdb"  # the duckdb run, and only it


def cli(*args: str, backend: str) -> tuple[int, dict]:
    env = dict(os.environ, **{backends.ENV_VAR: backend})
    proc = subprocess.run([sys.executable, "-m", "kpirules", "check", *args, "--format", "json"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.stdout, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def test_cli_check_gives_the_same_output_with_either_backend(tmp_path):
    path = write_csv(tmp_path / "data.csv", MESSY_COLUMNS, MESSY_ROWS)
    rules = tmp_path / "rules.kpi"
    rules.write_text(MESSY_RULES, encoding="utf-8")
    args = (str(path), "--rules", str(rules), "--as-of", AS_OF.isoformat())
    py_code, py_out = cli(*args, backend="python")
    dk_code, dk_out = cli(*args, backend="duckdb")
    assert dk_code == py_code
    for p, d in zip(py_out["results"], dk_out["results"]):
        pv, dv = p.pop("value"), d.pop("value")
        assert (pv is None and dv is None) or math.isclose(pv, dv, rel_tol=1e-9)
    assert dk_out == py_out


def test_duckdb_is_imported_only_when_a_table_queries():
    code = ("import sys, kpirules, kpirules.backends, kpirules.backends.duckdb_table, "
            "kpirules.cli.main, kpirules.engine; print('duckdb' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


def test_placeholders_cover_no_day_in_either_backend(tmp_path):
    """`--`, `n/a` and the other blank words are no value to the aggregates, so they do not
    extend a column's data end or start either (spec: "Complete periods"; a blank cell is
    missing): the week they alone fill is late, the same in DuckDB and Python."""
    rows = []
    for day in range(1, 26):  # 2026-11-01 .. 11-25
        date = f"2026-11-{day:02d}"
        visits = 100 if 3 <= day <= 20 else ("--", "n/a", " N/A ", "-", "—", "#N/A", "na")[day % 7]
        rows.append([date, visits, "" if day > 22 else 5])
    path = write_csv(tmp_path / "data.csv", ["date", "visits", "signups"], rows)
    rules = "visits: visits >= 10 weekly\nrate: signups / visits >= 1% weekly\n"
    python, duck, table = run_both(path, rules)
    assert table.backend == "duckdb", table.fallback_reason
    assert_same(python, duck)
    assert python.extents == duck.extents == {"visits": (dt.date(2026, 11, 3), dt.date(2026, 11, 20)),
                                              "signups": (dt.date(2026, 11, 1), dt.date(2026, 11, 22))}
    visits = python.results[0]
    assert visits.status.value == "NO_DATA" and visits.incomplete  # week 16-22: visits only up to the 20th
    assert "visits are in only up to 2026-11-20" in visits.message


def test_a_csv_file_is_checked_in_duckdb_without_sqlglot(tmp_path):
    # The DuckDB path writes its SQL as text: importing sqlglot and building a tree of a
    # thousand scans cost more than DuckDB's whole run on a 100,000-row file.
    path = write_csv(tmp_path / "data.csv", ["date", "channel", "visits"],
                     [[f"2026-11-{d:02d}", c, d] for d in range(1, 26) for c in ("email", "search")])
    code = ("import sys, datetime as dt; from kpirules.backends.duckdb_table import DuckTable; "
            "from kpirules.engine import evaluate; from kpirules.rulesfile import parse_rules_file; "
            "t = DuckTable(sys.argv[1]); r = evaluate(parse_rules_file('a: visits >= 1 weekly by channel\\n"
            "b: last(visits) >= 1 weekly'), t, dt.date(2026, 11, 26)); "
            "print(t.backend, [x.status.value for x in r.results], 'sqlglot' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["duckdb", "['PASS',", "'PASS',", "'PASS']", "False"], out.stderr
