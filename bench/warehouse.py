"""kpirules on a warehouse vs the same engine running a hand-written query (issue 15).

    python bench/warehouse.py --engine duckdb --rows 100000000 --rules 1000
    python bench/warehouse.py --engine postgres --rows 10000000 --rules 1000
    python bench/warehouse.py --engine spark --rows 10000000 --rules 1000
    python bench/warehouse.py --quick            # 1M rows on DuckDB, 100k on PostgreSQL

The table is generated inside the engine (3 years of days x channels x campaigns, the
bench's marketing columns, a few blanks), the rules are bench/generate.py's. For each engine:

- kpirules: the plan compiled to one query (kpirules.sql.compile) and evaluated, exactly
  what `kpirules check ENGINE_URL --table T` does after connecting;
- hand-written: what an analyst would write for the same numbers: one `GROUP BY` per
  distinct (period, filter, segment) of the plan with sum/count/min/max of the columns the
  rules use, as one `UNION ALL`, no first/last, no data extents (so it does less work);
- bytes: the size of what came back over the wire (the rows fetched, as JSON).

Times are medians of --repeat runs of the query alone, in turn, engine already warm; the
ratio kpirules/hand-written is the number to read (goal <= 1.2). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path
from statistics import median

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:0] = [str(BENCH), str(ROOT)]

import generate  # noqa: E402

METRICS = ["visits", "signups", "leads", "orders", "revenue", "spend", "emails_sent", "email_opens",
           "email_clicks", "likes", "reach"]


def table_sql(rows: int, dialect: str) -> str:
    """A SELECT generating ``rows`` rows of the bench's shape from an integer column ``i``."""
    days = generate.DAYS
    start = (generate.END - dt.timedelta(days=days - 1)).isoformat()
    channels = list(generate.CHANNELS)
    ch = "CASE " + " ".join(f"WHEN i % 8 = {k} THEN '{c}'" for k, c in enumerate(channels)) + " END"
    date = {"duckdb": f"DATE '{start}' + CAST(i % {days} AS INTEGER)",
            "postgres": f"DATE '{start}' + CAST(i % {days} AS INTEGER)",
            "spark": f"date_add(DATE '{start}', CAST(i % {days} AS INT))"}[dialect]
    cols = [f"{date} AS date", f"{ch} AS channel", "CONCAT('k', CAST(i % 97 AS VARCHAR(8))) AS campaign"]
    for k, m in enumerate(METRICS):
        value = f"CAST(((i * {7919 + 104729 * k}) % 1000) AS DOUBLE PRECISION)"
        blank = f"(i * {31 + k}) % 331 = 0"  # a few blank cells per column
        cols.append(f"CASE WHEN {blank} THEN NULL ELSE {value} END AS {m}")
    text = ", ".join(cols)
    if dialect == "spark":
        text = text.replace("VARCHAR(8)", "STRING").replace("DOUBLE PRECISION", "DOUBLE")
    return text


def hand_written(plan, table: str, dialect: str) -> str:
    """One GROUP BY per scan, sum/count/min/max only, as a person would write it."""
    branches = []
    width = max(len(scan.dims) for scan in plan.scans)
    n_aggs = max(4 * len({c for _, c in needed}) for needed in plan.scans.values())
    for index, (scan, needed) in enumerate(plan.scans.items()):
        cols = sorted({c for _, c in needed})
        dims = list(scan.dims)
        where = [f"date BETWEEN DATE '{scan.period.start}' AND DATE '{scan.period.end}'"]
        for f in scan.filters:
            values = ", ".join("'" + v.replace("'", "''") + "'" for v in f.values)
            op = "NOT IN" if f.op == "!=" else "IN"
            where.append(f"{f.column.name} {op} ({values})")
        dim_cols = [f"CAST({d} AS VARCHAR) AS g{i}" for i, d in enumerate(dims)]
        dim_cols += ["CAST(NULL AS VARCHAR)"] * (width - len(dims))
        aggs = [f"CAST({fn}({c}) AS DOUBLE PRECISION)" for c in cols for fn in ("SUM", "COUNT", "MIN", "MAX")]
        aggs += ["CAST(NULL AS DOUBLE PRECISION)"] * (n_aggs - len(aggs))
        select = ", ".join([str(index)] + dim_cols + ["COUNT(*)"] + aggs)
        group = f" GROUP BY {', '.join(dims)}" if dims else ""
        branches.append(f"SELECT {select} FROM {table} WHERE {' AND '.join(where)}{group}")
    sql = "\nUNION ALL\n".join(branches)
    if dialect == "spark":
        sql = sql.replace("VARCHAR", "STRING").replace("DOUBLE PRECISION", "DOUBLE")
    return sql


class DuckEngineBench:
    dialect = "duckdb"

    def __init__(self, rows: int):
        import duckdb

        from kpirules.connectors.duckdb_db import DuckEngine

        self.con = duckdb.connect()
        self.con.execute(f"CREATE TABLE daily AS SELECT {table_sql(rows, 'duckdb')} FROM range({rows}) t(i)")
        self.engine = DuckEngine(self.con)

    def run(self, sql: str) -> list:
        return self.con.execute(sql).fetchall()


class PostgresBench:
    dialect = "postgres"

    def __init__(self, rows: int, url: str):
        import psycopg

        from kpirules.connectors.postgres import _PostgresEngine

        self.conn = psycopg.connect(url, autocommit=True)
        self.conn.execute("DROP TABLE IF EXISTS daily")
        text = table_sql(rows, "postgres").replace("CAST(i % 97 AS VARCHAR(8))", "(i % 97)::text")
        self.conn.execute(f"CREATE TABLE daily AS SELECT {text} FROM generate_series(0::bigint, {rows - 1}) AS t(i)")
        self.conn.execute("ANALYZE daily")
        self.engine = _PostgresEngine(self.conn)

    def run(self, sql: str) -> list:
        return self.conn.execute(sql).fetchall()


class SparkBench:
    dialect = "spark"

    def __init__(self, rows: int):
        from kpirules.connectors.spark import SparkEngine, spark_session

        self.spark = spark_session()
        frame = self.spark.sql(f"SELECT {table_sql(rows, 'spark')} FROM (SELECT id AS i FROM range({rows}))")
        frame.cache().createOrReplaceTempView("daily")
        self.spark.table("daily").count()  # materialise the cache
        self.engine = SparkEngine(self.spark)

    def run(self, sql: str) -> list:
        return [tuple(r) for r in self.spark.sql(sql).collect()]


def start_postgres(tmp: Path) -> tuple[str, object]:
    sys.path.insert(0, str(ROOT / "tests"))
    import socket

    import pgserver
    from pgserver._commands import pg_ctl

    server = pgserver.get_server(tmp, cleanup_mode=None)
    pg_ctl(["-w", "stop"], pgdata=server.pgdata, user=server.system_user, timeout=30)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    pg_ctl(["-w", "-o", "-h 127.0.0.1", "-o", f"-p {port}", "-o", f"-k {server.pgdata}", "-l",
            f"{server.pgdata}/tcp.log", "start"], pgdata=server.pgdata, user=server.system_user, timeout=60)

    def stop():
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user, timeout=60)
    return f"postgresql://postgres@127.0.0.1:{port}/postgres", stop


def bench(engine_name: str, rows: int, rule_count: int, repeat: int) -> dict:
    import tempfile

    from kpirules.backends.sql_table import SqlTable
    from kpirules.engine import evaluate
    from kpirules.plan import build_plan
    from kpirules.rulesfile import parse_rules_file

    stop = None
    t0 = time.perf_counter()
    if engine_name == "duckdb":
        target = DuckEngineBench(rows)
    elif engine_name == "postgres":
        url, stop = start_postgres(Path(tempfile.mkdtemp()))
        target = PostgresBench(rows, url)
    else:
        target = SparkBench(rows)
    load_s = time.perf_counter() - t0
    try:
        entries = parse_rules_file("\n".join(f"{n}: {t}" for n, t in generate.make_rules(rule_count)))
        as_of = generate.AS_OF
        table = SqlTable(target.engine, "daily")
        plan = build_plan(entries, names=[*table.names(), "date"], as_of=as_of)
        manual = hand_written(plan, "daily", target.dialect)
        ours, theirs, theirs_bytes = [], [], 0
        for _ in range(repeat):  # in turn, so load drifts hit both alike
            t = time.perf_counter()
            report = evaluate(entries, table, as_of)
            ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            rows_back = target.run(manual)
            theirs.append(time.perf_counter() - t)
            theirs_bytes = len(json.dumps(rows_back, default=str))
        compiled_rows = _rows_of(target, table, plan)
        ours_bytes = len(json.dumps(compiled_rows, default=str))
        return {"engine": engine_name, "rows": rows, "rules": rule_count, "results": len(report.results),
                "scans": len(plan.scans), "load_s": round(load_s, 2),
                "kpirules_s": round(median(ours), 3), "hand_written_s": round(median(theirs), 3),
                "ratio": round(median(ours) / median(theirs), 2),
                "kpirules_rows_back": len(compiled_rows), "kpirules_bytes_back": ours_bytes,
                "hand_written_bytes_back": theirs_bytes}
    finally:
        if stop:
            stop()


def _rows_of(target, table, plan) -> list:
    from kpirules.sql.compile import compile_plan

    compiled = compile_plan(plan, table=table._table, date=table.columns[table.date_column],
                            columns=table.columns, dialect=target.dialect, extents=sorted(plan.metrics))
    return list(target.engine.execute(compiled.sql, compiled.params))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["duckdb", "postgres", "spark"], action="append")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="1M rows on DuckDB, 100k on PostgreSQL, 100 rules")
    parser.add_argument("--json", type=Path, help="append the results to this file")
    args = parser.parse_args(argv)
    runs = ([("duckdb", 1_000_000, 100), ("postgres", 100_000, 100)] if args.quick else
            [(e, args.rows, args.rules) for e in (args.engine or ["duckdb"])])
    out = []
    for engine_name, rows, rules in runs:
        result = bench(engine_name, rows, rules, args.repeat)
        out.append(result)
        print(f"{engine_name:<9} {rows:>12,} rows {rules:>5} rules: kpirules {result['kpirules_s']:.3f} s, "
              f"hand-written {result['hand_written_s']:.3f} s, ratio {result['ratio']:.2f}; back over the "
              f"wire {result['kpirules_rows_back']:,} rows / {result['kpirules_bytes_back']:,} bytes "
              f"(hand-written {result['hand_written_bytes_back']:,} bytes)", flush=True)
    if args.json:
        existing = json.loads(args.json.read_text()) if args.json.exists() else []
        args.json.write_text(json.dumps(existing + out, indent=1) + "\n")


if __name__ == "__main__":
    main()
