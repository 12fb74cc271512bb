"""What a failed Google Sheets call means, as a ``SourceError`` saying what to do: share
the sheet with the service account, check the URL, enable the API, log in again..."""

from __future__ import annotations

from typing import Any

from kpirules.errors import SourceError
from kpirules.i18n import _


class _RangeNotFound(SourceError):
    """Google's 400 "Unable to parse range": a tab asked for by name is not there. A
    SourceError so that, outside ``read`` (which falls back on it), it still reads well."""

    range_text = ""  # the range Google named


def translate(exc: Exception, key: str, auth: Any) -> Exception:
    """A non-retryable failure as a SourceError saying what to do."""
    import google.auth.exceptions as gexc
    from gspread.exceptions import APIError

    from kpirules.gauth import redact

    secrets = auth.secrets() if auth else []
    if isinstance(exc, APIError):
        status = exc.response.status_code
        message = redact(str(exc.error.get("message", "")), secrets)
        reason = _error_reason(exc)
        if status == 400 and "unable to parse range" in message.lower():
            found = _RangeNotFound(_("Google Sheets could not find a tab: {message}").format(message=message),
                                   hint=_("check the tab names (`kpirules check` lists them)"))
            found.range_text = message.split(":", 1)[1].strip() if ":" in message else ""
            return found
        if status == 400 and "not supported for this document" in message.lower():
            return SourceError(
                _("the file {key} is not a Google Sheet (an uploaded .xlsx or .csv?)").format(key=key),
                hint=_("open it in Google Sheets and use File > Save as Google Sheets, "
                       "or download it and pass the .xlsx file"))
        if status == 401:
            return SourceError(_("Google rejected the credentials (401)"), hint=_used(auth))
        if status == 403 and (reason in {"SERVICE_DISABLED", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"}
                              or "has not been used" in message or "is disabled" in message):
            if reason == "ACCESS_TOKEN_SCOPE_INSUFFICIENT":
                return SourceError(_("the credentials were not granted access to Google Sheets"),
                                   hint=_relogin_hint(auth))
            return SourceError(_("the Google Sheets API is not enabled for the credentials' project: {message}")
                               .format(message=message),
                               hint=_("enable it: Google Cloud console > APIs & Services > "
                                      "Library > Google Sheets API > Enable"))
        if status == 403:
            return SourceError(
                _("no access to the spreadsheet {key} as {who}").format(key=key, who=auth.who()),
                hint=auth.share_hint())
        if status == 404:
            return SourceError(_("no spreadsheet with key {key}; check the URL").format(key=key),
                               hint=_("the key is the part after /d/ in the sheet's URL; if it is right, {share}")
                               .format(share=auth.share_hint()))
        return SourceError(_("Google Sheets answered {status}: {message}").format(
            status=status, message=message or _("no message")))
    if isinstance(exc, gexc.RefreshError) and getattr(exc, "retryable", False):
        # google-auth already retried the token endpoint (3 attempts with backoff).
        return SourceError(_("Google's sign-in service did not issue a token: {reason}").format(
                               reason=redact(_refresh_message(exc), secrets)),
                           hint=_("try again later"))
    if isinstance(exc, gexc.RefreshError):
        return SourceError(_("Google refused the credentials: {reason}").format(
                               reason=redact(_refresh_message(exc), secrets)), hint=_used(auth))
    if isinstance(exc, gexc.GoogleAuthError):
        return SourceError(_("cannot use the credentials: {reason}").format(reason=redact(str(exc), secrets)),
                           hint=_used(auth))
    if isinstance(exc, ValueError):  # a body that is not JSON
        return SourceError(_("Google Sheets sent an answer that is not JSON ({kind})").format(
                               kind=type(exc).__name__), hint=_("try again later"))
    import requests

    if isinstance(exc, requests.RequestException):
        return SourceError(_("could not talk to Google Sheets ({kind})").format(kind=type(exc).__name__),
                           hint=_("check the network connection, then try again"))
    return exc


def _used(auth: Any) -> str:
    return _("{what_to_do} (credentials used: {credentials})").format(what_to_do=_relogin_hint(auth),
                                                                      credentials=auth.describe())


def _error_reason(exc: Any) -> str | None:
    for detail in exc.error.get("details", ()) or ():
        if isinstance(detail, dict) and detail.get("reason"):
            return detail["reason"]
    return None


def _refresh_message(exc: Exception) -> str:
    # RefreshError args are (message, response body); only the message is for people.
    return str(exc.args[0]) if exc.args else type(exc).__name__


def _relogin_hint(auth: Any) -> str:
    if auth is not None and auth.cache_path is not None:
        return _("run `kpirules auth login` again")
    return _("check the key file (it may have been deleted or disabled); "
             "`kpirules auth status` shows which is used")
