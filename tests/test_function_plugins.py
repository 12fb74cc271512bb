"""An aggregate function added as a plugin: one module holding an ``AggregateFunction`` and
one line in the ``kpirules.functions`` entry-point group. The toy ``spread`` (largest minus
smallest) runs on the Python path and, through its SQL parts, in DuckDB; a rule file of
built-ins never reads the entry points (tests/test_startup_imports.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from plugin_support import install_toy_plugin

from kpirules import aggregate_functions
from kpirules.aggregate_functions import AGGREGATES, find, register
from kpirules.errors import KpiError
from kpirules.parser import parse_rule

ROOT = Path(__file__).resolve().parent.parent

TOY_MODULE = '''
from kpirules.aggregate_functions import AggregateFunction, Part

SPREAD = AggregateFunction(
    "spread", "largest minus smallest of", lambda values: max(values) - min(values),
    {"max": Part("max"), "min": Part("min")}, lambda parts, cells: parts["max"] - parts["min"])
'''

RULES = ("spread: spread(visits) >= 5 weekly\n"
         "by_hand: max(visits) - min(visits) >= 5 weekly\n"
         "by_channel: spread(visits) >= 5 weekly by channel\n")


def _install_plugin(site: Path, target: str = "kpirules_spread:SPREAD") -> None:
    install_toy_plugin(site, "kpirules_spread", TOY_MODULE, "kpirules.functions", f"spread = {target}")


def _check(tmp_path: Path, site: Path, backend: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KPIRULES", "LANG", "LC_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(ROOT), env.get("PYTHONPATH", "")])
    env["KPIRULES_BACKEND"] = backend
    return subprocess.run([sys.executable, "-m", "kpirules", "check", "data.csv", "--rules", "rules.kpi",
                           "--as-of", "2026-11-26", "--format", "json"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=180)


@pytest.fixture
def project(tmp_path):
    (tmp_path / "data.csv").write_text("date,channel,visits\n" + "".join(
        f"2026-11-{day:02d},{channel},{(day * 7 + len(channel) * 3) % 23}\n"
        for day in range(1, 26) for channel in ("web", "email")), encoding="utf-8")
    (tmp_path / "rules.kpi").write_text(RULES, encoding="utf-8")
    site = tmp_path / "site"
    site.mkdir()
    return tmp_path, site


@pytest.mark.parametrize("backend", ["python", "duckdb"])
def test_an_installed_function_plugin_computes_like_the_built_ins(project, backend):
    tmp_path, site = project
    _install_plugin(site)
    proc = _check(tmp_path, site, backend)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    results = json.loads(proc.stdout)["results"]
    value = {(r["name"], json.dumps(r.get("segment"))): r["value"] for r in results}
    assert value[("spread", "null")] == pytest.approx(value[("by_hand", "null")])
    assert value[("spread", "null")] > 0
    segments = [r for r in results if r["name"] == "by_channel"]
    assert len(segments) == 2 and all(r["status"] in ("PASS", "FAIL") for r in segments)


def test_without_the_plugin_the_name_is_an_unknown_function_located(project):
    tmp_path, site = project
    proc = _check(tmp_path, site, "python")
    assert proc.returncode == 2
    out = proc.stdout + proc.stderr
    assert "unknown function `spread`" in out and "Traceback" not in out


def test_a_plugin_that_does_not_load_is_named_at_the_call(project):
    tmp_path, site = project
    _install_plugin(site, target="kpirules_spread:NOPE")
    proc = _check(tmp_path, site, "python")
    assert proc.returncode == 2
    out = proc.stdout + proc.stderr
    assert "function `spread` (kpirules_spread:NOPE) did not load" in out and "Traceback" not in out


@pytest.fixture
def spread_in_process(tmp_path, monkeypatch):
    """The entry point found and loaded in this process (the group's reading replaced by
    the one line a plugin's metadata would give)."""
    from kpirules import plugins

    (tmp_path / "kpirules_spread.py").write_text(TOY_MODULE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    real = plugins.declared

    def declared(group: str) -> dict[str, str]:
        extra = {"spread": "kpirules_spread:SPREAD"} if group == aggregate_functions.ENTRY_POINT_GROUP else {}
        return {**real(group), **extra}

    monkeypatch.setattr(plugins, "declared", declared)
    yield
    AGGREGATES.pop("spread", None)
    sys.modules.pop("kpirules_spread", None)
    parse_rule.cache_clear()


def test_find_loads_a_declared_function_once_and_hints_name_it(spread_in_process):
    assert "spread" not in AGGREGATES
    assert find("spread") is find("spread") is AGGREGATES["spread"]
    assert find("nothing_declares_this") is None
    with pytest.raises(KpiError) as err:
        parse_rule("sprad(visits) >= 1 weekly")
    assert "did you mean `spread`?" in str(err.value)


def test_built_ins_are_registered_through_the_same_call():
    assert register(AGGREGATES["sum"]) is AGGREGATES["sum"]
    assert find("sum") is AGGREGATES["sum"]
