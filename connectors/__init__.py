"""Data-source connectors, found through the ``kpirules.connectors`` entry-point group.

Every built-in (csv, xlsx, gsheets, the warehouses) is registered in that group by our own
pyproject.toml, exactly as a third-party plugin is, and ``--connector NAME`` finds any of
them there (kpirules.plugins: the checkout's pyproject.toml when kpirules runs
uninstalled). The file and sheet connectors are also asked first, by module, so that
opening a .csv, .xlsx or Sheets URL reads no package metadata (start-up time).
"""

from __future__ import annotations

from typing import Any

from kpirules.connectors.base import Connector, RawTable, Workbook, a1, column_letter

__all__ = ["Connector", "RawTable", "Workbook", "a1", "column_letter", "available", "get", "open_source"]

ENTRY_POINT_GROUP = "kpirules.connectors"
# Asked first, without reading the entry points: the shapes a quick `check` opens. Each is
# in the entry-point group too; a new connector needs no line here.
_FIRST = {
    "csv": "kpirules.connectors.csv_file:CsvConnector",
    "xlsx": "kpirules.connectors.xlsx_file:XlsxConnector",
    "gsheets": "kpirules.connectors.gsheets:GoogleSheetsConnector",
}


def _load(target: str) -> Any:
    import importlib

    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def available() -> dict[str, str]:
    """Connector name -> ``module:attr``: the entry-point group (a plugin may replace a
    built-in by its name)."""
    from kpirules.plugins import declared

    return {**_FIRST, **declared(ENTRY_POINT_GROUP)}


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
    """The connector for ``source``: the one named, else the first that matches it
    (``connector_class``), opened with ``options``."""
    return connector_class(source, connector)(source, **options)


def connector_class(source: str, connector: str | None = None) -> Any:
    """The connector class for ``source``: the one named, else the first that matches it.

    The file and sheet connectors are asked first for the shapes they know (.csv, .xlsx,
    Sheets URLs and keys): that costs no scan of the installed packages' entry points,
    which is most of a quick ``check``'s start-up. Any other source is offered to every
    other connector of the group (the warehouses, plugins). A plugin that should handle a
    built-in shape is chosen by name: ``--connector NAME``."""
    from kpirules.errors import SourceError

    if connector:
        return get(connector)
    for target in _FIRST.values():
        cls = _load(target)
        if cls.matches(source):
            return cls
    for name, target in available().items():
        if name in _FIRST and target == _FIRST[name]:
            continue
        cls = _load(target)
        if cls.matches(source):
            return cls
    from kpirules.i18n import _
    from kpirules.read.file_kind import other_format

    unread = other_format(source)
    if unread is not None:
        raise unread
    raise SourceError(
        _("cannot tell what kind of source {source} is").format(source=repr(source)),
        hint=_("give a .csv or .xlsx file, or a Google Sheets URL or key (or --connector NAME)"),
    )
