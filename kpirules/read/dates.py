"""Dates as exports write them, read per column.

ISO (``2026-10-01``, ``2026/10/01``, with a time and a zone: the date part as written),
``20261001``, ``01.10.2026``, ``1/10/2026`` or ``10/1/2026``, two-digit years (``1/1/20``
is 2020), ``Oct 01, 2026 10:00 am``, ``1 Oct 2026``, typed date cells and spreadsheet
serials; anything else through the ``date_format`` setting (``strptime`` codes).

Whether ``01/02/2026`` is the 1st of February or the 2nd of January is decided once per
column (``DateReader.for_column``): a value above 12 in the first place proves day first, in
the second place month first; otherwise the reader's evidence (a ``locale`` setting, the
sheet's locale, a known export); otherwise an error naming the column, never a guess.
"""

from __future__ import annotations

import datetime as dt
import math
import re

from kpirules.errors import SourceError
from kpirules.i18n import _
from kpirules.read import LazyPattern

_SERIAL_EPOCH = dt.date(1899, 12, 30).toordinal()  # Sheets/Excel day 0 (1900 leap bug included)
_ISO = re.compile(r"^\s*(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:$|[ T])")
_COMPACT = LazyPattern(r"^\s*(\d{4})(\d{2})(\d{2})\s*$")
_DOTTED = LazyPattern(r"^\s*(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})\.?(?:$|[ T,])")
_SLASHED = re.compile(r"^\s*(\d{1,2})([/-])(\d{1,2})\2(\d{4}|\d{2})(?:$|[ T,])")
_MONTH_FIRST = LazyPattern(r"^\s*([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})(?:$|[ T,])")
# `[ ,-]`: a space, a comma or a hyphen after the month (`1 Oct, 2026`, `01-Oct-2026`).
_DAY_FIRST = LazyPattern(r"^\s*(\d{1,2})[ -]([A-Za-z]{3,9})\.?[ ,-]\s*(\d{4})(?:$|[ T,])")
_MONTHS = {name: i + 1 for i, names in enumerate((
    "jan january", "feb february", "mar march", "apr april", "may", "jun june", "jul july",
    "aug august", "sep sept september", "oct october", "nov november", "dec december"))
    for name in names.split()}

_SEPARATORS = ("/", "-")
DAY_FIRST = "DM"
MONTH_FIRST = "MD"


def _year(text: str) -> int:
    year = int(text)
    return 2000 + year if len(text) == 2 else year  # exports' two-digit years are this century


def _ordinal(year: int, month: int, day: int) -> int | None:
    try:
        return dt.date(year, month, day).toordinal()
    except ValueError:
        return None


def typed(value) -> int | None:
    """A typed cell as an ordinal: a date, a datetime (its date part), a spreadsheet serial
    or a YYYYMMDD integer (GA4's date dimension in a spreadsheet)."""
    if isinstance(value, dt.datetime):
        return value.date().toordinal()
    if isinstance(value, dt.date):
        return value.toordinal()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    if 1 <= value < 2958466:  # the whole part is the day (the fraction is the time of day)
        return _SERIAL_EPOCH + int(math.floor(value))
    if 19000101 <= value <= 21001231 and float(value).is_integer():
        n = int(value)
        return _ordinal(n // 10000, n // 100 % 100, n % 100)
    return None


def text_date(text: str, order: str | None) -> int | None:
    """A text cell as an ordinal, with ``order`` (``DAY_FIRST``/``MONTH_FIRST``) for
    ``1/2/2026``; None when it is not a date (or its order is unknown)."""
    if m := _ISO.match(text):
        return _ordinal(int(m[1]), int(m[2]), int(m[3])) if m[1] != "0000" else None
    if m := _COMPACT.match(text):
        return _ordinal(int(m[1]), int(m[2]), int(m[3]))
    if m := _DOTTED.match(text):
        return _ordinal(_year(m[3]), int(m[2]), int(m[1]))
    if m := _SLASHED.match(text):
        a, b = int(m[1]), int(m[3])
        if order is None:
            return None
        return _ordinal(_year(m[4]), *((b, a) if order == DAY_FIRST else (a, b)))
    if m := _MONTH_FIRST.match(text):
        month = _MONTHS.get(m[1].casefold())
        return _ordinal(int(m[3]), month, int(m[2])) if month else None
    if m := _DAY_FIRST.match(text):
        month = _MONTHS.get(m[2].casefold())
        return _ordinal(int(m[3]), month, int(m[1])) if month else None
    return None


def looks_like_date(value) -> bool:
    """A typed date cell, or text in one of the date spellings (either order): what makes
    a column a date column when no header says so. Never a number."""
    if isinstance(value, (dt.date, dt.datetime)):
        return True
    if not isinstance(value, str) or _COMPACT.match(value):
        return False
    return text_date(value, DAY_FIRST) is not None or text_date(value, MONTH_FIRST) is not None


def order_of_locale(locale: str | None) -> str | None:
    """Month first for the locales that write 10/1/2026 for the 1st of October."""
    if not locale:
        return None
    code = locale.replace("-", "_").split(".")[0]
    if code in ("en_US", "en_PH", "en_CA", "es_US", "en_AS", "en_GU", "en_PR", "en_UM", "en_VI"):
        return MONTH_FIRST
    return DAY_FIRST


class DateReader:
    """How one column's text dates are read."""

    __slots__ = ("order", "fmt")

    def __init__(self, order: str | None = None, fmt: str | None = None):
        self.order = order
        self.fmt = fmt  # the ``date_format`` setting

    def __call__(self, value) -> int | None:
        if type(value) is str:
            if self.fmt is not None:
                try:
                    return dt.datetime.strptime(value.strip(), self.fmt).date().toordinal()
                except ValueError:
                    pass
            return text_date(value, self.order)
        return typed(value)

    @classmethod
    def guess(cls, cells, *, fmt: str | None = None, hint: str | None = None) -> DateReader:
        """A reader for a sample of a column, never an error (``for_column`` decides)."""
        try:
            return cls.for_column(cells, where="", fmt=fmt, hint=hint)
        except SourceError:
            return cls(order=hint or DAY_FIRST, fmt=fmt)

    @classmethod
    def for_column(cls, cells, *, where: str, fmt: str | None = None, hint: str | None = None
                   ) -> DateReader:
        """The reader for a column of ``cells``: the order of its slashed dates decided
        from the values (day or month above 12), else ``hint``, else a ``SourceError``
        naming ``where`` (the column) and the ``date_format`` setting."""
        if fmt is not None:
            return cls(fmt=fmt)
        day_first = month_first = None
        example = None
        for value in cells if isinstance(cells, set) else {c for c in cells if type(c) is str}:
            # Only 1/2/2026 and 1-2-26 have an order to decide (ISO dates are most columns).
            if not (value[1:2] in _SEPARATORS or value[2:3] in _SEPARATORS or value[:1].isspace()):
                continue
            m = _SLASHED.match(value)
            if m is None:
                continue
            example = example or value.strip()
            a, b = int(m[1]), int(m[3])
            if a > 12 and b <= 12:
                day_first = day_first or value.strip()
            elif b > 12 and a <= 12:
                month_first = month_first or value.strip()
        if day_first and month_first:
            raise SourceError(
                _("the dates in {where} are written both day first ({day_first}) and month first ({month_first})")
                .format(where=where, day_first=day_first, month_first=month_first),
                hint=_('export the dates in one format, or set `date_format` (e.g. "%d/%m/%Y")'))
        if day_first or month_first:
            return cls(order=DAY_FIRST if day_first else MONTH_FIRST)
        if example is None or hint is not None:
            return cls(order=hint)
        raise SourceError(
            _("the dates in {where} (such as {example}) could be day/month or month/day, and "
              "nothing in the file says which").format(where=where, example=example),
            hint=_('set `date_format` ("%d/%m/%Y" or "%m/%d/%Y") or `locale` (e.g. "en_US") in the settings'))
