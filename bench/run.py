"""kpirules against what users would pick instead, in one run (issue 6).

    python bench/run.py --quick                  # S, 10 and 100 rules: the CI smoke test
    python bench/run.py                          # S, M, L x 10, 100, 1,000 rules
    python bench/run.py --only S/100,L/1000 --phases cli,validate   # issue 2's numbers

For each data size and rule count, kpirules and every baseline (bench/baselines/) compute
the same results; every tool must agree with kpirules (status equal, value within 1e-9
relative) or the run exits 1 showing the first disagreements. Phases:
  cli       whole process, start-up included: `kpirules check --format json` vs a Python
            process per baseline, and DuckDB only reading the CSV (the floor)
  inproc    one process per tool and size: load only, then evaluation only (data loaded)
  validate  `kpirules validate` on the 10,000-rule file
  sheets    API calls, wall time and quota against the Sheets emulator (bench/sheets.py)
Prints a table (median wall time, peak memory, kpirules/tool ratio) and the goals, and
writes everything to bench/results/latest.json (quick runs: bench/results/quick.json).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from statistics import median

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import generate  # noqa: E402
from measure import (  # noqa: E402
    baseline_cli,
    checkout_env,
    compile_bytecode,
    disagreements,
    duckdb_read_cli,
    kpirules_cli,
    normalise_cli,
    run_child,
    time_child,
    time_in_turn,
)

AS_OF = generate.AS_OF.isoformat()
BASELINES = ["python", "pandas_per_rule", "pandas_shared", "duckdb_per_rule", "duckdb_all"]
PHASES = ["cli", "inproc", "validate", "sheets"]
BEFORE = "kpirules_before"  # --before: the same check from another checkout
ISSUE14_CASES = "M/1000,L/1000,10M/1000,M/10000,SEG50k/1000"
# Issue 14's goals: kpirules / duckdb_all (whole processes), and a memory bound in MiB
# from DuckDB's peak (None: no memory goal).
ISSUE14_GOALS = {
    ("M", 1000): (1.1, "<", None),
    ("L", 1000): (1.1, "<", None),
    ("10M", 1000): (1.1, "<", lambda duck: duck + 50),
    ("M", 10000): (1.3, "<=", None),
    ("SEG50k", 1000): (1.1, "<=", lambda duck: duck * 1.2),
}


class Bench:
    def __init__(self, args):
        self.args = args
        self.rows: list[dict] = []
        self.problems: list[str] = []  # disagreements and failures: any makes the run fail
        self.checked = 0  # tool x case comparisons made
        self.before_env = checkout_env(args.before) if getattr(args, "before", None) else None

    def add(self, size, rules, phase, tool, times, peak_mb, **extra):
        row = {"size": size, "rules": rules, "phase": phase, "tool": tool,
               "median_s": round(median(times), 4), "runs": len(times),
               "peak_mb": None if peak_mb is None else round(peak_mb, 1), **extra}
        self.rows.append(row)
        print(f"  {phase:<8} {size:<2} {str(rules or '-'):>5} {tool:<16} {row['median_s']:8.3f} s"
              f"  {row['peak_mb'] if peak_mb is not None else '-':>7} MB", flush=True)

    def agree(self, label: str, reference: list[dict], results: list[dict]) -> None:
        self.checked += 1
        found = disagreements(reference, results)
        if found:
            self.problems.append(f"{label}: disagrees with kpirules:\n    " + "\n    ".join(found))

    # ------------------------------------------------------------------ phases

    def cli(self, size: str, counts: list[int], tools: list[str]) -> None:
        a = self.args
        csv = generate.generate_data(size, a.seed)
        floor = time_child(duckdb_read_cli(csv), a.repeat, a.budget)
        if floor.first.returncode == 0:
            self.add(size, None, "cli", "duckdb_read_csv", floor.times, max(floor.peaks))
        for n in counts:
            rules = generate.write_rules(n, a.seed, size)
            cmd = [kpirules_cli(), "check", str(csv), "--rules", str(rules),
                   "--as-of", AS_OF, "--format", "json"]
            commands = {"kpirules": cmd, **{t: baseline_cli(t, csv, rules, AS_OF) for t in tools}}
            envs = {}
            if self.before_env is not None:  # the same command with another checkout's kpirules
                commands[BEFORE] = cmd
                envs[BEFORE] = self.before_env
            # In turn (kpirules, then each tool, then kpirules again...): a change in the
            # machine's load hits every tool alike.
            timings = time_in_turn(commands, a.repeat, a.budget, envs)
            ours = timings["kpirules"]
            try:  # exit 1 is also Python's status for a crash: the JSON tells them apart
                reference = normalise_cli(json.loads(ours.first.stdout))
            except ValueError:
                self.problems.append(f"kpirules check {size}/{n} exited {ours.first.returncode} "
                                     f"without a JSON report:\n{ours.first.stderr[-2000:]}")
                continue
            self.add(size, n, "cli", "kpirules", ours.times, max(ours.peaks),
                     results=len(reference))
            for tool in [*tools, *([BEFORE] if BEFORE in timings else [])]:
                theirs = timings[tool]
                if tool == BEFORE:  # kpirules' own JSON, normalised like ours
                    if theirs.first.returncode not in (0, 1):
                        self.problems.append(f"{tool} {size}/{n} exited {theirs.first.returncode}:\n"
                                             f"{theirs.first.stderr[-2000:]}")
                        continue
                    self.add(size, n, "cli", tool, theirs.times, max(theirs.peaks))
                    self.agree(f"cli {size}/{n} {tool}", reference,
                               normalise_cli(json.loads(theirs.first.stdout)))
                    continue
                if theirs.first.returncode != 0:
                    self.problems.append(f"{tool} {size}/{n} exited {theirs.first.returncode}:\n"
                                         f"{theirs.first.stderr[-2000:]}")
                    continue
                self.add(size, n, "cli", tool, theirs.times, max(theirs.peaks))
                self.agree(f"cli {size}/{n} {tool}", reference,
                           json.loads(theirs.first.stdout)["results"])
            for timing in timings.values():
                timing.first = None  # the JSON documents can be large (SEG50k): not kept

    def inproc(self, size: str, counts: list[int], tools: list[str]) -> None:
        a = self.args
        csv = generate.generate_data(size, a.seed)
        files = [str(generate.write_rules(n, a.seed, size)) for n in counts]
        reference = None
        for tool in ["kpirules", *tools]:
            cmd = [sys.executable, str(BENCH / "worker.py"), tool, str(csv), ",".join(files),
                   "--as-of", AS_OF, "--repeat", str(a.repeat), "--budget", str(a.budget)]
            run = run_child(cmd)
            if run.returncode != 0:
                self.problems.append(f"worker {tool} {size} exited {run.returncode}:\n{run.stderr[-2000:]}")
                continue
            out = json.loads(run.stdout)
            self.add(size, None, "load", tool, out["load"]["times"], out["load"]["peak_mb"])
            for n, path in zip(counts, files):
                ev = out["evals"][path]
                if tool == "kpirules":
                    self.add(size, n, "parse", tool, ev["parse_times"], None)
                extra = {"py_peak_mb": ev["py_peak_mb"]} if "py_peak_mb" in ev else {}
                self.add(size, n, "eval", tool, ev["times"], ev["peak_mb"], **extra)
            if tool == "kpirules":
                reference = {p: out["evals"][p]["results"] for p in files}
            elif reference is not None:
                for n, path in zip(counts, files):
                    self.agree(f"eval {size}/{n} {tool}", reference[path], out["evals"][path]["results"])

    def validate(self) -> None:
        a = self.args
        rules = generate.write_rules(10_000, a.seed)
        cmd = [kpirules_cli(), "validate", str(rules)]
        timing = time_child(cmd, a.repeat, a.budget)
        if timing.first.returncode != 0:
            self.problems.append(f"kpirules validate exited {timing.first.returncode}:\n"
                                 f"{(timing.first.stdout + timing.first.stderr)[-2000:]}")
            return
        self.add("-", 10_000, "validate", "kpirules", timing.times, max(timing.peaks))

    def sheets(self, counts: list[int]) -> dict:
        import sheets

        # quick: one small rule set (the naive script makes one call per rule at 200 ms)
        result = sheets.run(counts[:1] if self.args.quick else counts, seed=self.args.seed,
                            naive_max=self.args.naive_max, quick=self.args.quick)
        self.problems += [f"sheets: {p}" for p in result.get("problems", [])]
        self.checked += result.get("checked", 0)
        return result


# ---------------------------------------------------------------------- reporting


def ratios(rows: list[dict]) -> None:
    """kpirules / tool for each (size, rules, phase)."""
    ours = {(r["size"], r["rules"], r["phase"]): r["median_s"] for r in rows if r["tool"] == "kpirules"}
    for r in rows:
        key = (r["size"], r["rules"], r["phase"])
        if r["phase"] == "cli" and r["rules"] is None:  # the DuckDB read floor: vs each count
            continue
        if key in ours and r["median_s"]:
            r["ratio"] = round(ours[key] / r["median_s"], 2)


def table(rows: list[dict]) -> str:
    head = "| size | rules | phase | tool | median s | peak MB | kpirules/tool |\n|---|--:|---|---|--:|--:|--:|"
    lines = [head]
    for r in rows:
        peak = "" if r["peak_mb"] is None else f"{r['peak_mb']:.1f}"
        ratio = f"{r['ratio']:.2f}" if "ratio" in r else ""
        lines.append(f"| {r['size']} | {r['rules'] or ''} | {r['phase']} | {r['tool']} | "
                     f"{r['median_s']:.3f} | {peak} | {ratio} |")
    return "\n".join(lines)


def goals(rows: list[dict]) -> list[dict]:
    """Issue 6's goals, each with the numbers behind its verdict (None: not measured)."""
    def get(size, rules, phase, tool="kpirules", key="median_s"):
        return next((r[key] for r in rows if (r["size"], r["rules"], r["phase"], r["tool"])
                     == (size, rules, phase, tool)), None)

    out = []
    s100 = get("S", 100, "cli")
    out.append({"goal": "S/100 CLI run < 0.15 s", "value": s100,
                "met": None if s100 is None else s100 < 0.15,
                "note": f"duckdb_all CLI {get('S', 100, 'cli', 'duckdb_all')} s"})
    for size in ("S", "M", "L"):
        for phase in ("cli", "eval"):
            lo, hi = get(size, 10, phase), get(size, 1000, phase)
            if lo and hi:
                out.append({"goal": f"{size} {phase}: 1,000 rules cost <= 2x 10 rules",
                            "value": round(hi / lo, 2), "met": hi / lo <= 2})
        lo, hi = get(size, 10, "cli", key="peak_mb"), get(size, 1000, "cli", key="peak_mb")
        if lo and hi:
            py_lo = get(size, 10, "eval", key="py_peak_mb")
            py_hi = get(size, 1000, "eval", key="py_peak_mb")
            out.append({"goal": f"{size}: memory flat in rule count (CLI peak 1,000 vs 10 rules <= 1.25x)",
                        "value": round(hi / lo, 2), "met": hi / lo <= 1.25,
                        "note": f"CLI peak {lo} -> {hi} MB; evaluation Python heap {py_lo} -> {py_hi} MB"})
    for (size, n), (goal, op, memory) in ISSUE14_GOALS.items():
        ours, duck = get(size, n, "cli"), get(size, n, "cli", "duckdb_all")
        if not (ours and duck):
            continue
        ratio = ours / duck
        met = ratio < goal if op == "<" else ratio <= goal
        mine, theirs = get(size, n, "cli", key="peak_mb"), get(size, n, "cli", "duckdb_all", key="peak_mb")
        text = f"{size}/{n} vs duckdb_all {op} {goal}"
        if memory is not None:
            text += ", peak " + ("<= DuckDB's + 50 MiB" if size == "10M" else "<= DuckDB's x 1.2")
            met = met and mine <= memory(theirs)
        out.append({"goal": text, "value": round(ratio, 2), "met": met,
                    "note": f"kpirules {ours} s / {mine} MiB, duckdb_all {duck} s / {theirs} MiB"})
    ours, floor = get("L", 1000, "cli"), get("L", None, "cli", "duckdb_read_csv")
    if ours and floor:
        out.append({"goal": "L/1,000 CLI no slower than DuckDB reading the CSV",
                    "value": round(ours / floor, 2), "met": ours <= floor,
                    "note": f"kpirules {ours} s, DuckDB read {floor} s, "
                            f"duckdb_all {get('L', 1000, 'cli', 'duckdb_all')} s"})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="S, 10/100 rules, 2 repeats (< 1 min)")
    parser.add_argument("--issue14", action="store_true",
                        help=f"issue 14's goal rows against duckdb_all, in turn: --only {ISSUE14_CASES} "
                             "--phases cli --tools duckdb_all --repeat 3")
    parser.add_argument("--sizes", default=None, help="S,M,L")
    parser.add_argument("--rules", default=None, help="10,100,1000")
    parser.add_argument("--only", default=None, help="cases SIZE/RULES, e.g. S/100,L/1000")
    parser.add_argument("--phases", default=None, help=",".join(PHASES))
    parser.add_argument("--tools", default=",".join(BASELINES), help="baselines to run")
    parser.add_argument("--repeat", type=int, default=None)
    parser.add_argument("--budget", type=float, default=None, help="seconds per measurement")
    parser.add_argument("--naive-max", type=int, default=100,
                        help="largest rule count the naive gspread approach is run at (sheets)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--before", metavar="CHECKOUT",
                        help="also run `kpirules check` from another checkout in turn (cli phase), "
                             "e.g. git archive COMMIT | tar -x -C /tmp/before; its results must agree")
    parser.add_argument("--json", default=None, help="results file")
    a = parser.parse_args(argv)
    if a.issue14:
        a.only, a.phases, a.tools = a.only or ISSUE14_CASES, a.phases or "cli", "duckdb_all"
        a.repeat = a.repeat or 3
    if a.only:  # the cases name their sizes and rule counts
        named = [(c.split("/")[0], int(c.split("/")[1])) for c in a.only.split(",")]
        a.sizes = a.sizes or ",".join(dict.fromkeys(size for size, _ in named))
        a.rules = a.rules or ",".join(dict.fromkeys(str(n) for _, n in named))
    a.sizes = (a.sizes or ("S" if a.quick else "S,M,L")).split(",")
    a.rules = [int(n) for n in (a.rules or ("10,100" if a.quick else "10,100,1000")).split(",")]
    a.repeat = a.repeat or (2 if a.quick else 5)
    a.budget = a.budget or (3.0 if a.quick else 30.0)
    phases = (a.phases or ",".join(PHASES)).split(",")
    tools = [t for t in a.tools.split(",") if t]
    cases = {(c.split("/")[0], int(c.split("/")[1])) for c in a.only.split(",")} if a.only else None
    out_path = Path(a.json) if a.json else BENCH / "results" / ("quick.json" if a.quick else "latest.json")

    bench = Bench(a)
    started = time.perf_counter()
    compile_bytecode()
    for size in a.sizes:
        counts = [n for n in a.rules if cases is None or (size, n) in cases]
        if not counts or not {"cli", "inproc"} & set(phases):
            continue
        print(f"size {size}: {generate.SIZES[size]:,} rows, rules {counts}", flush=True)
        if "cli" in phases:
            bench.cli(size, counts, tools)
        if "inproc" in phases:
            bench.inproc(size, counts, tools)
    if "validate" in phases:
        bench.validate()
    sheets_result = bench.sheets(a.rules) if "sheets" in phases else None

    ratios(bench.rows)
    verdicts = goals(bench.rows)
    document = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "seconds": round(time.perf_counter() - started, 1),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "platform": platform.platform()},
        "args": {k: v for k, v in vars(a).items()}, "as_of": AS_OF,
        "rows": bench.rows, "goals": verdicts, "sheets": sheets_result,
        "agreement": {"checked": bench.checked, "problems": bench.problems},
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(document, indent=1, default=str) + "\n")

    print("\n" + table(bench.rows))
    print("\ngoals:")
    for g in verdicts:
        mark = {True: "met", False: "NOT met", None: "not measured"}[g["met"]]
        print(f"  [{mark}] {g['goal']}: {g['value']}" + (f"  ({g['note']})" if g.get("note") else ""))
    if sheets_result:
        import sheets

        print("\n" + sheets.summary(sheets_result))
    print(f"\nresults: {out_path}")
    if bench.problems:
        print(f"\nFAILED: {len(bench.problems)} problem(s):", file=sys.stderr)
        for p in bench.problems[:10]:
            print("  " + p, file=sys.stderr)
        return 1
    print(f"agreement checked: {bench.checked} tool/case comparisons, all agree with kpirules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
