"""Values past the largest float (cells near 1e308 added up, huge values multiplied) are an
ERROR for their rule on every path, never a verdict on infinity, never an internal error
that takes every other rule down, and never ``Infinity`` in the JSON output (not JSON)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from kpirules.cli.main import cli

DATA = ("date,visits,signups,reach\n2026-11-23,1,1,1\n2026-11-24,1e308,1,1e200\n2026-11-25,1e308,1,1\n"
        "2026-11-25,1,1,1\n")
RULES = """\
total: sum(visits) >= 1 over last 2 days
average: avg(visits) >= 1 over last 2 days
rate: signups / visits >= 1% over last 2 days
squared: sum(reach) * sum(reach) >= 1 over last 2 days
counted: count(visits) >= 1 over last 2 days
"""


def strict_json(text: str):
    def refuse(name):
        raise AssertionError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("backend", ["python", "duckdb"])
def test_sums_past_the_largest_number_are_errors_and_the_other_rules_run(tmp_path, monkeypatch, backend):
    monkeypatch.setenv("KPIRULES_BACKEND", backend)
    (tmp_path / "d.csv").write_text(DATA, encoding="utf-8")
    (tmp_path / "r.kpi").write_text(RULES, encoding="utf-8")
    args = ["check", str(tmp_path / "d.csv"), "--rules", str(tmp_path / "r.kpi"), "--as-of", "2026-11-26"]
    result = CliRunner().invoke(cli, [*args, "--format", "json"])
    assert result.exit_code == 2, result.output
    doc = strict_json(result.output)
    got = {r["name"]: (r["status"], r["value"]) for r in doc["results"]}
    assert got == {"total": ("ERROR", None), "average": ("ERROR", None), "rate": ("ERROR", None),
                   "squared": ("ERROR", None), "counted": ("PASS", 3)}
    text = CliRunner().invoke(cli, args).output
    assert "the sum of `visits` is beyond the largest number kpirules computes (about 1.8e308)" in text
    assert "the avg of `visits` is beyond the largest number" in text
    assert "sum(reach) * sum(reach) is beyond the largest number" in text


def test_a_huge_value_prints_in_scientific_notation_not_in_200_digits(tmp_path):
    (tmp_path / "d.csv").write_text("date,visits\n2026-11-24,1e200\n2026-11-25,1e200\n", encoding="utf-8")
    (tmp_path / "r.kpi").write_text("total: sum(visits) >= 1 over last 2 days\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", str(tmp_path / "d.csv"), "--rules", str(tmp_path / "r.kpi"),
                                      "--as-of", "2026-11-26"])
    assert result.exit_code == 0 and "PASS    total  2e+200 meets target >= 1" in result.output, result.output
