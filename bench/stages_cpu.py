"""The Python stages of `kpirules check` on a benchmark input, in CPU seconds.

    python bench/stages_cpu.py M 10000 [--repeat 3]

Parses the rules, plans them, has the DuckDB backend compute the groups (not timed: DuckDB's
own threads would blur it), evaluates every rule and writes the JSON, each stage timed with
``time.process_time`` (steadier than wall time on a shared machine), best of ``--repeat``.
As ``check`` does: without the cyclic garbage collector (kpirules.cli.fast turns it off),
and the JSON written as ``check --format json`` writes it in a pipe (``stream_json``).
Point PYTHONPATH at another checkout to time that one the same way."""

from __future__ import annotations

import datetime as dt
import gc
import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate  # noqa: E402


def main() -> None:
    a = generate.case_parser(__doc__).parse_args()

    import kpirules
    from kpirules import engine, parser
    from kpirules.backends import csv_table
    from kpirules.cli.check_run import stream_json
    from kpirules.completeness import Extents
    from kpirules.plan import build_plan

    csv, kpi = generate.case_files(a)
    text = kpi.read_text(encoding="utf-8")
    table = csv_table(csv, backend="duckdb")
    best: dict[str, float] = {}
    clock = [0.0]

    def lap(stage: str) -> None:
        now = time.process_time()
        best[stage] = min(best.get(stage, float("inf")), now - clock[0])

    gc.disable()  # as check does: its objects are garbage only at exit
    for _ in range(a.repeat):
        parser.parse_rule.cache_clear()  # each round parses every text again
        clock[0] = time.process_time()
        entries = kpirules.parse_rules_file(text, str(kpi))
        lap("parse")
        clock[0] = time.process_time()
        plan = build_plan(entries, names=[*table.names(), table.date_column], as_of=generate.AS_OF,
                          ambiguous=table.ambiguous, date_column=table.date_column)
        lap("plan")
        groups = table.groups(plan)
        found = table.extents(sorted(plan.metrics), generate.AS_OF - dt.timedelta(days=1))
        extents = Extents.build(found, generate.AS_OF, None)
        clock[0] = time.process_time()
        results = [r for rp in plan.rules for r in engine._evaluate_rule(rp, groups, extents)]
        lap("evaluate")
        clock[0] = time.process_time()
        stream_json(engine.Report(as_of=generate.AS_OF, results=results), io.StringIO())
        lap("json")
    print(f"{a.size}/{a.rules}: {len(results)} results, CPU s (best of {a.repeat}): "
          + "  ".join(f"{k} {v:.3f}" for k, v in best.items()) + f"  sum {sum(best.values()):.3f}")


if __name__ == "__main__":
    main()
