"""The benchmark (bench/, issue 6) as a smoke test: no timing assertions, only that it runs,
that its baselines compute what spec/semantics.md says, and that agreement was checked."""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
CONFORMANCE = ROOT / "tests" / "conformance"
sys.path.insert(0, str(BENCH))

from baselines import TOOLS, functions  # noqa: E402
from baselines.spec import Unsupported, parse_rule, period  # noqa: E402


def _available(tool: str) -> bool:
    module = {"pandas": "pandas", "duckdb": "duckdb"}.get(tool.split("_")[0])
    return module is None or importlib.util.find_spec(module) is not None


def _conformance_cases():
    from test_conformance import waiting  # part-two cases: not in the generated rule sets

    for path in sorted(CONFORMANCE.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        for case in doc["cases"]:
            if "results" not in case or waiting(path.stem, case["name"]):
                continue
            # The baselines compute complete tables (the bench data run through A-1): late
            # data and a `by` rule left without segments are the engine's, not theirs.
            if path.stem.startswith("v2_late_") or case["name"] in ("by_no_rows", "by_ended_segment"):
                continue
            try:
                spec = parse_rule(case["name"], case["rule"])
            except Unsupported:  # shapes the generated rule sets never use
                continue
            yield pytest.param(doc, spec, case["results"], id=f"{path.stem}:{case['name']}")


@pytest.fixture(scope="module")
def csv_of(tmp_path_factory):
    """The conformance data as the CSV the baselines read (headers already normalised:
    name normalisation is kpirules' job and outside the generated data's needs)."""
    import re
    import unicodedata

    made: dict[str, Path] = {}

    def make(doc) -> Path:
        if doc["title"] not in made:
            path = tmp_path_factory.mktemp("conf") / "data.csv"
            norm = [re.sub(r"\W+", "_", unicodedata.normalize("NFC", h).strip().lower()).strip("_")
                    for h in doc["data"]["columns"]]
            with path.open("w", newline="", encoding="utf-8") as fh:
                writer = csv.writer(fh)
                writer.writerow(norm)
                writer.writerows([["" if c is None else c for c in row] for row in doc["data"]["rows"]])
            made[doc["title"]] = path
        return made[doc["title"]]

    return make


@pytest.mark.parametrize("tool", list(TOOLS))
@pytest.mark.parametrize("doc,spec,expected", list(_conformance_cases()))
def test_baselines_compute_the_conformance_results(tool, doc, spec, expected, csv_of):
    # The baselines are written from the spec alone; agreeing with the independently
    # computed conformance numbers is what makes "agrees with kpirules" meaningful.
    if not _available(tool):
        pytest.skip(f"{tool} needs the bench extra")
    load, evaluate = functions(tool)
    got = evaluate(load(str(csv_of(doc))), [spec], dt.date.fromisoformat(doc["as_of"]))
    assert [(r["status"], r["segment"], r["period"]) for r in got] == [
        (e["status"], e["segment"], [e["period"]["start"], e["period"]["end"]]) for e in expected]
    for r, e in zip(got, expected):
        assert (r["value"] is None) == (e["value"] is None)
        if e["value"] is not None:
            assert r["value"] == pytest.approx(e["value"], rel=1e-9)


def test_the_conformance_cases_cover_every_generated_shape():
    kinds = {(s.change, s.den is not None, bool(s.by), bool(s.filters), s.warn is not None)
             for _, s, _ in (p.values for p in _conformance_cases())}
    assert (True, False, True, False, False) in kinds  # change(x) ... by channel
    assert (False, True, True, False, True) in kinds  # a / b ... by channel warn at


def test_every_generated_rule_is_a_shape_the_baselines_understand():
    import generate

    for name, text in generate.make_rules(2000, seed=3):
        spec = parse_rule(name, text)  # raises Unsupported otherwise
        if spec.warn is not None:  # else kpirules rightly rejects it as invalid-rule
            assert (spec.warn > spec.threshold) == (spec.op == ">="), text


def test_generated_rule_sets_are_nested():
    import generate

    assert generate.make_rules(1000)[:100] == generate.make_rules(100)


@pytest.mark.parametrize("as_of,window,back,expected", [
    ("2026-11-26", ("week", 1), 0, ("2026-11-16", "2026-11-22")),  # Thursday
    ("2026-11-23", ("week", 1), 0, ("2026-11-16", "2026-11-22")),  # Monday
    ("2026-11-22", ("week", 1), 1, ("2026-11-02", "2026-11-08")),  # Sunday: week of 9th
    ("2026-03-01", ("month", 1), 1, ("2026-01-01", "2026-01-31")),
    ("2026-01-02", ("quarter", 1), 0, ("2025-10-01", "2025-12-31")),
    ("2026-01-02", ("month", 3), 1, ("2025-07-01", "2025-09-30")),
    ("2026-11-26", ("day", 28), 1, ("2026-10-01", "2026-10-28")),
])
def test_baseline_periods(as_of, window, back, expected):
    start, end = period(*window, dt.date.fromisoformat(as_of), back)
    assert (start.isoformat(), end.isoformat()) == expected


def test_quick_benchmark_runs_and_checks_agreement(tmp_path):
    # What CI runs: `python bench/run.py --quick`. Only that it completes, exits 0 and
    # compared tools with kpirules; timings are reported, never asserted.
    out = tmp_path / "quick.json"
    proc = subprocess.run([sys.executable, str(BENCH / "run.py"), "--quick", "--json", str(out)],
                          capture_output=True, text=True, timeout=600, cwd=ROOT,
                          env={**os.environ, "NO_COLOR": "1"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    doc = json.loads(out.read_text())
    assert doc["agreement"]["problems"] == []
    assert doc["agreement"]["checked"] > 0
    assert {r["phase"] for r in doc["rows"]} >= {"cli", "load", "eval"}
