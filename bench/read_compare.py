"""Reading the S and M CSVs (connector + table, DuckDB for M as `check` picks it) with two
checkouts of kpirules, run in turn in fresh processes: CPU seconds, medians, the ratio.
Never asserted. For example, against the commit before a change:

    git archive HEAD~1 | (mkdir -p /tmp/before && tar -x -C /tmp/before)
    python -m compileall -q /tmp/before/kpirules /tmp/before/connectors kpirules connectors
    python bench/read_compare.py /tmp/before . --repeat 15
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


def run(root: str, code: str) -> tuple[float, float]:
    """(CPU seconds of the read inside the process, CPU seconds of the whole process)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=os.path.abspath(root)),
                         capture_output=True, text=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return float(out.stdout), (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--repeat", type=int, default=11)
    args = parser.parse_args()
    for size in ("S", "M"):
        path = next(DATA.glob(f"marketing_{size}_*.csv"), None)
        if path is None:
            sys.exit("run bench/generate.py first")
        code = ("import time; from kpirules.backends import csv_table; t = time.process_time(); "
                f"csv_table({str(path)!r}).problems; print(time.process_time() - t)")
        got: dict[str, list[tuple[float, float]]] = {"before": [], "after": []}
        for i in range(args.repeat):
            for name in (("before", "after") if i % 2 else ("after", "before")):
                got[name].append(run(getattr(args, name), code))
        med = {k: [statistics.median(x[j] for x in v) for j in (0, 1)] for k, v in got.items()}
        print(f"{size}: read {med['before'][0]:.4f} -> {med['after'][0]:.4f} s CPU "
              f"(x{med['after'][0] / med['before'][0]:.3f}); whole process {med['before'][1]:.3f} -> "
              f"{med['after'][1]:.3f} s (x{med['after'][1] / med['before'][1]:.3f})")


if __name__ == "__main__":
    main()
