"""The Sheets API methods over the emulator's state, independent of HTTP.

Every call runs under one lock. Reads render the current spreadsheet; writes run on a
clone that replaces the stored spreadsheet only if the whole call succeeded (so a
batchUpdate or values.batchUpdate with one bad part changes nothing).
"""

from __future__ import annotations

import threading
from typing import Any

from kpirules_emulator import sheets_batch, sheets_resource, sheets_values
from kpirules_emulator.sheets_auth import Auth
from kpirules_emulator.sheets_errors import ApiError, not_found, permission_denied
from kpirules_emulator.sheets_model import Spreadsheet
from kpirules_emulator.sheets_schema import check_body, check_query

# api name -> (writes?, field the body binds to in the request message, response schema)
METHODS: dict[str, tuple[bool, str, str]] = {
    "spreadsheets.get": (False, "", "Spreadsheet"),
    "spreadsheets.create": (True, "", "Spreadsheet"),
    "spreadsheets.batchUpdate": (True, "", "BatchUpdateSpreadsheetResponse"),
    "spreadsheets.values.get": (False, "", "ValueRange"),
    "spreadsheets.values.batchGet": (False, "", "BatchGetValuesResponse"),
    "spreadsheets.values.update": (True, "data", "UpdateValuesResponse"),
    "spreadsheets.values.batchUpdate": (True, "", "BatchUpdateValuesResponse"),
    # Recorded traffic only shows values.update's body field ("data"); append's is
    # assumed to bind the same way.
    "spreadsheets.values.append": (True, "data", "AppendValuesResponse"),
    "spreadsheets.values.clear": (True, "", "ClearValuesResponse"),
    "spreadsheets.values.batchClear": (True, "", "BatchClearValuesResponse"),
}

GRPC_METHODS = {
    "spreadsheets.get": "GetSpreadsheet", "spreadsheets.create": "CreateSpreadsheet",
    "spreadsheets.batchUpdate": "BatchUpdateSpreadsheet",
    "spreadsheets.values.get": "GetValues", "spreadsheets.values.batchGet": "BatchGetValues",
    "spreadsheets.values.update": "UpdateValues",
    "spreadsheets.values.batchUpdate": "BatchUpdateValues",
    "spreadsheets.values.append": "AppendValues", "spreadsheets.values.clear": "ClearValues",
    "spreadsheets.values.batchClear": "BatchClearValues",
}


class Service:
    def __init__(self, auth: Auth, validate: bool = True):
        self.books: dict[str, Spreadsheet] = {}
        self.lock = threading.RLock()
        self.auth = auth
        self.validate = validate

    def call(self, api: str, key: str | None, rng: str | None,
             query: dict[str, list[str]], body: Any, authorization: str | None) -> dict:
        """Run one API method; returns the response object or raises ApiError."""
        writes, body_field, schema = METHODS[api]
        grpc = "google.apps.sheets.v4.SpreadsheetsService." + GRPC_METHODS[api]
        account = self.auth.caller(authorization, grpc, writes)
        if self.validate:
            check_query(api, query)
            if body is not None and api not in ("spreadsheets.get",
                                                "spreadsheets.values.get",
                                                "spreadsheets.values.batchGet"):
                check_body(api, body, body_field)
        body = body if isinstance(body, dict) else {}
        mask = sheets_resource.parse_fields(query, schema)
        with self.lock:
            if api == "spreadsheets.create":
                book = sheets_resource.create_spreadsheet(body)
                if account is not None:
                    book.shared_with = {account}
                self.books[book.id] = book
                return self._mask(sheets_resource.spreadsheet_resource(book, {}, None), mask)
            book = self.books.get(key or "")
            if book is None:
                raise not_found()
            if not book.may_read(account) or (writes and not book.may_write(account)):
                raise permission_denied()
            if api == "spreadsheets.get":  # masks itself, building only what is asked
                return sheets_resource.spreadsheet_resource(book, query, mask)
            if not writes:
                return self._mask(self._read(api, book, rng, query, mask), mask)
            work = book.clone()
            result = self._write(api, work, rng, query, body, account)
            self.books[book.id] = work
            return self._mask(result, mask)

    @staticmethod
    def _mask(result: dict, mask: dict | None) -> dict:
        from kpirules_emulator.sheets_fields import filter_response
        return filter_response(result, mask) if mask is not None else result

    @staticmethod
    def _read(api, book, rng, query, mask):
        if api == "spreadsheets.values.get":
            return sheets_values.values_get(book, rng, query)
        return sheets_values.values_batch_get(book, query)

    @staticmethod
    def _write(api, book, rng, query, body, account):
        if api == "spreadsheets.batchUpdate":
            replies = sheets_batch.apply_batch(book, body, account)
            out: dict[str, Any] = {"spreadsheetId": book.id, "replies": replies}
            if body.get("includeSpreadsheetInResponse"):
                q = {"ranges": body.get("responseRanges") or [],
                     "includeGridData": ["true" if body.get("responseIncludeGridData")
                                         else "false"]}
                out["updatedSpreadsheet"] = sheets_resource.spreadsheet_resource(book, q,
                                                                                 None)
            return out
        if api == "spreadsheets.values.update":
            return sheets_values.values_update(book, rng, query, body)
        if api == "spreadsheets.values.batchUpdate":
            return sheets_values.values_batch_update(book, body)
        if api == "spreadsheets.values.append":
            return sheets_values.values_append(book, rng, query, body)
        if api == "spreadsheets.values.clear":
            return sheets_values.values_clear(book, rng)
        if api == "spreadsheets.values.batchClear":
            return sheets_values.values_batch_clear(book, body)
        raise ApiError(404, "Method not found.")
