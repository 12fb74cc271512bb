"""Random valid rules (tests/rule_fuzz.py) give the same report on every engine: the
pure-Python path over a CSV file, DuckDB over the same file (DuckTable), the warehouse
compiler over a typed DuckDB table (SqlTable), and the Python path over the same rows as
an xlsx workbook with typed cells. No engine may fail a rule with an internal error.

``python tests/test_rules_agree.py 2000`` runs 2,000 seeds and prints each disagreement's
seed (``... 2000 odd 5000``: odd dimension values, from seed 5000; ``odd xlsx 0``: every seed as
an xlsx workbook too); the test runs a few dozen.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
from pathlib import Path

import pytest
import rule_fuzz
from test_backend_duckdb import assert_same, outcome, python_table, write_csv

duckdb = pytest.importorskip("duckdb")

RULES_PER_SEED = 8


def csv_text(v) -> object:
    if v is None:
        return ""
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    return v


def make_xlsx(path: Path, rows: list[list]) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Data"
    sheet.append(rule_fuzz.HEADERS)
    for row in rows:
        # a dimension that looks like a whole number is a number cell: it reads as the same text
        sheet.append([None if v == "" else int(v) if isinstance(v, str) and v.isdigit() else v for v in row])
    book.save(path)
    return path


def reports(tmp_path: Path, seed: int, odd: bool = False, xlsx: bool = True) -> tuple[str, dt.date, dict]:
    """(rules, as-of, {engine: report or source error}) for one seed."""
    from kpirules.backends.duckdb_table import DuckTable
    from kpirules.backends.sql_table import SqlTable
    from kpirules.connectors.duckdb_db import DuckEngine
    from kpirules.connectors.xlsx_file import XlsxConnector
    from kpirules.engine import evaluate
    from kpirules.rulesfile import parse_rules_file
    from kpirules.table import load_table

    rng = random.Random(seed)
    as_of = rule_fuzz.as_of_for(rng)
    rows = rule_fuzz.rows_for(rng, as_of, odd=odd)
    text = rule_fuzz.rules_text(rng, RULES_PER_SEED, odd=odd)
    entries = parse_rules_file(text)
    path = write_csv(tmp_path / f"{seed}.csv", rule_fuzz.HEADERS, [[csv_text(v) for v in r] for r in rows])
    con = duckdb.connect()
    # typed columns: integers, a decimal and a double, under the sheet's headers
    types = ["DATE", "VARCHAR", "VARCHAR", "BIGINT", "INTEGER", "DECIMAL(12, 2)", "DOUBLE"]
    columns = ", ".join(f'"{header}" {kind}' for header, kind in zip(rule_fuzz.HEADERS, types))
    con.execute(f"CREATE TABLE daily ({columns})")
    if rows:
        # A blank dimension cell of a CSV file or a sheet is a NULL in a database.
        # (one INSERT of many rows: executemany takes half a second for a thousand)
        for at in range(0, len(rows), 500):
            chunk = rows[at:at + 500]
            con.execute("INSERT INTO daily VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * len(chunk)),
                        [None if v == "" else v for r in chunk for v in r])
    got = {
        "python": outcome(lambda: evaluate(entries, python_table(path), as_of)),
        "duckdb-csv": outcome(lambda: evaluate(entries, DuckTable(path), as_of)),
        "duckdb-table": outcome(lambda: evaluate(entries, SqlTable(DuckEngine(con), "daily"), as_of)),
    }
    if xlsx:
        book = make_xlsx(tmp_path / f"{seed}.xlsx", rows)
        got["xlsx"] = outcome(lambda: evaluate(entries, load_table(XlsxConnector(str(book)).read().data), as_of))
    return text, as_of, got


def assert_agree(got: dict) -> None:
    python = got["python"]
    assert not isinstance(python, tuple), python
    internal = [(r.name, r.message) for r in python.results if r.error and r.error.category == "internal"]
    assert not internal, internal
    for engine, report in got.items():
        assert not isinstance(report, tuple), (engine, report)
        try:
            assert_same(python, report)
        except AssertionError as exc:
            raise AssertionError(f"{engine} differs from python: {exc}") from exc


@pytest.mark.parametrize("seed", range(40))
def test_random_rules_agree_on_every_engine(tmp_path, seed):
    text, as_of, got = reports(tmp_path, seed, odd=seed % 4 == 3, xlsx=seed % 5 == 0)
    try:
        assert_agree(got)
    except AssertionError as exc:
        raise AssertionError(f"seed {seed}, as of {as_of}:\n{text}\n{exc}") from exc


def main(argv: list[str]) -> int:
    """Many seeds, outside pytest: print every seed whose engines disagree."""
    import tempfile

    count, odd = int(argv[1]), "odd" in argv[2:]
    start = int(argv[-1]) if len(argv) > 3 else 0
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(start, start + count):
            text, as_of, got = reports(Path(tmp), seed, odd=odd, xlsx="xlsx" in argv[2:] or seed % 10 == 0)
            try:
                assert_agree(got)
            except AssertionError as exc:
                bad += 1
                print(f"--- seed {seed} as of {as_of}\n{text}{str(exc)[:1500]}\n", flush=True)
    print(f"{count} seeds x {RULES_PER_SEED} rules: {bad} disagreeing")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    raise SystemExit(main(sys.argv))
