"""kpirules.dataclass_fast makes classes that behave as dataclasses.dataclass makes them:
the same constructor, equality, hashes, repr, frozen-ness, fields, replace, pickling. Each
test builds one class body with both decorators and compares what they do."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from typing import ClassVar

import pytest

from kpirules import dataclass_fast


def _both(fast_field=dataclass_fast.field, **options):
    """The same class hierarchy made by the standard decorator and by ours (with our
    ``field`` or the standard one)."""
    made = {}
    for name, decorate, field in (("std", dataclasses.dataclass, dataclasses.field),
                                  ("fast", dataclass_fast.dataclass, fast_field)):

        @decorate(**options)
        class Base:
            children: ClassVar[tuple[str, ...]] = ()
            span: tuple | None = field(default=None, compare=False, repr=False, kw_only=True)

        @decorate(**options)
        class Point(Base):
            """A point."""

            x: int
            y: float = 0.0
            tags: list = field(default_factory=list)
            note: str | None = field(default=None, compare=False)

        made[name] = Point
    return made["std"], made["fast"]


OPTIONS = [{}, {"frozen": True}, {"frozen": True, "slots": True}, {"slots": True}]


@pytest.mark.parametrize("fast_field", [dataclass_fast.field, dataclasses.field])
@pytest.mark.parametrize("options", OPTIONS)
def test_constructor_fields_repr_and_equality_match_the_standard(options, fast_field):
    std, fast = _both(fast_field, **options)
    for args, kwargs in [((1,), {}), ((1, 2.5), {"note": "n"}), ((3,), {"tags": ["a"], "span": (1, 2)})]:
        a, b = std(*args, **kwargs), fast(*args, **kwargs)
        assert repr(a).replace("std", "") == repr(b).replace("fast", "")
        assert [(f.name, getattr(a, f.name)) for f in dataclasses.fields(a)] == \
               [(f.name, getattr(b, f.name)) for f in dataclasses.fields(b)]
        assert dataclasses.asdict(a) == dataclasses.asdict(b)
    # equality ignores compare=False fields, and other classes
    assert fast(1, note="a", span=(1,)) == fast(1, note="b", span=(2,))
    assert fast(1) != fast(2)
    assert fast(1).__eq__(std(1)) is NotImplemented
    assert fast(1).tags is not fast(1).tags  # a fresh default each time
    assert dataclasses.is_dataclass(fast) and fast.__match_args__ == std.__match_args__
    assert fast.__doc__ == "A point."
    with pytest.raises(TypeError):
        fast()  # x is required
    with pytest.raises(TypeError):
        fast(1, 2.0, [], None, (1,))  # span is keyword-only


@pytest.mark.parametrize("options", OPTIONS)
def test_hash_frozen_replace_and_pickle_match_the_standard(options):
    std, fast = _both(**options)
    a, b = std(1, 2.0, note="x"), fast(1, 2.0, note="x")
    if options.get("frozen"):
        b = fast(1, 2.0, tags=(), note="x")  # hashable fields
        a = std(1, 2.0, tags=(), note="x")
        assert hash(a) == hash(b)
        with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'x'"):
            b.x = 3
        with pytest.raises(dataclasses.FrozenInstanceError):
            del b.y
    else:
        assert std.__hash__ is None and fast.__hash__ is None
        b.x = 3
        assert b.x == 3
        b.x = 1
    for replace in (dataclasses.replace, dataclass_fast.replace):
        changed = replace(b, y=5.0)
        assert (changed.x, changed.y, changed.note, changed.tags) == (1, 5.0, "x", b.tags)
        assert type(changed) is fast and changed == replace(b, y=5.0, note="other")
        with pytest.raises(TypeError):
            replace(b, nope=1)
    assert dataclass_fast.replace(a, y=5.0) == dataclasses.replace(a, y=5.0)  # a standard one too
    assert copy.deepcopy(b) == b and copy.copy(b) == b


def test_parsed_rules_and_results_pickle_and_copy():
    """The AST (frozen, slotted) and the results are made by dataclass_fast: a parsed rule
    and a report survive pickling (a worker process) and deep copies."""
    import datetime as dt

    from kpirules import ast
    from kpirules.connectors.base import RawTable
    from kpirules.engine import evaluate
    from kpirules.rulesfile import parse_rules_file
    from kpirules.table import load_table

    entries = parse_rules_file("conv: signups / visits >= 2% weekly where channel = 'web' warn at 3%\n", "r.kpi")
    rule = entries[0].rule
    assert isinstance(rule, ast.Rule) and dataclasses.is_dataclass(rule)
    assert pickle.loads(pickle.dumps(rule)) == rule and copy.deepcopy(rule) == rule
    assert hash(copy.deepcopy(rule)) == hash(rule)
    table = load_table(RawTable(headers=["date", "channel", "visits", "signups"],
                                rows=[[f"2026-11-{d:02d}", "web", "100", str(d % 4)] for d in range(1, 26)]))
    report = evaluate(entries, table, dt.date(2026, 11, 26))
    again = pickle.loads(pickle.dumps(report))
    assert again == report and again.to_json() == report.to_json()


def test_dataclasses_is_imported_only_when_asked_for_fields():
    """kpirules check never imports dataclasses (nor inspect, which it loads); code that
    asks for fields (lint, explain) gets them from dataclasses itself."""
    import subprocess
    import sys

    code = ("import sys; from kpirules import ast, results; r = ast.Number(2.0, unit='%'); "
            "from kpirules.dataclass_fast import replace; replace(r, value=3.0); "
            "print('dataclasses' in sys.modules); import dataclasses; "
            "print([f.name for f in dataclasses.fields(r)], dataclasses.replace(r, value=1.0).value)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["False", "['span', 'value', 'unit', 'text'] 1.0"]  # as the standard orders them


def test_unsupported_options_are_refused():
    with pytest.raises(TypeError):

        @dataclass_fast.dataclass
        class WithPostInit:
            x: int

            def __post_init__(self):
                pass

    with pytest.raises(TypeError, match="follows default"):

        @dataclass_fast.dataclass
        class Misordered:
            x: int = 1
            y: int  # type: ignore[misc]
