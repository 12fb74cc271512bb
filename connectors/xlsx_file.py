"""Excel workbooks (.xlsx/.xlsm), read with python-calamine (a Rust reader, 8-12x faster
than openpyxl, which stays for writing).

Tabs are found by name, case-insensitively (spec/cli.md). Formula cells give the value
Excel last computed. calamine reads error cells and formulas saved without a value as
empty; ``connectors.xlsx_cells`` finds them in the data tab so that they are reported with
their address instead of silently counting as blanks.

openpyxl reads a workbook only when calamine refuses it (``_openpyxl_tables``): calamine
is strict about the package (an XML part it cannot parse, a workbook part it does not
expect), while openpyxl, which this package needs anyway for writing, reads some such files
written by other tools.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

from kpirules.connectors.base import TABS, WRITE_WORKBOOK, RawTable, Workbook, is_file_of
from kpirules.errors import SourceError
from kpirules.i18n import _


def find_tab(names: list[str], wanted: str) -> str | None:
    """The tab called ``wanted``, ignoring case and surrounding spaces."""
    key = wanted.strip().casefold()
    return next((n for n in names if n.strip().casefold() == key), None)


def missing_tab(path: str, wanted: str, names: list[str]) -> SourceError:
    from kpirules.errors import did_you_mean

    guess = did_you_mean(wanted, names)
    return SourceError(
        _("{book} has no tab named {tab} (tabs: {tabs})").format(
            book=os.path.basename(path), tab=repr(wanted), tabs=", ".join(names) or _("none")),
        hint=tab_hint(wanted, guess),
    )


def tab_hint(wanted: str, guess: str | None) -> str:
    """What to do about a missing tab ``wanted`` (``guess``: the tab probably meant)."""
    if guess:
        return _("did you mean {guess}? Pass --data-tab {guess}").format(guess=repr(guess))
    return _("add a {tab} tab, or name the tab to use with --data-tab").format(tab=repr(wanted))


def _trimmed(rows: list) -> list[list]:
    # A sheet's stored dimension often runs past the last used row; drop trailing empty rows.
    out = rows if rows and isinstance(rows[0], list) else [list(r) for r in rows]
    while out and all(v is None or v == "" for v in out[-1]):
        out.pop()
    return out


def read_tab(ws, name: str) -> RawTable:
    """An openpyxl worksheet as a RawTable (kept for tabs read through openpyxl)."""
    return table_of(_trimmed(list(ws.iter_rows(values_only=True))), name)


def table_of(rows: list[list], name: str, *, blanks_as_none: bool = False) -> RawTable:
    """Rows starting at A1 as a RawTable whose first row is the header row (the reader
    finds the real header below any preamble). ``blanks_as_none``: calamine's ``""`` for
    an empty cell becomes None, as openpyxl gives it (small tabs: Rules, Settings...)."""
    if blanks_as_none:
        rows = [[None if v == "" else v for v in r] for r in rows]
    if not rows:
        return RawTable(headers=[], rows=[], sheet=name)
    headers = list(rows[0])
    while headers and headers[-1] in (None, ""):
        headers.pop()
    return RawTable(headers=headers, rows=rows[1:], sheet=name, header_row=1)


class XlsxConnector:
    name: ClassVar[str] = "xlsx"
    capabilities: ClassVar[frozenset[str]] = frozenset({WRITE_WORKBOOK, TABS})

    def __init__(self, source: str, **_options):
        self.path = source

    @classmethod
    def matches(cls, source: str) -> bool:
        return is_file_of(source, (".xlsx", ".xlsm"))

    def read(self, *, data_tab: str = "Data", rules_tab: str | None = "Rules",
             extra_tabs: tuple[str, ...] = ()) -> Workbook:
        if not os.path.exists(self.path):
            raise SourceError(_("no such file: {path}").format(path=self.path))
        import python_calamine

        try:
            book = python_calamine.CalamineWorkbook.from_path(self.path)
        except python_calamine.CalamineError as exc:
            return self._with_openpyxl(data_tab, rules_tab, extra_tabs, reason=str(exc))
        except OSError as exc:
            raise SourceError(_("cannot read {path}: {reason}").format(path=self.path, reason=exc)) from None
        try:
            names = list(book.sheet_names)
            data_name = find_tab(names, data_tab)
            if data_name is None:
                raise missing_tab(self.path, data_tab, names)
            wanted = {"rules": find_tab(names, rules_tab) if rules_tab else None}
            for tab in (*extra_tabs, "Settings"):
                wanted[f"extra:{tab}"] = find_tab(names, tab)
            from kpirules.bulk import gc_paused

            with gc_paused():  # a list a row, never garbage (History grows every day)
                data = self._data_tab(book, data_name)
                # The rules too: a rule cell with #REF! or an unsaved formula is no empty row.
                tables = {key: table_of(self._put_back(_rows(book, found), found, empty="") if key == "rules"
                                        else _rows(book, found), found, blanks_as_none=True)
                          for key, found in wanted.items() if found is not None}
        except python_calamine.CalamineError as exc:
            return self._with_openpyxl(data_tab, rules_tab, extra_tabs, reason=str(exc))
        finally:
            book.close()
        return Workbook(
            data=data,
            rules=tables.get("rules"),
            title=os.path.basename(self.path),
            url=os.path.abspath(self.path),
            tabs=names,
            extra_tabs={k[6:]: t for k, t in tables.items() if k.startswith("extra:")},
        )

    def _data_tab(self, book: Any, name: str) -> RawTable:
        """The data tab, with the cells calamine reads as empty put back: error cells and
        formulas without a value (connectors.xlsx_cells)."""
        return table_of(self._put_back(_rows(book, name), name, empty=""), name)

    def _put_back(self, rows: list[list], name: str, *, empty: object) -> list[list]:
        """``rows`` of tab ``name`` with each cell read as ``empty`` that holds an error or
        a formula without a value in the file given that value: a formula saved without
        its value is never a blank (openpyxl reads it as None, calamine as "")."""
        from kpirules.connectors.base import CellError
        from kpirules.connectors.xlsx_cells import hidden_cells

        for (r, c), value in hidden_cells(self.path, name).items():
            # openpyxl reads an error cell as its text: the same error, made a CellError.
            if r < len(rows) and c < len(rows[r]) and (
                    rows[r][c] == empty or (isinstance(value, CellError) and rows[r][c] == value)):
                rows[r][c] = value
        return rows

    def _with_openpyxl(self, data_tab: str, rules_tab: str | None, extra_tabs: tuple[str, ...], *,
                       reason: str) -> Workbook:
        import zipfile

        from openpyxl import load_workbook

        try:
            wb = load_workbook(self.path, read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            from kpirules.read.file_kind import not_xlsx

            other = not_xlsx(self.path)
            if other is not None:
                raise other from None
            raise SourceError(_("{path} is not a readable .xlsx workbook ({reason})").format(
                path=self.path, reason=reason or exc),
                hint=_("save it from Excel or Google Sheets as .xlsx")) from None
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
            data = self._put_back(_trimmed(list(wb[data_name].iter_rows(values_only=True))), data_name, empty=None)
            return Workbook(
                data=table_of(data, data_name),
                rules=table_of(self._put_back(_trimmed(list(wb[rules_name].iter_rows(values_only=True))),
                                              rules_name, empty=None), rules_name) if rules_name else None,
                title=os.path.basename(self.path),
                url=os.path.abspath(self.path),
                tabs=names,
                extra_tabs=extra,
            )
        finally:
            wb.close()


def _rows(book: Any, name: str) -> list[list]:
    # skip_empty_area=False: rows and columns start at A1, so cell addresses stay right.
    return _trimmed(book.get_sheet_by_name(name).to_python(skip_empty_area=False))
