"""Data-source connectors, found through the ``kpirules.connectors`` entry-point group.

The built-ins (csv, xlsx, gsheets) are registered in that group by our own pyproject.toml,
exactly as a third-party plugin would be. When the package runs without its metadata (from a
source checkout that was never installed) the built-ins are still found.
"""

from __future__ import annotations

from typing import Any

from kpirules.connectors.base import Connector, RawTable, Workbook, a1, column_letter

__all__ = ["Connector", "RawTable", "Workbook", "a1", "column_letter", "available", "get", "open_source"]

ENTRY_POINT_GROUP = "kpirules.connectors"
_BUILTINS = {
    "csv": "kpirules.connectors.csv_file:CsvConnector",
    "xlsx": "kpirules.connectors.xlsx_file:XlsxConnector",
    "gsheets": "kpirules.connectors.gsheets:GoogleSheetsConnector",
}


def _load(target: str) -> type:
    import importlib

    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def available() -> dict[str, str]:
    """Connector name -> ``module:attr``; plugins first, built-ins as the fallback."""
    from importlib.metadata import entry_points

    found = dict(_BUILTINS)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found[ep.name] = ep.value
    return found


def get(name: str) -> type:
    """The connector class registered as ``name``."""
    from kpirules.errors import SourceError, did_you_mean

    registry = available()
    if name not in registry:
        guess = did_you_mean(name, registry)
        raise SourceError(
            f"no connector named {name!r}",
            hint=f"did you mean {guess!r}?" if guess else f"available: {', '.join(sorted(registry))}",
        )
    return _load(registry[name])


def open_source(source: str, connector: str | None = None, **options: Any) -> Connector:
    """The connector for ``source``: the one named, else the first that matches it.

    Plugins are asked before the built-ins so that a plugin can claim a source shape the
    built-ins would reject."""
    from kpirules.errors import SourceError

    if connector:
        return get(connector)(source, **options)
    registry = available()
    order = [n for n in registry if n not in _BUILTINS] + [n for n in _BUILTINS if n in registry]
    for name in order:
        cls = _load(registry[name])
        if cls.matches(source):
            return cls(source, **options)
    raise SourceError(
        f"cannot tell what kind of source {source!r} is",
        hint="give a .csv or .xlsx file, or a Google Sheets URL or key (or --connector NAME)",
    )
