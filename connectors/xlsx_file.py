"""Excel workbooks (.xlsx/.xlsm) through openpyxl, in read-only mode for speed.

Tabs are found by name, case-insensitively (spec/cli.md). Formula cells give the value
Excel last computed (``data_only``); a formula never computed by a spreadsheet program
reads as empty, like any blank cell.
"""

from __future__ import annotations

import os
from typing import ClassVar

from kpirules.connectors.base import RawTable, Workbook
from kpirules.errors import SourceError


def find_tab(names: list[str], wanted: str) -> str | None:
    """The tab called ``wanted``, ignoring case and surrounding spaces."""
    key = wanted.strip().casefold()
    return next((n for n in names if n.strip().casefold() == key), None)


def missing_tab(path: str, wanted: str, names: list[str]) -> SourceError:
    from kpirules.errors import did_you_mean

    guess = did_you_mean(wanted, names)
    return SourceError(
        f"{os.path.basename(path)} has no tab named {wanted!r} (tabs: {', '.join(names) or 'none'})",
        hint=f"did you mean {guess!r}? Pass --data-tab {guess!r}" if guess else
        f"add a {wanted!r} tab, or name the tab to use with --data-tab",
    )


def _trimmed(rows: list[tuple]) -> list[list]:
    # Read-only mode reports the sheet's stored dimension, which often runs past the last
    # used row; drop trailing empty rows.
    out = [list(r) for r in rows]
    while out and all(v is None or v == "" for v in out[-1]):
        out.pop()
    return out


def read_tab(ws, name: str) -> RawTable:
    rows = _trimmed(list(ws.iter_rows(values_only=True)))
    if not rows:
        return RawTable(headers=[], rows=[], sheet=name)
    headers = rows[0]
    while headers and headers[-1] in (None, ""):
        headers = headers[:-1]
    return RawTable(headers=headers, rows=rows[1:], sheet=name, header_row=1)


class XlsxConnector:
    name: ClassVar[str] = "xlsx"

    def __init__(self, source: str, **_options):
        self.path = source

    @classmethod
    def matches(cls, source: str) -> bool:
        return source.lower().endswith((".xlsx", ".xlsm"))

    def read(self, *, data_tab: str = "Data", rules_tab: str | None = "Rules",
             extra_tabs: tuple[str, ...] = ()) -> Workbook:
        import zipfile

        from openpyxl import load_workbook

        try:
            wb = load_workbook(self.path, read_only=True, data_only=True)
        except FileNotFoundError:
            raise SourceError(f"no such file: {self.path}") from None
        except (zipfile.BadZipFile, KeyError, OSError) as exc:
            raise SourceError(f"{self.path} is not a readable .xlsx workbook ({exc})",
                              hint="save it from Excel or Google Sheets as .xlsx") from None
        try:
            names = list(wb.sheetnames)
            data_name = find_tab(names, data_tab)
            if data_name is None:
                raise missing_tab(self.path, data_tab, names)
            rules_name = find_tab(names, rules_tab) if rules_tab else None
            extra = {}
            for tab in (*extra_tabs, "Settings"):
                found = find_tab(names, tab)
                if found is not None:
                    extra[tab] = read_tab(wb[found], found)
            return Workbook(
                data=read_tab(wb[data_name], data_name),
                rules=read_tab(wb[rules_name], rules_name) if rules_name else None,
                title=os.path.basename(self.path),
                url=os.path.abspath(self.path),
                tabs=names,
                extra_tabs=extra,
            )
        finally:
            wb.close()
