"""The Starlette application: routes, authentication, limits, JSON errors and logs.

Limits: a body larger than ``max_body`` bytes is refused (413) before it is parsed, and a
request that takes longer than ``timeout`` seconds is answered 504. The engine runs in a
worker thread, which cannot be interrupted: a ``run`` that times out still finishes its
write (or not) in the background and keeps its sheet's lock until then, so a retry is
refused rather than racing it. The service's own pool runs that work (``Workers``), so that
stopping the service waits for it: a run is never cut off between its write and its
notifications because the platform scaled the service down.

Logs: one line per request (method, path, status, milliseconds, how the caller
authenticated). Never a body, a header, a token, a spreadsheet key or a cell value: an
unexpected error is logged as its type and code locations only, because exception messages
can quote cells.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kpirules.exitcodes import Exit
from kpirules.i18n import language_code, number_text, set_language, speaker
from kpirules.serve.auth import AuthConfig, Authenticator, AuthError
from kpirules.serve.guard import Lease, SheetGuard
from kpirules.serve.payload import ApiError

log = logging.getLogger("kpirules.serve")

DEFAULT_MAX_BODY = 10 * 1024 * 1024  # a Data tab of ~100k cells as JSON
DEFAULT_TIMEOUT = 120.0


@dataclass
class ServeConfig:
    auth: AuthConfig
    max_body: int = DEFAULT_MAX_BODY
    timeout: float = DEFAULT_TIMEOUT
    credentials: str | None = None  # service-account key file; None: the environment's
    settings_file: str | None = None  # --config: settings for every sheet, under its Settings tab
    lease: Lease | None = None  # the sheet lease across processes (kpirules.serve.guard)
    guard: SheetGuard = field(init=False)

    def __post_init__(self) -> None:
        self.guard = SheetGuard(self.lease)


def create_app(config: ServeConfig):
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from kpirules._version import __version__
    from kpirules.serve.sheets import check_sheet, run_sheet
    from kpirules.serve.tabs import evaluate_tabs, validate_rules

    authenticate = Authenticator(config.auth)
    quiet_other_logs()
    workers = Workers()

    def endpoint(work: Callable[[Any], dict[str, Any]]):
        async def handle(request: Request) -> JSONResponse:
            # The event loop serves many requests on one thread: what it says itself is
            # translated with ``_`` for this request's language, never the thread's.
            lang = request_language(request.headers.get("accept-language"))
            _ = speaker(lang)
            try:
                try:
                    principal = authenticate(request.headers.get("authorization"))
                except AuthError as exc:
                    hint = _("the add-on sends a Google ID token; scripts send the service token")
                    raise ApiError(401, "auth", _(str(exc)), exit_status=int(Exit.ERROR), hint=hint) from None
                request.state.auth = principal.kind
                body = await read_json(request, config.max_body, lang)
                lang = request_language(request.headers.get("accept-language"), body)
                _ = speaker(lang)
                try:
                    result = await asyncio.wait_for(asyncio.shield(workers.submit(_speaking, lang, work, body)),
                                                    config.timeout)
                except TimeoutError:
                    raise ApiError(504, "timeout", _("the request took longer than {seconds} s").format(
                        seconds=f"{config.timeout:g}"),
                        hint=_("a run that timed out may still finish and write its results")) from None
                return JSONResponse(result)
            except ApiError as exc:
                return error_response(exc)
            except Exception as exc:  # noqa: BLE001 - never a traceback to the caller
                log_internal(exc)
                return error_response(ApiError(500, "internal", _("kpirules stopped on an internal error; "
                                               "nothing was written after it"), hint=_("please report it")))
        return handle

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "version": __version__})

    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        _ = speaker(request_language(request.headers.get("accept-language")))
        category = {404: "not-found", 405: "usage"}.get(exc.status_code, "usage")
        if exc.status_code == 404:
            message, hint = _("no such path: {path}").format(path=request.url.path), _("paths: {paths}").format(
                paths=", ".join(route.path for route in request.app.routes))
        elif exc.status_code == 405:
            message = _("{path} does not take {method}").format(path=request.url.path, method=request.method)
            hint = _("send {method}").format(method="GET" if request.url.path == "/healthz" else "POST")
        else:
            message, hint = str(exc.detail), None
        return error_response(ApiError(exc.status_code, category, message, hint=hint))

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/v1/evaluate", endpoint(evaluate_tabs), methods=["POST"]),
        Route("/v1/validate", endpoint(validate_rules), methods=["POST"]),
        Route("/v1/check", endpoint(lambda body: check_sheet(body, credentials=config.credentials,
                                                             settings_file=config.settings_file)),
              methods=["POST"]),
        Route("/v1/run", endpoint(lambda body: run_sheet(body, guard=config.guard, credentials=config.credentials,
                                                         settings_file=config.settings_file)),
              methods=["POST"]),
    ]
    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        await asyncio.to_thread(workers.drain)

    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error},  # type: ignore[dict-item]
                    lifespan=lifespan)
    app.state.config = config
    return RequestLog(app)


class Workers:
    """The threads the engine runs in. Unlike a request, work cannot be interrupted (a run
    between its write and its notifications must not stop): ``drain``, when the service
    stops, waits for every piece of it, also the work of requests answered 504 long ago."""

    def __init__(self, threads: int = 40):  # as many as Starlette's own pool
        from concurrent.futures import ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="kpirules-work")
        self._running: set[Any] = set()  # set.add/discard hold under the GIL, from any thread

    def submit(self, fn: Callable[..., Any], *args: Any) -> asyncio.Future:
        """``fn(*args)`` in a worker thread, with the caller's context variables (the
        request's ``sheet_data_only``), as an awaitable."""
        future = self._pool.submit(contextvars.copy_context().run, fn, *args)
        self._running.add(future)
        future.add_done_callback(self._running.discard)
        return asyncio.wrap_future(future)

    def drain(self) -> None:
        if self._running:
            log.info("waiting for %d request(s) under way to finish before stopping", len(self._running))
        self._pool.shutdown(wait=True)


def _speaking(lang: str, work: Callable[[Any], dict[str, Any]], body: Any) -> dict[str, Any]:
    """``work(body)`` in a worker thread whose language starts at the request's: the language
    is per thread (kpirules.i18n), and a thread serves one request after another. A problem
    with the request itself is said in it; then the sheet's setting or locale chooses, as
    for the command line (English when they say nothing)."""
    set_language(lang)
    return work(body)


def request_language(accept_language: str | None, body: Any = None) -> str:
    """The language a request asks for: its body's ``locale`` (the add-on sends the sheet's,
    ``pl_PL``), else the first language of ``Accept-Language`` that kpirules speaks (by
    weight), else English."""
    locale = body.get("locale") if isinstance(body, dict) else None
    if isinstance(locale, str) and locale.strip():
        return language_code(locale[:32])
    weighted = []
    for i, part in enumerate((accept_language or "")[:500].split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        code = language_code(tag) if tag and tag != "*" else None
        if code and (code != "en" or tag.lower().startswith("en")) and weight > 0:
            weighted.append((-weight, i, code))
    return min(weighted)[2] if weighted else "en"


def quiet_other_logs() -> None:
    """uvicorn's access lines carry query strings: the service's own line (``RequestLog``)
    replaces them. (urllib3's debug lines, with spreadsheet URLs, are turned down by the
    ``serve`` command, which owns the process's logging.)"""
    access = logging.getLogger("uvicorn.access")
    access.disabled = True
    access.propagate = False


def error_response(exc: ApiError):
    from starlette.responses import JSONResponse

    headers = {"WWW-Authenticate": 'Bearer realm="kpirules"'} if exc.status == 401 else None
    return JSONResponse(exc.to_json(), status_code=exc.status, headers=headers)


async def read_json(request: Any, limit: int, lang: str = "en") -> Any:
    """The body as JSON, refusing more than ``limit`` bytes (declared or streamed); what is
    wrong said in ``lang``."""
    _ = speaker(lang)
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise _too_large(limit, lang)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit, lang)
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks) or b"null")
    except (ValueError, UnicodeDecodeError):
        # json's message quotes where it failed, not what: still, keep the body out of it.
        raise ApiError(400, "usage", _("the request body is not valid JSON"),
                       hint=_("send one JSON object, UTF-8 encoded")) from None
    except RecursionError:  # [[[[... a few thousand deep: json recurses per level
        raise ApiError(400, "usage", _("the request body nests too deeply to be read"),
                       hint=_("send one JSON object, UTF-8 encoded")) from None


def _too_large(limit: int, lang: str) -> ApiError:
    _ = speaker(lang)
    return ApiError(413, "too-large", _("the request body is larger than {limit} bytes").format(
                        limit=number_text(f"{limit:,}", lang)),
                    hint=_("send only the Rules, Data and Settings tabs' used ranges, or raise --max-body"))


def log_internal(exc: BaseException) -> None:
    """The error's type and where it happened, without its message (it may quote cells)."""
    frames = traceback.extract_tb(exc.__traceback__)[-6:]
    where = " <- ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}" for f in reversed(frames))
    log.error("internal error %s at %s", type(exc).__name__, where)


class RequestLog:
    """ASGI middleware: one log line per request, with nothing from inside it."""

    def __init__(self, app: Any):
        self.app = app
        # Only the service's own paths are logged: any other is the caller's text (decoded,
        # so %0a would start a forged log line, and a key could be put in it), logged as "-".
        self.paths = frozenset(route.path for route in app.routes)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status = {"code": 500}

        async def record(message: dict) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            auth = (scope.get("state") or {}).get("auth") or "-"
            path = scope.get("path") if scope.get("path") in self.paths else "-"
            log.info("%s %s %d %.0fms auth=%s", scope.get("method"), path, status["code"],
                     (time.monotonic() - started) * 1000, auth)

    @property
    def state(self) -> Any:
        return self.app.state
