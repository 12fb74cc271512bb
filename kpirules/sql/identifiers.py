"""Names that reach SQL as identifiers: checked to be plain names, never SQL."""

from __future__ import annotations

from kpirules.errors import SourceError


def split_table_name(name: str) -> list[str]:
    """``schema.table`` -> parts; each part a plain identifier (letters, digits, ``_``,
    ``$``, ``-`` for BigQuery projects), never SQL."""
    parts = name.split(".")
    for part in parts:
        if not part or not all(ch.isalnum() or ch in "_$-" for ch in part):
            raise SourceError(f"`{name}` is not a table name",
                              hint="give --table as [schema.]table, letters, digits and _ only")
    return parts
