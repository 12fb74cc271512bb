"""Google Sheets through the Sheets API v4, with gspread's HTTP client and google-auth.

One read is one HTTP call for most sheets: a single ``spreadsheets.get`` with a ``ranges``
entry per tab (``'Rules'``, ``'Settings'``... whole; the data tab's first 1,000 rows,
``'Data'!1:1000``) and a ``fields`` mask that keeps the answer to what we use. A bigger
data tab is read on in pages of bounded size, only the columns the caller needs
(``gsheets_read``: a fixed number of calls for its size, and bounded memory).

The mask asks for each cell's ``effectiveValue`` (typed: numbers come as JSON
numbers, whatever the sheet's locale shows, so a Polish ``1 234,56`` arrives as 1234.56
and is never re-parsed) and for ``effectiveFormat.numberFormat.type``, the one format bit
that tells a date (a serial number formatted DATE or DATE_TIME) from a plain number. The
*effective* format, not the user-entered one, because a formula such as ``=A2+7`` on a date
cell has no format of its own but still shows a date.

Not ``includeGridData``: it returns every cell of every tab (History can dwarf Data).

The catch with ``ranges``: a range naming a tab that does not exist makes the whole call
fail with 400 "Unable to parse range". So the first call asks for the tabs under the names
given; when Google answers that 400 (a tab is missing, or spelled in another case and
Google did not match it) we fall back to one metadata call (every tab's title) and one
data call with the titles matched case-insensitively (spec/cli.md). The usual read, with
the tabs named as configured, costs one call; an unusual one three. Common cases cost two:
the 400 names an optional tab asked for last (a sheet without a Settings tab), or, for
`run`, any optional tab (gsheets_read.after_missing: a first run).

Dates: a DATE cell becomes ``datetime.date`` (serial days since 1899-12-30); a DATE_TIME
cell a ``datetime.datetime`` in the spreadsheet's time zone (the serial is wall-clock time
there: the fraction of the day is the time). Booleans stay bool, strings str, numbers
float, empty cells None, error cells (``#DIV/0!``) their error text so that the engine
reports the cell. Rows keep their sheet row numbers (``RawTable.header_row`` is the row the
headers are on), so messages name the right cell even below leading empty rows.

``KPIRULES_SHEETS_EMULATOR_HOST=HOST:PORT`` sends every Sheets call to that emulator over
plain http, with no credentials and no token call (see ``kpirules.gauth``). The
``endpoint=`` option points the same calls at another API root while still using real
credentials (tests use it to run the token flows against the emulator).

Retries are ``kpirules.retry``'s bounded policy (never gspread's ``BackOffHTTPClient``,
which retries forever). Errors become ``SourceError`` with what to do: share the sheet
with the service account, check the URL, enable the API...
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
from dataclasses import replace
from typing import Any, Callable, ClassVar, Iterable

from kpirules.config_base import SETTINGS_TAB
from kpirules.connectors.base import RawTable, Workbook
from kpirules.connectors.gsheets_errors import _RangeNotFound
from kpirules.connectors.gsheets_read import HEAD_ROWS, cell_hook, head_range, merge_page, pages, read_timeout
from kpirules.connectors.gsheets_transport import build_client, classify, timeout_hint
from kpirules.connectors.gsheets_writes import WriteRejected, WriteUnknown  # noqa: F401 (re-exported)
from kpirules.errors import SourceError, did_you_mean
from kpirules.i18n import _

log = logging.getLogger("kpirules.gsheets")

_URL = re.compile(r"^https?://docs\.google\.com/spreadsheets/(?:u/\d+/)?d/([A-Za-z0-9_-]+)")
# Keys are 44 characters today (older ones a little shorter). 20 is long enough that a word
# or a short file name given by mistake is not taken for a key.
_KEY = re.compile(r"^[A-Za-z0-9_-]{20,}$")
# Against the emulator a spreadsheet's key is its workbook's file stem (`marketing`), so
# any bare key-shaped name counts there.
_EMULATOR_KEY = re.compile(r"^[A-Za-z0-9_-]+$")

CELL_FIELDS = "data(startRow,startColumn,rowData/values(effectiveValue,effectiveFormat/numberFormat/type))"
GRID_FIELDS = ("properties(title,locale,timeZone),"
               f"sheets(properties(sheetId,title,index,gridProperties(rowCount,columnCount)),{CELL_FIELDS})")
PAGE_FIELDS = f"sheets({CELL_FIELDS})"  # a page of the data tab (gsheets_read): cells only
META_FIELDS = "properties(title,locale,timeZone),sheets/properties(sheetId,title,index)"

_SERIAL_EPOCH = dt.datetime(1899, 12, 30)
_MS_PER_DAY = 86_400_000

# ErrorValue.type -> what the sheet shows, so that a bad cell reads as it looks.
_ERROR_TEXT = {
    "ERROR": "#ERROR!", "NULL_VALUE": "#NULL!", "DIVIDE_BY_ZERO": "#DIV/0!", "VALUE": "#VALUE!",
    "REF": "#REF!", "NAME": "#NAME?", "NUM": "#NUM!", "N_A": "#N/A", "LOADING": "#LOADING",
}

# The Settings tab is read with the other tabs when asked for, or for free when the
# fallback learnt the titles (connectors/base.py: extra_tabs holds it when the source has one).


def parse_key(source: str) -> str | None:
    """The spreadsheet key of a Sheets URL or of a bare key, else None."""
    source = source.strip()
    m = _URL.match(source)
    if m:
        return m.group(1)
    if _KEY.match(source) or (os.environ.get("KPIRULES_SHEETS_EMULATOR_HOST") and _EMULATOR_KEY.match(source)):
        return source
    return None


def quote_tab(title: str) -> str:
    """A whole-tab A1 range. Always quoted: a tab named ``A1`` or ``Q3 2026`` would
    otherwise read as a cell reference or fail to parse."""
    return "'" + title.replace("'", "''") + "'"


# --- cells -------------------------------------------------------------------------------

def serial_to_date(serial: float) -> dt.date:
    return (_SERIAL_EPOCH + dt.timedelta(days=int(serial // 1))).date()


def serial_to_datetime(serial: float, tz: dt.tzinfo | None = None) -> dt.datetime:
    # Round to the millisecond first: 45000.999999999 (float noise under 1 ms) is midnight
    # of the next day, not 23:59:59.999 of this one.
    ms = round(serial * _MS_PER_DAY)
    value = _SERIAL_EPOCH + dt.timedelta(milliseconds=ms)
    return value.replace(tzinfo=tz) if tz is not None else value


def cell_value(cell: dict, tz: dt.tzinfo | None = None) -> Any:
    """One CellData (with our field mask) as a raw cell."""
    ev = cell.get("effectiveValue")
    if not ev:
        return None
    if "numberValue" in ev:
        number = ev["numberValue"]
        kind = cell.get("effectiveFormat", {}).get("numberFormat", {}).get("type")
        try:
            if kind == "DATE":
                return serial_to_date(number)
            if kind == "DATE_TIME":
                return serial_to_datetime(number, tz)
        except (OverflowError, ValueError):  # far outside what a date can be: keep the number
            pass
        return float(number)
    if "stringValue" in ev:
        return ev["stringValue"]
    if "boolValue" in ev:
        return bool(ev["boolValue"])
    if "errorValue" in ev:
        return _ERROR_TEXT.get(ev["errorValue"].get("type"), "#ERROR!")
    return None


def grid_rows(grid: dict, tz: dt.tzinfo | None = None) -> tuple[int, list[list[Any]]]:
    """(1-based sheet row of the first row, rows of cells) of a GridData, with columns
    padded so that index 0 is column A."""
    start_row = int(grid.get("startRow", 0))
    pad = [None] * int(grid.get("startColumn", 0))
    rows = []
    for row in grid.get("rowData", ()):
        values = row.get("values")
        rows.append(pad + [cell_value(c, tz) for c in values] if values else list(pad))
    return start_row + 1, rows


def to_table(title: str, grid: dict, tz: dt.tzinfo | None = None) -> RawTable:
    """A tab as a RawTable: the headers are the first row holding anything."""
    first_row, rows = grid_rows(grid, tz)
    while rows and all(v is None for v in rows[-1]):
        rows.pop()
    top = next((i for i, r in enumerate(rows) if any(v is not None for v in r)), None)
    if top is None:
        return RawTable(headers=[], rows=[], sheet=title, header_row=first_row)
    headers = rows[top]
    while headers and headers[-1] is None:
        headers = headers[:-1]
    return RawTable(headers=headers, rows=rows[top + 1:], sheet=title, header_row=first_row + top)


def _zone(name: str | None) -> dt.tzinfo | None:
    if not name:
        return None
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(name)
    except Exception:  # noqa: BLE001 - unknown zone or no tz database: wall-clock stays naive
        return None


# --- the connector -----------------------------------------------------------------------

class GoogleSheetsConnector:
    name: ClassVar[str] = "gsheets"
    # base.WRITE_SHEET, SHEET_FORMATTING, TABS, READ_TIMEOUT (the `timeout` setting), GUESS_TABS
    # and COLUMN_SUBSET: ``read(columns=...)`` reads only those columns below the data tab's head.
    capabilities: ClassVar[frozenset[str]] = frozenset({"write-sheet", "sheet-formatting", "tabs", "read-timeout",
                                                        "column-subset", "guess-tabs"})
    # Asking for a tab that does not exist costs two more calls (module docstring), so
    # callers ask only for the tabs they need, not for ones that may be there.
    optional_tabs_free: ClassVar[bool] = False

    def __init__(self, source: str, *, credentials: str | None = None, timeout: float = 30,
                 retry: Any = None, endpoint: str | None = None, **_options: Any):
        key = parse_key(source)
        if key is None:
            raise SourceError(_("{source} is not a Google Sheets URL or key").format(source=repr(source)),
                              hint=_("give https://docs.google.com/spreadsheets/d/KEY/edit or the KEY"))
        from kpirules.retry import RetryPolicy

        self._key = key
        self._credentials = credentials
        # ``timeout`` (the `timeout` setting) is the read timeout of a small request; a
        # request for many cells gets more (gsheets_read.read_timeout), the policy's
        # deadline as much more.
        self._retry = retry or RetryPolicy()
        self.timeout = float(timeout)
        self._endpoint = endpoint.rstrip("/") if endpoint else None
        self._http: Any = None  # gspread HTTPClient, built on first use
        self._auth: Any = None  # kpirules.gauth.Resolved
        self._sheet_ids: dict[str, int] = {}
        self.calls = 0  # HTTP calls made (attempts included), for tests and --verbose
        # `run` lets a read assume missing the tabs after a missing one (gsheets_read.
        # after_missing); ``guessed``: the tabs the last read assumed missing.
        self.guess_missing = False
        self.guessed: tuple[str, ...] = ()

    @classmethod
    def matches(cls, source: str) -> bool:
        if _URL.match(source.strip()):
            return True
        # A bare key, but never a file that happens to have a key-like name.
        key = _EMULATOR_KEY if os.environ.get("KPIRULES_SHEETS_EMULATOR_HOST") else _KEY
        return bool(key.match(source.strip())) and not os.path.exists(source)

    @property
    def key(self) -> str:
        return self._key

    @property
    def url(self) -> str:
        return f"https://docs.google.com/spreadsheets/d/{self._key}/edit"

    @property
    def sheet_ids(self) -> dict[str, int]:
        """Tab title -> sheetId, for the tabs the last read saw (every tab after a fallback)."""
        return dict(self._sheet_ids)

    @property
    def auth(self) -> Any:
        """The ``kpirules.gauth.Resolved`` credentials in use (resolved on first call)."""
        self._client()
        return self._auth

    # -- reading ------------------------------------------------------------------------

    def read(self, *, data_tab: str = "Data", rules_tab: str | None = "Rules",
             extra_tabs: tuple[str, ...] = (),
             columns: Callable[[Workbook], Iterable[int] | None] | None = None) -> Workbook:
        """Read the data tab, the rules tab and ``extra_tabs`` in one call (the data tab's
        first rows only when it is big: then ``columns``, given what the first call read,
        names the 0-based columns to read below them, None for all; gsheets_read).
        ``rules_tab=None`` skips the rules tab (rules come from a file). A missing data tab
        is an error; a missing rules tab or extra tab is left out. The Settings tab is in
        ``extra_tabs`` when asked for, and also whenever the fallback call was needed."""
        self._sheet_ids = {}  # tabs may have been renamed since the last read
        wanted: list[str] = []
        for name in (data_tab, rules_tab, *extra_tabs):
            if name and _find(wanted, name) is None:
                wanted.append(name)
        try:
            doc = self._first_call(wanted, required=len({data_tab, rules_tab} - {None}))
            titles = None
        except _RangeNotFound:
            self.guessed = ()
            # Fallback, see the module docstring: learn the titles, then ask for the ones
            # that exist under their real spelling.
            meta = self._get(fields=META_FIELDS)
            titles = [s["properties"]["title"] for s in meta.get("sheets", ())]
            self._remember_ids(meta)
            if _find(titles, data_tab) is None:
                raise self._missing_tab(meta, data_tab, titles) from None
            if _find(wanted, SETTINGS_TAB) is None and _find(titles, SETTINGS_TAB) is not None:
                wanted.append(SETTINGS_TAB)
                extra_tabs = (*extra_tabs, SETTINGS_TAB)
            present = [t for t in (_find(titles, n) for n in wanted) if t is not None]
            try:
                doc = self._get(ranges=self._ranges(present), fields=GRID_FIELDS)
            except _RangeNotFound:  # renamed between our two calls
                raise SourceError(_("the tabs of the spreadsheet changed while it was being read"),
                                  hint=_("try again")) from None
        book = self._workbook(doc, data_tab, rules_tab, extra_tabs, titles)
        self._rest_of_data(doc, book, columns)
        return book

    @staticmethod
    def _ranges(tabs: list[str]) -> list[str]:
        """The first is the data tab: its head only (gsheets_read); the others whole."""
        return [head_range(quote_tab(tabs[0])), *(quote_tab(t) for t in tabs[1:])]

    def _first_call(self, wanted: list[str], required: int) -> dict:
        """The tabs ``wanted`` by their names. When Google's 400 names an optional tab that
        is the last asked for (a sheet without a Settings tab: common), or with
        ``guess_missing`` any optional tab, ask once more without it rather than learning
        every title (two calls, not three: gsheets_read.after_missing)."""
        self.guessed = ()
        try:
            return self._get(ranges=self._ranges(wanted), fields=GRID_FIELDS)
        except _RangeNotFound as exc:
            from kpirules.connectors.gsheets_read import after_missing

            again = after_missing(wanted, exc.range_text, quote_tab, required, guess=self.guess_missing)
            if again is None:
                raise
            self.guessed = again[1]
            return self._get(ranges=self._ranges(again[0]), fields=GRID_FIELDS)

    def _rest_of_data(self, doc: dict, book: Workbook, columns: Any) -> None:
        """The data tab's rows below the head, when there are any: only ``columns`` of
        them, in pages (gsheets_read)."""
        data = book.data
        sheet = next((s for s in doc.get("sheets", ())
                      if s["properties"]["title"] == data.sheet), None)
        if sheet is None or not data.headers:
            return
        grid = (sheet.get("data") or [{}])[0]
        read_to = int(grid.get("startRow", 0)) + len(grid.get("rowData") or ())
        size = sheet["properties"].get("gridProperties") or {}
        last_row = int(size.get("rowCount", 0))
        if read_to < HEAD_ROWS or last_row <= HEAD_ROWS:
            return  # the head held the whole tab
        wanted = columns(book) if columns is not None else None
        if wanted is None:  # every column with a header or a value in the head
            wanted = range(max(len(data.headers), *(len(r) for r in data.rows)))
        tz = _zone(doc.get("properties", {}).get("timeZone"))
        rows = data.rows
        rows.extend([] for _ in range(HEAD_ROWS - data.header_row - len(rows)))
        hook = cell_hook(lambda cell: cell_value(cell, tz))
        for ranges, cells in pages(quote_tab(data.sheet or ""), HEAD_ROWS + 1, last_row, wanted):
            page = self._get(ranges=ranges, fields=PAGE_FIELDS, cells=cells, hook=hook)
            for grid in ((page.get("sheets") or [None])[0] or {}).get("data") or ():
                merge_page(rows, data.header_row + 1, grid)
            del page  # one page parsed at a time: what bounds the memory of a read
        while rows and not any(v is not None for v in rows[-1]):
            rows.pop()

    def _workbook(self, doc: dict, data_tab: str, rules_tab: str | None,
                  extra_tabs: tuple[str, ...], titles: list[str] | None) -> Workbook:
        props = doc.get("properties", {})
        tz = _zone(props.get("timeZone"))
        self._remember_ids(doc)
        read = sorted(doc.get("sheets", ()), key=lambda s: s["properties"].get("index", 0))
        sheets = {s["properties"]["title"].strip().casefold(): s for s in read}

        def table(name: str | None) -> RawTable | None:
            sheet = sheets.get(name.strip().casefold()) if name else None
            if sheet is None:
                return None
            data = sheet.get("data") or [{}]
            return to_table(sheet["properties"]["title"], data[0], tz)

        data = table(data_tab)
        if data is None:  # Google matched no sheet to a range it accepted: treat as missing
            raise self._missing_tab(doc, data_tab, titles or list(self._sheet_ids))
        data.locale = props.get("locale")  # the reader's evidence for text numbers and dates
        extra = {name: t for name in extra_tabs if (t := table(name)) is not None}
        data_id = self._sheet_ids.get(data.sheet or "")
        return Workbook(
            data=data,
            rules=table(rules_tab),
            title=props.get("title"),
            url=self.url + (f"#gid={data_id}" if data_id is not None else ""),
            timezone=props.get("timeZone"),
            locale=props.get("locale"),
            # Without the fallback we only know the tabs we read (in the sheet's order).
            tabs=titles if titles is not None else [s["properties"]["title"] for s in read],
            extra_tabs=extra,
        )

    def _remember_ids(self, doc: dict) -> None:
        for s in doc.get("sheets", ()):
            p = s.get("properties", {})
            if "title" in p:
                self._sheet_ids[p["title"]] = int(p.get("sheetId", 0))

    def _missing_tab(self, doc: dict, wanted: str, titles: list[str]) -> SourceError:
        title = doc.get("properties", {}).get("title") or self._key
        guess = did_you_mean(wanted, titles)
        from kpirules.connectors.xlsx_file import tab_hint

        return SourceError(
            _("the spreadsheet {title} has no tab named {tab} (tabs: {tabs})").format(
                title=repr(title), tab=repr(wanted), tabs=", ".join(titles) or _("none")),
            hint=tab_hint(wanted, guess),
        )

    def sheet_formatting(self, header_rows: dict[str, int] | None = None) -> dict[str, dict]:
        """Per tab title: its frozen rows, conditional format rules, protected ranges and, for
        ``header_rows`` (title -> 1-based row; then only those tabs), that row's notes and the
        row below's validations (one call), so that ``init`` installs nothing twice."""
        from kpirules.connectors.gsheets_read import formatting, formatting_query

        doc = self._get(**formatting_query(header_rows, quote_tab))
        self._remember_ids(doc)
        return formatting(doc)

    # -- writing ------------------------------------------------------------------------

    def batch_update(self, requests: list[dict], *, idempotent: bool = False) -> dict:
        """One ``spreadsheets.batchUpdate`` with ``requests``; the API's answer.

        Retried under the same policy, but a write that may have been applied (a 500, a
        read timeout, a connection dropped after sending) is retried only when the caller
        says the requests are ``idempotent`` (setting cells to fixed values is; appending
        rows is not: a retry would append them twice). 429 and 503, and failures to
        connect at all, are always retried: the request was not carried out."""
        if not requests:
            return {"spreadsheetId": self._key, "replies": []}
        from kpirules.connectors.gsheets_writes import post_batch

        return self._call(lambda http: post_batch(http, self._key, list(requests)), idempotent=idempotent)

    # -- HTTP ---------------------------------------------------------------------------

    def _get(self, *, fields: str, ranges: list[str] | None = None, cells: int = 0,
             hook: Any = None) -> dict:
        """One ``spreadsheets.get``; ``cells``: about how many cells it asks for (its
        timeout grows with them); ``hook``: a ``json.loads`` object hook for the answer."""
        params: dict[str, Any] = {"fields": fields}
        if ranges:
            params["ranges"] = ranges
        if hook is None:
            return self._call(lambda http: http.fetch_sheet_metadata(self._key, params=params),
                              idempotent=True, cells=cells)

        def parsed(http: Any) -> Any:  # as fetch_sheet_metadata, with the hook
            import json

            from gspread.urls import SPREADSHEET_URL

            return json.loads(http.request("get", SPREADSHEET_URL % self._key, params=params).content,
                              object_hook=hook)
        return self._call(parsed, idempotent=True, cells=cells)

    def _client(self) -> Any:
        if self._http is None:
            self._http, self._auth = build_client(self._credentials, self._endpoint,
                                                  sleep=self._retry.sleep)
        return self._http

    def _call(self, fn: Any, *, idempotent: bool, cells: int = 0) -> Any:
        http = self._client()
        read = read_timeout(self.timeout, cells)
        policy = replace(self._retry, read_timeout=read,
                         deadline=self._retry.deadline + max(0.0, read - self._retry.read_timeout))

        def attempt(timeouts: tuple[float, float]) -> Any:
            http.set_timeout(timeouts)
            self.calls += 1
            return fn(http)

        from kpirules.retry import RetryExhausted

        try:
            result = policy.run(attempt, lambda exc: classify(exc, idempotent=idempotent))
        except RetryExhausted as exc:
            raise timeout_hint(exc) from exc.__cause__
        except SourceError:
            raise
        except Exception as exc:  # noqa: BLE001 - translated below, or re-raised
            if not idempotent:
                raise self._write_failure(exc) from None
            raise self._translate(exc) from None
        self._auth.persist()
        return result

    def _write_failure(self, exc: Exception) -> Exception:
        from kpirules.connectors.gsheets_writes import write_failure

        return write_failure(exc, self._translate(exc))

    def read_tab(self, title: str) -> RawTable | None:
        """One small read of the tab ``title`` (None when there is no such tab): how a
        write's outcome is found out, and who holds the lease (kpirules.writeback.lease)."""
        try:
            doc = self._get(ranges=[quote_tab(title)], fields=GRID_FIELDS)
        except _RangeNotFound:
            return None
        self._remember_ids(doc)
        for sheet in doc.get("sheets", ()):
            if sheet["properties"]["title"].strip().casefold() == title.strip().casefold():
                data = sheet.get("data") or [{}]
                return to_table(sheet["properties"]["title"], data[0],
                                _zone(doc.get("properties", {}).get("timeZone")))
        return None

    def _translate(self, exc: Exception) -> Exception:
        """A non-retryable failure as a SourceError saying what to do."""
        from kpirules.connectors.gsheets_errors import translate

        return translate(exc, self._key, self._auth)


def _find(titles: list[str], wanted: str) -> str | None:
    key = wanted.strip().casefold()
    return next((t for t in titles if t.strip().casefold() == key), None)
