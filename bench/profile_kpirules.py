"""Where kpirules spends its time, on the benchmark's inputs.

    python bench/profile_kpirules.py S 100          # cProfile of read + load + parse + evaluate
    python bench/profile_kpirules.py L 1000 --top 30
    python bench/profile_kpirules.py S 100 --imports  # start-up: import time by module
    python bench/profile_kpirules.py L 1000 --backend duckdb   # the DuckDB path `check` takes

The profile covers what `kpirules check` does after start-up (the same library calls), per
stage, then the top functions by own time and by cumulative time. ``--imports`` runs the CLI
under ``python -X importtime`` and lists the slowest imports, which is where a short run's
time goes.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import generate  # noqa: E402
from measure import compile_bytecode, kpirules_cli  # noqa: E402


def stages(size: str, rules: int, seed: int, backend: str = "python") -> None:
    import kpirules
    from kpirules.connectors import open_source

    csv, kpi = generate.generate_data(size, seed), generate.write_rules(rules, seed, size)
    text = kpi.read_text(encoding="utf-8")
    t = {}
    if backend == "duckdb":  # what `kpirules check` does with a CSV file from 5 MB
        from kpirules.backends import csv_table

        t0 = time.perf_counter()
        table = csv_table(csv, backend="duckdb")
        t["DuckTable (sample)"] = time.perf_counter() - t0
    else:
        t0 = time.perf_counter()
        raw = open_source(str(csv)).read().data
        t["read (connector)"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        table = kpirules.load_table(raw)
        t["load_table"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    entries = kpirules.parse_rules_file(text, str(kpi))
    t["parse rules"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    report = kpirules.evaluate(entries, table, generate.AS_OF)
    t["evaluate" + (" (DuckDB query included)" if backend == "duckdb" else "")] = time.perf_counter() - t0
    t0 = time.perf_counter()
    import json

    json.dumps(report.to_json(), ensure_ascii=False)  # compact, as `check` in a pipe
    t["to JSON"] = time.perf_counter() - t0
    total = sum(t.values())
    print(f"{size}/{rules}: {len(report.results)} results")
    for name, seconds in t.items():
        print(f"  {name:<18} {seconds:8.4f} s  {100 * seconds / total:5.1f}%")


def profile(size: str, rules: int, seed: int, top: int, backend: str) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    stages(size, rules, seed, backend)
    profiler.disable()
    for key in ("tottime", "cumulative"):
        buf = io.StringIO()
        pstats.Stats(profiler, stream=buf).strip_dirs().sort_stats(key).print_stats(top)
        print(f"\n--- top {top} by {key} ---")
        print("\n".join(buf.getvalue().splitlines()[6:]))


def imports(size: str, rules: int, seed: int, top: int) -> None:
    csv, kpi = generate.generate_data(size, seed), generate.write_rules(rules, seed, size)
    script = kpirules_cli()
    cmd = [sys.executable, "-X", "importtime", script, "check", str(csv), "--rules", str(kpi),
           "--as-of", generate.AS_OF.isoformat(), "--format", "json"]
    err = subprocess.run(cmd, capture_output=True, text=True).stderr
    rows = []
    for line in err.splitlines():
        # "import time:  self [us] | cumulative | imported package" (first line: headers)
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, cumulative, name = line[len("import time:"):].split("|", 2)
        rows.append((int(cumulative), int(own), name.rstrip()))
    total = sum(s for _, s, _ in rows)
    print(f"imports: {total / 1e6:.3f} s in {len(rows)} modules; slowest cumulative:")
    for cumulative, own, name in sorted(rows, reverse=True)[:top]:
        print(f"  {cumulative / 1e3:8.1f} ms (self {own / 1e3:6.1f})  {name}")


def main() -> None:
    parser = generate.case_parser(__doc__, repeat=None)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--imports", action="store_true")
    parser.add_argument("--no-profile", action="store_true", help="stage times only")
    parser.add_argument("--backend", choices=["python", "duckdb"], default="python",
                        help="the table backend (check picks duckdb for CSV files from 5 MB: M and up)")
    a = parser.parse_args()
    compile_bytecode()  # profile kpirules as installed, not its compiler
    if a.imports:
        imports(a.size, a.rules, a.seed, a.top)
    elif a.no_profile:
        stages(a.size, a.rules, a.seed, a.backend)
    else:
        profile(a.size, a.rules, a.seed, a.top, a.backend)


if __name__ == "__main__":
    main()
