"""CSV files: a data table alone (spec/cli.md); the rules come from ``--rules``."""

from __future__ import annotations

import csv
import os
from typing import ClassVar

from kpirules.bulk import gc_paused
from kpirules.connectors.base import RawTable, Workbook
from kpirules.errors import SourceError


class CsvConnector:
    name: ClassVar[str] = "csv"

    def __init__(self, source: str, **_options):
        self.path = source

    @classmethod
    def matches(cls, source: str) -> bool:
        return source.lower().endswith((".csv", ".tsv", ".txt"))

    def read(self, *, data_tab: str = "Data", rules_tab: str | None = "Rules",
             extra_tabs: tuple[str, ...] = ()) -> Workbook:
        try:
            # utf-8-sig: Excel writes a byte-order mark that would otherwise stick to the
            # first header.
            with open(self.path, newline="", encoding="utf-8-sig") as fh:
                sample = fh.read(8192)
                fh.seek(0)
                with gc_paused():  # a million rows of small strings: see gc_paused
                    rows = list(csv.reader(fh, dialect=self._dialect(sample)))
        except FileNotFoundError:
            raise SourceError(f"no such file: {self.path}") from None
        except UnicodeDecodeError as exc:
            raise SourceError(f"{self.path} is not UTF-8 text ({exc.reason} at byte {exc.start})",
                              hint="save the file as CSV UTF-8") from None
        except OSError as exc:
            raise SourceError(f"cannot read {self.path}: {exc.strerror}") from None
        if not rows:
            raise SourceError(f"{self.path} is empty", hint="the first row must hold the headers")
        name = os.path.basename(self.path)
        table = RawTable(headers=rows[0], rows=rows[1:], sheet=name, header_row=1)
        return Workbook(data=table, title=name, url=os.path.abspath(self.path), tabs=[name])

    @staticmethod
    def _dialect(sample: str) -> type[csv.Dialect]:
        """Excel's CSV dialect (quotes doubled inside quoted cells) with the delimiter the
        header line uses: teams in comma-decimal locales export with ';'."""
        header = sample.split("\n", 1)[0]
        delimiter = max(",;\t", key=header.count) if any(d in header for d in ",;\t") else ","

        class Dialect(csv.excel):
            pass

        Dialect.delimiter = delimiter
        return Dialect
