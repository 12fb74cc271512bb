"""The connector interface: what every data source (CSV, xlsx, Google Sheets, plugins)
gives the engine, and what it must do to take results back.

A connector reads *raw* cells. Finding the header below a preamble, leaving totals out,
turning cells into typed columns, and reporting cells that are not what their column needs,
is the reader's job (``kpirules.read``, used by ``kpirules.table``), the same for every
source, so a Google Sheet and an xlsx file with the same cells mean the same thing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar, Protocol, runtime_checkable

from kpirules.dataclass_fast import dataclass, field

# A raw cell as a source gives it: text, a number, a bool, a native date/datetime, or None
# for an empty cell. Sheets gives dates as serial numbers (days since 1899-12-30).
Cell = Any


def column_letter(index: int) -> str:
    """0-based column index -> A1 letters (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def a1(sheet: str | None, row: int, col: int) -> str:
    """A1 reference of a 1-based row and 0-based column, e.g. ``Data!C17``."""
    ref = f"{column_letter(col)}{row}"
    if not sheet:
        return ref
    if any(not (ch.isalnum() or ch == "_") for ch in sheet):
        sheet = "'" + sheet.replace("'", "''") + "'"
    return f"{sheet}!{ref}"


class CellError(str):
    """A spreadsheet error cell (``#DIV/0!``), as its text: never a number or a date."""


class UnsavedFormula(str):
    """A formula saved without its value (``=B3*2``): the file was written by a program
    that does not compute formulas, and never saved by one that does."""


@dataclass
class RawTable:
    """A tab as read: the header row and the rows below it, cells untouched.

    ``header_row`` is the 1-based sheet row of the headers, so row ``i`` of ``rows`` sits
    on sheet row ``header_row + 1 + i`` (used to name cells in messages: ``Data!C17``)."""

    headers: list[Cell]
    rows: list[list[Cell]]
    sheet: str | None = None
    header_row: int = 1
    # What the source knows about how its text cells are written, for the reader
    # (kpirules.read): a CSV file's delimiter (`;` goes with decimal commas), a Google
    # Sheet's locale.
    delimiter: str | None = None
    locale: str | None = None

    def cell_ref(self, row_index: int, col: int) -> str:
        return a1(self.sheet, self.header_row + 1 + row_index, col)


@dataclass
class Workbook:
    """Everything a run needs from one source, read in one go."""

    data: RawTable
    rules: RawTable | None = None  # the Rules tab, if the source has one
    title: str | None = None
    url: str | None = None  # a link people can open (sheet URL, file path)
    timezone: str | None = None  # IANA name, e.g. "Europe/Warsaw" (Sheets' timeZone)
    locale: str | None = None  # e.g. "pl_PL"
    tabs: list[str] = field(default_factory=list)  # every tab the source has
    # Tabs asked for by name (History, Alerts...), keyed by the name asked for, plus the
    # "Settings" tab when the source has one. A tab that does not exist is simply absent.
    extra_tabs: dict[str, RawTable] = field(default_factory=dict)


@runtime_checkable
class Connector(Protocol):
    """A data source. Register one in the ``kpirules.connectors`` entry-point group:

        [project.entry-points."kpirules.connectors"]
        bigquery = "my_package.kpi:BigQueryConnector"
    """

    #: short name used by ``--connector NAME`` and in messages
    name: ClassVar[str]
    #: whether asking ``read`` for a tab that may not exist costs nothing (files: yes;
    #: Google Sheets: no). Read with ``getattr(conn, "optional_tabs_free", True)``.
    optional_tabs_free: ClassVar[bool]

    @classmethod
    def matches(cls, source: str) -> bool:
        """True when this connector handles ``source`` (a path, URL or key)."""
        ...

    def read(self, *, data_tab: str = "Data", rules_tab: str | None = "Rules",
             extra_tabs: tuple[str, ...] = ()) -> Workbook:
        """Read the data tab, the rules tab (if any; ``rules_tab=None`` skips it) and
        ``extra_tabs`` in one go.
        Raise ``kpirules.errors.SourceError`` with a hint when the source cannot be read."""
        ...


def is_file_of(source: str, suffixes: tuple[str, ...]) -> bool:
    """True when ``source`` is a path ending in one of ``suffixes`` (lower case): what a
    file connector claims. Not a URL with a scheme of two letters or more
    (``spark:/lake/daily.csv`` and ``duckdb:///x.csv`` are their engines' to read), unless
    a file of that name exists (a drive letter, ``C:\\``, is one letter)."""
    if not source.lower().endswith(suffixes):
        return False
    scheme, colon, _rest = source.partition(":")
    if colon and len(scheme) > 1 and scheme.replace("+", "").replace("-", "").replace(".", "").isalnum():
        import os

        return os.path.exists(source)
    return True


def as_date(value: Cell) -> dt.date | None:
    """A native date/datetime cell as a date (helper for connectors that get them)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return None


# What a connector can do beyond reading, declared in its ``capabilities`` class attribute;
# commands choose by these, never by a connector's name or by probing for methods.
SQL_TABLE = "table"  # computes the plan's aggregates where the data lives (``SqlTableSource``)
WRITE_WORKBOOK = "write-workbook"  # results written into the workbook file at ``path``
WRITE_SHEET = "write-sheet"  # results written by batchUpdates, under a lease (``SheetTarget``)
SHEET_FORMATTING = "sheet-formatting"  # ``sheet_formatting()``: tab colours, frozen rows...
TABS = "tabs"  # holds named tabs (Data, Rules, Settings...): a workbook or a sheet, not one table
TEXT_ENCODING = "text-encoding"  # decodes text with the codec set on ``encoding`` (``TextSource``)
READ_TIMEOUT = "read-timeout"  # a read gives up after ``timeout`` seconds (``TimedSource``)
COLUMN_SUBSET = "column-subset"  # ``read(columns=...)`` reads only those columns (``ColumnSubsetSource``)
GUESS_TABS = "guess-tabs"  # a read may assume tabs missing, for ``run`` to create (``GuessingSource``)


def capabilities(conn: Any) -> frozenset[str]:
    """What ``conn`` declares it can do (nothing for a connector that declares nothing)."""
    return frozenset(getattr(conn, "capabilities", ()))


@runtime_checkable
class TextSource(Protocol):
    """A connector with ``TEXT_ENCODING``: the `encoding` setting goes to ``encoding``."""

    capabilities: ClassVar[frozenset[str]]
    encoding: str | None


@runtime_checkable
class TimedSource(Protocol):
    """A connector with ``READ_TIMEOUT``: the `timeout` setting goes to ``timeout``, the
    seconds a small request (a read of a few tabs, a write) waits for its answer; how long
    to wait before reading back a write whose answer did not come (writeback/sheets.py)."""

    capabilities: ClassVar[frozenset[str]]
    timeout: float


@runtime_checkable
class ColumnSubsetSource(Protocol):
    """A connector with ``COLUMN_SUBSET``: below the data tab's first rows, ``read`` reads
    only the 0-based columns ``columns(head)`` gives for a workbook of those first rows
    (None: every column)."""

    capabilities: ClassVar[frozenset[str]]

    def read(self, *, data_tab: str = "Data", rules_tab: str | None = "Rules",
             extra_tabs: tuple[str, ...] = (), columns: Any = None) -> Workbook: ...


@runtime_checkable
class GuessingSource(Protocol):
    """A connector with ``GUESS_TABS``: when asking for a tab that is not there costs calls
    (Google Sheets), ``run`` sets ``guess_missing`` and a read that finds one tab missing
    may assume the tabs asked for after it missing too; ``guessed`` names them (the run's
    first write creates them, and is refused whole when one is there after all)."""

    capabilities: ClassVar[frozenset[str]]
    guess_missing: bool
    guessed: tuple[str, ...]


@runtime_checkable
class SqlTableSource(Protocol):
    """A connector with ``SQL_TABLE``: its ``engine()`` runs the compiled plan on ``table``.
    ``complete_lag_days``: the days before the as-of date through which the table is
    complete when the source knows it (GA4's export rewrites its last days: 4), None to
    tell from the data (kpirules.completeness). ``WarehouseConnector`` declares None."""

    capabilities: ClassVar[frozenset[str]]
    table: str
    complete_lag_days: int | None

    def engine(self) -> Any: ...


@runtime_checkable
class WorkbookTarget(Protocol):
    """A connector with ``WRITE_WORKBOOK``: a workbook file written back in place."""

    capabilities: ClassVar[frozenset[str]]
    path: str


@runtime_checkable
class SheetTarget(Protocol):
    """A connector with ``WRITE_SHEET``: batchUpdates whose outcome it reads back."""

    capabilities: ClassVar[frozenset[str]]

    @property
    def sheet_ids(self) -> dict[str, int]: ...

    def batch_update(self, requests: list[dict], *, idempotent: bool = False) -> dict: ...
