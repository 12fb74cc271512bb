"""kpirules: declarative KPI rules for spreadsheets.

A thin facade over the pipeline stages, one module each: ``parser`` (text -> ``ast``),
``periods`` (windows -> dates), ``table`` (raw cells -> typed columns), ``plan`` (rules ->
the aggregates they need, each once), ``engine`` (plan + table -> results). Everything is
imported on first use so that ``import kpirules`` and the CLI start fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from kpirules._version import __version__


def _source_checkout_layout() -> None:
    # The repository keeps grammar/ and connectors/ beside this package; the wheel maps them
    # inside it as kpirules.grammar and kpirules.connectors. When kpirules is imported
    # straight from a checkout (python -m kpirules in the repo root, without an editable
    # install), let the package find them beside it. Installed copies never take this path.
    import os

    here = os.path.dirname(__file__)
    root = os.path.dirname(here)
    if not os.path.isdir(os.path.join(here, "connectors")) and os.path.isfile(
            os.path.join(root, "connectors", "base.py")):
        __path__.append(root)  # type: ignore[name-defined]  # noqa: F821


_source_checkout_layout()

_LAZY = {
    "parse_rule": "kpirules.parser",
    "parse_rules_file": "kpirules.rulesfile",
    "rules_from_table": "kpirules.rulesfile",
    "RuleEntry": "kpirules.rulesfile",
    "load_table": "kpirules.table",
    "DataTable": "kpirules.table",
    "evaluate": "kpirules.engine",
    "check": "kpirules.engine",
    "Report": "kpirules.results",
    "RuleResult": "kpirules.results",
    "Status": "kpirules.results",
    "KpiError": "kpirules.errors",
    "Problem": "kpirules.errors",
    "SourceError": "kpirules.errors",
}

__all__ = ["__version__", *_LAZY]

if TYPE_CHECKING:  # pragma: no cover
    from kpirules.engine import check, evaluate
    from kpirules.errors import KpiError, Problem, SourceError
    from kpirules.parser import parse_rule
    from kpirules.results import Report, RuleResult, Status
    from kpirules.rulesfile import RuleEntry, parse_rules_file, rules_from_table
    from kpirules.table import DataTable, load_table


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kpirules' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
