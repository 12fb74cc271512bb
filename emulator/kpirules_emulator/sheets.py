"""A Google Sheets API v4 emulator on loopback, for tests, benchmarks and trying kpirules
without a Google account.

    with SheetsEmulator() as emu:
        key = emu.add_spreadsheet("kpis", {"Data": [["date", "visits"], [d, 120]]})
        gc = gspread_client_for(emu.host)            # the real gspread, routed here
        gc.open_by_key(key).sheet1.get_all_values()

Command line: ``python -m kpirules_emulator --port 8085 --workbook kpis.xlsx [--save]``
serves each workbook as a spreadsheet keyed by its file stem, and prints
``listening on 127.0.0.1:8085`` once it does; point kpirules at it with
``KPIRULES_SHEETS_EMULATOR_HOST=127.0.0.1:8085``. ``--save`` writes what clients changed
back to the workbooks on exit (``sheets_save``).

The pieces: ``sheets_a1`` (ranges), ``sheets_format`` (locales, number formats),
``sheets_formula`` (evaluation), ``sheets_model`` (state), ``sheets_render`` (answers),
``sheets_fields`` (field masks), ``sheets_values`` / ``sheets_batch`` +
``sheets_batch_sheets`` / ``sheets_resource`` (API methods), ``sheets_schema`` (discovery
validation), ``sheets_errors`` (Google's error bodies), ``sheets_auth`` (OAuth),
``sheets_service`` (locking, all-or-nothing), ``sheets_http`` (server, faults, request
log), ``sheets_seed`` (Python rows and xlsx files).

Not emulated: the Drive API (gspread's ``open(title)``, ``creationTime``, sharing),
charts, pivot tables, developer metadata, data sources, filter views, and formulas
beyond the functions listed in ``sheets_formula``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import urlsplit, urlunsplit

from kpirules_emulator import sheets_a1 as a1
from kpirules_emulator.sheets_auth import Auth, new_service_account
from kpirules_emulator.sheets_http import App, Fault, Faults, RequestLog, make_server, normalize_api
from kpirules_emulator.sheets_model import Spreadsheet
from kpirules_emulator.sheets_render import Renderer, snapshot_bytes
from kpirules_emulator.sheets_resource import spreadsheet_resource
from kpirules_emulator.sheets_seed import build_spreadsheet, spreadsheet_from_xlsx
from kpirules_emulator.sheets_service import Service

ENV_VAR = "KPIRULES_SHEETS_EMULATOR_HOST"
GOOGLE_HOSTS = ("sheets.googleapis.com", "www.googleapis.com", "oauth2.googleapis.com")
SCOPES = ("https://www.googleapis.com/auth/spreadsheets",)

__all__ = ["SheetsEmulator", "emulator_session", "gspread_client_for", "ENV_VAR",
           "make_service_account", "main"]


class SheetsEmulator:
    """The emulator server plus the handles tests use to arrange and inspect state.

    ``auth=True`` makes Sheets calls need a valid Bearer token (else Google's 401);
    by default any or no token is accepted, as with Google's own emulators.
    ``validate=False`` turns off checking requests against the discovery document."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, auth: bool = False,
                 validate: bool = True, token_lifetime: int = 3599):
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the emulator binds loopback only")
        self._bind = (host, port)
        self.auth = Auth(required=auth, token_lifetime=token_lifetime)
        self.service = Service(self.auth, validate=validate)
        self.faults = Faults()
        self.log = RequestLog()
        self._server = None
        self._thread: threading.Thread | None = None
        self._initial: dict[str, Spreadsheet] = {}

    # --- lifecycle ---
    def start(self) -> SheetsEmulator:
        if self._server is not None:
            return self
        app = App(self.service, self.auth, self.faults, self.log, self._admin)
        self._server = make_server(self._bind[0], self._bind[1], app)
        self.auth.token_uris.add(self.token_uri)
        self.auth.token_uris.add(f"http://localhost:{self.port}/token")
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="sheets-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.close_all()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._server = None

    def __enter__(self) -> SheetsEmulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not running; call start()")
        return self._server.server_address[1]

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``: the value for KPIRULES_SHEETS_EMULATOR_HOST."""
        return f"{self._bind[0]}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def token_uri(self) -> str:
        return f"{self.url}/token"

    # --- arranging state ---
    def add_spreadsheet(self, key: str, tabs: dict[str, Iterable[Iterable[Any]]], *,
                        title: str | None = None, locale: str = "en_US",
                        time_zone: str = "Etc/GMT", rows: int | None = None,
                        cols: int | None = None, shared_with: Iterable[str] | None = None,
                        readers: Iterable[str] = ()) -> str:
        """Serve ``tabs`` (title -> rows of Python values) as spreadsheet ``key``.

        Cells: None/"" empty, bools, numbers, text (``=...`` is a formula), dates and
        datetimes (serial numbers with a date format), or CellData-like dicts.
        ``shared_with`` makes it private to those accounts (others get 403)."""
        book = build_spreadsheet(key, tabs, title=title, locale=locale,
                                 time_zone=time_zone, rows=rows, cols=cols)
        self._store(book, shared_with, readers)
        return key

    def add_spreadsheet_from_xlsx(self, path: str | os.PathLike, key: str | None = None, *,
                                  locale: str = "en_US", time_zone: str = "Etc/GMT",
                                  shared_with: Iterable[str] | None = None) -> str:
        book = spreadsheet_from_xlsx(path, key, locale=locale, time_zone=time_zone)
        self._store(book, shared_with, ())
        return book.id

    def _store(self, book: Spreadsheet, shared_with, readers) -> None:
        book.shared_with = None if shared_with is None else set(shared_with)
        book.readers = set(readers)
        with self.service.lock:
            self.service.books[book.id] = book
            self._initial[book.id] = book.clone()

    def set_private(self, key: str, accounts: Iterable[str], *,
                    readers: Iterable[str] = ()) -> None:
        """Only ``accounts`` (read/write) and ``readers`` may open ``key``."""
        with self.service.lock:
            book = self._book(key)
            book.shared_with, book.readers = set(accounts), set(readers)

    def remove_spreadsheet(self, key: str) -> None:
        with self.service.lock:
            self.service.books.pop(key, None)
            self._initial.pop(key, None)

    def keys(self) -> list[str]:
        with self.service.lock:
            return sorted(self.service.books)

    # --- auth ---
    def register_service_account(self, client_email: str, public_key_pem: str | bytes
                                 ) -> None:
        self.auth.register_service_account(client_email, public_key_pem)

    def register_refresh_token(self, refresh_token: str, *, client_id: str,
                               client_secret: str, account: str,
                               scopes: Iterable[str] = SCOPES) -> None:
        self.auth.register_refresh_token(refresh_token, client_id=client_id,
                                         client_secret=client_secret, account=account,
                                         scopes=scopes)

    def issue_token(self, account: str, scopes: Iterable[str] = SCOPES) -> str:
        """An access token for ``account``, without going through /token."""
        return self.auth.issue(account, scopes)

    def expire_tokens(self) -> None:
        """Every issued token expires now (clients then get 401 and refresh)."""
        self.auth.expire_all()

    def set_auth_required(self, required: bool) -> None:
        self.auth.required = required

    # --- faults, latency, accounting ---
    def inject(self, api: str, *, status: int | None = None,
               retry_after: float | None = None, delay: float | None = None,
               drop: bool = False, times: int = 1, body: Any = None,
               apply: bool = False, raw: bytes | None = None, truncate: bool = False) -> None:
        """Fail the next ``times`` calls of ``api`` (``spreadsheets.get``,
        ``spreadsheets.values.batchGet``, ``oauth.token``, ``*`` for any): answer
        ``status`` (with Google's body for it, or ``body``, and ``Retry-After``), wait
        ``delay`` seconds first, or ``drop`` the connection without answering.
        ``apply=True`` runs the call before failing it (the response is lost). ``raw``
        answers those bytes as an HTML page (a proxy's 502); ``truncate`` answers a JSON
        body cut off half-way."""
        if status is None and not drop and delay is None and not truncate:
            raise ValueError("a fault needs a status, a delay, drop=True or truncate=True")
        self.faults.add(Fault(normalize_api(api), status, retry_after, delay, drop, times,
                              body, apply, raw, truncate))

    def clear_faults(self) -> None:
        self.faults.clear()

    def set_latency(self, seconds: float) -> None:
        """Every call waits this long before it is served."""
        self.faults.latency = float(seconds)

    def requests(self, api: str | None = None) -> list[dict]:
        """Every call served, oldest first: method, path, query, api, status, body."""
        items = self.log.all()
        return items if api is None else [e for e in items if e["api"] ==
                                          normalize_api(api)]

    def reset_requests(self) -> None:
        self.log.clear()

    def reset(self) -> None:
        """Back to an empty emulator: no spreadsheets, faults, latency, tokens or log."""
        with self.service.lock:
            self.service.books.clear()
            self._initial.clear()
        self.faults.clear()
        self.log.clear()
        self.auth.reset()

    def restore(self) -> None:
        """Spreadsheets back to how they were added (CLI workbooks included)."""
        with self.service.lock:
            self.service.books = {k: b.clone() for k, b in self._initial.items()}

    # --- inspecting state ---
    def _book(self, key: str) -> Spreadsheet:
        book = self.service.books.get(key)
        if book is None:
            raise KeyError(f"no spreadsheet {key!r} in the emulator")
        return book

    def _sheet(self, key: str, tab: str):
        sheet = self._book(key).by_title(tab)
        if sheet is None:
            raise KeyError(f"spreadsheet {key!r} has no tab {tab!r}")
        return sheet

    def values(self, key: str, tab: str) -> list[list]:
        """Effective values of a tab: numbers (int when whole), text, bools, error
        texts; None for empty cells inside a row; trailing empties dropped."""
        with self.service.lock:
            book = self._book(key)
            sheet = self._sheet(key, tab)
            rows = Renderer(book).values(sheet, 0, sheet.row_count, 0, sheet.col_count,
                                         "UNFORMATTED_VALUE", "SERIAL_NUMBER")
        return [[None if v == "" else v for v in row] for row in rows]

    def cell(self, key: str, tab: str, ref: str) -> dict:
        """The CellData Google would give for one cell (``"B7"``): userEnteredValue,
        effectiveValue, formattedValue, userEnteredFormat, effectiveFormat, note..."""
        with self.service.lock:
            book = self._book(key)
            sheet = self._sheet(key, tab)
            rng = a1.parse_cells(ref, tab)
            cell = sheet.cell(rng.row0, rng.col0)
            return json.loads(json.dumps(Renderer(book).cell_data(sheet, rng.row0,
                                                                  rng.col0, cell)))

    def sheet_properties(self, key: str, tab: str) -> dict:
        with self.service.lock:
            return json.loads(json.dumps(self._sheet(key, tab).props))

    def spreadsheet_properties(self, key: str) -> dict:
        with self.service.lock:
            return json.loads(json.dumps(self._book(key).props))

    def conditional_formats(self, key: str, tab: str) -> list[dict]:
        with self.service.lock:
            return json.loads(json.dumps(self._sheet(key, tab).conditional))

    def data_validations(self, key: str, tab: str) -> dict[str, dict]:
        """``{"A2": rule, ...}`` for every cell with a validation rule."""
        with self.service.lock:
            sheet = self._sheet(key, tab)
            return {f"{a1.column_letters(c)}{r + 1}": json.loads(json.dumps(cell.dv))
                    for r, c, cell in sheet.iter_cells() if cell.dv}

    def protected_ranges(self, key: str, tab: str | None = None) -> list[dict]:
        with self.service.lock:
            book = self._book(key)
            sheets = [self._sheet(key, tab)] if tab else book.sheets
            return json.loads(json.dumps([p for s in sheets for p in s.protected]))

    def spreadsheet(self, key: str) -> dict:
        """The full resource with grid data, as spreadsheets.get?includeGridData=true."""
        with self.service.lock:
            book = self._book(key)
            return json.loads(json.dumps(spreadsheet_resource(
                book, {"includeGridData": ["true"]}, None)))

    def changed(self, key: str) -> bool:
        """Whether ``key`` differs from how it was added (any write through the API)."""
        with self.service.lock:
            return snapshot_bytes(self._book(key)) != snapshot_bytes(self._initial[key])

    def save_xlsx(self, key: str, path: str | os.PathLike) -> None:
        """Write ``key``'s cells back to the xlsx workbook at ``path`` (sheets_save)."""
        from kpirules_emulator.sheets_save import save_xlsx

        with self.service.lock:
            book = self._book(key).clone()
        save_xlsx(book, path)

    def snapshot(self, key: str) -> bytes:
        """Everything stored for ``key`` as canonical bytes: equal snapshots mean the
        spreadsheet is unchanged byte for byte."""
        with self.service.lock:
            return snapshot_bytes(self._book(key))

    # --- admin endpoints (/_emulator/...) ---
    def _admin(self, method: str, name: str, query: dict, body: dict):
        if (method, name) == ("GET", "requests"):
            return self.requests((query.get("api") or [None])[-1])
        if (method, name) == ("POST", "reset"):
            self.reset_requests()
            self.clear_faults()
            if body.get("state") or (query.get("state") or [""])[-1] in ("1", "true"):
                self.restore()
            return {"reset": True}
        if (method, name) == ("POST", "faults"):
            self.inject(body.pop("api"), **body)
            return {"faults": self.faults.pending()}
        if (method, name) == ("GET", "faults"):
            return {"faults": self.faults.pending()}
        if (method, name) == ("POST", "latency"):
            self.set_latency(float(body.get("seconds", 0)))
            return {"latency": self.faults.latency}
        if (method, name) == ("GET", "spreadsheets"):
            return {"spreadsheets": self.keys()}
        return None


def make_service_account(emulator: SheetsEmulator, *, path: str | os.PathLike | None = None,
                         client_email: str = "kpirules-test@kpirules-emulator"
                                             ".iam.gserviceaccount.com") -> dict:
    """A new service account known to ``emulator``: returns the JSON info (written to
    ``path`` too, if given) whose token_uri points at the emulator."""
    info, public_pem = new_service_account(emulator.token_uri, client_email)
    emulator.register_service_account(client_email, public_pem)
    if path is not None:
        Path(path).write_text(json.dumps(info, indent=2), encoding="utf-8")
    return info


# --- clients routed to the emulator -------------------------------------------------

def _adapter_class():
    from requests.adapters import HTTPAdapter

    class EmulatorAdapter(HTTPAdapter):
        """Sends requests for Google's API hosts to the emulator instead (http, same
        path and query), so unmodified gspread / google-auth code talks to it."""

        def __init__(self, host: str, **kwargs):
            self.emulator_host = host
            super().__init__(**kwargs)

        def send(self, request, **kwargs):
            parts = urlsplit(request.url)
            if parts.hostname in GOOGLE_HOSTS:
                request.url = urlunsplit(("http", self.emulator_host, parts.path,
                                          parts.query, ""))
                request.headers["Host"] = self.emulator_host
            return super().send(request, **kwargs)

    return EmulatorAdapter


def emulator_session(host: str, credentials=None):
    """A requests Session whose calls to sheets/www/oauth2.googleapis.com go to the
    emulator at ``host`` (``127.0.0.1:PORT``). With google-auth ``credentials`` it is an
    AuthorizedSession (tokens fetched and refreshed through the emulator too)."""
    import requests

    adapter = _adapter_class()(host)
    if credentials is None:
        session = requests.Session()
    else:
        from google.auth.transport.requests import AuthorizedSession, Request
        token_session = requests.Session()
        for h in GOOGLE_HOSTS:
            token_session.mount(f"https://{h}", adapter)
        session = AuthorizedSession(credentials, auth_request=Request(token_session))
    for h in GOOGLE_HOSTS:
        session.mount(f"https://{h}", adapter)
    return session


def gspread_client_for(host: str, credentials=None, http_client=None):
    """The real ``gspread.Client`` talking to the emulator at ``host``."""
    import gspread
    from gspread.http_client import HTTPClient

    session = emulator_session(host, credentials)
    return gspread.Client(auth=credentials, session=session,
                          http_client=http_client or HTTPClient)


# --- command line -------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kpirules_emulator",
        description="Serve xlsx workbooks as Google Sheets (API v4) on 127.0.0.1. The last "
                    "line printed at start-up is `listening on HOST:PORT`: wait for it.")
    parser.add_argument("--port", type=int, default=8085, help="0 picks a free port")
    parser.add_argument("--workbook", action="append", default=[], metavar="FILE.xlsx",
                        help="serve this workbook; its key is the file stem (repeatable)")
    parser.add_argument("--locale", default="en_US")
    parser.add_argument("--time-zone", default="Etc/GMT")
    parser.add_argument("--auth", action="store_true",
                        help="require OAuth Bearer tokens (default: accept any or none)")
    parser.add_argument("--write-service-account", metavar="FILE.json",
                        help="write a service-account key the emulator accepts (its "
                             "token_uri points here)")
    parser.add_argument("--save", action="store_true",
                        help="on exit (Ctrl-C or SIGTERM), write what clients changed back "
                             "to the workbook files (default: changes live in memory only)")
    args = parser.parse_args(argv)
    stop = threading.Event()
    # SIGTERM (`kill`, a service manager) ends the emulator as Ctrl-C does, so --save runs.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    emu = SheetsEmulator(port=args.port, auth=args.auth)
    files = {}
    for path in args.workbook:
        files[emu.add_spreadsheet_from_xlsx(path, locale=args.locale,
                                            time_zone=args.time_zone)] = Path(path)
    emu.start()
    print(f"Sheets API emulator on {emu.url}  ({ENV_VAR}={emu.host})", flush=True)
    if args.write_service_account:
        info = make_service_account(emu, path=args.write_service_account)
        print(f"  service account {info['client_email']} -> {args.write_service_account}",
              flush=True)
    for key in emu.keys():
        print(f"  spreadsheet {key}: {', '.join(emu._book(key).titles())}", flush=True)
    # Workbooks are loaded and the socket accepts connections: scripts wait for this line.
    print(f"listening on {emu.host}", flush=True)
    try:
        while not stop.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()
        if args.save:
            _save(emu, files)
    return 0


def _save(emu: SheetsEmulator, files: dict[str, Path]) -> None:
    for key, path in files.items():
        if not emu.changed(key):
            print(f"  {path}: unchanged", flush=True)
            continue
        print(f"  {path}: saving what clients wrote...", flush=True)
        emu.save_xlsx(key, path)
        print(f"  {path}: saved", flush=True)


if __name__ == "__main__":
    sys.exit(main())
