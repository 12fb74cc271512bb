"""pandas, two ways: one filter + groupby per rule (what most notebooks do), and the
shared-aggregate version (each distinct period x filter x segment computed once)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from baselines.spec import Group, Slot, Spec, periods, plan, results, results_from_slots


def load(path: str) -> pd.DataFrame:
    return pd.read_csv(path, parse_dates=["date"])


def _groups(df: pd.DataFrame, start: dt.date, end: dt.date, filters, by, cols) -> dict[tuple, Group]:
    """Filter to the period and filters, then sum/count ``cols`` per segment."""
    mask = (df["date"] >= pd.Timestamp(start)) & (df["date"] <= pd.Timestamp(end))
    for f in filters:
        if f.op == "=":
            mask &= df[f.column] == f.values[0]
        elif f.op == "!=":
            mask &= df[f.column] != f.values[0]
        else:
            mask &= df[f.column].isin(f.values)
    part = df.loc[mask, [*by, *cols]]
    if not by:
        if part.empty:
            return {}
        sums, counts = part[cols].sum(), part[cols].count()
        return {(): Group(len(part), {c: sums[c] for c in cols}, {c: int(counts[c]) for c in cols})}
    grouped = part.groupby(list(by), sort=False)
    size, sums, counts = grouped.size(), grouped[cols].sum(), grouped[cols].count()
    out = {}
    for key, rows in size.items():
        srow, crow = sums.loc[key], counts.loc[key]
        seg = key if isinstance(key, tuple) else (key,)
        out[seg] = Group(int(rows), {c: srow[c] for c in cols}, {c: int(crow[c]) for c in cols})
    return out


def evaluate_per_rule(df: pd.DataFrame, specs: list[Spec], as_of: dt.date) -> list[dict]:
    out = []
    for spec in specs:
        cols = list(spec.columns)
        groups = [_groups(df, s, e, spec.filters, spec.by, cols) for s, e in periods(spec, as_of)]
        out += results(spec, as_of, *groups)
    return out


def evaluate_shared(df: pd.DataFrame, specs: list[Spec], as_of: dt.date) -> list[dict]:
    computed: dict[Slot, dict] = {}
    for slot, cols in plan(specs, as_of).items():
        computed[slot] = _groups(df, slot.start, slot.end, slot.filters, slot.by, sorted(cols))
    return results_from_slots(specs, as_of, computed)
