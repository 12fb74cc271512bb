"""Run rule tests: load a test file, build each test's data, evaluate, compare.

Loading finds every mistake a file has (schema, missing rule files, unknown rule names,
unreadable data) before anything runs, so a broken test file is reported whole and never
half-run. Running collects every mismatch of every expectation rather than stopping at the
first, and renders each as expected/got lines plus a diff.
"""

from __future__ import annotations

import datetime as dt
import glob
import math
import os
import re
from dataclasses import dataclass, field, replace
from typing import Any, Iterable

from kpirules.connectors.base import RawTable
from kpirules.errors import KpiError, Problem, SourceError, did_you_mean
from kpirules.names import normalise
from kpirules.results import RuleResult, Status
from kpirules.ruletest.schema import (
    Expectation,
    FileInput,
    Located,
    SeriesInput,
    TableInput,
    TestCase,
    TestFile,
    TestFileError,
    load_test_file,
)
from kpirules.ruletest.series import parse_key, value_date

# Numbers with no `tolerance` match as spec/semantics.md's conformance cases do.
DEFAULT_REL_TOLERANCE = 1e-9


@dataclass
class LoadedTest:
    case: TestCase
    index: int
    line: int
    table: Any  # kpirules.table.DataTable


@dataclass
class LoadedFile:
    path: str
    entries: dict[str, Any]  # rule name -> RuleEntry
    tests: list[LoadedTest]
    expect_lines: dict[tuple[int, int], int] = field(default_factory=dict)  # (test, expect) -> line


@dataclass
class Failure:
    """One expectation that did not hold: where it was written and what differed."""

    title: str  # "rule `conversion` [channel=email] as of 2026-11-26"
    line: int  # line of the expectation in the test file
    expected: list[tuple[str, str]]  # (field, text) as expected
    got: list[tuple[str, str]]  # (field, text) as evaluated
    wrong: set[str] = field(default_factory=set)  # fields that differ
    note: str | None = None  # when there is nothing to compare (no such segment)

    def render(self, indent: str = "    ") -> str:
        lines = [f"{indent}{self.title} (line {self.line})"]
        if self.note:
            lines.append(f"{indent}  {self.note}")
        lines.append(f"{indent}  exp: " + ", ".join(f"{k}={v}" for k, v in self.expected))
        lines.append(f"{indent}  got: " + (", ".join(f"{k}={v}" for k, v in self.got) or "nothing"))
        if self.got:
            lines.append(f"{indent}  diff:")
            got = dict(self.got)
            for key, text in self.expected:
                if key in self.wrong:
                    lines.append(f"{indent}  - {key}: {text}")
                    if key in got:
                        lines.append(f"{indent}  + {key}: {got[key]}")
                else:
                    lines.append(f"{indent}    {key}: {text}")
        return "\n".join(lines)


@dataclass
class CaseResult:
    name: str
    file: str
    line: int
    failures: list[Failure] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def render(self) -> str:
        return "\n".join(f.render() for f in self.failures)


@dataclass
class FileResult:
    path: str
    cases: list[CaseResult] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # the file is invalid

    @property
    def valid(self) -> bool:
        return not self.problems


# ---------------------------------------------------------------------------- loading


def files_to_run(paths: Iterable[str]) -> list[str]:
    """The files to run: each path as given, a folder standing for the ``*.yaml`` and
    ``*.yml`` files anywhere under it, sorted (``kpirules test tests/kpi/`` in CI). A folder
    without one stays, for ``load`` to say so."""
    out: list[str] = []
    for path in paths:
        if not os.path.isdir(path):
            out.append(path)
            continue
        found = sorted({f for pattern in ("**/*.yaml", "**/*.yml")
                        for f in glob.glob(os.path.join(glob.escape(path), pattern), recursive=True)
                        if os.path.isfile(f)})
        out += found or [path]
    return out


def load(path: str, date_column: str = "date") -> LoadedFile:
    """Read, validate and prepare a test file; raises ``TestFileError`` with every problem.
    ``date_column``: the settings' name for the date column of the tests' data."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise TestFileError([Problem("test-file", f"no such test file: {path}", file=path)]) from None
    except IsADirectoryError:  # one without test files: files_to_run() gives the others' files
        raise TestFileError([Problem("test-file", f"no test file (*.yaml, *.yml) in the folder {path}",
                                     file=path)]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TestFileError([Problem("test-file", f"cannot read {path}: {exc}", file=path)]) from None
    from kpirules.table import load_table

    spec, located = load_test_file(text, path)
    base = os.path.dirname(os.path.abspath(path))
    problems: list[Problem] = []
    entries = _rules(spec, located, path, base, problems)
    tests = []
    for i, case in enumerate(spec.tests):
        loc = ("tests", i)
        for j, exp in enumerate(case.expect):
            if entries and exp.rule not in entries:
                guess = did_you_mean(exp.rule, entries)
                hint = f"did you mean `{guess}`?" if guess else f"rules: {', '.join(sorted(entries))}"
                problems.append(located.problem(path, loc + ("expect", j, "rule"),
                                                f"no rule named `{exp.rule}` in the rule files", hint))
        try:
            table = load_table(build_input(case.input, base), date_column=date_column)
        except (ValueError, SourceError) as exc:
            message = exc.message if isinstance(exc, SourceError) else str(exc)
            problems.append(located.problem(path, loc + ("input",), message,
                                            getattr(exc, "hint", None)))
            continue
        tests.append(LoadedTest(case, i, located.locate(loc)[0], table))
    if problems:
        raise TestFileError(problems)
    return LoadedFile(path, entries, tests, expectation_lines(located, spec))


def _rules(spec: TestFile, located: Located, path: str, base: str, problems: list[Problem]) -> dict:
    from kpirules.rulesfile import parse_rules_file

    entries: dict[str, Any] = {}
    origin: dict[str, str] = {}

    def add(entry: Any, where: str, loc: tuple) -> None:
        if entry.name in entries:
            problems.append(located.problem(
                path, loc, f"rule `{entry.name}` is defined twice ({origin[entry.name]} and {where})",
                "rename one of them"))
            return
        entries[entry.name] = entry
        origin[entry.name] = where

    for i, pattern in enumerate(spec.rule_files):
        full = pattern if os.path.isabs(pattern) else os.path.join(base, pattern)
        matches = sorted(glob.glob(full, recursive=True))
        if not matches:
            where = os.path.dirname(path) or "."
            problems.append(located.problem(path, ("rule_files", i),
                                            f"`{pattern}` matches no file (relative to {where})"))
        for match in matches:
            shown = os.path.relpath(match)
            try:
                for entry in _read_rules(match, shown):
                    add(entry, shown, ("rule_files", i))
            except SourceError as exc:
                problems.append(located.problem(path, ("rule_files", i), exc.message, exc.hint))
    for name, text in spec.rules.items():
        line, column = located.locate(("rules", name))
        (entry,) = parse_rules_file(f"{name}: {text}", file=path) or [None]
        if entry is None:
            continue
        if entry.problem is not None:
            # The rule was parsed as line 1 of `name: text`; in the YAML it sits at the key.
            src = located.lines[line - 1] if line <= len(located.lines) else None
            entry.problem = replace(entry.problem, line=line,
                                    column=(entry.problem.column or 1) + column - 1, source_line=src)
        entry.line = line
        add(entry, f"{path}:{line}", ("rules", name))
    return entries


def _read_rules(path: str, shown: str) -> list[Any]:
    from kpirules.rulesfile import parse_rules_file

    if path.lower().endswith((".xlsx", ".xlsm")):
        from kpirules.connectors import open_source
        from kpirules.source import rule_entries

        return rule_entries(open_source(path).read(), shown)
    try:
        with open(path, encoding="utf-8") as fh:
            return parse_rules_file(fh.read(), file=shown)
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceError(f"cannot read rule file {shown}: {exc}") from None


# ------------------------------------------------------------------------------- data


def build_input(spec: TableInput | FileInput | SeriesInput, base: str) -> RawTable:
    """The test's data as the raw table a connector would give."""
    if isinstance(spec, TableInput):
        return RawTable(headers=list(spec.columns), rows=[list(r) for r in spec.rows], sheet="Data")
    if isinstance(spec, FileInput):
        from kpirules.connectors import open_source

        path = spec.file if os.path.isabs(spec.file) else os.path.join(base, spec.file)
        if not os.path.exists(path):
            raise SourceError(f"no such data file: {spec.file} (relative to the test file)")
        return open_source(path).read(data_tab=spec.tab).data
    return series_table(spec)


def series_table(spec: SeriesInput) -> RawTable:
    """Rows from series: one row per date and label set, one column per metric.

    ``visits{channel=email}`` and ``signups{channel=email}`` fill the same rows; a series
    without labels fills rows whose dimension cells are blank."""
    metrics: list[str] = []
    dims: list[str] = []
    groups: dict[tuple, dict[str, list]] = {}
    for key, values in spec.series.items():
        name, labels = parse_key(key)
        if normalise(name) == "date":
            raise ValueError(f"`{key}`: dates come from `start` and `step`, not from a series")
        for dim in labels:
            if dim not in dims:
                dims.append(dim)
        if name not in metrics:
            metrics.append(name)
        group = groups.setdefault(tuple(sorted(labels.items())), {})
        if name in group:
            raise ValueError(f"`{key}`: the series {name} with these labels is given twice")
        group[name] = values
    clash = set(map(normalise, dims)) & set(map(normalise, metrics))
    if clash:
        raise ValueError(f"`{sorted(clash)[0]}` is used both as a dimension and as a metric")
    rows = []
    for labels, series in groups.items():
        label = dict(labels)
        for i in range(max(len(v) for v in series.values())):
            row = [value_date(spec.start, spec.step, i).isoformat()]
            row += [label.get(d) for d in dims]
            row += [series[m][i] if m in series and i < len(series[m]) else None for m in metrics]
            rows.append(row)
    return RawTable(headers=["date", *dims, *metrics], rows=rows, sheet="Data")


# ---------------------------------------------------------------------------- running


def select(tests: Iterable[LoadedTest], patterns: tuple[str, ...]) -> list[LoadedTest]:
    """The tests whose name matches one of ``patterns`` (regular expressions, searched)."""
    if not patterns:
        return list(tests)
    compiled = [re.compile(p) for p in patterns]
    return [t for t in tests if any(c.search(t.case.name) for c in compiled)]


def run_test(loaded: LoadedFile, test: LoadedTest) -> CaseResult:
    """Evaluate one test's rules on its data and compare every expectation."""
    from kpirules.engine import evaluate

    case = test.case
    result = CaseResult(case.name, loaded.path, test.line)
    table = test.table
    by_date: dict[dt.date, list[tuple[int, Expectation]]] = {}
    for j, exp in enumerate(case.expect):
        by_date.setdefault(exp.as_of or case.as_of, []).append((j, exp))
    for as_of, expectations in by_date.items():
        names = list(dict.fromkeys(exp.rule for _, exp in expectations))
        # A rule switched off in a Rules tab is still tested: the test is about the rule.
        entries = [replace(loaded.entries[n], meta={**loaded.entries[n].meta, "enabled": True})
                   for n in names]
        report = evaluate(entries, table, as_of)
        results: dict[str, list[RuleResult]] = {}
        for r in report.results:
            results.setdefault(r.name, []).append(r)
        for j, exp in expectations:
            line = loaded.expect_lines.get((test.index, j), test.line)
            result.failures.extend(compare(exp, results.get(exp.rule, []), as_of, line))
    return result


def _segment_text(segment: dict | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in segment.items()) if segment else ""


def _num(value: float | None) -> str:
    if value is None:
        return "null"
    return f"{value:.10g}"


def _matches_segment(expected: dict[str, str], got: dict[str, str] | None) -> bool:
    got = {normalise(k): v for k, v in (got or {}).items()}
    return all(normalise(k) in got and got[normalise(k)] == v for k, v in expected.items())


def compare(exp: Expectation, results: list[RuleResult], as_of: dt.date, line: int) -> list[Failure]:
    """The failures of one expectation against the results of its rule (all its segments)."""
    title = f"rule `{exp.rule}`" + (f" [{_segment_text(exp.segment)}]" if exp.segment else "") + \
        f" as of {as_of.isoformat()}"
    expected = _expected_fields(exp)
    if not results:
        return [Failure(title, line, expected, [], {k for k, _ in expected},
                        "the rule gave no result at all")]
    if exp.segment:
        targets = [r for r in results if _matches_segment(exp.segment, r.segment)]
        if not targets:
            seen = [_segment_text(r.segment) for r in results if r.segment]
            note = ("no result for this segment; the rule gave: " + "; ".join(seen) if seen else
                    "the rule has no segments (no `by` clause)" if results and not results[0].segment
                    else "no result for this segment")
            return [Failure(title, line, expected, [], {k for k, _ in expected}, note)]
    else:
        targets = results
    failures = []
    for r in targets:
        got, wrong = _got_fields(exp, r)
        if wrong:
            seg = f" [{_segment_text(r.segment)}]" if r.segment and not exp.segment else ""
            failures.append(Failure(title.replace(" as of", seg + " as of", 1) if seg else title,
                                    line, expected, got, wrong))
    return failures


def _expected_fields(exp: Expectation) -> list[tuple[str, str]]:
    out = [("status", exp.status.value)]
    if exp.expects_value:
        text = _num(exp.value)
        if exp.tolerance is not None and exp.value is not None:
            text += f" ± {_num(exp.tolerance)}"
        out.append(("value", text))
    if exp.period is not None:
        out.append(("period", str(exp.period)))
    if exp.expects_interval:
        out.append(("interval", _interval_text(exp.interval)))
    if exp.message is not None:
        out.append(("message", f"…{exp.message}…"))
    return out


def _interval_text(interval) -> str:
    return "null" if interval is None else f"[{_num(interval[0])}, {_num(interval[1])}]"


def _interval_ok(exp: Expectation, got: tuple[float, float] | None) -> bool:
    if exp.interval is None or got is None:
        return exp.interval is None and got is None
    ends = [Expectation.model_construct(value=e, tolerance=exp.tolerance) for e in exp.interval]
    return all(_value_ok(e, g) for e, g in zip(ends, got))


def _value_ok(exp: Expectation, got: float | None) -> bool:
    if exp.value is None or got is None:
        return exp.value is None and got is None
    if exp.tolerance is not None:
        return abs(got - exp.value) <= exp.tolerance + 1e-12
    return math.isclose(got, exp.value, rel_tol=DEFAULT_REL_TOLERANCE, abs_tol=1e-12)


def _got_fields(exp: Expectation, r: RuleResult) -> tuple[list[tuple[str, str]], set[str]]:
    got = [("status", r.status.value)]
    wrong = set()
    if r.status != exp.status:
        wrong.add("status")
    if exp.expects_value:
        got.append(("value", _num(r.value)))
        if not _value_ok(exp, r.value):
            wrong.add("value")
    if exp.period is not None:
        got.append(("period", str(r.period) if r.period else "null"))
        if r.period is None or (r.period.start, r.period.end) != (exp.period.start, exp.period.end):
            wrong.add("period")
    if exp.expects_interval:
        got.append(("interval", _interval_text(r.interval)))
        if not _interval_ok(exp, r.interval):
            wrong.add("interval")
    got.append(("message", f"“{r.message}”"))
    if exp.message is not None and exp.message not in r.message:
        wrong.add("message")
    if r.status == Status.ERROR and r.error is not None and r.error.message not in r.message:
        got.append(("error", r.error.message))
    return got, wrong


def expectation_lines(located: Located, spec: TestFile) -> dict[tuple[int, int], int]:
    return {(i, j): located.locate(("tests", i, "expect", j))[0]
            for i, case in enumerate(spec.tests) for j, _ in enumerate(case.expect)}


def run_file(path: str, patterns: tuple[str, ...] = (), date_column: str = "date") -> FileResult:
    """Load and run one test file; an invalid file comes back with ``problems``."""
    out = FileResult(path)
    try:
        loaded = load(path, date_column)
    except TestFileError as exc:
        out.problems = exc.problems
        return out
    for test in select(loaded.tests, patterns):
        try:
            out.cases.append(run_test(loaded, test))
        except (SourceError, KpiError) as exc:
            message = exc.message if isinstance(exc, SourceError) else exc.problem.message
            out.problems.append(Problem("test-file", f"test `{test.case.name}`: {message}",
                                        file=path, line=test.line))
    return out

