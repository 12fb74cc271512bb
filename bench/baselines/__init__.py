"""The tools kpirules is measured against, computing the same results from the same files.

Each tool is a pair (load, evaluate): ``load(csv_path)`` gives the tool's in-memory table,
``evaluate(table, specs, as_of)`` the normalised results (see ``spec.results``). Tools of one
family share their loader. Imports are lazy so that a tool's process start-up pays only for
the libraries it uses (pure Python never imports pandas).
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

# tool -> (module, loader, evaluator); ``family`` tools share one loaded table
TOOLS: dict[str, tuple[str, str, str]] = {
    "python": ("baselines.pure", "load", "evaluate"),
    "pandas_per_rule": ("baselines.pandas_tools", "load", "evaluate_per_rule"),
    "pandas_shared": ("baselines.pandas_tools", "load", "evaluate_shared"),
    "duckdb_per_rule": ("baselines.duckdb_tools", "load", "evaluate_per_rule"),
    "duckdb_all": ("baselines.duckdb_tools", "load", "evaluate_all"),
}


def family(tool: str) -> str:
    return TOOLS[tool][0]


def functions(tool: str) -> tuple[Callable[[str], Any], Callable[..., list[dict]]]:
    module_name, loader, evaluator = TOOLS[tool]
    module = importlib.import_module(module_name)
    return getattr(module, loader), getattr(module, evaluator)
