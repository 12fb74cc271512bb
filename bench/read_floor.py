"""Where the DuckDB path's time goes on a big CSV: the parts of `check`'s read, each on its own,
against the peer's whole query, in turn in one process.

    python bench/read_floor.py 10M 1000 [--repeat 3]

Each line is one DuckDB query on a fresh connection (or, for the look for ``1_000``, its own
process), timed in wall seconds and in CPU seconds of every thread (median of ``--repeat``):

- ``split``: the file cut into fields, nothing converted (count of the date column): the floor
  of any read of the file.
- ``typed``: the plan's metric columns read as DOUBLE, each summed and counted; no grouping.
- ``peer``: the peer's whole query (``duckdb_all``: auto-detected types, BIGINT/DATE, the
  rows of the rules' dates grouped by day and dimension).
- ``cube``: kpirules' cube, the very statement ``DuckTable`` runs (every row up to the day
  before the as-of date grouped by date text and the plan's dimensions: each metric's data
  start and end).
- ``text``: what checking for ``1_000`` and ``+-1`` inside the query would cost instead: the
  metric columns read as text, cast, and each cell looked at for ``_`` and ``+-``.
- ``odd_scan``: the look for ``1_000`` and ``+-1`` in the file's bytes (kpirules/backends/
  odd_scan.py), the process `check` starts beside DuckDB.

Nothing here is asserted; it explains bench/run.py's 10M row (bench/README.md).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from statistics import median

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import generate  # noqa: E402
from measure import run_child  # noqa: E402


def cube_statements(csv: Path, kpi: Path) -> tuple[list[str], str, str, list[int]]:
    """The macros and the cube statement DuckTable runs for these rules, the file as it
    reads it, and the metric columns' numbers (recorded from a real ``groups`` call)."""
    import duckdb

    import kpirules
    from kpirules.backends import csv_table
    from kpirules.plan import build_plan

    table = csv_table(csv, backend="duckdb")
    entries = kpirules.parse_rules_file(kpi.read_text(encoding="utf-8"), str(kpi))
    plan = build_plan(entries, names=[*table.names(), table.date_column], as_of=generate.AS_OF,
                      ambiguous=table.ambiguous, date_column=table.date_column)
    seen: list[str] = []
    connect = duckdb.connect

    class Recording:  # the connection DuckTable gets: every statement noted, then run
        def __init__(self, con):
            self.con = con

        def execute(self, sql, *args):
            seen.append(sql)
            return self.con.execute(sql, *args)

        def close(self):
            self.con.close()

    duckdb.connect = lambda *a, **k: Recording(connect(*a, **k))  # type: ignore[assignment]
    try:
        table.groups(plan)
    finally:
        duckdb.connect = connect  # type: ignore[assignment]
    columns = sorted(table.columns[n] for n in plan.metrics)
    return ([s for s in seen if " MACRO " in s], next(s for s in seen if "TEMP TABLE kp_cube" in s),
            table._source(doubles=frozenset(columns)), columns)


def timed(setup: list[str], sql: str) -> tuple[float, float]:
    import duckdb

    con = duckdb.connect()
    for statement in setup:
        con.execute(statement)
    wall, cpu = time.perf_counter(), time.process_time()
    con.execute(sql).fetchall()
    out = time.perf_counter() - wall, time.process_time() - cpu
    con.close()
    return out


def peer(csv: Path, kpi: Path) -> tuple[float, float]:
    from baselines import functions
    from baselines.spec import parse_rules_text

    specs = parse_rules_text(kpi.read_text(encoding="utf-8"))
    load, evaluate = functions("duckdb_all")
    wall, cpu = time.perf_counter(), time.process_time()
    evaluate(load(str(csv), materialise=False), specs, generate.AS_OF)
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> int:
    a = generate.case_parser(__doc__).parse_args()
    csv, kpi = generate.case_files(a)
    macros, cube, typed_source, columns = cube_statements(csv, kpi)
    text_source = typed_source.replace("'DOUBLE'", "'VARCHAR'")
    jobs = {
        "split": lambda: timed([], f"SELECT count(*), count(c0) FROM {text_source}"),
        "typed": lambda: timed([], "SELECT count(*), " + ", ".join(f"fsum(c{i}), count(c{i})" for i in columns)
                               + f" FROM {typed_source}"),
        "peer": lambda: peer(csv, kpi),
        "cube": lambda: timed(macros, cube.replace("CREATE OR REPLACE TEMP TABLE kp_cube AS ", "")),
        "text": lambda: timed([], "SELECT count(*), " + ", ".join(
            f"fsum(TRY_CAST(c{i} AS DOUBLE)), count(c{i}), count_if(strpos(c{i}, '_') > 0 OR strpos(c{i}, '+-') > 0)"
            for i in columns) + f" FROM {text_source}"),
        "odd_scan": lambda: (lambda r: (r.seconds, r.cpu_seconds))(run_child(
            [sys.executable, "-I", "-S", str(BENCH.parent / "kpirules/backends/odd_scan.py"), str(csv)])),
    }
    found: dict[str, list[tuple[float, float]]] = {name: [] for name in jobs}
    for _ in range(a.repeat):  # in turn, so that the machine's load falls on all alike
        for name, job in jobs.items():
            found[name].append(job())
    base = median(w for w, _ in found["peer"])
    print(f"{a.size}/{a.rules}, median of {a.repeat}:")
    for name, runs in found.items():
        wall, cpu = median(w for w, _ in runs), median(c for _, c in runs)
        print(f"  {name:9} wall {wall:6.3f} s ({wall / base:4.2f} x peer)  cpu {cpu:6.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
