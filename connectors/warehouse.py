"""What every SQL-engine connector shares: the source URL, ``--table``, the header-only
workbook, and the ``SqlTable`` the engine evaluates on.

A warehouse connector is a ``Connector`` whose ``read`` returns the table's header row only
(no cells cross the wire) and which declares the ``table`` capability: ``kpirules.backends``
then wraps its ``engine()`` and ``table`` in a ``kpirules.backends.sql_table.SqlTable``, which
runs the whole plan as one query in the engine. (Connectors sit below the engine's layers:
they hand out a connection, the backends layer evaluates on it.) Rules come from ``--rules FILE`` or
from a sheet (``kpirules run SHEET --data URL --table T``).
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar
from urllib.parse import urlsplit

from kpirules.connectors.base import SQL_TABLE, RawTable, Workbook
from kpirules.errors import SourceError
from kpirules.i18n import _


def query_failed(engine: str, exc: BaseException) -> SourceError:
    """A driver's error while the query runs (a view that fails when read, a column this
    role may not select, a lost connection, a timeout) as what it is: the data could not
    be read (exit 3), not a kpirules bug. The driver's first line, without passwords."""
    from kpirules.errors import without_passwords

    text = str(exc).strip()
    reason = without_passwords(text.splitlines()[0] if text else type(exc).__name__)
    return SourceError(_("{engine} could not run the query: {reason}").format(engine=engine, reason=reason),
                       hint=_("check that the table (or view) can be read: SELECT * FROM it; "
                              "a lost connection or a timeout may pass on a retry"))


_LISTED_TABLES = 20


def resolve_table(table: str, known: dict[str, str], tables_in: Callable[[str | None], list[tuple[str, str]]],
                  *, not_found: SourceError) -> str:
    """An engine's ``resolve``: ``table`` as given to --table, as the database writes it
    (``pick_table`` among ``tables_in(schema)``, the (schema, name) pairs of the schema
    named, or of the current one for None), remembered in ``known``. A name with a catalog
    (three parts) is left as given."""
    from kpirules.sql.identifiers import split_table_name

    parts = split_table_name(table)
    if len(parts) > 2:
        return table
    if table not in known:
        known[table] = pick_table(table, tables_in(parts[-2] if len(parts) > 1 else None), not_found=not_found)
    return known[table]


def pick_table(table: str, tables: list[tuple[str, str]], *, not_found: SourceError) -> str:
    """``table`` (``[schema.]name`` as given to --table) among ``tables``, the (schema, name)
    pairs of the tables and views where the engine looks for it: the name as written when
    it exists, else the one name that differs from it only by case (DuckDB compares names
    without regard to case; PostgreSQL folds an unquoted name to lower case). Several that
    differ only by case: a ``SourceError`` naming them. None: ``not_found``, with a hint
    that lists the tables, the closest to ``table`` first."""
    from kpirules.errors import did_you_mean

    parts = table.split(".")
    qualified = len(parts) > 1

    def name(pair: tuple[str, str]) -> str:
        return ".".join(pair) if qualified else pair[1]

    names = sorted({name(pair) for pair in tables}, key=str.lower)
    if table in names:
        return table
    same = [n for n in names if n.lower() == table.lower()]
    if len(same) == 1:
        return same[0]
    if same:
        raise SourceError(_("table {table} could be any of {names}: their names differ only by case").format(
                              table=table, names=", ".join(same)),
                          hint=_("give --table exactly as one of them is written"))
    guess = did_you_mean(table, names)
    ordered = ([guess] if guess else []) + [n for n in names if n != guess]
    listed = ", ".join(ordered[:_LISTED_TABLES])
    if len(ordered) > _LISTED_TABLES:
        listed += " " + _("and {n} more").format(n=len(ordered) - _LISTED_TABLES)
    there = _("tables: {names}").format(names=listed) if ordered else _("there is no table there")
    hint_text = f"{not_found.hint}; {there}" if not_found.hint else there
    raise SourceError(not_found.message, hint=hint_text)


class WarehouseConnector:
    """Base of the SQL-engine connectors (postgresql://, duckdb://, ...)."""

    name: ClassVar[str] = ""
    schemes: ClassVar[tuple[str, ...]] = ()
    optional_tabs_free: ClassVar[bool] = True
    capabilities: ClassVar[frozenset[str]] = frozenset({SQL_TABLE})
    example: ClassVar[str] = ""
    # Days before as-of through which the table is complete, when the connector knows
    # (GA4's export: 4); None: from the data (kpirules.completeness).
    complete_lag_days: int | None = None

    def __init__(self, source: str, *, table: str | None = None, **_options: Any):
        self.source = source
        if not table:
            raise SourceError(_("{source} needs a table to read").format(source=self.redacted()),
                              hint=_("add --table [schema.]table, e.g. {example}, or set `table` in the settings "
                                     "file").format(example=self.example))
        self.table = table
        self._engine: Any = None

    @classmethod
    def matches(cls, source: str) -> bool:
        return urlsplit(source).scheme.lower() in cls.schemes

    def redacted(self) -> str:
        """The source URL without its password, for messages."""
        from kpirules.errors import without_passwords

        return without_passwords(self.source)

    def engine(self) -> Any:
        """The connection (a ``kpirules.backends.sql_table.SqlEngine``), made once."""
        if self._engine is None:
            self._engine = self.connect()
        return self._engine

    def connect(self) -> Any:  # pragma: no cover - each connector gives its own
        raise NotImplementedError

    def read(self, *, data_tab: str = "Data", rules_tab: str | None = "Rules",
             extra_tabs: tuple[str, ...] = ()) -> Workbook:
        headers = [name for name, _ in self.engine().columns(self.table)]
        return Workbook(data=RawTable(headers=headers, rows=[], sheet=self.table, header_row=1),
                        title=self.table, url=None, tabs=[self.table])
