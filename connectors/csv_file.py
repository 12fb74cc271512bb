"""CSV files: a data table alone (spec/cli.md); the rules come from ``--rules``.

The encoding (UTF-8 with or without a byte-order mark, UTF-16, Windows-1250/1252, or the
``encoding`` setting) and the delimiter (``,`` ``;`` tab ``|``) are decided by
``kpirules.read.text``; the header, totals, dates and numbers by the reader's recipe when
the table is loaded (``kpirules.read.recipe``).
"""

from __future__ import annotations

import os
from typing import ClassVar

from kpirules.connectors.base import TEXT_ENCODING, RawTable, Workbook, is_file_of
from kpirules.errors import SourceError
from kpirules.i18n import _


class CsvConnector:
    name: ClassVar[str] = "csv"
    capabilities: ClassVar[frozenset[str]] = frozenset({TEXT_ENCODING})

    def __init__(self, source: str, *, encoding: str | None = None, **_options):
        self.path = source
        self.encoding = encoding  # the `encoding` setting; None: detected
        self.codec: str | None = None  # the codec the last read used

    @classmethod
    def matches(cls, source: str) -> bool:
        return is_file_of(source, (".csv", ".tsv", ".txt"))

    def read(self, *, data_tab: str = "Data", rules_tab: str | None = "Rules",
             extra_tabs: tuple[str, ...] = ()) -> Workbook:
        from kpirules.read.text import read_rows

        rows, self.codec, delimiter = read_rows(self.path, encoding=self.encoding)
        if not rows:
            raise SourceError(_("{path} is empty").format(path=self.path),
                              hint=_("the first row must hold the headers"))
        name = os.path.basename(self.path)
        table = RawTable(headers=rows[0], rows=rows[1:], sheet=name, header_row=1, delimiter=delimiter)
        return Workbook(data=table, title=name, url=os.path.abspath(self.path), tabs=[name])

    @staticmethod
    def _dialect(sample: str):
        """The csv dialect of a file starting with ``sample`` (kpirules.read.text)."""
        from kpirules.read.text import dialect, sniff_delimiter

        return dialect(sniff_delimiter(sample))
