"""The read recipe of a raw table: where its header is, what is above and below the data,
which column holds the dates and how they are written, and the evidence for its numbers.

``shape`` looks at the head and the tail of the table (never every row), so the same
recipe serves the Python path (``kpirules.table``) and the DuckDB path
(``kpirules.backends.duckdb_table``), which executes it in SQL.

- Header: the first row, below any preamble (GA4's ``#`` comments, Google Ads' and
  LinkedIn's title rows, report metadata, blanks), that is as wide as the data and holds
  text only. A table with none such keeps its first row.
- Totals: rows labelled ``Total``/``Totals``/``Total: Account``/``Grand total`` right below
  the header or at the bottom, unlabelled total rows at the bottom (numbers under a blank
  date, as Universal Analytics writes them, when one of them is its column's sum: else the
  row is data without a date, an error), and notes without numbers at the bottom.
- Date column: the one named by the ``date_column`` setting (``date`` by default); when no
  header is ``date``, the one column holding text dates or date cells (never plain numbers).
"""

from __future__ import annotations

import re

from kpirules.connectors.base import RawTable, column_letter
from kpirules.errors import SourceError
from kpirules.i18n import _
from kpirules.names import normalise
from kpirules.read import dates as dates_mod
from kpirules.read import numbers
from kpirules.read.exports import Export, recognise

_DIGIT = re.compile(r"\d")
HEAD_ROWS = 60  # rows looked at for the header and for the date column
TAIL_ROWS = 60  # rows looked at, from the bottom, for totals and notes
DEFAULT_DATE_COLUMN = "date"
_TOTAL = re.compile(r"^\s*(?:grand\s+)?totals?\b|^\s*(?:suma|razem|gesamt|summe)\b", re.IGNORECASE)
# Start/end columns of rows that may span several days, for any export (exports.py adds
# the known exports' own).
_SPANS = (("reporting_starts", "reporting_ends"), ("start_date", "end_date"),
          ("start_date_in_utc", "end_date_in_utc"))


class ReadOptions:
    """What the reader is told: settings, and what the connector knows of the file.
    (Plain classes here, not dataclasses: defining one costs a millisecond of a quick
    `check`'s start-up.)"""

    __slots__ = ("date_column", "date_format", "locale", "sheet_locale", "delimiter")

    def __init__(self, date_column: str = DEFAULT_DATE_COLUMN, date_format: str | None = None,
                 locale: str | None = None, sheet_locale: str | None = None, delimiter: str | None = None):
        self.date_column = date_column
        self.date_format = date_format
        self.locale = locale  # the `locale` setting
        self.sheet_locale = sheet_locale  # a Google Sheet's own locale
        self.delimiter = delimiter  # a CSV file's delimiter (`;` goes with decimal commas)

    @classmethod
    def of(cls, settings=None, workbook=None, date_column: str | None = None) -> ReadOptions:
        return cls(
            date_column=date_column or (settings.date_column if settings else DEFAULT_DATE_COLUMN),
            date_format=getattr(settings, "date_format", None),
            locale=getattr(settings, "locale", None),
            sheet_locale=getattr(workbook, "locale", None),
            delimiter=getattr(workbook, "delimiter", None))


class Recipe:
    """How a table is read, as ``shape`` decided it."""

    def __init__(self, *, header_index: int, date_index: int, dates: dates_mod.DateReader,
                 decimal_hint: str | None, decimal_setting: str | None, export: Export | None,
                 preamble: int, date_where: str, date_hint: str | None, date_format: str | None):
        self.header_index = header_index  # of the header row among [headers, *rows] of the raw table
        self.date_index = date_index  # column of the dates
        self.dates = dates
        self.decimal_hint = decimal_hint  # the file's evidence for columns that do not decide alone
        self.decimal_setting = decimal_setting  # the `locale` setting's decimal mark: it wins
        self.export = export
        self.preamble = preamble  # non-blank rows above the header
        self.top_totals = 0  # rows right below the header left out (blanked in the shaped rows)
        self.top_rows = 0  # rows below the header down to the last of those totals (blanks between too)
        self.bottom_rows = 0  # rows at the bottom left out (totals, notes, blanks)
        self.bottom_totals = 0  # of which total rows
        self.span_index: int | None = None  # the end column when rows may span several days
        self.warnings: list[str] = []
        self.date_where = date_where  # the date column, as messages name it
        self.date_hint = date_hint  # the evidence for day/month order
        self.date_format = date_format  # the `date_format` setting

    def decide_dates(self, values: set) -> None:
        """The final date reader, from every distinct text date of the column: raises
        ``SourceError`` when 1/2/2026 could be either order and nothing says which."""
        self.dates = dates_mod.DateReader.for_column(
            {v for v in values if type(v) is str}, where=self.date_where, fmt=self.date_format,
            hint=self.date_hint)

    @property
    def comma_possible(self) -> bool:
        """Whether a column may be read with decimal commas without proving it itself
        (then its plain-looking cells are not plain: "1.500" is 1500)."""
        return (self.decimal_setting or self.decimal_hint) == numbers.COMMA

    def decimal_for(self, cells) -> str | None:
        return numbers.decide(cells, self.decimal_hint, self.decimal_setting)


def no_data_error(where: str) -> SourceError:
    """The one error for a tab (or file) with headers and nothing below them: the reader
    raises it, and so does the table when every row it was given is blank."""
    return SourceError(_("{where} holds no data: nothing below its header row").format(where=where),
                       hint=_("export or paste the data into it (or name another tab with --data-tab, "
                              "or data_tab in the settings)"))


def is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _width(row) -> int:
    return sum(1 for v in row if not is_blank(v))


def _is_comment(row) -> bool:
    first = next((v for v in row if not is_blank(v)), None)
    return isinstance(first, str) and first.lstrip().startswith("#")


def _is_text_row(row) -> bool:
    # A cell without a digit is text (no number or date is written without one).
    return all(is_blank(v) or (isinstance(v, str) and (not _DIGIT.search(v) or (
        not numbers.looks_numeric(v) and not dates_mod.looks_like_date(v)))) for v in row)


def is_total(row, date_index: int | None = None) -> bool:
    """A row labelled as a total in one of its first three cells (or its date cell)."""
    cells = [v for v in row[:3] if isinstance(v, str)]
    if date_index is not None and date_index < len(row) and isinstance(row[date_index], str):
        cells.append(row[date_index])
    return any(_TOTAL.match(v) for v in cells)


def find_header(head: list[list]) -> tuple[int, int]:
    """(index of the header row in ``head``, non-blank rows above it)."""
    widths = [_width(r) for r in head]
    wide = max((w for r, w in zip(head, widths) if not _is_comment(r)), default=0)
    need = max(2, (wide + 1) // 2)
    above = 0
    for i, (row, width) in enumerate(zip(head, widths)):
        if width == 0:
            continue
        if width >= need and not _is_comment(row) and _is_text_row(row):
            return i, above
        above += 1
    first = next((i for i, (r, w) in enumerate(zip(head, widths)) if w and not _is_comment(r)), 0)
    return first, sum(1 for w in widths[:first] if w)


def _find_date_column(names: list[str], headers: list, sample: list[list], options: ReadOptions,
                      sheet: str | None, export: Export | None) -> int:
    wanted = normalise(options.date_column)
    if wanted in names:
        return names.index(wanted)
    if export is not None and wanted == DEFAULT_DATE_COLUMN:
        known = next((c for c in export.date_columns if c in names), None)
        if known is not None:
            return names.index(known)
    where = _where(sheet)
    shown = ", ".join(str(h) for h in headers if not is_blank(h)) or _("none")
    if wanted != DEFAULT_DATE_COLUMN:
        raise SourceError(_("{where} has no `{column}` column (headers: {headers})").format(
            where=where, column=options.date_column, headers=shown),
            hint=_("set `date_column` to the header of the column that holds each row's date"))
    candidates = []
    for col, name in enumerate(names):
        if not name:
            continue
        cells = [r[col] for r in sample if col < len(r) and not is_blank(r[col]) and not is_total(r)]
        if cells and sum(1 for c in cells if dates_mod.looks_like_date(c)) >= 0.8 * len(cells):
            candidates.append(col)
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise SourceError(_("{where} has no `date` column and no column of dates (headers: {headers})").format(
            where=where, headers=shown),
            hint=_("name the column that holds each row's date `date`, or set `date_column`"))
    listed = ", ".join(f"`{headers[c]}`" for c in candidates)
    raise SourceError(_("{where} has no `date` column and several columns of dates: {columns}").format(
        where=where, columns=listed),
        hint=_("set `date_column` to the one that holds each row's date, e.g. {example}").format(
            example=f'date_column = "{headers[candidates[0]]}"'))


def _where(sheet: str | None) -> str:
    """The data tab as messages name it."""
    return _("the data") if sheet is None else _("the {sheet} tab").format(sheet=sheet)


def _hint_order(options: ReadOptions, export: Export | None) -> str | None:
    if options.locale:
        return dates_mod.order_of_locale(options.locale)
    if export is not None and export.date_order:
        return export.date_order
    if options.sheet_locale:
        return dates_mod.order_of_locale(options.sheet_locale)
    return dates_mod.DAY_FIRST if options.delimiter == ";" else None


def _hint_decimal(options: ReadOptions, export: Export | None) -> str | None:
    if export is not None and export.decimal:
        return export.decimal
    if options.sheet_locale:
        return numbers.mark_of_locale(options.sheet_locale)
    return numbers.COMMA if options.delimiter == ";" else None


def shape(raw: RawTable, options: ReadOptions = ReadOptions(), *, partial: bool = False
          ) -> tuple[RawTable, Recipe]:
    """The table below its header with totals left out (rows keep their sheet row numbers:
    totals right below the header become empty rows), and its recipe. ``partial``: the
    rows are a sample (head and tail); ``NeedsAllRows`` when that cannot decide."""
    rows = raw.rows
    head = [list(raw.headers), *rows[:HEAD_ROWS]]
    h, preamble = find_header(head)
    if h:
        headers, rows = rows[h - 1], rows[h:]
        header_row = raw.header_row + h
    else:
        headers, header_row = list(raw.headers), raw.header_row
    headers = list(headers)
    fields = len(headers)  # with the blank ones at the end: a CSV row may have as many
    while headers and is_blank(headers[-1]):
        headers.pop()
    where = _where(raw.sheet)
    if not headers:
        raise SourceError(_("{where} is empty").format(where=where),
                          hint=_("export or paste the data, with its header row, into it"))
    if not any(_width(r) for r in rows):
        raise no_data_error(where)
    names = [normalise(h) if not is_blank(h) else "" for h in headers]
    export = recognise(set(names))
    date_index = _find_date_column(names, headers, rows[:HEAD_ROWS], options, raw.sheet, export)
    where = (_("column {letter} (`{header}`) of {sheet}") if raw.sheet else _("column {letter} (`{header}`)")).format(
        letter=column_letter(date_index), header=headers[date_index], sheet=raw.sheet)
    # A first reader from the head and the tail, good enough to tell dated rows from
    # totals; the table decides the final one from every distinct date (decide_dates).
    sample = rows[:HEAD_ROWS] + rows[max(HEAD_ROWS, len(rows) - TAIL_ROWS):]
    hint = _hint_order(options, export)
    reader = dates_mod.DateReader.guess(
        {v for r in sample if date_index < len(r) and type(v := r[date_index]) is str},
        fmt=options.date_format, hint=hint)
    recipe = Recipe(header_index=h, date_index=date_index, dates=reader,
                    decimal_hint=_hint_decimal(options, export),
                    decimal_setting=numbers.mark_of_locale(options.locale), export=export,
                    preamble=preamble, date_where=where, date_hint=hint, date_format=options.date_format)
    rows = _drop_totals(rows, recipe, partial)
    if not any(_width(r) for r in rows):
        raise SourceError(_("{where} holds no data: only totals below its header row").format(where=where),
                          hint=_("export the report with its rows, not only its totals"))
    if raw.delimiter is not None:
        _check_widths(rows, fields, headers, raw.sheet, header_row)
    _check_spans(names, rows, recipe, options, raw.sheet, header_row)
    recipe.warnings = _warnings(recipe, raw.sheet)
    return RawTable(headers=headers, rows=rows, sheet=raw.sheet, header_row=header_row), recipe


def _dated(row, recipe: Recipe) -> bool:
    i = recipe.date_index
    return i < len(row) and recipe.dates(row[i]) is not None


def _has_number(row, skip: int) -> bool:
    return any(numbers.looks_numeric(v) for j, v in enumerate(row) if j != skip)


class NeedsAllRows(Exception):
    """The recipe cannot be decided from a sample: every row is needed (the DuckDB backend
    hands such a file to the Python path)."""


def _is_sum_row(row: list, above: list[list], recipe: Recipe, partial: bool) -> bool:
    """Whether a number of ``row`` is the sum of its column over the rows ``above``."""
    if partial:
        raise NeedsAllRows("a row without a date at the bottom: is it a total?")
    import math

    for j, value in enumerate(row):
        if j == recipe.date_index or not numbers.looks_numeric(value):
            continue
        total = _number(value, recipe)
        cells = [_number(r[j], recipe) for r in above if j < len(r)]
        column = math.fsum(c for c in cells if c is not None)
        if total is not None and abs(total - column) <= 0.005 * max(1.0, abs(column)):
            return True
    return False


def _number(value, recipe: Recipe) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        read = numbers.read_text(value, recipe.decimal_setting or recipe.decimal_hint or numbers.DOT)
        return read if type(read) is float else None
    return None


def _drop_totals(rows: list[list], recipe: Recipe, partial: bool = False) -> list[list]:
    top = 0
    blanked = []
    for i, row in enumerate(rows[:TAIL_ROWS]):
        if _width(row) == 0:
            continue
        if is_total(row, recipe.date_index) and not _dated(row, recipe):
            blanked.append(i)
            continue
        break
    if blanked:
        rows = list(rows)
        for i in blanked:
            rows[i] = []  # an empty row keeps the row numbers of the rows below
        top = len(blanked)
        recipe.top_rows = blanked[-1] + 1
    end = len(rows)
    totals = 0
    while end > 0 and len(rows) - end < TAIL_ROWS:
        row = rows[end - 1]
        if _width(row) == 0:
            end -= 1
            continue
        if _dated(row, recipe):
            break
        date_cell = row[recipe.date_index] if recipe.date_index < len(row) else None
        if is_total(row, recipe.date_index):
            totals += 1
        elif _has_number(row, recipe.date_index):
            # Numbers under a blank date: a total without a label (Universal Analytics)
            # when one of them is its column's sum, else a data row missing its date,
            # which the table reports.
            if not is_blank(date_cell) or not _is_sum_row(row, rows[:end - 1], recipe, partial):
                break
            totals += 1
        end -= 1
    recipe.top_totals, recipe.bottom_rows, recipe.bottom_totals = top, len(rows) - end, totals
    return rows[:end] if end < len(rows) else rows


def _check_widths(rows: list[list], fields: int, headers: list, sheet: str | None, header_row: int) -> None:
    """A CSV row with a number right of the header row's last field: its cells do not line
    up with the headers (``1,234`` unquoted in a comma-separated file is two cells), so
    the numbers left of it may sit under the wrong header. Never read as it stands: that
    would be a verdict on shifted numbers. (Text there is a note beside the data; a
    sheet's columns always line up: only delimited text is checked.)"""
    if max(map(len, rows), default=0) <= fields:
        return
    from kpirules.connectors.base import a1

    for i, row in enumerate(rows):
        col = next((j for j in range(fields, len(row)) if numbers.looks_numeric(row[j])), None)
        if col is None:
            continue
        raise SourceError(
            _("{cell} holds {value} right of the last header ({header}): row {row} has {n} cells, "
              "the header row {fields}").format(
                cell=a1(sheet, header_row + 1 + i, col), value=repr(row[col]),
                header=a1(sheet, header_row, len(headers) - 1), row=header_row + 1 + i,
                n=len(row), fields=fields),
            hint=_("a cell with the delimiter in it (1,234 or Sale, spring in a comma-separated "
                   "file) is two cells: quote such cells, or export numbers without thousands "
                   "separators; a column of values needs a header"))


def _check_spans(names: list[str], rows: list[list], recipe: Recipe, options: ReadOptions,
                 sheet: str | None, header_row: int) -> None:
    pairs = list(_SPANS) + ([recipe.export.span] if recipe.export and recipe.export.span else [])
    start = names[recipe.date_index]
    end_name = next((e for s, e in pairs if s == start and e in names), None)
    if end_name is None:
        return
    end = names.index(end_name)
    recipe.span_index = end
    from kpirules.connectors.base import a1

    for i, row in enumerate(rows):
        if end >= len(row) or recipe.date_index >= len(row):
            continue
        a, b = recipe.dates(row[recipe.date_index]), recipe.dates(row[end])
        if a is not None and b is not None and a != b:
            import datetime as dt

            raise SourceError(
                a1(sheet, header_row + 1 + i, recipe.date_index) + ": "
                + _("the row covers {start} to {end}, not one day; daily rules need one day per row").format(
                    start=dt.date.fromordinal(a), end=dt.date.fromordinal(b)),
                hint=_("export the report broken down by day (Meta Ads Manager: Breakdown > By time "
                       "> Day; LinkedIn: Time breakdown > Daily)"))


def _warnings(recipe: Recipe, sheet: str | None) -> list[str]:
    parts = []
    if recipe.preamble:
        parts.append(f"{recipe.preamble} title row{'s' if recipe.preamble != 1 else ''}")
    totals = recipe.top_totals + recipe.bottom_totals
    if totals:
        parts.append(f"{totals} total row{'s' if totals != 1 else ''}")
    # Blank rows and notes at the bottom go unsaid: they hold no numbers.
    if not parts and recipe.export is None:
        return []
    what = f"read as a {recipe.export.name} report" if recipe.export else f"read {sheet or 'the data'}"
    if not parts:
        return [what]
    return [f"{what}: {' and '.join(parts)} left out"]
