"""Seeded generator of the benchmark inputs: marketing data CSVs and `.kpi` rule sets.

    python bench/generate.py                 # S, M, L data and 10/100/1,000/10,000-rule files
    python bench/generate.py --sizes S --rules 10,100

Data sizes (end date 2026-11-25, the day before the benchmark's as-of date):
  S    3 years daily x 8 channels, one campaign each      (8,760 rows)
  M    the same 3 years, ~91 campaigns over the 8 channels (100,000 rows)
  L    the same 3 years, ~913 campaigns                    (1,000,000 rows)
  10M  the same 3 years, ~9,133 campaigns                  (10,000,000 rows)
  SEG50k  50,000 campaigns over the last 10 days           (500,000 rows), with its own
       rule sets: every window daily (the data start 10 days back: a longer period would
       be incomplete, NO_DATA) and the first 10 `by` rules by campaign (50,000 segments)
M and L keep exactly the last N rows of the date-major grid, so the first day holds only
some campaigns (a campaign that started that day), which is how real exports look.

The data is realistic where it matters for the rules: email metrics are blank outside the
email channel and likes/reach outside social and video (blank = missing, not zero), organic
spend is blank and referral spend is 0 (two different NO_DATA paths for `revenue / spend by
channel`), a few random cells are blank, and there are outage days so `change` rules fail.

Rule sets are nested (the first 10 of the 100-rule set are the 10-rule set, ...), so the
cost of more rules is measured on the same kind of rules. Thresholds vary per rule, but
columns, ratios, windows, filters and segments come from small pools: many rules, a limited
set of distinct aggregates, as in a real team's rules tab.

Files go to bench/data/ (git-ignored), named by size, seed and generator version, and are
reused when present.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
from pathlib import Path

BENCH = Path(__file__).resolve().parent
DATA_DIR = BENCH / "data"
# bump when the output changes, so cached files are not reused
DATA_VERSION = 1
RULES_VERSION = 2
END = dt.date(2026, 11, 25)
DAYS = 3 * 365
AS_OF = dt.date(2026, 11, 26)
SIZES = {"S": 8 * DAYS, "M": 100_000, "L": 1_000_000, "10M": 10_000_000, "SEG50k": 500_000}
# Days the data of a size span (ending END); SEG50k: 50,000 campaigns over the last 10 days,
# so that a rule `by campaign` has 50,000 segments in a day.
SPAN_DAYS = {"SEG50k": 10}
# Sizes whose rule sets differ from the plain ones (see seg_rules).
SEGMENT_SIZES = {"SEG50k"}
SEG_BY_CAMPAIGN = 10  # rules of a SEG rule set grouped by campaign
COLUMNS = ["date", "channel", "campaign", "visits", "signups", "leads", "orders", "revenue",
           "spend", "emails_sent", "email_opens", "email_clicks", "likes", "reach"]

# name: visits/day/campaign (at S), signup rate, lead share of signups, order rate,
# average order value, spend per visit (None = blank column for the channel), campaign names
CHANNELS = {
    "search":    (3000, 0.025, 0.35, 0.009, 120, 0.90, ["brand", "generic", "competitor"]),
    "social":    (2500, 0.015, 0.30, 0.004, 80, 0.50, ["prospect", "retarget", "lookalike"]),
    "email":     (1200, 0.040, 0.45, 0.012, 95, 0.05, ["newsletter", "promo", "onboarding"]),
    "display":   (1800, 0.008, 0.25, 0.002, 90, 0.35, ["banner", "native", "programmatic"]),
    "video":     (1500, 0.010, 0.25, 0.003, 85, 0.60, ["preroll", "shorts", "ctv"]),
    "affiliate": (800, 0.030, 0.40, 0.010, 110, 1.20, ["coupon", "review", "cashback"]),
    "referral":  (600, 0.035, 0.40, 0.009, 100, 0.00, ["partner", "friend", "press"]),
    "organic":   (2200, 0.030, 0.35, 0.007, 105, None, ["blog", "seo", "direct"]),
}
EMAIL_CHANNELS = {"email"}
SOCIAL_CHANNELS = {"social", "video"}
BLANK_RATE = 0.003  # random missing cells in metric columns


def data_path(size: str, seed: int) -> Path:
    return DATA_DIR / f"marketing_{size}_seed{seed}_v{DATA_VERSION}.csv"


def rules_path(count: int, seed: int, size: str | None = None) -> Path:
    kind = "seg_" if size in SEGMENT_SIZES else ""
    return DATA_DIR / f"rules_{kind}{count}_seed{seed}_v{RULES_VERSION}.kpi"


def _campaigns(size: str) -> list[tuple[str, str]]:
    """(channel, campaign) pairs: one per channel at S, round-robin over channels above."""
    days = SPAN_DAYS.get(size, DAYS)
    total = -(-SIZES[size] // days)  # ceil: enough campaigns to fill N rows over the days
    pairs = []
    for i in range(total):
        channel = list(CHANNELS)[i % len(CHANNELS)]
        names = CHANNELS[channel][6]
        k = i // len(CHANNELS)
        suffix = names[k % len(names)] + ("" if k < len(names) else f"_{k // len(names) + 1}")
        pairs.append((channel, f"{channel}_{suffix}"))
    return pairs


def generate_data(size: str, seed: int = 1) -> Path:
    """Write (or reuse) the CSV of ``size``; returns its path."""
    path = data_path(size, seed)
    if path.exists():
        return path
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng([seed, list(SIZES).index(size)])
    days = SPAN_DAYS.get(size, DAYS)
    pairs = _campaigns(size)
    n_camp = len(pairs)
    per_channel = n_camp / len(CHANNELS)
    dates = np.array([END - dt.timedelta(days=days - 1 - d) for d in range(days)])
    day_idx = np.arange(days)

    ch_of = [p[0] for p in pairs]
    params = np.array([CHANNELS[c][:5] for c in ch_of], dtype=float)  # (C, 5)
    cpv = np.array([np.nan if CHANNELS[c][5] is None else CHANNELS[c][5] for c in ch_of])
    # campaigns differ in size; more campaigns per channel share the channel's traffic
    # (sub-linearly: more campaigns also mean more total traffic)
    camp_scale = rng.lognormal(0.0, 0.5, n_camp) / np.sqrt(per_channel)

    weekday = np.array([d.weekday() for d in dates])
    weekly = np.where(weekday >= 5, 0.75, 1.0)[:, None]  # weekends are quieter
    yearly = (1 + 0.15 * np.sin(2 * np.pi * day_idx / 365.25))[:, None]
    trend = (1 + 0.2 * day_idx / 365.0)[:, None]
    outage = np.where(rng.random(days) < 0.01, 0.3, 1.0)[:, None]  # tracking outages
    noise = rng.lognormal(0.0, 0.15, (days, n_camp))
    visits = np.rint(params[:, 0] * camp_scale * weekly * yearly * trend * outage * noise)
    visits = visits.astype(np.int64)
    signups = rng.binomial(visits, params[:, 1] * rng.lognormal(0, 0.1, (days, n_camp)).clip(0, 5))
    leads = rng.binomial(signups, params[:, 2])
    orders = rng.binomial(visits, params[:, 3])
    revenue = np.round(orders * params[:, 4] * rng.lognormal(0, 0.2, (days, n_camp)), 2)
    spend = np.round(visits * cpv * rng.lognormal(0, 0.1, (days, n_camp)), 2)
    emails_sent = np.rint(visits * 8 * rng.lognormal(0, 0.1, (days, n_camp))).astype(np.int64)
    email_opens = rng.binomial(emails_sent, 0.22)
    email_clicks = rng.binomial(email_opens, 0.12)
    reach = np.rint(visits * 40 * rng.lognormal(0, 0.2, (days, n_camp))).astype(np.int64)
    likes = rng.binomial(reach, 0.02)

    is_email = np.array([c in EMAIL_CHANNELS for c in ch_of])
    is_social = np.array([c in SOCIAL_CHANNELS for c in ch_of])
    keep = slice(days * n_camp - SIZES[size], None)  # the last N rows of the grid

    def column(values: np.ndarray, applies: np.ndarray | None = None, dtype: str = "Int64"):
        flat = pd.array(values.reshape(-1), dtype=dtype)
        blank = rng.random(flat.shape[0]) < BLANK_RATE
        if applies is not None:
            blank |= ~np.broadcast_to(applies, values.shape).reshape(-1)
        flat[blank] = pd.NA
        return flat[keep]

    frame = pd.DataFrame({
        "date": np.repeat([d.isoformat() for d in dates], n_camp)[keep],
        "channel": np.tile(ch_of, days)[keep],
        "campaign": np.tile([p[1] for p in pairs], days)[keep],
        "visits": column(visits),
        "signups": column(signups),
        "leads": column(leads),
        "orders": column(orders),
        "revenue": column(revenue, dtype="Float64"),
        "spend": column(spend, ~np.isnan(cpv), dtype="Float64"),
        "emails_sent": column(emails_sent, is_email),
        "email_opens": column(email_opens, is_email),
        "email_clicks": column(email_clicks, is_email),
        "likes": column(likes, is_social),
        "reach": column(reach, is_social),
    }, columns=COLUMNS)
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    frame.to_csv(tmp, index=False)
    tmp.replace(path)  # never leave a half-written file under the cached name
    return path


# ------------------------------------------------------------------------------ rules

# (numerator, denominator, comparison, typical value over all channels)
RATIOS = [
    ("signups", "visits", ">=", 0.022), ("leads", "visits", ">=", 0.008),
    ("leads", "signups", ">=", 0.35), ("orders", "visits", ">=", 0.006),
    ("orders", "signups", ">=", 0.28), ("revenue", "spend", ">=", 1.2),
    ("spend", "orders", "<=", 60.0), ("spend", "signups", "<=", 25.0),
    ("email_opens", "emails_sent", ">=", 0.22), ("email_clicks", "email_opens", ">=", 0.12),
    ("email_clicks", "emails_sent", ">=", 0.026), ("likes", "reach", ">=", 0.02),
    ("revenue", "orders", ">=", 100.0),
]
# column: typical daily total over all channels at S
SUMS = {"visits": 16000, "signups": 350, "leads": 120, "orders": 110, "revenue": 11000,
        "spend": 9000, "emails_sent": 10000, "email_opens": 2200, "email_clicks": 260,
        "likes": 1200, "reach": 60000}
# window text: days it covers (roughly), weight
WINDOWS = [("weekly", 7, 8), ("monthly", 30, 5), ("daily", 1, 2), ("quarterly", 91, 1),
           ("over last 28 days", 28, 2), ("over last 4 weeks", 28, 1),
           ("over last 3 months", 91, 1)]
FILTERS = ['where channel = "search"', 'where channel in ("search", "social")',
           'where channel != "organic"', 'where channel = "email"']


def _nice(value: float) -> str:
    """A threshold the way people write it: two significant digits, k/M suffixes."""
    for unit, scale in (("M", 1e6), ("k", 1e3), ("", 1.0)):
        if value >= scale or unit == "":
            scaled = value / scale
            digits = max(0, 1 - len(str(int(scaled))) + 1)
            text = f"{round(scaled, digits):.{digits}f}"
            if "." in text:
                text = text.rstrip("0").rstrip(".")
            return (text or "0") + unit
    raise AssertionError


def _value(text: str) -> float:
    scale = {"%": 0.01, "k": 1e3, "M": 1e6}.get(text[-1])
    return float(text[:-1]) * scale if scale else float(text)


def _ratio_threshold(value: float) -> str:
    return f"{round(value * 100, 1):g}%" if value < 1 else _nice(value)


def make_rules(count: int, seed: int = 1) -> list[tuple[str, str]]:
    """``count`` (name, rule text) pairs; the first k of any larger set are the k-rule set."""
    rng = random.Random(seed)
    windows = [w for w, _, weight in WINDOWS for _ in range(weight)]
    days = {w: d for w, d, _ in WINDOWS}
    rules = []
    for i in range(count):
        window = rng.choice(windows)
        shape = rng.choices(["ratio", "sum", "change"], weights=[40, 35, 25])[0]
        by = " by channel" if rng.random() < 0.35 else ""
        where = f" {rng.choice(FILTERS)}" if not by and rng.random() < 0.15 else ""
        warn = ""
        if shape == "ratio":
            num, den, op, typical = rng.choice(RATIOS)
            limit = _ratio_threshold(typical * rng.uniform(0.7, 1.3))
            text = f"{num} / {den} {op} {limit}"
            if rng.random() < 0.3:
                stricter = _ratio_threshold(_value(limit) * (1.15 if op == ">=" else 0.85))
                # the warn level must be strictly stricter once both are rounded for print
                if (_value(stricter) > _value(limit)) == (op == ">="):
                    warn = f" warn at {stricter}"
            label = f"{num}_per_{den}"
        elif shape == "sum":
            col = rng.choice(list(SUMS))
            limit = SUMS[col] * days[window] * 10 ** rng.uniform(-1.5, 1.5)
            text = f"sum({col}) >= {_nice(limit)}" if rng.random() < 0.5 else f"{col} >= {_nice(limit)}"
            label = col
        else:
            if rng.random() < 0.25:
                num, den, _, _ = rng.choice(RATIOS)
                inner, label = f"{num} / {den}", f"{num}_per_{den}_change"
            else:
                inner = rng.choice(list(SUMS))
                label = f"{inner}_change"
            text = f"change({inner}) >= -{rng.choice([5, 10, 15, 20, 25, 30])}%"
        if any(col in text for col in ("email", "likes", "reach")) and rng.random() < 0.8:
            # people scope email and social metrics to the channels that have them
            # rather than asking for them by channel (where most channels are blank)
            by = ""
            where = (' where channel = "email"' if "email" in text
                     else ' where channel in ("social", "video")')
        slug = window.replace("over last ", "last").replace(" ", "")
        rules.append((f"r{i + 1:05d}_{label}_{slug}", f"{text} {window}{by}{where}{warn}"))
    return rules


def seg_rules(count: int, seed: int = 1) -> list[tuple[str, str]]:
    """The rule set for SEG sizes: ``make_rules`` with every window daily and the first
    ``SEG_BY_CAMPAIGN`` rules `by channel` grouped by campaign instead."""
    out, by_campaign = [], 0
    for name, text in make_rules(count, seed):
        for window, _, _ in WINDOWS:
            if f" {window}" in text:
                text = text.replace(f" {window}", " daily", 1)
                name = name.rsplit("_", 1)[0] + "_daily"
                break
        if " by channel" in text and by_campaign < SEG_BY_CAMPAIGN:
            text, by_campaign = text.replace(" by channel", " by campaign"), by_campaign + 1
        out.append((name, text))
    return out


def write_rules(count: int, seed: int = 1, size: str | None = None) -> Path:
    """The ``count``-rule file for data of ``size`` (SEG sizes have their own rules)."""
    path = rules_path(count, seed, size)
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        make = seg_rules if size in SEGMENT_SIZES else make_rules
        lines = [f"# {count} generated benchmark rules (seed {seed}); see bench/generate.py"]
        lines += [f"{name}: {text}" for name, text in make(count, seed)]
        tmp = path.with_suffix(".tmp")
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
        tmp.replace(path)
    return path


def case_parser(doc: str, *, repeat: int | None = 3) -> argparse.ArgumentParser:
    """The arguments of a script measuring one case: SIZE RULES [--repeat N] [--seed N]
    (``repeat=None``: no --repeat); the script adds its own. ``doc``: its docstring."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("size", choices=list(SIZES))
    parser.add_argument("rules", type=int)
    if repeat is not None:
        parser.add_argument("--repeat", type=int, default=repeat)
    parser.add_argument("--seed", type=int, default=1)
    return parser


def case_files(args: argparse.Namespace) -> tuple[Path, Path]:
    """The data and rules files of the case ``case_parser`` parsed, made when missing."""
    return generate_data(args.size, args.seed), write_rules(args.rules, args.seed, args.size)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="S,M,L")
    parser.add_argument("--rules", default="10,100,1000,10000")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    for size in filter(None, args.sizes.split(",")):
        print(generate_data(size, args.seed))
    for count in filter(None, args.rules.split(",")):
        print(write_rules(int(count), args.seed))
        if SEGMENT_SIZES & set(args.sizes.split(",")):
            print(write_rules(int(count), args.seed, "SEG50k"))


if __name__ == "__main__":
    main()
