"""Runs that do not slow down with history (issue 14): one `kpirules run` of
examples/marketing.xlsx at day 1 of daily runs against the same run at day 365, whole
processes, in turn, medians of wall and CPU time, peak memory. Never asserted; prints the
ratios.

    python bench/xlsx_history.py [--repeat 3] [--days 365] [--layout runs|unpruned]
                                 [--alerts-per-day 2] [--before CHECKOUT] [--keep DIR]

Day 1: the example workbook after one run (the day before), so History, Alerts, Settings
and the Dashboard exist. Day N: the same workbook with History grown as N daily runs leave
it under the default ``history_keep`` (180 days): each row of day 1 repeated for every day
still kept, its period moved back a day at a time (rolling windows add a row a day; for
weekly and monthly rules this over-counts, so History is if anything larger than a real
year's). A key (rule, segment, period) is written once, as runs upsert it. ``--layout
runs`` (the default since 2026-12-06): rows in the order the runs appended them, oldest
first, without the rows an earlier day's run already removed; the measured run removes
what expired since yesterday, at the top, so every row below moves up, as in a real year.
``--layout unpruned``: the generator before that (newest first, every row past the limit
still there for the measured run to remove, 1,743 of 8,181). The Data tab is the same in
both days: History grows, and so does Alerts, by ``--alerts-per-day`` rows a day (day 1's
rows again, their time moved back, delivered: ``email: sent``; 2 by default, a verdict
change a day for one rule in ten; 0: History alone, as measured before). Each timed
run starts from a fresh copy; kpirules' bytecode is compiled first, as an install does.
``--before``: another checkout's kpirules (``git archive COMMIT | tar -x -C DIR``) runs the
same workbooks, in turn with this one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from measure import run_child  # noqa: E402

AS_OF = dt.date(2026, 11, 26)
KEEP_DAYS = 180


def kpirules(*args: str) -> list[str]:
    return [sys.executable, "-m", "kpirules", *args]


def day_one(folder: Path) -> Path:
    path = folder / "day1.xlsx"
    shutil.copy(ROOT / "examples" / "marketing.xlsx", path)
    done = subprocess.run(kpirules("run", str(path), "--as-of", str(AS_OF - dt.timedelta(days=1)),
                                   "--no-notify"), capture_output=True, text=True)
    if done.returncode not in (0, 1, 5):
        raise SystemExit(f"the day-1 run failed ({done.returncode}): {done.stderr}")
    return path


def day_n(day1: Path, days: int, folder: Path, *, layout: str = "runs", alerts_per_day: int = 0
          ) -> tuple[Path, int]:
    """Day 1's workbook with History grown by ``days`` daily runs (see the module text).
    ``layout="runs"``: rows in the order the runs appended them (oldest first), without the
    rows an earlier day's run already removed under ``history_keep``; ``"unpruned"``: the
    generator before 2026-12-06 (newest first, every expired row still there)."""
    import openpyxl

    path = folder / f"day{days}{'' if layout == 'runs' else '-' + layout}.xlsx"
    wb = openpyxl.load_workbook(day1)
    ws = wb["History"]
    template = [[(c.value, c.style, c.number_format) for c in row] for row in ws.iter_rows(min_row=2)]
    # A run upserts by key (rule, segment, period): History never holds a key twice. A week's
    # row moved back 7 days is the restated row of the week before, already there: not again.
    keys = {_key(r[0].value, r[1].value, r[2].value, r[3].value) for r in ws.iter_rows(min_row=2)}
    kept = min(days, KEEP_DAYS + 1)
    grown: list[tuple[list, list]] = []  # (values, formats), newest first as day 1's rows
    for back in range(1, kept):
        for row in template:
            values = [value - dt.timedelta(days=back) if isinstance(value, dt.datetime) else value
                      for value, _, _ in row]
            key = _key(*values[:4])
            if key in keys:
                continue
            keys.add(key)
            grown.append((values, [fmt for _, _, fmt in row]))
    if layout == "runs":
        current = [([c.value for c in row], [c.number_format for c in row]) for row in ws.iter_rows(min_row=2)]
        everything = _pruned(grown[::-1] + current, AS_OF - dt.timedelta(days=1 + KEEP_DAYS))
        ws.delete_rows(2, ws.max_row)
        grown = everything
    for values, formats in grown:
        ws.append(values)
        for cell, fmt in zip(ws[ws.max_row], formats):
            cell.number_format = fmt
    history_rows = ws.max_row - 1
    _grow_alerts(wb["Alerts"], days, alerts_per_day)
    wb.save(path)
    return path, history_rows


def _grow_alerts(ws, days: int, per_day: int) -> None:
    """Alerts as ``days`` daily runs leave it: ``per_day`` rows a day before day 1's own,
    oldest first (runs append), each one of day 1's rows with its time moved back and its
    key made its own, delivered."""
    template = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
    if not template or not per_day:
        return
    col = {c.value: i for i, c in enumerate(ws[1])}
    rows = []
    for back in range(days - 1, 0, -1):
        for n in range(per_day):
            row = list(template[(back * per_day + n) % len(template)])
            when = dt.datetime.combine(AS_OF - dt.timedelta(days=back), dt.time(6, 0))
            row[col["Time"]] = when.strftime("%Y-%m-%d %H:%M")
            row[col["Key"]] = f"{back:04d}{n:02d}{str(row[col['Key']])[6:]}"
            row[col["Notified"]] = "email: sent"
            rows.append(row)
    ws.delete_rows(2, ws.max_row)
    for row in rows + template:
        ws.append(row)


def _pruned(rows: list[tuple[list, list]], cutoff: dt.date) -> list[tuple[list, list]]:
    """What the day before's run left: rows whose period ended before ``cutoff`` removed,
    except each rule x segment's latest (``history._expired``)."""
    latest: dict[tuple, dt.datetime] = {}
    for r, _ in rows:
        latest[(r[0], r[1])] = max(latest.get((r[0], r[1]), r[3]), r[3])
    limit = dt.datetime.combine(cutoff, dt.time())
    return [(r, f) for r, f in rows if not (r[3] < limit and r[3] != latest[(r[0], r[1])])]


def _key(rule, segment, start, end) -> tuple:
    return rule, segment or "", start, end


def timed(path: Path, folder: Path, env: dict | None = None) -> tuple[float, float, float]:
    """One run on a fresh copy of ``path``: (wall seconds, CPU seconds, peak MiB). ``env``:
    another checkout's (``python -m`` imports from the working folder first: run there)."""
    copy = folder / f"run-{path.name}"
    shutil.copy(path, copy)
    cwd = env["PYTHONPATH"].split(os.pathsep)[0] if env else str(ROOT)
    done = run_child(kpirules("run", str(copy), "--as-of", str(AS_OF), "--no-notify"), cwd=cwd, env=env)
    if done.returncode not in (0, 1, 5):
        raise SystemExit(f"run failed ({done.returncode}): {done.stderr}")
    return done.seconds, done.cpu_seconds, done.max_rss_mb


def checkout_env(before: str) -> dict:
    """The environment that runs another checkout's kpirules (``--before``)."""
    import compileall

    before = os.path.abspath(before)
    compileall.compile_dir(before, quiet=2, workers=1)
    kept = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
            if p and not os.path.abspath(p).startswith(str(ROOT))]
    return dict(os.environ, PYTHONPATH=os.pathsep.join([before, os.path.join(before, "emulator"), *kept]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--layout", choices=("runs", "unpruned"), default="runs",
                    help="History as daily runs leave it (default), or the generator before 2026-12-06")
    ap.add_argument("--alerts-per-day", type=int, default=2,
                    help="Alerts rows a day of runs adds (0: History alone grows)")
    ap.add_argument("--before", metavar="CHECKOUT",
                    help="also run another checkout's kpirules on the same workbooks, in turn")
    ap.add_argument("--keep", metavar="DIR", help="leave the generated workbooks in DIR (for profiling)")
    args = ap.parse_args(argv)
    from statistics import median

    from measure import compile_bytecode

    compile_bytecode()  # as an install would: no run pays for compiling kpirules
    setups = {"now": None}
    if args.before:
        setups["before"] = checkout_env(args.before)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        first = day_one(folder)
        later, rows = day_n(first, args.days, folder, layout=args.layout, alerts_per_day=args.alerts_per_day)
        runs: dict[tuple[str, int], list[tuple[float, float, float]]] = {}
        for _ in range(args.repeat):  # in turn, so that machine load hits all alike
            for name, env in setups.items():
                for day, path in ((1, first), (args.days, later)):
                    runs.setdefault((name, day), []).append(timed(path, folder, env))
    for name in setups:
        (w1, c1, p1), (wn, cn, pn) = (
            [median(x) if i < 2 else max(x) for i, x in enumerate(zip(*runs[(name, d)]))] for d in (1, args.days))
        print(f"{name}: xlsx run, day 1: median {w1:.3f} s (CPU {c1:.3f} s), peak {p1:.0f} MiB; "
              f"day {args.days} ({rows} History rows, {args.alerts_per_day} Alerts rows a day): "
              f"median {wn:.3f} s (CPU {cn:.3f} s), peak {pn:.0f} MiB; "
              f"ratio {wn / w1:.2f}, CPU {cn / c1:.2f} (goal <= 1.3)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
