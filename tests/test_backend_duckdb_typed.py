"""The DuckDB backend's typed read: metric columns read as DOUBLE by DuckDB's CSV reader,
checked, and read again as text (the exact way) on any doubt.

Each odd cell sits in the middle of a file, past the head and tail the recipe samples, in
the week the rules judge: both paths must give the same results and problems, and the
typed read must be kept only where DuckDB and kpirules read every cell alike."""

from __future__ import annotations

import os
import random
import sys

import pytest
from test_backend_duckdb import (
    AS_OF,
    FUZZ_DATES,
    FUZZ_DIMS,
    FUZZ_NUMBERS,
    assert_fuzz_rules_agree,
    assert_same,
    python_table,
    write_csv,
)

pytest.importorskip("duckdb")

from kpirules.backends.duckdb_table import DuckTable  # noqa: E402
from kpirules.backends.odd_scan import OddScan, odd_numbers  # noqa: E402
from kpirules.engine import evaluate  # noqa: E402
from kpirules.rulesfile import parse_rules_file  # noqa: E402

RULES = """visits: visits >= 10 weekly
by_channel: sum(visits) >= 5 weekly by channel
revenue: avg(revenue) >= 1 weekly where channel != "search"
extremes: min(revenue) >= 0 and max(visits) <= 1000 weekly
counted: count(visits) >= 2 weekly by campaign
edges: last(visits) >= first(visits) weekly
ratio: revenue / visits >= 1% over last 28 days
"""

# cell -> whether the typed read is kept (DuckDB's reader and kpirules read it alike)
ODD_CELLS = {
    "7": True, " 7 ": True, "+5": True, ".5": True, "5.": True, "-0": True, "1e5": True, "1E-2": True,
    "0005": True, "": True, "1.500": True,
    # DuckDB's reader refuses them: read as text
    "$5": False, "1.5%": False, "1 000": False, "1,5": False, "--": False, "n/a": False, "#N/A": False,
    "   ": False, "\t": False, "lots": False, "\u22125": False, "\u00a05": False, "\u0661\u0662": False,
    "1,234": False, "0x10": False,
    # DuckDB's reader takes them, kpirules does not: caught (not finite, or odd_numbers)
    "1_000": False, "+-1": False, "inf": False, "Infinity": False, "-inf": False, "nan": False,
    "NaN": False, "1e400": False, "-1e400": False, "1e1_0": False,
}


def big_file(tmp_path, visits_cell: str | None = None, revenue_cell: str | None = None,
             campaigns=("spring_sale_35", "brand_x", "retarget_7")):
    """400 rows of plain numbers; row 200 (2026-11-18, the week judged) holds the cells given."""
    rng = random.Random(3)
    days = [f"2026-{m:02d}-{d:02d}" for m in (9, 10, 11) for d in range(1, 26)]
    rows = [[rng.choice(days), rng.choice(["email", "search", "social"]), rng.choice(campaigns),
             str(rng.randint(0, 60)), rng.choice(["1.5", "", "3", "12.25"])] for _ in range(400)]
    rows[200] = ["2026-11-18", "email", campaigns[0],
                 "9" if visits_cell is None else visits_cell, "2.5" if revenue_cell is None else revenue_cell]
    return write_csv(tmp_path / "data.csv", ["date", "channel", "campaign", "visits", "revenue"], rows)


def both(path, rules: str = RULES):
    entries = parse_rules_file(rules)
    table = DuckTable(path)
    duck = evaluate(entries, table, AS_OF)
    python = evaluate(entries, python_table(path), AS_OF)
    assert_same(python, duck)
    return python, table


@pytest.mark.parametrize("cell", list(ODD_CELLS))
def test_an_odd_cell_past_the_sample_gives_the_same_report(tmp_path, cell):
    python, table = both(big_file(tmp_path, visits_cell=cell))
    if ODD_CELLS[cell]:
        assert table.backend == "duckdb" and table.cube_read == "typed"
    else:
        assert table.backend == "python" or table.cube_read != "typed"


@pytest.mark.parametrize("cell", ["1_000", "+-1", "inf", "nan", "1e400", "$5", "--", "   "])
def test_an_odd_cell_in_a_second_metric_column(tmp_path, cell):
    _, table = both(big_file(tmp_path, revenue_cell=cell))
    assert table.backend == "python" or table.cube_read != "typed"


def test_a_metric_column_also_a_dimension_is_read_as_text(tmp_path):
    # "by visits" groups by the cell's text ("7" and " 7 " are two segments): never a DOUBLE
    rules = RULES + "by_visits: count(revenue) >= 1 weekly by visits\n"
    python, table = both(big_file(tmp_path, visits_cell=" 7 "), rules)
    assert table.backend == "duckdb"
    assert any(r.segment == {"visits": "7"} for r in python.results)


def test_bad_cells_the_typed_read_refuses_are_located_as_before(tmp_path):
    python, table = both(big_file(tmp_path, visits_cell="1_000", revenue_cell="inf"))
    assert table.backend == "duckdb" and table.cube_read != "typed"
    errors = [r for r in python.results if r.status.value == "ERROR"]
    assert any("'data.csv'!D202" in (r.error.cell or "") for r in errors)
    assert "holds '1_000', not a number" in " ".join(p.message for r in errors for p in r.data_problems)


def test_underscores_in_text_stay_typed_unless_between_digits(tmp_path):
    # campaign names have "_" (spring_sale_35): no doubt; q1_2024 looks like 1_2024 (a
    # number DuckDB would read): the text path, with the same results
    _, table = both(big_file(tmp_path))
    assert table.cube_read == "typed"
    _, table = both(big_file(tmp_path, campaigns=("q1_2024", "brand_x", "retarget_7")))
    assert table.backend == "duckdb" and table.cube_read == "quick"


def test_undated_rows_and_blank_rows_with_the_typed_read(tmp_path):
    # a row without a date (and without numbers: with numbers it is a source error), a
    # blank row and a dated row of blanks, past the sample: the same problems, typed
    path = big_file(tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[150:150] = [",email,promo,,\n", ",,,,\n", "2026-11-19,,,,\n"]
    path.write_text("".join(lines), encoding="utf-8")
    python, table = both(path)
    assert table.cube_read == "typed"
    assert [p.cell for p in python.data_problems] == ["'data.csv'!A151"]


def test_a_row_with_a_note_only_in_a_column_no_rule_reads(tmp_path):
    # The typed read does not read the campaign column when no rule does: a row without a
    # date whose only cell is there, past the sample, is still the problem it is in Python,
    # and a blank row is still nothing.
    path = big_file(tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[150:150] = [",,a note,,\n", ",,,,\n"]
    path.write_text("".join(lines), encoding="utf-8")
    python, table = both(path, "visits: visits >= 10 weekly\nrevenue: avg(revenue) >= 1 weekly\n")
    assert table._lean_blank and table.cube_read == "typed"
    assert [p.cell for p in python.data_problems] == ["'data.csv'!A151"]


def test_a_sampled_row_without_a_date_keeps_the_whole_blank_test(tmp_path):
    path = big_file(tmp_path)
    path.write_text(path.read_text(encoding="utf-8") + ",,,,\n,,,,\n", encoding="utf-8")
    python, table = both(path, "visits: visits >= 10 weekly\n")
    assert table._lean_blank is False and table.cube_read == "typed"
    assert python.data_problems == []


@pytest.mark.parametrize("rules", ["counted: count(visits) >= 2 weekly\n", "top: max(visits) <= 1000 weekly\n",
                                   "low: min(visits) >= 0 weekly by channel\n"])
@pytest.mark.parametrize("cell", ["inf", "-inf", "nan", "1e400"])
def test_a_cell_not_finite_under_a_function_without_a_sum(tmp_path, rules, cell):
    # The typed cube finds such a cell through a sum of its own (sql_plan: m<i>_chk)
    _, table = both(big_file(tmp_path, visits_cell=cell), rules)
    assert table.backend == "duckdb" and table.cube_read != "typed"


def test_a_cell_not_finite_before_the_hull_keeps_the_typed_read(tmp_path):
    path = big_file(tmp_path)
    path.write_text(path.read_text(encoding="utf-8") + "2025-01-07,email,brand_x,inf,1\n", encoding="utf-8")
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines.insert(100, lines.pop())  # past the sample's head and tail
    path.write_text("".join(lines), encoding="utf-8")
    _, table = both(path, "visits: visits >= 10 weekly\nlast: sum(visits) >= 1 over last 28 days\n")
    assert table.cube_read == "typed"


@pytest.mark.parametrize("text,odd", [
    (b"date,campaign,visits\n2026-11-17,spring_sale_35,5\n", False),
    (b"date,campaign,visits\n2026-11-17,q1_2024,5\n", True),
    (b"date,visits\n2026-11-17,+-1\n", True),
    (b"date,visits\n2026-11-17,+1\n2026-11-18,-1\n", False),
    (b"date,visits\n2026-11-17,1_000\n", True),
    (b"date,visits\n2026-11-17,_1\n", False),  # DuckDB refuses it: no doubt needed
])
def test_odd_numbers_looks_for_what_duckdb_alone_reads(tmp_path, text, odd):
    path = tmp_path / "data.csv"
    path.write_bytes(text)
    assert odd_numbers(str(path)) is odd


def test_odd_numbers_across_the_chunk_edge(tmp_path):
    path = tmp_path / "data.csv"
    head = b"date,visits\n"
    filler = b"x" * ((1 << 20) - len(head) - 1)
    path.write_bytes(head + filler + b"1_0\n")  # "1" ends the first chunk, "_0" starts the next
    assert odd_numbers(str(path))
    path.write_bytes(head + filler + b"+-1\n")
    assert odd_numbers(str(path))


# The fuzz comparison's cells and the typed read's odd ones, in files larger than the
# sample (head and tail): each cell may sit where only the whole read sees it.
FUZZ_ODD_NUMBERS = FUZZ_NUMBERS + ["1_000", "1e1_0", "Infinity", "-inf", "NaN", "1e400", "-1e400", "--", "#N/A",
                                   "   ", "0005", "1E-2", "-0", "1.5e3"]


# (A day/month date past the sample is a source error worded otherwise: not this test's.
# KPIRULES_FUZZ_SEEDS=400 runs more seeds, as was done once when the typed read landed.)
ODD_ROW_DATES = [d for d in FUZZ_DATES if d != "11/10/2026"]


@pytest.mark.parametrize("seed", range(int(os.environ.get("KPIRULES_FUZZ_SEEDS", 12))))
def test_random_files_with_odd_numbers_give_the_same_report(tmp_path, seed):
    rng = random.Random(seed)
    plain = ["1", "2.5", "3", "17", "4.25", ""]
    rows = [[rng.choice(FUZZ_DATES[:81]), rng.choice(FUZZ_DIMS), rng.choice(plain), rng.choice(plain)]
            for _ in range(rng.randint(150, 300))]
    for _ in range(rng.randint(0, 4)):  # odd rows past the first and last 60
        at = rng.randint(61, len(rows) - 61)
        rows[at] = [rng.choice(ODD_ROW_DATES), rng.choice(FUZZ_DIMS), rng.choice(FUZZ_ODD_NUMBERS),
                    rng.choice(FUZZ_ODD_NUMBERS)]
    path = write_csv(tmp_path / "data.csv", ["date", "channel", "visits", "revenue"], rows)
    assert_fuzz_rules_agree(path)


@pytest.mark.parametrize("seed", range(int(os.environ.get("KPIRULES_FUZZ_SEEDS", 12))))
def test_random_files_with_rows_the_typed_cube_does_not_read_whole(tmp_path, seed):
    # A column no rule reads (note), blank rows, rows whose only cell is a note, and odd
    # numbers dated before the hull, past the sampled head and tail: the typed cube reads
    # neither the note nor, outside the hull, anything but whether a cell is filled.
    rng = random.Random(1000 + seed)
    plain = ["1", "2.5", "3", "17", "4.25", ""]
    rows = [[rng.choice(FUZZ_DATES[:81]), rng.choice(FUZZ_DIMS), rng.choice(plain), rng.choice(plain),
             rng.choice(["", "promo", "q1_2025"])] for _ in range(rng.randint(150, 300))]
    early = [f"2025-{m:02d}-{d:02d}" for m in (3, 6, 9) for d in (1, 15)]
    for _ in range(rng.randint(1, 5)):
        at = rng.randint(61, len(rows) - 61)
        rows[at] = rng.choice([
            ["", "", "", "", ""],
            ["", "", "", "", rng.choice(["a note", " ", "promo"])],
            [rng.choice(early), rng.choice(FUZZ_DIMS), rng.choice(FUZZ_ODD_NUMBERS), rng.choice(FUZZ_ODD_NUMBERS), ""],
            [rng.choice(ODD_ROW_DATES), rng.choice(FUZZ_DIMS), rng.choice(FUZZ_ODD_NUMBERS), rng.choice(plain), "x"],
        ])
    path = write_csv(tmp_path / "data.csv", ["date", "channel", "visits", "revenue", "note"], rows)
    assert_fuzz_rules_agree(path)


@pytest.mark.parametrize("other", ["--", "   ", "inf", "lots", "1_000", "7"])
def test_a_column_without_a_mark_read_cell_by_cell_finds_1_500_ambiguous(tmp_path, other):
    # visits' sample holds whole numbers only: no decimal mark. A cell float() does not
    # take makes the Python path read the column cell by cell, where "1.500" is 1.5 or
    # 1500 (a bad cell); in a clean column float() reads it, 1.5. Both paths alike.
    path = big_file(tmp_path, visits_cell="1.500")
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[100] = f"2026-11-10,email,brand_x,{other},1\n"  # the week before: a rule of its own
    path.write_text("".join(lines), encoding="utf-8")
    python, table = both(path, RULES + "previous: visits >= 1 weekly\n")
    assert table.backend == "duckdb", table.fallback_reason
    ambiguous = "'1.500', which is a thousand-something or a decimal"
    text = " ".join(p.message for r in python.results for p in r.data_problems)
    assert (ambiguous in text) is (other != "7")


def test_decimal_commas_possible_keep_to_the_text_read(tmp_path):
    # A `;` file: decimal commas are possible, so "1.500" may be 1500 and "2.5" no number:
    # the typed read is not tried, and both paths read 1,5 and 1.500 alike.
    rng = random.Random(5)
    days = [f"2026-11-{d:02d}" for d in range(1, 26)]
    rows = [[rng.choice(days), rng.choice(["email", "search"]), rng.choice(["1,5", "3", "1.500", ""])]
            for _ in range(300)]
    path = write_csv(tmp_path / "data.csv", ["date", "channel", "visits"], rows, delimiter=";")
    python, table = both(path, "v: sum(visits) >= 1 weekly by channel\nc: count(visits) >= 1 weekly\n")
    assert table.backend == "duckdb" and table.cube_read != "typed"


def test_the_scan_runs_in_a_process_of_its_own(tmp_path):
    found, clean = tmp_path / "found.csv", tmp_path / "clean.csv"
    found.write_bytes(b"date,visits\n" + b"2026-11-17,5\n" * 10 + b"2026-11-18,1_000\n")
    clean.write_bytes(b"date,visits\n" + b"2026-11-17,5\n" * 10)
    assert OddScan(str(found)).answer() is True
    assert OddScan(str(clean)).answer() is False
    assert OddScan(str(tmp_path / "gone.csv")).answer() is True  # no answer: a doubt


def test_a_stopped_scan_is_a_doubt(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(b"date,visits\n" + b"2026-11-17,5\n" * 10)
    scan = OddScan(str(path))
    scan.stop()
    assert scan.answer() is True
    assert scan._process is None or scan._process.poll() is not None  # ended, and reaped


def test_the_scan_is_a_doubt_when_no_process_starts(tmp_path, monkeypatch):
    path = tmp_path / "data.csv"
    path.write_bytes(b"date,visits\n" + b"2026-11-17,5\n" * 10)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-python"))
    assert OddScan(str(path)).answer() is True


@pytest.mark.parametrize("long_cell", ["0" * 150 + "7", " " + "0" * 99 + "7 ", "1" * 120 + ".5"])
def test_a_number_over_100_characters_in_a_column_read_cell_by_cell(tmp_path, long_cell):
    # A "--" makes the Python path read the column cell by cell (read_text), where a number
    # spelt in over 100 characters is bad; SQL's reading with the column's mark agrees.
    path = big_file(tmp_path, visits_cell="--")
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[150] = f'2026-11-19,email,brand_x,"{long_cell}",1\n'
    path.write_text("".join(lines), encoding="utf-8")
    python, table = both(path)
    assert table.backend == "duckdb"


def test_a_number_over_100_characters_under_a_decimal_comma(tmp_path):
    rng = random.Random(9)
    days = [f"2026-11-{d:02d}" for d in range(1, 26)]
    rows = [[rng.choice(days), rng.choice(["email", "search"]), rng.choice(["1,5", "3", "2,25", ""])]
            for _ in range(300)]
    rows[150] = ["2026-11-19", "email", "1" * 120 + ",5"]
    path = write_csv(tmp_path / "data.csv", ["date", "channel", "visits"], rows, delimiter=";")
    python, table = both(path, "v: sum(visits) >= 1 weekly by channel\n")
    assert table.backend == "duckdb"
    assert any(r.status.value == "ERROR" for r in python.results)
