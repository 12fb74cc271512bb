"""Start-up cost: `kpirules check` on S / 100 rules against the floor, `python -c pass`.

    python bench/startup.py [--repeat 21] [--size S] [--rules 100] [--before CHECKOUT]

Both are whole processes, run in turn (kpirules, floor, kpirules, ...) so that a load
change on the machine touches both alike; the ratio is of the medians, the peak is each
child's own max RSS, and the medians of each child's CPU time (user + system), whose ratio a
busy machine moves less. kpirules' .pyc files are written first, as an install would. Issue 14's
goal for this row: ratio <= 4. ``--before`` also runs the same command with kpirules taken
from another checkout (e.g. ``git archive <commit> | tar -x -C /tmp/before``), in the same
turns. Nothing here is asserted by a test.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from statistics import median

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import generate  # noqa: E402
from measure import compile_bytecode, kpirules_cli, run_child, runs_in_turn  # noqa: E402

AS_OF = "2026-11-26"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--size", default="S")
    parser.add_argument("--rules", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--before", metavar="CHECKOUT", help="another checkout's kpirules, run in turn")
    args = parser.parse_args(argv)
    csv = generate.generate_data(args.size, args.seed)
    kpi = generate.write_rules(args.rules, args.seed)
    compile_bytecode()
    check = [kpirules_cli(), "check", str(csv), "--rules", str(kpi), "--as-of", AS_OF, "--format", "json"]
    floor = [sys.executable, "-c", "pass"]
    commands: list[tuple[str, list[str], dict | None]] = [("kpirules", check, None), ("floor", floor, None)]
    if args.before:
        before = os.path.abspath(args.before)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [before] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                        if p and os.path.abspath(p) != str(BENCH.parent)]))
        import compileall

        compileall.compile_dir(before, quiet=2, workers=1)
        commands.append(("before", check, env))
    run_child(check)  # warm the page cache
    runs = runs_in_turn(commands, args.repeat)
    if runs is None:
        return 1
    k, f = (median(r.seconds for r in runs[n]) for n in ("kpirules", "floor"))
    kpeak, fpeak = (max(r.max_rss_mb for r in runs[n]) for n in ("kpirules", "floor"))
    print(f"{args.size}/{args.rules} check: {k * 1000:.1f} ms, peak {kpeak:.1f} MiB")
    print(f"python -c pass: {f * 1000:.1f} ms, peak {fpeak:.1f} MiB")
    print(f"ratio {k / f:.2f} (goal <= 4), medians of {args.repeat} runs in turn")
    kc, fc = (median(r.cpu_seconds for r in runs[n]) for n in ("kpirules", "floor"))
    print(f"CPU time (user + system, less moved by load): {kc * 1000:.1f} ms / {fc * 1000:.1f} ms, "
          f"ratio {kc / fc:.2f}")
    if args.before:
        b = median(r.seconds for r in runs["before"])
        bpeak = max(r.max_rss_mb for r in runs["before"])
        bc = median(r.cpu_seconds for r in runs["before"])
        print(f"before ({args.before}): {b * 1000:.1f} ms, peak {bpeak:.1f} MiB, ratio {b / f:.2f}; "
              f"CPU {bc * 1000:.1f} ms, ratio {bc / fc:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
