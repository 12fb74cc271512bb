"""`kpirules check` against the DuckDB peer (`duckdb_all`) in CPU time as well as wall time.

    python bench/cpu_in_turn.py L 1000 [--repeat 5] [--before CHECKOUT]

Whole processes run in turn (kpirules, the peer, the older checkout, kpirules, ...), each
child's own user + system CPU time taken from its rusage: on a shared machine whose load
moves wall times by 2-3x, the CPU ratio is the steadier figure. On a quiet 2-core machine
wall time is lower than CPU time where DuckDB runs on both cores, so the two ratios differ:
the peer spends more of its time in DuckDB's threads. Prints medians, each child's peak
RSS and the load average. Nothing here is asserted by a test; results are not compared
(`bench/run.py` does that).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from statistics import median

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import generate  # noqa: E402
from measure import baseline_cli, checkout_env, compile_bytecode, kpirules_cli, runs_in_turn  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = generate.case_parser(__doc__, repeat=5)
    parser.add_argument("--before", metavar="CHECKOUT", help="another checkout's kpirules, run in turn")
    args = parser.parse_args(argv)
    csv, kpi = generate.case_files(args)
    as_of = generate.AS_OF.isoformat()
    compile_bytecode()
    check = [kpirules_cli(), "check", str(csv), "--rules", str(kpi), "--as-of", as_of, "--format", "json"]
    commands: list[tuple[str, list[str], dict | None]] = [
        ("kpirules", check, None), ("duckdb_all", baseline_cli("duckdb_all", csv, kpi, as_of), None)]
    if args.before:
        commands.append(("before", check, checkout_env(args.before)))
    runs = runs_in_turn(commands, args.repeat)
    if runs is None:
        return 2
    wall = {n: median(r.seconds for r in rs) for n, rs in runs.items()}
    cpu = {n: median(r.cpu_seconds for r in rs) for n, rs in runs.items()}
    for name, rs in runs.items():
        print(f"{args.size}/{args.rules} {name:10} wall {wall[name]:7.3f} s  cpu {cpu[name]:7.3f} s  "
              f"peak {max(r.max_rss_mb for r in rs):6.0f} MiB")
    for name in runs:
        if name != "duckdb_all":
            print(f"  {name} / duckdb_all: wall {wall[name] / wall['duckdb_all']:.2f}, "
                  f"cpu {cpu[name] / cpu['duckdb_all']:.2f}")
    print("load average: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
