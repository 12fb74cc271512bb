"""How the Google Sheets connector talks HTTP: the gspread client and its session (with an
API root redirected for the emulator or tests), which failures are worth retrying, and the
patience for a Sheets emulator that is still starting.

``KPIRULES_SHEETS_EMULATOR_HOST`` is typically set in the same shell line that starts the
emulator (README, "Try it without a Google account"); loading a workbook can take the
emulator several seconds before it listens. The retry policy is tuned for Google (a few
attempts, a minute at most) and would give up on it, so before the first call the
connector waits, up to ``EMULATOR_PATIENCE`` seconds, for the emulator's port to accept a
connection. Against Google itself there is no such wait.
"""

from __future__ import annotations

import logging
import socket
import time
from typing import Any, Callable

from kpirules.errors import SourceError
from kpirules.i18n import N_, _

log = logging.getLogger("kpirules.gsheets")

API_ROOT = "https://sheets.googleapis.com"  # what gspread's URLs start with

EMULATOR_PATIENCE = 30.0  # seconds a starting emulator gets before the first call
_PROBE_INTERVAL = 0.25


def classify(exc: BaseException, *, idempotent: bool = True) -> Any:
    """A failed attempt as a ``kpirules.retry.Failure`` when it is worth retrying, else None."""
    import google.auth.exceptions as gexc
    import requests
    from gspread.exceptions import APIError

    from kpirules.retry import CONNECTION, RETRYABLE_STATUS, STATUS, TIMEOUT, Failure

    if isinstance(exc, APIError):
        status = exc.response.status_code
        if status not in RETRYABLE_STATUS:
            return None
        if not idempotent and status not in (429, 503):
            return None
        return Failure(STATUS, status=status, retry_after=exc.response.headers.get("Retry-After"))
    if isinstance(exc, gexc.TransportError):
        # The token request failed to get through: nothing was sent to Sheets yet.
        return Failure(CONNECTION, detail="token endpoint unreachable")
    if isinstance(exc, requests.ConnectTimeout):
        return Failure(TIMEOUT, detail="connect timeout")
    if isinstance(exc, requests.Timeout):
        return Failure(TIMEOUT, detail="read timeout") if idempotent else None
    if isinstance(exc, requests.ConnectionError):
        if not idempotent and not _never_sent(exc):
            return None
        return Failure(CONNECTION, detail=_connection_detail(exc))
    if isinstance(exc, (requests.exceptions.ChunkedEncodingError,
                        requests.exceptions.ContentDecodingError)):
        return Failure(CONNECTION, detail="answer cut off") if idempotent else None
    import json

    if isinstance(exc, json.JSONDecodeError) and idempotent:
        # A read whose 2xx body is cut off or an HTML page (a proxy): retried like a 5xx.
        return Failure(CONNECTION, detail="answer cut off or not JSON")
    return None


def timeout_hint(exc: Any) -> Any:
    """``RetryExhausted`` by read timeouts, with a hint naming the setting that gives more
    time (the policy's own hint names none)."""
    from kpirules.retry import TIMEOUT, RetryExhausted

    if exc.failures and exc.failures[-1].kind == TIMEOUT:
        return RetryExhausted(exc.message, "set a longer `timeout` (seconds for a small read; "
                              "bigger reads get more in proportion) in kpirules.toml or the "
                              "Settings tab, then try again", attempts=exc.attempts,
                              elapsed=exc.elapsed, failures=exc.failures)
    return exc


def _never_sent(exc: BaseException) -> bool:
    text = repr(exc.args)
    return "NewConnectionError" in text or "Connection refused" in text or "NameResolution" in text


def _connection_detail(exc: BaseException) -> str:
    text = repr(exc.args)
    # English (a retry's log line); marked so that a message quoting one can say it translated.
    for needle, detail in (("Connection refused", N_("connection refused")),
                           ("NameResolution", N_("name resolution failed")),
                           ("RemoteDisconnected", N_("connection closed without an answer")),
                           ("Connection reset", N_("connection reset")),
                           ("Connection aborted", N_("connection dropped"))):
        if needle in text:
            return detail
    return N_("connection error")


def build_client(credentials: str | None, endpoint: str | None, *,
                 sleep: Callable[[float], None] = time.sleep) -> tuple[Any, Any]:
    """(gspread HTTPClient, gauth.Resolved) for the credentials and API root in effect.
    With the Sheets emulator, first wait for it to listen (module docstring)."""
    from google.auth.transport.requests import AuthorizedSession
    from gspread.http_client import HTTPClient

    from kpirules import gauth

    resolved = gauth.find_credentials(credentials)
    if resolved.emulator and not endpoint:
        endpoint = f"http://{resolved.emulator}"
        wait_for_listener(resolved.emulator, sleep=sleep)
    session = AuthorizedSession(resolved.credentials)
    if endpoint:
        _check_endpoint(endpoint, anonymous=bool(resolved.emulator))
        session.mount(API_ROOT + "/", _redirect_adapter(endpoint))
        # Loopback emulators must not go through an HTTP(S)_PROXY from the environment.
        session.trust_env = False
    # auth=None: the AuthorizedSession above carries the credentials.
    return HTTPClient(auth=None, session=session), resolved  # type: ignore[arg-type]


def _check_endpoint(endpoint: str, *, anonymous: bool) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SourceError(_("{endpoint} is not an http(s) URL for the Sheets API").format(endpoint=repr(endpoint)))
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme == "http" and not anonymous and not loopback:
        # Real tokens over plain http to another machine would be readable on the wire.
        raise SourceError(_("refusing to send credentials over plain http to {host}").format(host=parts.netloc),
                          hint=_("use https, or KPIRULES_SHEETS_EMULATOR_HOST for an emulator"))


def _redirect_adapter(endpoint: str) -> Any:
    """A requests transport adapter that sends ``https://sheets.googleapis.com/...`` (the
    URLs gspread builds) to ``endpoint`` instead; everything else about the request,
    gspread's and google-auth's code included, stays as in production."""
    from requests.adapters import HTTPAdapter

    class _Redirect(HTTPAdapter):
        def send(self, request, **kwargs):  # type: ignore[override]
            if request.url.startswith(API_ROOT):
                request.url = endpoint + request.url[len(API_ROOT):]
            return super().send(request, **kwargs)

    # No urllib3-level retries: kpirules.retry decides, and counts every attempt.
    return _Redirect(max_retries=0)


def wait_for_listener(host: str, *, patience: float = EMULATOR_PATIENCE,
                      sleep: Callable[[float], None] = time.sleep) -> bool:
    """Whether ``HOST:PORT`` accepts a TCP connection, trying for about ``patience``
    seconds. False when it never did: the first call then fails the usual way, with
    the retry policy's message."""
    name, _, port = host.rpartition(":")
    if not port.isdigit():  # no port given: nothing to wait for, the call says what is wrong
        return False
    address = (name.strip("[]") or "127.0.0.1", int(port))
    for probe in range(max(1, int(patience / _PROBE_INTERVAL))):
        try:
            with socket.create_connection(address, timeout=1.0):
                return True
        except OSError:
            if probe == 0:
                log.warning("the Sheets emulator at %s is not listening yet; waiting up to "
                            "%g s for it", host, patience)
            sleep(_PROBE_INTERVAL)
    return False
