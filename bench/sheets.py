"""Google Sheets: kpirules against the naive gspread script, on the emulator with 200 ms
injected per call (about what the real API takes), counting API calls and quota.

    python bench/sheets.py [--rules 10,100] [--naive-max 100]     (run.py calls ``run``)
    python bench/sheets.py --big 10000x20,100000x20                 (big sheets: ``big``, check and run)

kpirules: `kpirules check KEY` (2 calls on the S data's 8,760 rows: the tabs with the data
tab's first 1,000 rows, then the rules' columns below them; 1 on a sheet within 1,000 rows)
and `kpirules run KEY` (the same read, and its writes), whatever the rule count; `run` is
measured twice,
the first run on a sheet without History/Alerts tabs, then a second one. Naive: what a user
writes with gspread: open the spreadsheet, `get_all_records()` on the Data and Rules tabs,
compute (here with the plain-Python baseline), then `update_cell` per rule status cell.
The naive script also runs in its own process, and its results are checked against
`kpirules check`'s on the same sheet (status per rule: the worst over its segments).

Quota: Sheets allows 60 read and 60 write requests per minute per user; the table says how
many runs a minute each approach fits in. The naive script is only run up to
``--naive-max`` rules (at 200 ms a call, 1,000 update_cell calls take over 3 minutes);
above that its calls and time are extrapolated (marked "est.").
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import generate  # noqa: E402
from measure import kpirules_cli, run_child  # noqa: E402

LATENCY = 0.2
QUOTA_PER_MIN = 60  # read requests, and separately write requests, per minute per user
SEVERITY = ["PASS", "NO_DATA", "WARN", "FAIL", "ERROR"]


def _tabs(n: int, seed: int) -> dict[str, list[list]]:
    """The S data and ``n`` rules as a workbook's tabs (numbers as numbers, blank = None)."""
    with open(generate.generate_data("S", seed), newline="") as fh:
        rows = list(csv.reader(fh))
    data = [rows[0]] + [[dt.date.fromisoformat(r[0]), r[1], r[2],
                         *[float(c) if "." in c else int(c) if c else None for c in r[3:]]]
                        for r in rows[1:]]
    rules = [["Name", "Rule", "Status"]] + [[name, text, None] for name, text in
                                            generate.make_rules(n, seed)]
    return {"Data": data, "Rules": rules}


def _is_write(request) -> bool:
    method = (request.get("method") if isinstance(request, dict) else getattr(request, "method", "GET"))
    return str(method).upper() != "GET"


def _calls(emulator, before: int) -> dict:
    # Sheets API calls only: the emulator also logs OAuth token and admin requests
    served = [r for r in list(emulator.requests())[before:]
              if str(r.get("api", "")).startswith("spreadsheets")]
    writes = sum(_is_write(r) for r in served)
    return {"calls": len(served), "reads": len(served) - writes, "writes": writes}


def _runs_per_minute(calls: dict) -> float:
    worst = max(calls["reads"], calls["writes"], 1)
    return round(QUOTA_PER_MIN / worst, 2)


def worst_by_rule(results: list[dict]) -> dict[str, str]:
    out: dict[str, str] = {}
    for r in results:
        prev = out.get(r["name"], "PASS")
        out[r["name"]] = max(prev, r["status"], key=SEVERITY.index)
    return out


def naive(host: str, key: str, as_of: str) -> dict:
    """The naive script (runs in a child process): read with get_all_records, compute,
    one update_cell per rule."""
    from baselines import pure
    from baselines.spec import parse_rule

    from kpirules_emulator.sheets import gspread_client_for

    gc = gspread_client_for(host)
    sh = gc.open_by_key(key)
    records = sh.worksheet("Data").get_all_records()
    rules_ws = sh.worksheet("Rules")
    rule_rows = rules_ws.get_all_records()
    columns = {h: [rec[h] for rec in records] for h in records[0]} if records else {}
    columns["date"] = [_as_date(v) for v in columns.get("date", [])]
    for h, values in columns.items():
        if h != "date":
            columns[h] = [None if v == "" else v for v in values]
    specs = [parse_rule(r["Name"], r["Rule"]) for r in rule_rows]
    results = pure.evaluate(columns, specs, dt.date.fromisoformat(as_of))
    worst = worst_by_rule(results)
    status_col = list(rule_rows[0]).index("Status") + 1 if rule_rows else 3
    for i, spec in enumerate(specs):
        rules_ws.update_cell(i + 2, status_col, worst[spec.name])
    return {"results": results}


def _as_date(value) -> dt.date:
    if isinstance(value, (int, float)):  # a serial number (days since 1899-12-30)
        return dt.date(1899, 12, 30) + dt.timedelta(days=int(value))
    text = str(value)
    for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(text[:10], fmt).date()
        except ValueError:
            pass
    raise ValueError(f"unparseable date {value!r}")


def run(counts: list[int], *, seed: int = 1, naive_max: int = 100, quick: bool = False) -> dict:
    """The Sheets benchmark; {"skipped": why} when the emulator or `run` is not there."""
    try:
        from kpirules_emulator.sheets import SheetsEmulator, gspread_client_for  # noqa: F401
    except ImportError as exc:
        print(f"sheets: skipped: the Sheets emulator is not available ({exc})")
        return {"skipped": f"emulator not available: {exc}"}
    kpirules_bin = kpirules_cli()
    as_of = generate.AS_OF.isoformat()
    rows, problems, checked = [], [], 0
    for n in counts:
        key = f"kpirulesBench{n:06d}rules"  # key-shaped: 20+ letters, digits, - or _
        with SheetsEmulator() as emu:
            emu.add_spreadsheet(key, _tabs(n, seed))
            emu.set_latency(LATENCY)
            env = {**os.environ, "KPIRULES_SHEETS_EMULATOR_HOST": emu.host}

            before = len(list(emu.requests()))
            check = run_child([kpirules_bin, "check", key, "--as-of", as_of, "--format", "json"], env=env)
            calls = _calls(emu, before)
            if check.returncode not in (0, 1):
                problems.append(f"kpirules check on the emulator ({n} rules) exited "
                                f"{check.returncode}: {check.stderr[-1500:]}")
                continue
            reference = json.loads(check.stdout)["results"]
            rows.append({"rules": n, "approach": "kpirules check", "seconds": round(check.seconds, 3),
                         **calls, "runs_per_min": _runs_per_minute(calls)})

            # The first run also creates the History and Alerts tabs (and finds them
            # missing on its read); later runs are the steady state of a daily schedule.
            for label in ("kpirules run (first: creates History, Alerts)", "kpirules run (next runs)"):
                before = len(list(emu.requests()))
                done = run_child([kpirules_bin, "run", key, "--as-of", as_of], env=env)
                calls = _calls(emu, before)
                if done.returncode not in (0, 1):
                    print(f"sheets: `kpirules run` not measured ({n} rules): exit {done.returncode}: "
                          f"{done.stderr.strip().splitlines()[-1:]}")
                    break
                rows.append({"rules": n, "approach": label, "seconds": round(done.seconds, 3),
                             **calls, "runs_per_min": _runs_per_minute(calls)})

            if n <= naive_max:
                before = len(list(emu.requests()))
                code = (f"import sys, json; sys.path.insert(0, {str(BENCH)!r}); import sheets; "
                        f"json.dump(sheets.naive({emu.host!r}, {key!r}, {as_of!r}), sys.stdout)")
                script = run_child([sys.executable, "-c", code], env=env)
                calls = _calls(emu, before)
                if script.returncode != 0:
                    problems.append(f"naive gspread script ({n} rules) failed: {script.stderr[-1500:]}")
                    continue
                checked += 1
                theirs = worst_by_rule(json.loads(script.stdout)["results"])
                ours = worst_by_rule(reference)
                if ours != theirs:
                    diff = [k for k in ours if ours[k] != theirs.get(k)][:5]
                    problems.append(f"naive gspread ({n} rules) disagrees with kpirules check on {diff}")
                rows.append({"rules": n, "approach": "naive gspread", "seconds": round(script.seconds, 3),
                             **calls, "runs_per_min": _runs_per_minute(calls)})
    _extrapolate(rows, counts)
    return {"latency_s": LATENCY, "quota_per_min": QUOTA_PER_MIN, "rows": rows,
            "problems": problems, "checked": checked}


def _extrapolate(rows: list[dict], counts: list[int]) -> None:
    """Naive calls grow by one write per rule and time by about one latency per call."""
    measured = [r for r in rows if r["approach"] == "naive gspread"]
    if not measured:
        return
    base = max(measured, key=lambda r: r["rules"])
    for n in counts:
        if n > base["rules"]:
            extra = n - base["rules"]
            rows.append({"rules": n, "approach": "naive gspread (est.)",
                         "seconds": round(base["seconds"] + extra * LATENCY, 1),
                         "calls": base["calls"] + extra, "reads": base["reads"],
                         "writes": base["writes"] + extra,
                         "runs_per_min": round(QUOTA_PER_MIN / (base["writes"] + extra), 2)})


BIG_RULES = [
    ("conversion", "sum(signups) / sum(visits) >= 2% weekly"),
    ("conversion_by_campaign", "sum(signups) / sum(visits) >= 1.5% weekly by campaign"),
    ("visits_trend", "change(sum(visits)) >= -10% weekly"),
    ("daily_cost", "sum(cost) <= 100000 daily"),
    ("paid_visits", "sum(visits) >= 10 weekly where channel = \"paid\""),
]


def _big_data(n: int, width: int) -> tuple[list[str], list[list]]:
    """``n`` rows x ``width`` columns: date, campaign, channel, visits, signups, cost and
    filler numbers no rule uses (the wide exports people keep in one tab)."""
    start = generate.AS_OF - dt.timedelta(days=364)
    headers = ["date", "campaign", "channel", "visits", "signups", "cost",
               *[f"extra_{i}" for i in range(width - 6)]]
    per_day = max(1, n // 365)
    rows = [[start + dt.timedelta(days=min(364, i // per_day)), f"c{i % 12}",
             "paid" if i % 3 else "organic", 200 + (i * 7919) % 500, 3 + (i * 104729) % 11,
             round(10 + (i % 97) * 0.37, 2), *[(i * k) % 1000 for k in range(width - 6)]]
            for i in range(n)]
    return headers, rows


# `kpirules` in a process that reports its own peak RSS (VmHWM, since its exec): the
# rusage of a child forked from this process would count the emulator's cells held here
# (Linux keeps the parent's high-water mark across fork and exec).
# check's fast path ends with os._exit (no atexit handlers): the peak is written there too.
_PEAK_WRAPPER = (
    "import atexit, os, sys\n"
    "def _peak():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    "            open(os.environ['KPIRULES_BENCH_PEAK'], 'w').write(line.split()[1])\n"
    "atexit.register(_peak)\n"
    "_exit = os._exit\n"
    "def _peak_then_exit(code):\n"
    "    _peak()\n"
    "    _exit(code)\n"
    "os._exit = _peak_then_exit\n"
    "sys.argv = ['kpirules', *sys.argv[1:]]\n"
    "from kpirules.cli.main import main\n"
    "main()\n")


def _check_with_peak(args: list[str], env: dict, cwd: str):
    """(Run, peak RSS in MB of the kpirules process alone)."""
    peak_file = os.path.join(cwd, "peak.txt")
    done = run_child([sys.executable, "-c", _PEAK_WRAPPER, *args],
                     env={**env, "KPIRULES_BENCH_PEAK": peak_file}, cwd=cwd)
    with open(peak_file) as fh:
        return done, int(fh.read()) / 1024


def big(sizes: list[tuple[int, int]]) -> dict:
    """`kpirules check` on big Google Sheets (no injected latency): wall time, API calls,
    bytes read and the child's peak RSS; the results checked against `check` on the same
    data as a CSV file (read whole)."""
    import tempfile

    from kpirules_emulator.sheets import SheetsEmulator

    kpirules_bin = kpirules_cli()
    as_of = generate.AS_OF.isoformat()
    rows_out, problems = [], []
    for n, width in sizes:
        key = f"kpirulesBig{n}x{width}"
        headers, data = _big_data(n, width)
        with SheetsEmulator() as emu, tempfile.TemporaryDirectory() as tmp:
            emu.add_spreadsheet(key, {"Data": [headers, *data],
                                      "Rules": [["Name", "Rule"], *map(list, BIG_RULES)],
                                      "Settings": [["Key", "Value"], ["late_after", "30 days"]]})
            csv_path = os.path.join(tmp, "data.csv")
            with open(csv_path, "w", newline="") as fh:
                out = csv.writer(fh)
                out.writerow(headers)
                out.writerows([[r[0].isoformat(), *r[1:]] for r in data])
            del data
            rules_path = os.path.join(tmp, "rules.kpi")
            with open(rules_path, "w") as fh:
                fh.writelines(f"{name}: {text}\n" for name, text in BIG_RULES)
            with open(os.path.join(tmp, "kpirules.toml"), "w") as fh:
                fh.write('late_after = "30 days"\n')
            env = {**os.environ, "KPIRULES_SHEETS_EMULATOR_HOST": emu.host}
            before = len(list(emu.requests()))
            done, peak = _check_with_peak(["check", key, "--as-of", as_of, "--format", "json"], env, tmp)
            served = [r for r in list(emu.requests())[before:] if r["api"].startswith("spreadsheets")]
            if done.returncode not in (0, 1):
                problems.append(f"check on the {n} x {width} sheet exited {done.returncode}: "
                                f"{done.stderr[-800:]}")
                continue
            whole = run_child([kpirules_bin, "check", csv_path, "--rules", rules_path, "--as-of", as_of,
                               "--format", "json"], env=env, cwd=tmp)
            ours = [(r["name"], r.get("segment"), r["status"], r["value"])
                    for r in json.loads(done.stdout)["results"]]
            theirs = [(r["name"], r.get("segment"), r["status"], r["value"])
                      for r in json.loads(whole.stdout)["results"]]
            if ours != theirs:
                problems.append(f"the {n} x {width} sheet and its CSV disagree: "
                                f"{[a for a, b in zip(ours, theirs) if a != b][:3]}")
            row = {"rows": n, "columns": width, "seconds": round(done.seconds, 2),
                   "calls": len(served), "mb_read": round(sum(r.get("bytes") or 0 for r in served) / 1e6, 1),
                   "peak_mb": round(peak, 1), "results": len(ours), "agree": ours == theirs}
            # `kpirules run` on the same sheet (its first run: it creates History, Alerts...):
            # the same columns read, then its writes.
            before = len(list(emu.requests()))
            done, peak = _check_with_peak(["run", key, "--as-of", as_of], env, tmp)
            served = [r for r in list(emu.requests())[before:] if r["api"].startswith("spreadsheets")]
            if done.returncode not in (0, 1):
                problems.append(f"run on the {n} x {width} sheet exited {done.returncode}: {done.stderr[-800:]}")
            else:
                row.update(run_seconds=round(done.seconds, 2), run_calls=len(served), run_peak_mb=round(peak, 1),
                           run_mb_read=round(sum(r.get("bytes") or 0 for r in served
                                                 if str(r.get("method", "GET")).upper() == "GET") / 1e6, 1))
            rows_out.append(row)
    return {"rows": rows_out, "problems": problems}


def big_summary(result: dict) -> str:
    lines = ["`kpirules check` / `kpirules run` (its first run) on big Google Sheets (emulator, no latency), "
             "5 rules on 6 of the columns:",
             "| rows x columns | command | wall s | API calls | MB read | peak RSS MB | results = CSV's |",
             "|---|---|--:|--:|--:|--:|---|"]
    for r in result["rows"]:
        lines.append(f"| {r['rows']:,} x {r['columns']} | check | {r['seconds']} | {r['calls']} | "
                     f"{r['mb_read']} | {r['peak_mb']} | {'yes' if r['agree'] else 'NO'} |")
        if "run_calls" in r:
            lines.append(f"| {r['rows']:,} x {r['columns']} | run | {r['run_seconds']} | {r['run_calls']} | "
                         f"{r['run_mb_read']} | {r['run_peak_mb']} | |")
    lines += [f"PROBLEM: {p}" for p in result["problems"]]
    return "\n".join(lines)


def summary(result: dict) -> str:
    if "skipped" in result:
        return f"sheets: skipped ({result['skipped']})"
    lines = [f"Sheets emulator, {result['latency_s'] * 1000:.0f} ms per call, quota "
             f"{result['quota_per_min']} reads + {result['quota_per_min']} writes per minute:",
             "| rules | approach | wall s | API calls | reads | writes | runs/min within quota |",
             "|--:|---|--:|--:|--:|--:|--:|"]
    for r in sorted(result["rows"], key=lambda r: (r["rules"], r["approach"])):
        lines.append(f"| {r['rules']} | {r['approach']} | {r['seconds']} | {r['calls']} | "
                     f"{r['reads']} | {r['writes']} | {r['runs_per_min']} |")
    lines += [f"PROBLEM: {p}" for p in result["problems"]]
    return "\n".join(lines)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rules", default="10,100")
    parser.add_argument("--naive-max", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--big", metavar="ROWSxCOLS,...",
                        help="instead: `check` on big sheets, e.g. 10000x20,100000x20")
    a = parser.parse_args()
    if a.big:
        result = big([tuple(int(v) for v in size.split("x")) for size in a.big.split(",")])  # type: ignore[misc]
        print(big_summary(result))
        sys.exit(1 if result["problems"] else 0)
    result = run([int(n) for n in a.rules.split(",")], seed=a.seed, naive_max=a.naive_max)
    print(summary(result))
    sys.exit(1 if result.get("problems") else 0)
