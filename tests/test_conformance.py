"""The language conformance suite (tests/conformance/*.json, vendored from
../shared/conformance): every case through the library, and every case file through the
real CLI on a CSV file and on an xlsx workbook built from it.

The cases were computed independently from spec/semantics.md: when a case and the code
disagree, the code is wrong.
"""

from __future__ import annotations

import datetime as dt
import filecmp
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

import kpirules
from kpirules.connectors.base import RawTable
from kpirules.rulesfile import RuleEntry

HERE = Path(__file__).parent
CASES_DIR = HERE / "conformance"
SHARED = HERE.parent.parent / "shared" / "conformance"
CASE_FILES = sorted(CASES_DIR.glob("*.json"))

# Cases written in syntax not built yet, each a strict expected failure (it must fail; once
# it passes, pytest says so and its name goes from this list), never a silent skip. The
# language's second part (`vs`, `delta`, `pp`, `to date`, `pace`, `with at least`,
# `with C% confidence`) is built: every case passes, so the list is empty.
WAITING: dict[str, tuple[str, ...]] = {}


def waiting(stem: str, name: str) -> bool:
    return name in WAITING.get(stem, ())


def case_param(stem: str, doc_or_case, case: dict | None = None):
    """``pytest.param`` of one case, a strict xfail when it is in ``WAITING``."""
    args = (doc_or_case,) if case is None else (doc_or_case, case)
    name = (case or doc_or_case)["name"]
    marks = [pytest.mark.xfail(strict=True, reason="part-two syntax, not built yet")] if waiting(stem, name) else []
    return pytest.param(*args, id=f"{stem}::{name}", marks=marks)


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def all_cases():
    for path in CASE_FILES:
        doc = load(path)
        for case in doc["cases"]:
            yield case_param(path.stem, doc, case)


def rules_file(doc: dict, folder: Path) -> Path:
    """The case file's rules as ``folder/rules.kpi``."""
    path = folder / "rules.kpi"
    path.write_text(rules_text(doc), encoding="utf-8")
    return path


# The data of a case file as a warehouse table (tests/test_warehouse_*.py).
SQL_TYPES = {"date": "DATE", "double precision": "DOUBLE", "text": "VARCHAR"}


def column_types(doc: dict) -> list[str]:
    """date for the first column, double precision where every value is a number, else text."""
    types = []
    rows = doc["data"]["rows"]
    for i, _ in enumerate(doc["data"]["columns"]):
        values = [r[i] for r in rows if r[i] is not None]
        if i == 0:
            types.append("date")
        elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            types.append("double precision")
        else:
            types.append("text")
    return types


def typed_rows(doc: dict, date=dt.date.fromisoformat) -> list[list]:
    """The case's rows typed as ``column_types`` says: ``date`` of the date's first ten
    characters, float, text; None stays None."""
    types = column_types(doc)
    return [[None if v is None else (date(v[:10]) if i == 0 else (str(v) if types[i] == "text" else float(v)))
             for i, v in enumerate(row)] for row in doc["data"]["rows"]]


def rules_text(doc: dict) -> str:
    """A conformance file's rules as a rules file: one ``name: rule`` line a case."""
    return "".join(f"{c['name']}: {c['rule']}\n" for c in doc["cases"])


def assert_cases(doc: dict, results: list[dict]) -> None:
    """Every case of ``doc`` against the JSON results of its rule."""
    for case in doc["cases"]:
        assert_matches(case, [r for r in results if r["name"] == case["name"]])


def assert_matches(case: dict, got: list[dict]) -> None:
    """Compare results as the conformance format says: numbers within 1e-9 relative."""
    if "error" in case:
        assert len(got) == 1, got
        assert got[0]["status"] == "ERROR", got[0]
        assert got[0]["error"]["category"] == case["error"], got[0]
        return
    expected = case["results"]
    assert [(r["status"], r["segment"], r["period"]) for r in got] == \
        [(r["status"], r["segment"], r["period"]) for r in expected]
    for exp, res in zip(expected, got):
        if exp["value"] is None:
            assert res["value"] is None, res
        else:
            assert res["value"] is not None and math.isclose(res["value"], exp["value"], rel_tol=1e-9), \
                (res["value"], exp["value"])


def test_vendored_copy_matches_shared():
    if not SHARED.is_dir():
        pytest.skip("../shared/conformance is not present (fine outside the dev machines)")
    shared = sorted(p.name for p in SHARED.glob("*.json"))
    assert sorted(p.name for p in CASE_FILES) == shared, "case files added or removed upstream"
    _, mismatch, errors = filecmp.cmpfiles(SHARED, CASES_DIR, shared, shallow=False)
    assert not mismatch and not errors, f"vendored cases drifted: {mismatch or errors}"


def test_suite_is_not_empty():
    assert sum(len(load(p)["cases"]) for p in CASE_FILES) >= 100


@pytest.mark.parametrize("doc,case", list(all_cases()))
def test_library(doc, case):
    table = kpirules.load_table(RawTable(headers=doc["data"]["columns"], rows=doc["data"]["rows"],
                                         sheet="Data"))
    entry = kpirules.rulesfile.parse_rules_file(f"{case['name']}: {case['rule']}")[0]
    report = kpirules.evaluate([entry], table, dt.date.fromisoformat(doc["as_of"]))
    assert_matches(case, [r.to_json() for r in report.results])
    assert isinstance(entry, RuleEntry)


# --------------------------------------------------------------------------- CLI


def write_csv(doc: dict, path: Path) -> None:
    import csv

    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(doc["data"]["columns"])
        writer.writerows(["" if v is None else v for v in row] for row in doc["data"]["rows"])


def write_xlsx(doc: dict, path: Path) -> None:
    """A workbook as a team would have it: real date cells, a Rules tab."""
    from openpyxl import Workbook

    wb = Workbook()
    rules = wb.active
    rules.title = "Rules"
    rules.append(["Name", "Rule"])
    for case in doc["cases"]:
        rules.append([case["name"], case["rule"]])
    data = wb.create_sheet("Data")
    data.append(doc["data"]["columns"])
    for row in doc["data"]["rows"]:
        data.append([dt.date.fromisoformat(row[0]), *row[1:]])
    # The Settings tab `kpirules init` and `run` create: a header and commented examples
    # (on Google Sheets, `check` reads it in its one call).
    settings = wb.create_sheet("Settings")
    settings.append(["Key", "Value"])
    settings.append(["# late_after", "2 days"])
    wb.save(path)


def run_cli(*args: str, env: dict | None = None) -> tuple[int, dict]:
    import os

    proc = subprocess.run([sys.executable, "-m", "kpirules", "check", *args, "--format", "json"],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})
    assert proc.stdout, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def late(doc: dict) -> bool:
    """spec/cli.md exit 6, computed from the case file: some numeric column a rule names has
    its last filled date up to A-1 more than 2 days (the default late_after) before A-1."""
    import re

    from kpirules.names import normalise

    last = dt.date.fromisoformat(doc["as_of"]) - dt.timedelta(days=1)
    text = " ".join(c["rule"] for c in doc["cases"] if "error" not in c).lower()
    named = set(re.findall(r"\w+", text, re.UNICODE)) | {normalise(q) for q in re.findall(r"`([^`]+)`", text)}
    for k, column in enumerate(doc["data"]["columns"][1:], 1):
        filled = [(dt.date.fromisoformat(row[0]), row[k]) for row in doc["data"]["rows"]
                  if row[k] not in (None, "") and dt.date.fromisoformat(row[0]) <= last]
        if normalise(column) not in named or not filled or \
                not all(isinstance(v, (int, float)) for _, v in filled):
            continue
        if max(d for d, _ in filled) < last - dt.timedelta(days=2):
            return True
    return False


def expected_exit(doc: dict) -> int:
    statuses = {r["status"] for c in doc["cases"] for r in c.get("results", [])}
    if any("error" in c for c in doc["cases"]) or "ERROR" in statuses:
        return 2  # a rule in error, or a result that is (confidence on k > n)
    if late(doc):
        return 6
    return 1 if "FAIL" in statuses else 0


def by_name(doc: dict, output: dict) -> dict[str, list[dict]]:
    got: dict[str, list[dict]] = {}
    for result in output["results"]:
        got.setdefault(result["name"], []).append(result)
    assert list(got) == [c["name"] for c in doc["cases"]], "results must come in rule order"
    return got


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
@pytest.mark.parametrize("kind", ["csv", "xlsx", "sheets"])
def test_cli(path: Path, kind: str, tmp_path: Path, request):
    doc = load(path)
    # The CLI runs every case that does not wait for the language's second part (those are
    # strict expected failures in test_library).
    doc["cases"] = [c for c in doc["cases"] if not waiting(path.stem, c["name"])]
    if not doc["cases"]:
        pytest.skip(f"every case of {path.name} is in WAITING (part-two syntax)")
    if kind == "csv":
        source = tmp_path / "data.csv"
        write_csv(doc, source)
        rules = rules_file(doc, tmp_path)
        code, output = run_cli(str(source), "--rules", str(rules), "--as-of", doc["as_of"])
    elif kind == "xlsx":
        source = tmp_path / "book.xlsx"
        write_xlsx(doc, source)
        code, output = run_cli(str(source), "--as-of", doc["as_of"])
    else:
        # The same workbook served by the Sheets emulator: dates arrive as serial numbers
        # with a date format, over real HTTP, read by the real gspread client.
        emulator = request.getfixturevalue("sheets_emulator")
        book = tmp_path / "book.xlsx"
        write_xlsx(doc, book)
        key = emulator.add_spreadsheet_from_xlsx(book, key=f"conformance_{path.stem.replace('-', '_')}")
        code, output = run_cli(key, "--as-of", doc["as_of"],
                               env={"KPIRULES_SHEETS_EMULATOR_HOST": emulator.host})
        calls = [r for r in emulator.requests() if r["api"].startswith("spreadsheets")]
        # One call reads everything of a sheet up to 1,000 data rows; a bigger data tab costs
        # one more call per page of the columns the rules need (docs/running.md, call budget).
        head_only = len(doc["data"]["rows"]) <= 1000
        assert [c["api"] for c in calls] == ["spreadsheets.get"] * (1 if head_only else 2)
    assert output["as_of"] == doc["as_of"]
    got = by_name(doc, output)
    for case in doc["cases"]:
        assert_matches(case, got[case["name"]])
        for result in got[case["name"]]:
            assert result["rule"] == case["rule"]
    assert code == expected_exit(doc)
