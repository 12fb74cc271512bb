"""The write path of the Google Sheets connector: what a failed ``batchUpdate`` means.

A write either certainly did not happen (``WriteRejected``: Google answered 4xx, and a
batchUpdate is all or nothing), or its outcome is unknown (``WriteUnknown``: the answer was
lost or garbled after the request went out), which ``kpirules.writeback.sheets`` resolves by
reading the sheet back. Never a blind retry.
"""

from __future__ import annotations

import json
from typing import Any

from kpirules.errors import SourceError
from kpirules.i18n import N_, _


class WriteRejected(SourceError):
    """Google refused a write (a 4xx answer): nothing of the batch was applied
    (batchUpdate is all or nothing). ``status`` and ``api_message`` say why."""

    def __init__(self, message: str, hint: str | None = None, *, status: int = 0,
                 api_message: str = ""):
        super().__init__(message, hint)
        self.status = status
        self.api_message = api_message


class WriteUnknown(SourceError):
    """A write whose answer was lost or garbled (a timeout after sending, a 5xx, a dropped
    connection, a truncated or non-JSON answer): it may or may not have been applied. Never
    retried blindly; the caller finds out by reading (kpirules.writeback.sheets).
    ``timed_out``: no answer in time, so the write may still be under way."""

    def __init__(self, message: str, hint: str | None = None, *, timed_out: bool = False):
        super().__init__(message, hint)
        self.timed_out = timed_out


def post_batch(http: Any, key: str, requests: list[dict]) -> Any:
    """One ``spreadsheets.batchUpdate`` through gspread's client, its body encoded without
    the spaces ``json=`` puts after every comma and colon: a run's write at 1,000 rules is
    some 20 MB of cells, a tenth of it those spaces."""
    from gspread.urls import SPREADSHEET_BATCH_UPDATE_URL

    body = json.dumps({"requests": requests}, separators=(",", ":"), allow_nan=False).encode()
    return http.request("post", SPREADSHEET_BATCH_UPDATE_URL % key, data=body,
                        headers={"Content-Type": "application/json"}).json()


def write_failure(exc: Exception, translated: Exception) -> Exception:
    """A failed write as ``WriteRejected`` (certainly not applied), ``WriteUnknown``
    (perhaps applied) or, for what is neither, ``translated`` (the usual message)."""
    from gspread.exceptions import APIError

    if isinstance(exc, APIError):
        status = exc.response.status_code
        if 400 <= status < 500 and status not in (408, 429):
            message = str(exc.error.get("message", "")) if isinstance(exc.error, dict) else ""
            return WriteRejected(getattr(translated, "message", str(translated)),
                                 getattr(translated, "hint", None), status=status, api_message=message)
        return WriteUnknown(_("Google Sheets answered {status} to the write").format(status=status),
                            hint=_("it may have been applied; kpirules checks by reading"))
    why = ambiguous(exc)
    if why:
        # ``why`` stays English (it is compared); it is said in the language of the run here.
        return WriteUnknown(_("the answer to the write was lost ({reason})").format(reason=_(why)),
                            hint=_("it may have been applied; kpirules checks by reading"),
                            timed_out=why == NO_ANSWER)
    return translated


NO_ANSWER = N_("no answer in time")


def ambiguous(exc: BaseException) -> str | None:
    """Why a write's outcome is unknown, or None when it certainly did not reach Google."""
    import requests

    from kpirules.connectors.gsheets_transport import _connection_detail, _never_sent

    if isinstance(exc, requests.ConnectTimeout):
        return None
    if isinstance(exc, requests.Timeout):
        return NO_ANSWER
    if isinstance(exc, (requests.exceptions.ChunkedEncodingError,
                        requests.exceptions.ContentDecodingError)):
        return N_("answer cut off")
    if isinstance(exc, requests.ConnectionError):
        return None if _never_sent(exc) else _connection_detail(exc)
    if isinstance(exc, json.JSONDecodeError):  # a 2xx whose body is not JSON (cut off, an HTML page)
        return N_("answer cut off or not JSON")
    return None
