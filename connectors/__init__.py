"""Data-source connectors, found through the ``kpirules.connectors`` entry-point group.

The built-ins (csv, xlsx, gsheets) are registered in that group by our own pyproject.toml,
exactly as a third-party plugin would be, and ``--connector NAME`` finds any of them there.
When the package runs without its metadata (from a source checkout that was never
installed) the built-ins are still found.
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
    "postgresql": "kpirules.connectors.postgres:PostgresConnector",
    "duckdb": "kpirules.connectors.duckdb_db:DuckDbConnector",
    "spark": "kpirules.connectors.spark:SparkConnector",
    "snowflake": "kpirules.connectors.snowflake:SnowflakeConnector",
    "bigquery": "kpirules.connectors.bigquery:BigQueryConnector",
}


def _load(target: str) -> Any:
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


def get(name: str) -> Any:
    """The connector class registered as ``name``."""
    from kpirules.errors import SourceError, did_you_mean

    registry = available()
    if name not in registry:
        guess = did_you_mean(name, registry)
        from kpirules.i18n import _

        raise SourceError(
            _("no connector named {name}").format(name=repr(name)),
            hint=_("did you mean {guess}?").format(guess=repr(guess)) if guess else
            _("available: {names}").format(names=", ".join(sorted(registry))),
        )
    return _load(registry[name])


def open_source(source: str, connector: str | None = None, **options: Any) -> Connector:
    """The connector for ``source``: the one named, else the first that matches it.

    The built-ins are asked first for the shapes they know (.csv, .xlsx, Sheets URLs and
    keys): that costs no scan of the installed packages' entry points, which is most of a
    quick ``check``'s start-up. Any other source is offered to the plugins. A plugin that
    should handle a built-in shape is chosen by name: ``--connector NAME``."""
    from kpirules.errors import SourceError

    if connector:
        return get(connector)(source, **options)
    for target in _BUILTINS.values():
        cls = _load(target)
        if cls.matches(source):
            return cls(source, **options)
    for name, target in available().items():
        if name in _BUILTINS:
            continue
        cls = _load(target)
        if cls.matches(source):
            return cls(source, **options)
    from kpirules.i18n import _

    raise SourceError(
        _("cannot tell what kind of source {source} is").format(source=repr(source)),
        hint=_("give a .csv or .xlsx file, or a Google Sheets URL or key (or --connector NAME)"),
    )
