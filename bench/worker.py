"""One tool's in-process measurements, in a process of its own (run.py starts one per tool
and data size, so tools never share a heap and a peak belongs to one tool):

    python bench/worker.py TOOL data.csv rules_10.kpi,rules_100.kpi --as-of 2026-11-26

Prints one JSON document: load times and load peak memory, then per rules file the
evaluation times, the evaluation peak, and the results (normalised, for agreement).

Memory is the resident set (so DuckDB's and numpy's native allocations count, which
tracemalloc would miss): the kernel's high-water mark (VmHWM) is reset through
/proc/self/clear_refs before a phase, and the phase's peak is the mark after it minus the
resident size before it. For kpirules, a further untimed evaluation under tracemalloc gives
the Python-heap peak, which shows whether memory grows with the rule count.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _status_kb() -> dict[str, int]:
    out = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                out[key] = int(value.split()[0])
    return out


def _reset_peak() -> int:
    """Reset the high-water mark; returns the resident KB it starts from (0 if the kernel
    does not allow it, in which case peaks are absolute)."""
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return 0
    return _status_kb()["VmRSS"]


def _peak_mb(base_kb: int) -> float:
    return round((_status_kb()["VmHWM"] - base_kb) / 1024, 1)


def _repeat(func, repeat: int, budget: float) -> tuple[list[float], object]:
    """Run ``func`` up to ``repeat`` times, fewer once ``budget`` seconds are spent (the
    slow baselines at L would otherwise take many minutes); at least once."""
    times, value = [], None
    while True:
        value = None  # free the previous result before the next run
        gc.collect()
        t0 = time.perf_counter()
        value = func()
        times.append(time.perf_counter() - t0)
        if len(times) >= repeat or sum(times) >= budget:
            return times, value


class KpirulesTool:
    """kpirules through its library API: connector + load_table, parse, evaluate."""

    def __init__(self):
        import kpirules
        from kpirules.connectors import open_source

        self.kpirules, self.open_source = kpirules, open_source

    def load(self, path: str):
        return self.kpirules.load_table(self.open_source(path).read().data)

    def parse(self, text: str, file: str):
        # parse_rule memoises rule texts; a CLI run parses each rule once, so time that
        # (Lark's parser itself stays built, as after the first rule of a run)
        from kpirules import parser

        getattr(parser.parse_rule, "cache_clear", lambda: None)()
        return self.kpirules.parse_rules_file(text, file)

    def evaluate(self, table, entries, as_of):
        return self.kpirules.evaluate(entries, table, as_of)

    @staticmethod
    def normalise(report) -> list[dict]:
        return [{"name": r.name, "status": r.status.value,
                 "value": None if r.value is None else float(r.value),
                 "period": [r.period.start.isoformat(), r.period.end.isoformat()] if r.period else None,
                 "segment": r.segment} for r in report.results]


class BaselineTool:
    def __init__(self, name: str):
        from baselines import functions
        from baselines.spec import parse_rules_text

        self._load, self._evaluate = functions(name)
        self._parse = parse_rules_text

    def load(self, path: str):
        return self._load(path)

    def parse(self, text: str, file: str):
        return self._parse(text)

    def evaluate(self, table, specs, as_of):
        return self._evaluate(table, specs, as_of)

    @staticmethod
    def normalise(results: list[dict]) -> list[dict]:
        return results


def main(argv: list[str]) -> dict:
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("tool")
    parser.add_argument("csv")
    parser.add_argument("rules", help="comma-separated .kpi files")
    parser.add_argument("--as-of", default="2026-11-26")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--budget", type=float, default=20.0)
    parser.add_argument("--no-results", action="store_true", help="skip results (smaller output)")
    args = parser.parse_args(argv)
    as_of = dt.date.fromisoformat(args.as_of)

    t0 = time.perf_counter()
    tool = KpirulesTool() if args.tool == "kpirules" else BaselineTool(args.tool)
    out: dict = {"tool": args.tool, "import_s": time.perf_counter() - t0, "evals": {}}

    base = _reset_peak()
    load_times, table = _repeat(lambda: tool.load(args.csv), args.repeat, args.budget)
    out["load"] = {"times": load_times, "peak_mb": _peak_mb(base)}
    out["rss_loaded_mb"] = round(_status_kb()["VmRSS"] / 1024, 1)

    for rules_path in args.rules.split(","):
        text = Path(rules_path).read_text(encoding="utf-8")
        # The lambdas run at once, inside _repeat, so the loop variables they use are current.
        parse_times, rules = _repeat(lambda: tool.parse(text, rules_path), args.repeat, args.budget)  # noqa: B023
        base = _reset_peak()
        eval_times, value = _repeat(lambda: tool.evaluate(table, rules, as_of), args.repeat, args.budget)  # noqa: B023
        entry = {"parse_times": parse_times, "times": eval_times, "peak_mb": _peak_mb(base)}
        if args.tool == "kpirules":
            import tracemalloc

            value = None
            gc.collect()
            tracemalloc.start()
            value = tool.evaluate(table, rules, as_of)
            entry["py_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 2)
            tracemalloc.stop()
        if not args.no_results:
            entry["results"] = tool.normalise(value)
        out["evals"][rules_path] = entry
    return out


if __name__ == "__main__":
    json.dump(main(sys.argv[1:]), sys.stdout)
