"""A bounded, seeded generator of random valid rules and small clean tables, for
differential tests of the rule language across engines (tests/test_rules_agree.py).

Every rule is built from the constructs of docs/spec/semantics.md: every aggregate,
arithmetic, ``change``/``delta`` with every ``vs``, ``pace`` in to-date windows, every
window, comparisons, ``between``, ``warn at``, ``and``/``or``/``not``, ``where`` (=, !=,
in), ``by`` one or two dimensions, ``with at least`` and ``with C% confidence``. Each
choice is drawn from ``random.Random(seed)``: a seed is a reproducible case.

The tables: a few dimensions (some values odd: empty, spaces, unicode, case), a few
metric columns with blanks and zeros (one starting late, one all blank in some months),
dates about two years around an as-of date that is often on a period boundary.
"""

from __future__ import annotations

import datetime as dt
import random

AGGREGATES = ["sum", "avg", "min", "max", "count", "last", "first", "stddev"]
METRICS = ["visits", "signups", "revenue", "spend"]
DIMS = {"channel": ["email", "search", "social"], "country": ["PL", "DE"]}
# Odd values a real sheet holds, added by `odd=True`.
ODD_DIMS = {"channel": ["", " email", "Email", "søk", "e mail", "2"], "country": ["pl", "Ünited", " ", "0"]}
COLUMNS = ["date", "channel", "country", *METRICS]
# Headers as a sheet writes them: each normalises to its name in COLUMNS.
HEADERS = ["Date", " Channel ", "country", "visits", "SIGNUPS", "Revenue €", "spend"]
PLAIN_WINDOWS = ["daily", "weekly", "monthly", "quarterly", "yearly", "over last 3 days", "over last 28 days",
                 "over last 2 weeks", "over last 1 month", "over last 3 months", "over last 1 day",
                 "over last 5 weeks", "over last 13 months"]
TO_DATE = ["week to date", "month to date", "quarter to date", "year to date"]
BASELINES = ["", " vs previous", " vs last year", " vs average of last 3", " vs average of last 1",
             " vs average of last 12"]
BOUNDARY_AS_OF = [dt.date(2027, 1, 1), dt.date(2027, 4, 1), dt.date(2026, 12, 1), dt.date(2026, 11, 30),
                  dt.date(2028, 2, 29), dt.date(2028, 3, 1), dt.date(2027, 3, 1), dt.date(2027, 7, 2),
                  dt.date(2027, 1, 4), dt.date(2028, 1, 1)]


def as_of_for(rng: random.Random) -> dt.date:
    if rng.random() < 0.6:
        return rng.choice(BOUNDARY_AS_OF)
    return dt.date(2026, 6, 1) + dt.timedelta(days=rng.randint(0, 700))


def rows_for(rng: random.Random, as_of: dt.date, odd: bool = False) -> list[list]:
    """[date, channel, country, visits, signups, revenue, spend]: metrics are floats or
    None (blank); signups <= visits mostly, so confidence rules have shares to judge."""
    dims = {d: v + (ODD_DIMS[d] if odd else []) for d, v in DIMS.items()}
    first = as_of - dt.timedelta(days=rng.randint(300, 760))
    # mostly through the as-of date (some rows after it); sometimes late by a few days
    last = as_of + dt.timedelta(days=rng.randint(-1, 5) if rng.random() < 0.8 else -rng.randint(2, 20))
    late_start = first + dt.timedelta(days=rng.randint(0, 400))  # revenue begins later
    blank_month = rng.randint(1, 12)  # spend is blank all this month
    rows = []
    day = first
    while day <= last:
        for _ in range(rng.choice([0, 1, 1, 2, 2, 3, 4])):
            visits = rng.choice([None, 0.0, float(rng.randint(1, 400)), float(rng.randint(0, 40))])
            signups = None if rng.random() < 0.1 else float(rng.randint(0, int(visits or 5)))
            if rng.random() < 0.03:
                signups = (visits or 0.0) + 3  # a share above 1: confidence is an ERROR
            revenue = None if day < late_start or rng.random() < 0.2 else rng.choice([0.0, 2.5, 10.25, 99.0, -4.0])
            spend = None if day.month == blank_month or rng.random() < 0.15 else float(rng.randint(0, 30))
            channel = rng.choice(dims["channel"])
            if odd and day < as_of - dt.timedelta(days=40) and rng.random() < 0.2:
                channel = "legacy"  # a segment only the baseline periods hold
            rows.append([day, channel, rng.choice(dims["country"]),
                         visits, signups, revenue, spend])
        day += dt.timedelta(days=1)
    rng.shuffle(rows)
    return rows


def number(rng: random.Random) -> str:
    return rng.choice(["0", "1", "2", "5", "10", "40", "100", "2.5k", "1k", "2%", "50%", "-10%", "0.5", "-3",
                       "0.5pp", "-1pp", "200%"])


def aggregate(rng: random.Random) -> str:
    col = rng.choice(METRICS)
    if col == "revenue" and rng.random() < 0.3:
        col = "`Revenue €`"  # a header as the sheet writes it
    agg = rng.choice([*AGGREGATES, ""])
    return col if not agg else f"{agg}({col})"


def value(rng: random.Random, depth: int = 0) -> str:
    """An arithmetic expression of aggregates (no change/delta/pace)."""
    r = rng.random()
    if depth >= 2 or r < 0.5:
        return aggregate(rng)
    if r < 0.6:
        return f"-{aggregate(rng)}"
    op = rng.choice(["+", "-", "*", "/", "/"])
    left, right = value(rng, depth + 1), value(rng, depth + 1)
    if rng.random() < 0.3:
        return f"({left} {op} {right}) * {number(rng).lstrip('-')}"
    return f"{left} {op} {right}"


def pace(rng: random.Random) -> str:
    col = rng.choice(METRICS)
    return f"pace({rng.choice([col, f'sum({col})', f'count({col})'])})"


def side(rng: random.Random, to_date: bool, uses_change: bool) -> str:
    """The left-hand side of a comparison: a value, or change/delta/pace of one."""
    if uses_change:
        inner = pace(rng) if to_date and rng.random() < 0.3 else value(rng, 1)
        return f"{rng.choice(['change', 'delta'])}({inner})"
    if to_date and rng.random() < 0.4:
        return pace(rng)
    return value(rng)


def comparison(rng: random.Random, to_date: bool, uses_change: bool, warn: bool) -> tuple[str, str]:
    """(condition, warn clause or '')."""
    lhs = side(rng, to_date, uses_change)
    if rng.random() < 0.15:
        lo, hi = sorted([rng.uniform(-5, 50), rng.uniform(-5, 500)])
        return f"{lhs} between {lo:.4g} and {hi:.4g}", ""
    op = rng.choice([">=", ">", "<=", "<", "=", "!="])
    if rng.random() < 0.2:
        return f"{lhs} {op} {value(rng, 1)}", ""  # a value on both sides
    threshold = rng.choice([0.0, 0.02, 1.0, 5.0, 30.0, 120.0, 1000.0, -0.1])
    text = f"{lhs} {op} {threshold:g}"
    if warn and op in (">=", ">"):
        return text, f" warn at {threshold + rng.choice([0.01, 1.0, 50.0, 1000.0, 10000.0]):g}"
    if warn and op in ("<=", "<"):
        return text, f" warn at {threshold - rng.choice([0.01, 1.0, 50.0, 1000.0, 10000.0]):g}"
    return text, ""


def condition(rng: random.Random, to_date: bool, uses_change: bool) -> tuple[str, str]:
    r = rng.random()
    if r < 0.7:
        return comparison(rng, to_date, uses_change, warn=rng.random() < 0.3)
    a, _ = comparison(rng, to_date, uses_change, warn=False)
    b, _ = comparison(rng, to_date, rng.random() < 0.5 and uses_change, warn=False)
    if r < 0.8:
        return f"{a} and {b}", ""
    if r < 0.9:
        return f"{a} or {b}", ""
    return f"not ({a})", ""


def where(rng: random.Random, odd: bool) -> str:
    filters = []
    for dim in rng.sample(sorted(DIMS), rng.randint(1, 2)):
        values = DIMS[dim] + (ODD_DIMS[dim] + ["legacy"] if odd else []) + ["nowhere"]
        kind = rng.choice(["=", "!=", "in"])
        if kind == "in":
            chosen = rng.sample(values, rng.randint(1, 3))
            filters.append(f"{dim} in ({', '.join(quote(v) for v in chosen)})")
        else:
            filters.append(f"{dim} {kind} {quote(rng.choice(values))}")
    return " where " + " and ".join(filters)


def quote(text: str) -> str:
    return f'"{text}"'


def rule(rng: random.Random, odd: bool = False) -> str:
    """One random valid rule (without its name)."""
    to_date = rng.random() < 0.3
    window = rng.choice(TO_DATE if to_date else PLAIN_WINDOWS)
    if rng.random() < 0.12:  # a share judged with confidence: a / b >= T only
        k, n = rng.choice([("signups", "visits"), ("sum(signups)", "sum(visits)"), ("signups", "spend")])
        op, threshold = rng.choice(['>=', '>', '<=', '<']), rng.choice([2, 10, 50])
        cond, warn = f"{k} / {n} {op} {threshold}%", ""
        if rng.random() < 0.4:
            warn = f" warn at {threshold + (1 if '>' in op else -1)}%"
        clauses = [f" with {rng.choice(['95', '80', '99.9'])}% confidence"]
        uses_change = False
    else:
        uses_change = rng.random() < 0.35
        cond, warn = condition(rng, to_date, uses_change)
        clauses = []
    clauses.append(" " + window)
    if warn:
        clauses.append(warn)
    if uses_change and rng.random() < 0.8:
        clauses.append(rng.choice(BASELINES))
    if rng.random() < 0.4:
        dims = rng.sample(sorted(DIMS), rng.randint(1, 2))
        clauses.append(" by " + ", ".join(dims))
    if rng.random() < 0.35:
        clauses.append(where(rng, odd))
    if rng.random() < 0.2:
        col = rng.choice(METRICS)
        guard = f"{rng.randint(1, 300)} {rng.choice([col, f'count({col})', f'max({col})'])}"
        if rng.random() < 0.3:
            guard += f" and {rng.randint(1, 20)} count({rng.choice(METRICS)})"
        clauses.append(f" with at least {guard}")
    rng.shuffle(clauses)
    return cond + "".join(clauses)


def rules_text(rng: random.Random, count: int, odd: bool = False) -> str:
    return "".join(f"r{i}: {rule(rng, odd)}\n" for i in range(count))
