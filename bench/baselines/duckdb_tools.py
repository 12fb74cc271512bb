"""DuckDB, two ways: one SQL query per rule, and one query computing every distinct
aggregate of every rule (conditional aggregates with FILTER, GROUPING SETS for segments).

Columns are named after the generated CSV's headers, which are already normalised names;
values in filters are SQL-quoted. The status step is shared Python (see spec.py); each
query returns rows, sums and non-blank counts, which is all semantics.md needs."""

from __future__ import annotations

import datetime as dt

import duckdb

from baselines.spec import Group, Slot, Spec, periods, plan, results, results_from_slots


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _where(filters) -> str:
    parts = []
    for f in filters:
        if f.op == "in":
            parts.append(f"{f.column} IN ({', '.join(_quote(v) for v in f.values)})")
        else:
            parts.append(f"{f.column} {'<>' if f.op == '!=' else '='} {_quote(f.values[0])}")
    return " AND ".join(parts) or "TRUE"


def _between(start: dt.date, end: dt.date) -> str:
    return f"date BETWEEN DATE '{start.isoformat()}' AND DATE '{end.isoformat()}'"


def load(path: str, *, materialise: bool = True) -> duckdb.DuckDBPyConnection:
    """The CSV as table ``t``; ``materialise=False`` leaves it a view over the file, so a
    single query reads the CSV once (what a one-shot DuckDB script does)."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")  # it would print into our JSON output
    kind = "TABLE" if materialise else "VIEW"
    con.execute(f"CREATE {kind} t AS SELECT * FROM read_csv({_quote(path)}, header = true)")
    return con


def evaluate_per_rule(con: duckdb.DuckDBPyConnection, specs: list[Spec], as_of: dt.date) -> list[dict]:
    out = []
    for spec in specs:
        spans = periods(spec, as_of)
        aggs = []
        for start, end in spans:
            cond = _between(start, end)
            aggs.append(f"count(*) FILTER (WHERE {cond})")
            for c in spec.columns:
                aggs += [f"sum({c}) FILTER (WHERE {cond})", f"count({c}) FILTER (WHERE {cond})"]
        lo, hi = min(s for s, _ in spans), max(e for _, e in spans)
        by = ", ".join(spec.by)
        sql = (f"SELECT {by + ', ' if by else ''}{', '.join(aggs)} FROM t "
               f"WHERE {_between(lo, hi)} AND {_where(spec.filters)}"
               f"{' GROUP BY ' + by if by else ''}")
        per_period: list[dict] = [{} for _ in spans]
        width = 1 + 2 * len(spec.columns)
        for row in con.execute(sql).fetchall():
            key, values = tuple(row[:len(spec.by)]), row[len(spec.by):]
            for p in range(len(spans)):
                chunk = values[p * width:(p + 1) * width]
                if chunk[0]:  # a segment only exists in a period where it has rows
                    per_period[p][key] = _group(spec.columns, chunk)
        out += results(spec, as_of, *per_period)
    return out


def _group(columns, chunk) -> Group:
    sums = {c: (chunk[1 + 2 * i] or 0) for i, c in enumerate(columns)}
    counts = {c: chunk[2 + 2 * i] for i, c in enumerate(columns)}
    return Group(chunk[0], sums, counts)


def evaluate_all(con: duckdb.DuckDBPyConnection, specs: list[Spec], as_of: dt.date) -> list[dict]:
    """One query: the rows of all periods are summed per day and dimensions (one scan of the
    data), then joined to the list of distinct (period, filter) conditions and summed per
    condition and segment, every segmentation at once (GROUPING SETS; the set without
    segments is the no-``by`` total). Conditional aggregates (FILTER) would do the same but
    DuckDB binds hundreds of them slowly: seconds for 1,000 rules."""
    slots = plan(specs, as_of)
    dims = sorted({d for s in slots for d in s.by} | {f.column for s in slots for f in s.filters})
    seg_dims = sorted({d for s in slots for d in s.by})
    metrics = sorted({m for cols in slots.values() for m in cols})
    conds = {key: i for i, key in enumerate(dict.fromkeys((s.start, s.end, s.filters) for s in slots))}
    filter_sets = {f: i for i, f in enumerate(dict.fromkeys(k[2] for k in conds))}
    values = ", ".join(f"({i}, DATE '{a.isoformat()}', DATE '{b.isoformat()}', {filter_sets[f]})"
                       for (a, b, f), i in conds.items())
    case = " ".join(f"WHEN {i} THEN {_where(f)}" for f, i in filter_sets.items())
    keys = ", ".join(["date", *dims])
    daily_cols = "".join(f", sum({m}) AS s_{m}, count({m}) AS c_{m}" for m in metrics)
    sums = "".join(f", sum(s_{m}), sum(c_{m})" for m in metrics)
    sets = sorted({tuple(sorted(slot.by)) for slot in slots})
    grouping = ", ".join("(" + ", ".join(["s.id", *by]) + ")" for by in sets)
    flags = "".join(f", grouping({d})" for d in seg_dims)
    lo, hi = min(s.start for s in slots), max(s.end for s in slots)
    sql = (f"WITH daily AS (SELECT {keys}, count(*) AS n{daily_cols} FROM t "
           f"WHERE {_between(lo, hi)} GROUP BY {keys}), "
           f"s(id, lo, hi, f) AS (VALUES {values}) "
           f"SELECT s.id{''.join(f', {d}' for d in seg_dims)}{flags}, sum(n){sums} "
           f"FROM daily JOIN s ON daily.date BETWEEN s.lo AND s.hi AND (CASE s.f {case} END) "
           f"GROUP BY GROUPING SETS ({grouping})")

    by_cond: dict[tuple, dict[tuple, tuple]] = {}  # (cond id, segmentation) -> key -> sums
    n = len(seg_dims)
    for row in con.execute(sql).fetchall():
        # grouping(d) = 1 when d is rolled up: which segmentation this row belongs to
        by_set = tuple(d for i, d in enumerate(seg_dims) if row[1 + n + i] == 0)
        key = {d: row[1 + seg_dims.index(d)] for d in by_set}
        by_cond.setdefault((row[0], by_set), {})[tuple(sorted(key.items()))] = row[1 + 2 * n:]

    computed: dict[Slot, dict] = {}
    for slot, cols in slots.items():
        found = by_cond.get((conds[(slot.start, slot.end, slot.filters)], tuple(sorted(slot.by))), {})
        groups = {}
        for key, agg in found.items():
            if agg[0]:
                named = dict(key)
                chunk = [agg[0]]
                for c in sorted(cols):
                    i = metrics.index(c)
                    chunk += [agg[1 + 2 * i], agg[2 + 2 * i]]
                groups[tuple(named[d] for d in slot.by)] = _group(sorted(cols), chunk)
        computed[slot] = groups
    return results_from_slots(specs, as_of, computed)
