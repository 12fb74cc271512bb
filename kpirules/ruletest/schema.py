"""The rule-test file format (docs/testing.md): a strict pydantic schema over YAML, with
every mistake reported as ``FILE:LINE:COL``.

PyYAML's ``safe_load`` forgets where things were written, so the file is composed into
nodes first and every key and item is mapped to its mark; a pydantic error's ``loc`` is
then walked through that map to the line the user has to fix.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from kpirules.errors import Problem, did_you_mean
from kpirules.results import Status
from kpirules.ruletest.series import SeriesError, expand, last_date_error, parse_key, parse_number

TEST_FILE = "test-file"  # Problem category for mistakes in a test file

Path = tuple[Any, ...]


# ------------------------------------------------------------------------ YAML + marks

@dataclass
class Located:
    """A parsed YAML document and where each key and item of it was written."""

    data: Any
    marks: dict[Path, tuple[int, int]] = field(default_factory=dict)  # path -> (line, col), 1-based
    lines: list[str] = field(default_factory=list)

    def locate(self, loc: Path) -> tuple[int, int]:
        """The mark of the deepest part of ``loc`` that was written in the file.

        Parts that are not in the file (pydantic's union tags, a missing key) are skipped,
        so a missing key points at the mapping that should hold it."""
        return self.marks.get(self.written(loc), (1, 1))

    def written(self, loc: Path) -> Path:
        """The parts of ``loc`` that name keys and items written in the file."""
        path: Path = ()
        for part in loc:
            if path + (part,) in self.marks:
                path = path + (part,)
        return path

    def problem(self, file: str, loc: Path, message: str, suggestion: str | None = None) -> Problem:
        line, column = self.locate(loc)
        source = self.lines[line - 1] if 0 < line <= len(self.lines) else None
        return Problem(TEST_FILE, message, line=line, column=column, source_line=source,
                       suggestion=suggestion, file=file)


def load_yaml(text: str, file: str) -> Located:
    """Parse ``text``; raises ``TestFileError`` for YAML that does not parse."""
    import yaml

    lines = text.splitlines()
    try:
        loader = yaml.SafeLoader(text)  # refuses NUL and other control characters at once
    except yaml.YAMLError as exc:
        raise TestFileError([Problem(TEST_FILE, f"not valid YAML: {getattr(exc, 'reason', exc)}",
                                     line=1, column=1, file=file)]) from None
    try:
        node = loader.get_single_node()
        if node is not None and (twice := _keys_given_twice(node, lines, file)):
            raise TestFileError(twice)
        data = loader.construct_document(node) if node is not None else None
    except RecursionError:  # lists or maps nested thousands deep
        raise TestFileError([Problem(TEST_FILE, "the YAML nests too deeply to read", line=1, column=1,
                                     file=file)]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        reason = getattr(exc, "problem", None) or str(exc)
        raise TestFileError([Problem(
            TEST_FILE, f"not valid YAML: {reason}", line=line, column=column, file=file,
            source_line=lines[line - 1] if 0 < line <= len(lines) else None)]) from None
    finally:
        loader.dispose()
    located = Located(data, lines=lines)
    if node is not None:
        # construct_document flattened merge keys (<<) in place, so nodes and data agree.
        _walk(node, data, (), located.marks)
    return located


def _keys_given_twice(root: Any, lines: list[str], file: str) -> list[Problem]:
    """A key written twice in one mapping: YAML keeps the last one without a word, so a
    test would check another date or rule than the one its author reads first. (Merge keys
    `<<` are not flattened yet here: a key that overrides a merged one is not a repeat.)"""
    import yaml

    problems: list[Problem] = []
    seen_nodes: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[str, Any] = {}
            for key_node, value_node in node.value:
                stack.append(value_node)
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                if key_node.value in first:
                    line, column = key_node.start_mark.line + 1, key_node.start_mark.column + 1
                    problems.append(Problem(
                        TEST_FILE, f"`{key_node.value}` is given twice here (first on line "
                                   f"{first[key_node.value].start_mark.line + 1}); YAML would keep only the last",
                        line=line, column=column, file=file, suggestion="keep one of them",
                        source_line=lines[line - 1] if 0 < line <= len(lines) else None))
                else:
                    first[key_node.value] = key_node
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return sorted(problems, key=lambda p: (p.line or 0, p.column or 0))


def _walk(node: Any, data: Any, path: Path, marks: dict[Path, tuple[int, int]]) -> None:
    import yaml

    if isinstance(node, yaml.MappingNode) and isinstance(data, dict):
        for key_node, value_node in node.value:
            key = next((k for k in data if _same_key(k, key_node)), None)
            if key is None:
                continue
            marks.setdefault(path + (key,), (key_node.start_mark.line + 1, key_node.start_mark.column + 1))
            _walk(value_node, data[key], path + (key,), marks)
    elif isinstance(node, yaml.SequenceNode) and isinstance(data, list):
        for index, (item_node, item) in enumerate(zip(node.value, data)):
            marks[path + (index,)] = (item_node.start_mark.line + 1, item_node.start_mark.column + 1)
            _walk(item_node, item, path + (index,), marks)


def _same_key(key: Any, key_node: Any) -> bool:
    # By text: a key such as 2026-11-16 was constructed into a date, which prints back the
    # same. A key that does not (`yes` -> True) just gets no mark of its own.
    return str(getattr(key_node, "value", "")) == (key if isinstance(key, str) else str(key))


class TestFileError(Exception):
    """A test file that cannot be used; ``problems`` has every mistake found in it."""

    __test__ = False

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(p.render() for p in problems))


# ------------------------------------------------------------------------------ types

def _iso_date(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a date; write it as 2026-11-26")


def _number(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return _finite(float(value), value)
    if isinstance(value, str):
        return _finite(float(parse_number(value)), value)
    raise ValueError(f"{value!r} is not a number")


def _finite(number: float, written: Any) -> float:
    """No rule's value is infinite or NaN (a division by zero is NO_DATA): ``.inf`` or
    ``1e400`` in a test is a mistake, said where it is written."""
    if not math.isfinite(number):
        raise ValueError(f"{written!r} is not a finite number")
    return number


def _status(value: Any) -> Any:
    return str(value).strip().upper().replace(" ", "_").replace("-", "_")


def _text(value: Any) -> Any:
    from kpirules.table import dimension_text

    if isinstance(value, (dict, list)):
        raise ValueError("a dimension value is a single text")
    return dimension_text(value)


def _as_of(value: Any) -> Any:
    from kpirules.periods import judged, outside_text

    day = _iso_date(value)
    if not judged(day):
        raise ValueError(outside_text(repr(day.isoformat())))
    return day


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]
AsOf = Annotated[dt.date, BeforeValidator(_as_of)]
Num = Annotated[float, BeforeValidator(_number)]
Text = Annotated[str, BeforeValidator(_text)]


def _series_values(value: Any) -> list[int | float | None]:
    if isinstance(value, bool):
        raise ValueError("a series is text such as \"100+5x6\" or a list of numbers")
    if isinstance(value, (int, float)):
        return [value]
    if isinstance(value, list):
        out: list[float | None] = []
        for item in value:
            if item is None or (isinstance(item, str) and item.strip() == "_"):
                out.append(None)
            elif isinstance(item, (int, float)) and not isinstance(item, bool):
                _finite(float(item), item)
                out.append(item)
            elif isinstance(item, str):
                out.append(_finite(float(parse_number(item)), item))
            else:
                raise ValueError(f"{item!r} is not a number or `_`")
        return out
    if isinstance(value, str):
        try:
            return expand(value)
        except SeriesError as exc:
            raise ValueError(str(exc)) from None
    raise ValueError("a series is text such as \"100+5x6\" or a list of numbers")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PeriodSpec(_Strict):
    start: IsoDate
    end: IsoDate

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        # "2026-11-16..2026-11-22" as results print it, or one date for a daily period
        if isinstance(value, (str, dt.date)):
            text = value.isoformat() if isinstance(value, dt.date) else value
            start, sep, end = text.partition("..")
            return {"start": start, "end": end if sep else start}
        return value

    def __str__(self) -> str:
        return self.start.isoformat() if self.start == self.end else f"{self.start}..{self.end}"


class Expectation(_Strict):
    rule: str = Field(min_length=1)
    segment: dict[str, Text] | None = None
    status: Annotated[Status, BeforeValidator(_status)]
    value: Num | None = None
    tolerance: Num | None = Field(None, ge=0)
    period: PeriodSpec | None = None
    message: str | None = None  # a substring the message must contain
    as_of: AsOf | None = None  # evaluate this expectation at another date than the test's
    # `with C% confidence`: the Wilson interval [lo, hi] (`tolerance` applies to each end).
    interval: Annotated[list[Num], Field(min_length=2, max_length=2)] | None = None

    @property
    def expects_value(self) -> bool:
        # `value: null` (expect no value) differs from leaving `value` out (do not check it)
        return "value" in self.model_fields_set

    @property
    def expects_interval(self) -> bool:
        return "interval" in self.model_fields_set

    @field_validator("interval")
    @classmethod
    def _ordered(cls, value: list[float] | None) -> list[float] | None:
        if value is not None and (value[0] is None or value[1] is None or value[0] > value[1]):
            raise ValueError("write the interval as [low, high], e.g. [0.021, 0.032]")
        return value


class TableInput(_Strict):
    columns: list[Text] = Field(min_length=1)
    rows: list[list[Any]] = Field(default_factory=list)

    @field_validator("rows")
    @classmethod
    def _widths(cls, rows: list[list[Any]], info: Any) -> list[list[Any]]:
        width = len(info.data.get("columns", []))
        for i, row in enumerate(rows):
            if width and len(row) > width:
                from kpirules.format import plural

                there = "there is 1 column" if width == 1 else f"there are {width} columns"
                raise ValueError(f"row {i + 1} has {plural(len(row), 'cell')} but {there}")
        return rows


class FileInput(_Strict):
    file: str = Field(min_length=1)  # relative to the test file
    tab: str = "Data"


class SeriesInput(_Strict):
    start: IsoDate  # the date of each series' first value
    step: Literal["day", "week", "month"] = "day"
    series: dict[str, Annotated[list[int | float | None], BeforeValidator(_series_values)]] = Field(
        min_length=1)

    @field_validator("series")
    @classmethod
    def _keys(cls, series: dict[str, Any]) -> dict[str, Any]:
        for key in series:
            try:
                parse_key(key)
            except SeriesError as exc:
                raise ValueError(str(exc)) from None
        return series

    @model_validator(mode="after")
    def _fits_the_calendar(self) -> SeriesInput:
        problem = last_date_error(self.start, self.step, max(len(v) for v in self.series.values()))
        if problem:
            raise ValueError(problem)
        return self


def _input_kind(value: Any) -> str | None:
    if isinstance(value, BaseModel):
        return {TableInput: "table", FileInput: "file", SeriesInput: "series"}.get(type(value))
    if isinstance(value, dict):
        for key, kind in (("series", "series"), ("file", "file"), ("rows", "table"), ("columns", "table")):
            if key in value:
                return kind
    return None


InputSpec = Annotated[
    Annotated[TableInput, Tag("table")] | Annotated[FileInput, Tag("file")] | Annotated[SeriesInput, Tag("series")],
    Discriminator(_input_kind, custom_error_type="input_kind",
                  custom_error_message="give the data as `columns` + `rows`, as `file: data.csv`, "
                                       "or as `start` + `series`"),
]


class TestCase(_Strict):
    __test__: ClassVar[bool] = False  # not a pytest class, whatever its name says

    name: str = Field(min_length=1)
    as_of: AsOf
    input: InputSpec
    expect: list[Expectation] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _file_shorthand(cls, value: Any) -> Any:
        if isinstance(value, dict) and isinstance(value.get("input"), str):
            value = dict(value, input={"file": value["input"]})
        return value


class TestFile(_Strict):
    __test__: ClassVar[bool] = False

    rule_files: list[str] = Field(default_factory=list)  # globs relative to the test file
    rules: dict[str, str] = Field(default_factory=dict)  # inline rules: name -> rule text
    tests: list[TestCase] = Field(min_length=1)

    @model_validator(mode="after")
    def _some_rules(self) -> TestFile:
        if not self.rule_files and not self.rules:
            raise ValueError("name the rules to test with `rule_files` (or write them under `rules`)")
        return self


_FIELDS = sorted({name for model in (TestFile, TestCase, Expectation, TableInput, FileInput,
                                     SeriesInput, PeriodSpec) for name in model.model_fields})


def validate(located: Located, file: str) -> TestFile:
    """The test file as models; raises ``TestFileError`` listing every schema mistake."""
    if not isinstance(located.data, dict):
        raise TestFileError([located.problem(
            file, (), "a test file is a mapping with `rule_files` and `tests`",
            "see docs/testing.md for an example")])
    # Top-level `x-...` keys are ignored, as in docker-compose: a place for YAML anchors.
    data = {k: v for k, v in located.data.items() if not (isinstance(k, str) and k.startswith("x-"))}
    try:
        return TestFile.model_validate(data)
    except ValidationError as exc:
        problems = [_problem(located, file, err) for err in exc.errors(include_url=False)]
        raise TestFileError(problems) from None


def _problem(located: Located, file: str, err: Mapping[str, Any]) -> Problem:
    loc = tuple(err["loc"])
    # Drop pydantic's union tag after `input` ("series"...): it names a model, not a key.
    loc = tuple(p for i, p in enumerate(loc)
                if not (i and loc[i - 1] == "input" and p in ("table", "file", "series")))
    key = next((p for p in reversed(located.written(loc)) if isinstance(p, str)), None)
    if err["type"] == "extra_forbidden":
        guess = did_you_mean(str(loc[-1]), _FIELDS)
        return located.problem(file, loc, f"unknown key `{loc[-1]}`",
                               f"did you mean `{guess}`?" if guess else None)
    if err["type"] == "missing":
        return located.problem(file, loc, f"`{loc[-1]}` is missing")
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "enum" and "status" in loc:
        message = (f"unknown status {err.get('input')!r}; write PASS, WARN, FAIL, INCONCLUSIVE, "
                   "NO_DATA or ERROR")
    where = f"`{key}`: " if key and not isinstance(key, int) else ""
    return located.problem(file, loc, where + message)


def load_test_file(text: str, file: str) -> tuple[TestFile, Located]:
    """Parse and validate a test file's text; ``file`` names it in problems."""
    located = load_yaml(text, file)
    return validate(located, file), located
