"""Plain Python (standard library only): what a careful engineer writes without pandas.

Load: the csv module into typed columns. Evaluate: one pass over the rows that fall in any
needed period, adding each row into a (date, dimensions) bucket; then every slot sums the
buckets of its days. The pass touches each row once whatever the rule count; the per-slot
step is proportional to days x segments, not rows.
"""

from __future__ import annotations

import csv
import datetime as dt

from baselines.spec import Group, Spec, plan, results_from_slots


def load(path: str) -> dict[str, list]:
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        headers = next(reader)
        rows = list(reader)
    columns: dict[str, list] = {}
    dates: dict[str, dt.date] = {}  # ~1,000 distinct dates in a million rows: parse each once
    for j, header in enumerate(headers):
        cells = [row[j] for row in rows]
        if header == "date":
            columns[header] = [dates.get(c) or dates.setdefault(c, dt.date.fromisoformat(c))
                               for c in cells]
        else:
            try:
                columns[header] = [float(c) if c else None for c in cells]
            except ValueError:  # a dimension (text) column
                columns[header] = cells
    return columns


def evaluate(table: dict[str, list], specs: list[Spec], as_of: dt.date) -> list[dict]:
    slots = plan(specs, as_of)
    dims = sorted({d for s in slots for d in s.by} | {f.column for s in slots for f in s.filters})
    metrics = sorted({m for cols in slots.values() for m in cols})
    first = min(s.start for s in slots)
    last = max(s.end for s in slots)

    # the single pass: bucket -> [rows, sum per metric, non-blank count per metric]
    buckets: dict[tuple, list] = {}
    n = len(metrics)
    date_col = table["date"]
    dim_cols = [table[d] for d in dims]
    metric_cols = [table[m] for m in metrics]
    for i, day in enumerate(date_col):
        if day < first or day > last:
            continue
        key = (day, *(c[i] for c in dim_cols))
        acc = buckets.get(key)
        if acc is None:
            acc = buckets[key] = [0, [0.0] * n, [0] * n]
        acc[0] += 1
        sums, counts = acc[1], acc[2]
        for k in range(n):
            v = metric_cols[k][i]
            if v is not None:
                sums[k] += v
                counts[k] += 1

    computed = {}
    for slot, cols in slots.items():
        index = [(m, metrics.index(m)) for m in cols]
        by_pos = [dims.index(d) + 1 for d in slot.by]
        filters = [(dims.index(f.column) + 1, f) for f in slot.filters]
        groups: dict[tuple, Group] = {}
        for key, (rows, sums, counts) in buckets.items():
            if not (slot.start <= key[0] <= slot.end):
                continue
            if any(not f.accepts(key[p]) for p, f in filters):
                continue
            seg = tuple(key[p] for p in by_pos)
            g = groups.get(seg)
            if g is None:
                g = groups[seg] = Group(0, {m: 0.0 for m in cols}, {m: 0 for m in cols})
            g.rows += rows
            for m, k in index:
                g.sums[m] += sums[k]
                g.counts[m] += counts[k]
        computed[slot] = groups
    return results_from_slots(specs, as_of, computed)
