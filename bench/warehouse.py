"""kpirules on a warehouse vs the same engine running a hand-written query (issue 15).

    python bench/warehouse.py --engine duckdb --rows 100000000 --rules 1000
    python bench/warehouse.py --engine postgres --rows 10000000 --rules 1000
    python bench/warehouse.py --engine spark --rows 10000000 --rules 1000
    python bench/warehouse.py --quick            # 1M rows on DuckDB, 100k on PostgreSQL

The table is generated inside the engine (3 years of days x channels x campaigns, the
bench's marketing columns, a few blanks), the rules are bench/generate.py's. For each engine:

- kpirules: the plan compiled to one query (kpirules.sql.compile) and evaluated, exactly
  what `kpirules check ENGINE_URL --table T` does after connecting;
- hand-written, two ways an analyst would write the same numbers (neither has first/last
  nor data extents, so each does less work than kpirules):
  * "union": one `GROUP BY` per distinct (period, filter, segment) of the plan with
    sum/count/min/max of the columns the rules use, as one `UNION ALL`;
  * "grouping sets": one pass, one flag per scan (its period and filters) and
    `GROUP BY GROUPING SETS ((flag0, segment...), (flag1), ...)`, keeping the rows whose
    flag is true (the stronger baseline where 82 union branches are 82 jobs: Spark);
  the ratio is kpirules / the faster of the two;
- agreement: every group kpirules computed (rows, and each sum/avg/min/max/count a rule
  reads) against the union's numbers for the same scan and segment, within 1e-9
  relative (bench/measure.py's tolerance); any difference is printed and in the JSON;
- bytes: the size of what came back over the wire (the rows fetched, as JSON);
- peak memory: this process's peak RSS, and the peak RSS of the engine's processes
  sampled every 0.2 s (the JVM for Spark, the server for PostgreSQL, this process for
  DuckDB, which runs inside it).

Where the table lives, the same for every query: DuckDB a database file in a temporary
folder with ``memory_limit``/``temp_directory`` set (``--memory-limit``), so a big table
spills to disk instead of taking the machine down; PostgreSQL a table of a throw-away
server; Spark a parquet folder written once and read as a view (``--spark-memory`` sizes
the local JVM; ``spark.sql.shuffle.partitions`` is set to ``--partitions``, default 2 per
core, for every query alike: the default 200 makes each small aggregate 200 tasks).

Times are medians of --repeat runs of the query alone, in turn, engine already warm; the
ratio kpirules/hand-written is the number to read (goal <= 1.2). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import sys
import tempfile
import threading
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


def _types(sql: str, dialect: str) -> str:
    if dialect == "spark":
        return sql.replace("VARCHAR", "STRING").replace("DOUBLE PRECISION", "DOUBLE")
    return sql


def _where(scan) -> list[str]:
    where = [f"date BETWEEN DATE '{scan.period.start}' AND DATE '{scan.period.end}'"]
    for f in scan.filters:
        values = ", ".join("'" + v.replace("'", "''") + "'" for v in f.values)
        op = "NOT IN" if f.op == "!=" else "IN"
        where.append(f"{f.column.name} {op} ({values})")
    return where


def hand_written(plan, table: str, dialect: str) -> str:
    """One GROUP BY per scan, sum/count/min/max only, as one UNION ALL."""
    branches = []
    width = max(len(scan.dims) for scan in plan.scans)
    n_aggs = max(4 * len({c for _, c in needed}) for needed in plan.scans.values())
    for index, (scan, needed) in enumerate(plan.scans.items()):
        cols = sorted({c for _, c in needed})
        dims = list(scan.dims)
        dim_cols = [f"CAST({d} AS VARCHAR) AS g{i}" for i, d in enumerate(dims)]
        dim_cols += ["CAST(NULL AS VARCHAR)"] * (width - len(dims))
        aggs = [f"CAST({fn}({c}) AS DOUBLE PRECISION)" for c in cols for fn in ("SUM", "COUNT", "MIN", "MAX")]
        aggs += ["CAST(NULL AS DOUBLE PRECISION)"] * (n_aggs - len(aggs))
        select = ", ".join([str(index)] + dim_cols + ["COUNT(*)"] + aggs)
        group = f" GROUP BY {', '.join(dims)}" if dims else ""
        branches.append(f"SELECT {select} FROM {table} WHERE {' AND '.join(_where(scan))}{group}")
    return _types("\nUNION ALL\n".join(branches), dialect)


def grouping_sets(plan, table: str, dialect: str, most_columns: int = 64) -> str:
    """One pass: a flag per scan (its period and filters hold), one grouping set per scan
    (its flag and its segments), sum/count/min/max of every column a rule uses; the rows
    whose flag is true are the scans' groups (in a set, the other flags are NULL). Spark
    takes at most 64 grouping sets in a GROUP BY: more scans are a UNION ALL of such
    queries (82 scans: two passes)."""
    scans = list(plan.scans)
    start, end = plan.hull
    dims = sorted({d for scan in scans for d in scan.dims})
    cols = sorted({c for needed in plan.scans.values() for _, c in needed})
    aggs = [f"CAST({fn}({c}) AS DOUBLE PRECISION)" for c in cols for fn in ("SUM", "COUNT", "MIN", "MAX")]
    passes = -(-len(scans) // (most_columns - len(dims)))
    most = -(-len(scans) // passes)
    parts = []
    for first in range(0, len(scans), most):
        chunk = list(enumerate(scans))[first:first + most]
        flags = [f"COALESCE({' AND '.join(_where(scan))}, FALSE) AS f{i}" for i, scan in chunk]
        inner = (f"SELECT {', '.join(dims + cols + flags)} FROM {table} "
                 f"WHERE date BETWEEN DATE '{start}' AND DATE '{end}'")
        sets = ", ".join("(" + ", ".join([f"f{i}", *scan.dims]) + ")" for i, scan in chunk)
        which = "CASE " + " ".join(f"WHEN f{i} THEN {i}" for i, _ in chunk) + " END"
        select = ", ".join([which] + [f"CAST({d} AS VARCHAR)" for d in dims] + ["COUNT(*)"] + aggs)
        having = " OR ".join(f"f{i}" for i, _ in chunk)
        parts.append(f"SELECT {select} FROM ({inner}) t GROUP BY GROUPING SETS ({sets}) HAVING {having}")
    return _types("\nUNION ALL\n".join(parts), dialect)


def agreement(plan, groups: dict, union_rows: list) -> dict:
    """kpirules' groups (``SqlTable.groups``) against the union's rows (``hand_written``):
    the same (scan, segment) groups, the same row counts, and each aggregate both compute
    equal within 1e-9 relative. first/last/stddev are kpirules' alone."""
    from measure import REL_TOL

    scans = list(plan.scans.items())
    problems: list[str] = []
    checked = 0
    seen = 0
    width = max(len(scan.dims) for scan, _ in scans)  # as hand_written pads them

    def close(a, b) -> bool:
        if a is None or b is None:
            return a is None and b is None
        return abs(a - b) <= REL_TOL * max(abs(a), abs(b))

    for row in union_rows:
        scan, needed = scans[int(row[0])]
        segment = tuple(row[1:1 + len(scan.dims)])
        rows, numbers = row[1 + width], row[2 + width:]
        group = groups[scan].get(segment)
        seen += 1
        if group is None or group.rows != rows:
            problems.append(f"scan {row[0]} {segment}: {rows} rows by hand, "
                            f"{None if group is None else group.rows} in kpirules")
            continue
        for k, column in enumerate(sorted({c for _, c in needed})):
            total, count, low, high = numbers[4 * k:4 * k + 4]
            expected = {"sum": total if count else None, "count": count,
                        "avg": total / count if count else None, "min": low, "max": high}
            for func, _ in [key for key in needed if key[1] == column and key[0] in expected]:
                checked += 1
                got = group.values[(func, column)].value
                if not close(got, None if expected[func] is None else float(expected[func])):
                    problems.append(f"scan {row[0]} {segment} {func}({column}): {got!r} in kpirules, "
                                    f"{expected[func]!r} by hand")
    if seen != sum(len(segments) for segments in groups.values()):
        problems.append(f"{sum(len(s) for s in groups.values())} groups in kpirules, {seen} by hand")
    return {"checked": checked, "problems": problems[:10]}


class PeakMemory:
    """The peak RSS (bytes) of some processes, sampled every 0.2 s on a thread, and this
    process's own peak (getrusage: exact)."""

    def __init__(self) -> None:
        import psutil

        self._psutil = psutil
        self.pids: set[int] = {os.getpid()}
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def watch(self, pid: int) -> None:
        self.pids.add(pid)

    def _tree(self) -> int:
        total, seen = 0, set()
        for pid in list(self.pids):
            try:
                proc = self._psutil.Process(pid)
                for one in [proc, *proc.children(recursive=True)]:
                    if one.pid not in seen:
                        seen.add(one.pid)
                        total += one.memory_info().rss
            except self._psutil.Error:
                continue
        return total

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, self._tree())

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join()
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        return {"peak_rss_mb": round(own / 2**20), "peak_engine_rss_mb": round(max(self.peak, own) / 2**20)}


class DuckEngineBench:
    dialect = "duckdb"

    def __init__(self, rows: int, memory_limit: str, folder: Path):
        import duckdb

        from kpirules.connectors.duckdb_db import DuckEngine

        # A database file, not memory: with memory_limit, a table bigger than the limit
        # lives on disk and queries spill to temp_directory instead of failing or swapping.
        self.con = duckdb.connect(str(folder / "bench.duckdb"))
        self.con.execute(f"SET memory_limit = '{memory_limit}'")
        self.con.execute(f"SET temp_directory = '{folder / 'spill'}'")
        self.con.execute("SET preserve_insertion_order = false")
        self.con.execute(f"CREATE TABLE daily AS SELECT {table_sql(rows, 'duckdb')} FROM range({rows}) t(i)")
        self.con.execute("CHECKPOINT")
        self.engine = DuckEngine(self.con)

    def run(self, sql: str) -> list:
        return self.con.execute(sql).fetchall()

    def close(self) -> None:
        self.con.close()


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

    def close(self) -> None:
        self.conn.close()


class SparkBench:
    dialect = "spark"

    def __init__(self, rows: int, folder: Path, memory: str, partitions: int, watch):
        # The local JVM's heap is set when it starts, before kpirules' spark_session() makes it.
        os.environ.setdefault("PYSPARK_SUBMIT_ARGS", f"--driver-memory {memory} pyspark-shell")
        from kpirules.connectors.spark import SparkEngine, spark_session

        self.spark = spark_session()
        self.spark.conf.set("spark.sql.shuffle.partitions", str(partitions))
        watch(self._jvm_pid())
        # Written once as parquet and read as a view by every query: a cached DataFrame
        # would compete with the queries for the JVM's heap, a file does not.
        path = str(folder / "daily.parquet")
        (self.spark.sql(f"SELECT {table_sql(rows, 'spark')} FROM (SELECT id AS i FROM range({rows}))")
         .write.mode("overwrite").parquet(path))
        self.spark.read.parquet(path).createOrReplaceTempView("daily")
        self.engine = SparkEngine(self.spark)

    def _jvm_pid(self) -> int:
        return int(self.spark.sparkContext._jvm.ProcessHandle.current().pid())

    def run(self, sql: str) -> list:
        return [tuple(r) for r in self.spark.sql(sql).collect()]

    def close(self) -> None:
        pass


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
    stop.pgdata = server.pgdata  # type: ignore[attr-defined] # where postmaster.pid is
    return f"postgresql://postgres@127.0.0.1:{port}/postgres", stop


def _postmaster(url_stop) -> int | None:
    folder = getattr(url_stop, "pgdata", None)
    pid_file = Path(folder) / "postmaster.pid" if folder else None
    return int(pid_file.read_text().split()[0]) if pid_file and pid_file.exists() else None


def bench(engine_name: str, rows: int, rule_count: int, repeat: int, *, baselines: list[str],
          memory_limit: str = "4GB", spark_memory: str = "3g", partitions: int = 0) -> dict:
    from kpirules.engine import evaluate
    from kpirules.plan import build_plan
    from kpirules.rulesfile import parse_rules_file

    memory = PeakMemory()
    folder = Path(tempfile.mkdtemp(prefix="kpirules-wh-"))
    stop = None
    t0 = time.perf_counter()
    target: DuckEngineBench | PostgresBench | SparkBench
    try:
        if engine_name == "duckdb":
            target = DuckEngineBench(rows, memory_limit, folder)
        elif engine_name == "postgres":
            url, stop = start_postgres(folder / "pg")
            pid = _postmaster(stop)
            if pid:
                memory.watch(pid)
            target = PostgresBench(rows, url)
        else:
            target = SparkBench(rows, folder, spark_memory, partitions or 2 * (os.cpu_count() or 1), memory.watch)
        load_s = time.perf_counter() - t0
        print(f"  table of {rows:,} rows made in {load_s:.0f} s", flush=True)
        entries = parse_rules_file("\n".join(f"{n}: {t}" for n, t in generate.make_rules(rule_count)))
        as_of = generate.AS_OF
        recording = Recording(target.engine)
        table = KeptGroups(recording, "daily")
        plan = build_plan(entries, names=[*table.names(), "date"], as_of=as_of)
        queries = {"union": hand_written, "grouping_sets": grouping_sets}
        manual = {name: queries[name](plan, "daily", target.dialect) for name in baselines}
        ours: list[float] = []
        union_rows: list = []
        theirs: dict[str, list[float]] = {name: [] for name in manual}
        theirs_bytes: dict[str, int] = {}
        for _ in range(repeat):  # in turn, so load drifts hit every query alike
            t = time.perf_counter()
            report = evaluate(entries, table, as_of)
            ours.append(time.perf_counter() - t)
            print(f"  kpirules: {ours[-1]:.1f} s, {len(recording.rows)} rows", flush=True)
            for name, sql in manual.items():
                t = time.perf_counter()
                rows_back = target.run(sql)
                theirs[name].append(time.perf_counter() - t)
                if name == "union":
                    union_rows = rows_back
                theirs_bytes[name] = len(json.dumps(rows_back, default=str))
                print(f"  {name}: {theirs[name][-1]:.1f} s, {len(rows_back)} rows", flush=True)
        compiled_rows = recording.rows
        target.close()
        best = min(manual, key=lambda name: median(theirs[name]))
        out = {"engine": engine_name, "rows": rows, "rules": rule_count, "results": len(report.results),
               "scans": len(plan.scans), "load_s": round(load_s, 2), "kpirules_s": round(median(ours), 3)}
        for name in manual:
            out[f"{name}_s"] = round(median(theirs[name]), 3)
            out[f"{name}_bytes_back"] = theirs_bytes[name]
        out.update({"best_hand_written": best, "ratio": round(median(ours) / median(theirs[best]), 2),
                    "kpirules_rows_back": len(compiled_rows),
                    "kpirules_bytes_back": len(json.dumps(compiled_rows, default=str))})
        if "union" in manual:
            out["agreement"] = agreement(plan, table.kept, union_rows)
            print(f"  agreement with the union: {out['agreement']['checked']:,} aggregates checked, "
                  f"{len(out['agreement']['problems'])} problems", *out["agreement"]["problems"], sep="\n    ")
        out.update(memory.stop())
        return out
    finally:
        if stop:
            stop()
        shutil.rmtree(folder, ignore_errors=True)


def KeptGroups(engine, table: str):
    """A ``SqlTable`` that keeps the groups its last ``groups(plan)`` returned (for the
    agreement check: the timed run's own numbers, not another query's)."""
    from kpirules.backends.sql_table import SqlTable

    class Kept(SqlTable):
        kept: dict = {}

        def groups(self, plan) -> dict:
            self.kept = super().groups(plan)
            return self.kept

    return Kept(engine, table)


class Recording:
    """An engine that keeps what its last query brought back (the bytes over the wire)."""

    def __init__(self, engine):
        self.engine = engine
        self.dialect = engine.dialect
        self.rows: list = []
        if hasattr(engine, "execute_with_cube"):
            self.execute_with_cube = self._with_cube

    def columns(self, table: str):
        return self.engine.columns(table)

    def execute(self, sql: str, params: dict):
        self.rows = list(self.engine.execute(sql, params))
        return self.rows

    def _with_cube(self, compiled):
        self.rows = list(self.engine.execute_with_cube(compiled))
        return self.rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["duckdb", "postgres", "spark"], action="append")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline", choices=["union", "grouping_sets"], action="append",
                        help="hand-written queries to time (default: both)")
    parser.add_argument("--memory-limit", default="4GB", help="DuckDB's memory_limit (default 4GB)")
    parser.add_argument("--spark-memory", default="3g", help="the local Spark JVM's heap (default 3g)")
    parser.add_argument("--partitions", type=int, default=0,
                        help="spark.sql.shuffle.partitions (default: 2 per core)")
    parser.add_argument("--quick", action="store_true", help="1M rows on DuckDB, 100k on PostgreSQL, 100 rules")
    parser.add_argument("--json", type=Path, help="append the results to this file")
    args = parser.parse_args(argv)
    runs = ([("duckdb", 1_000_000, 100), ("postgres", 100_000, 100)] if args.quick else
            [(e, args.rows, args.rules) for e in (args.engine or ["duckdb"])])
    out = []
    for engine_name, rows, rules in runs:
        result = bench(engine_name, rows, rules, args.repeat, baselines=args.baseline or ["union", "grouping_sets"],
                       memory_limit=args.memory_limit, spark_memory=args.spark_memory, partitions=args.partitions)
        out.append(result)
        manual = ", ".join(f"{name.replace('_', ' ')} {result[name + '_s']:.3f} s"
                           for name in ("union", "grouping_sets") if name + "_s" in result)
        print(f"{engine_name:<9} {rows:>12,} rows {rules:>5} rules: kpirules {result['kpirules_s']:.3f} s, "
              f"hand-written {manual}; ratio to the best {result['ratio']:.2f}; back over the wire "
              f"{result['kpirules_rows_back']:,} rows / {result['kpirules_bytes_back']:,} bytes (hand-written "
              + ", ".join(f"{result[n + '_bytes_back']:,}" for n in ("union", "grouping_sets")
                          if n + "_bytes_back" in result)
              + f" bytes); peak RSS {result['peak_rss_mb']:,} MB here, {result['peak_engine_rss_mb']:,} MB "
              f"with the engine's processes; table made in {result['load_s']:.0f} s", flush=True)
    if args.json:
        existing = json.loads(args.json.read_text()) if args.json.exists() else []
        args.json.write_text(json.dumps(existing + out, indent=1) + "\n")


if __name__ == "__main__":
    main()
