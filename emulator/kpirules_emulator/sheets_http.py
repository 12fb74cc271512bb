"""The HTTP side: routing Google's URL shapes, faults and latency, the request log, and
a ThreadingHTTPServer bound to loopback.

Routes (as gspread 6 and google-api-python-client call them):
``GET|PUT /v4/spreadsheets/{id}/values/{range}``, ``POST .../values/{range}:append|:clear``,
``GET .../values:batchGet``, ``POST .../values:batchUpdate|:batchClear``,
``GET /v4/spreadsheets/{id}``, ``POST /v4/spreadsheets/{id}:batchUpdate``,
``POST /v4/spreadsheets``, ``POST /token`` (OAuth), and the admin endpoints under
``/_emulator/``.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, unquote, urlsplit

from kpirules_emulator.sheets_auth import TokenError
from kpirules_emulator.sheets_errors import ApiError, bad_request, error_for_status

_SHEETS = re.compile(r"^/v4/spreadsheets(?:/(?P<id>[^/:]+))?(?P<rest>.*)$")
TOKEN_PATHS = ("/token", "/oauth2/v4/token", "/o/oauth2/token")


def route(method: str, path: str) -> tuple[str, str | None, str | None] | None:
    """(api, spreadsheetId, range) for a request line, or None."""
    m = _SHEETS.match(path)
    if not m:
        if path in TOKEN_PATHS and method == "POST":
            return "oauth.token", None, None
        return None
    key, rest = m.group("id"), m.group("rest")
    key = unquote(key) if key else None
    if key is None:
        return ("spreadsheets.create", None, None) if method == "POST" and not rest else None
    table = {("GET", ""): "spreadsheets.get", ("POST", ":batchUpdate"):
             "spreadsheets.batchUpdate", ("GET", "/values:batchGet"):
             "spreadsheets.values.batchGet", ("POST", "/values:batchUpdate"):
             "spreadsheets.values.batchUpdate", ("POST", "/values:batchClear"):
             "spreadsheets.values.batchClear"}
    if (method, rest) in table:
        return table[(method, rest)], key, None
    if rest.startswith("/values/"):
        raw = rest[len("/values/"):]
        for suffix, api in ((":append", "spreadsheets.values.append"),
                            (":clear", "spreadsheets.values.clear")):
            if raw.endswith(suffix) and method == "POST":
                return api, key, unquote(raw[:-len(suffix)])
        if method == "GET":
            return "spreadsheets.values.get", key, unquote(raw)
        if method == "PUT":
            return "spreadsheets.values.update", key, unquote(raw)
    return None


def normalize_api(api: str) -> str:
    """Accept ``values.get``, ``sheets.spreadsheets.values.get`` or the plain name."""
    if api.startswith("sheets."):
        api = api[len("sheets."):]
    if api.startswith("values."):
        api = "spreadsheets." + api
    if api in ("token", "oauth"):
        api = "oauth.token"
    return api


@dataclass
class Fault:
    api: str
    status: int | None = None
    retry_after: float | None = None
    delay: float | None = None
    drop: bool = False
    times: int = 1
    body: Any = None
    apply: bool = False  # run the call first, then fail it (lost response)
    raw: bytes | None = None  # answer these bytes as text/html (a proxy's 502 page)
    truncate: bool = False  # answer the real JSON cut in half (with apply: after running)


class Faults:
    def __init__(self):
        self._items: list[Fault] = []
        self._lock = threading.Lock()
        self.latency = 0.0

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._items.append(fault)

    def take(self, api: str) -> Fault | None:
        with self._lock:
            for fault in self._items:
                if fault.api in (api, "*") and fault.times > 0:
                    fault.times -= 1
                    if fault.times == 0:
                        self._items.remove(fault)
                    return fault
        return None

    def pending(self) -> list[dict]:
        with self._lock:
            return [{k: v.decode("utf-8", "replace") if isinstance(v, bytes) else v
                     for k, v in vars(f).items()} for f in self._items]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.latency = 0.0


class RequestLog:
    def __init__(self):
        self._items: list[dict] = []
        self._lock = threading.Lock()

    def add(self, entry: dict) -> None:
        with self._lock:
            self._items.append(entry)

    def all(self) -> list[dict]:
        with self._lock:
            return [dict(e) for e in self._items]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, handler, app):
        self.app = app
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request, client_address):
        with self.sockets_lock:
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def close_all(self) -> None:
        """Cut kept-alive client connections, so a stopped emulator answers nothing."""
        with self.sockets_lock:
            sockets = list(self.open_sockets)
            self.open_sockets.clear()
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kpirules-sheets-emulator"
    sys_version = ""

    def setup(self):
        super().setup()
        # Headers and body go out as two writes; without NODELAY, Nagle plus the client's
        # delayed ACK add ~40 ms to every keep-alive answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args):  # noqa: A002 - quiet: tests read .requests()
        pass

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def do_PUT(self):
        self._serve("PUT")

    def do_DELETE(self):
        self._serve("DELETE")

    def do_PATCH(self):
        self._serve("PATCH")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        self.server.app.handle(self, method, split.path, split.query, raw)

    # --- answering ---
    def send_json(self, status: int, payload: Any, headers: dict | None = None,
                  pretty: bool = False) -> int:
        data = json.dumps(payload, ensure_ascii=False, indent=2 if pretty else None,
                          separators=None if pretty else (",", ":")).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        return len(data)

    def drop(self) -> None:
        """Close the socket without a byte of answer."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class App:
    """Ties routing, faults, auth, the service and the log together."""

    def __init__(self, service, auth, faults: Faults, log: RequestLog,
                 admin: Callable[[str, str, dict, Any], Any]):
        self.service, self.auth, self.faults, self.log = service, auth, faults, log
        self.admin = admin

    def handle(self, h: _Handler, method: str, path: str, query_text: str,
               raw: bytes) -> None:
        query = parse_qs(query_text, keep_blank_values=True)
        if path.startswith("/_emulator/"):
            self._admin(h, method, path, query, raw)
            return
        routed = route(method, path)
        api = routed[0] if routed else "unknown"
        entry: dict[str, Any] = {"method": method, "path": path,
                                 "query": {k: v if len(v) > 1 else v[0]
                                           for k, v in query.items()},
                                 "api": api, "status": None, "body": None,
                                 "time": time.time()}
        try:
            body = self._body(raw, h.headers.get("Content-Type", ""), api)
        except ApiError as err:
            body = None
            entry["body"] = raw.decode("utf-8", "replace")
            self._finish(h, entry, err.code, err.body(), err.headers)
            return
        entry["body"] = body
        if self.faults.latency:
            time.sleep(self.faults.latency)
        fault = self.faults.take(api) if routed else None
        entry["fault"] = fault is not None
        if fault and fault.delay:
            time.sleep(fault.delay)
        failing = fault is not None and (fault.drop or fault.status or fault.truncate)
        if failing and not fault.apply:
            self._fail(h, entry, fault)
            return
        status, payload, headers = self._run(h, routed, query, body)
        if failing and fault.apply:
            entry["applied"] = status < 400
            self._fail(h, entry, fault)
            return
        pretty = (query.get("prettyPrint") or ["false"])[-1].lower() == "true"
        self._finish(h, entry, status, payload, headers, pretty)

    def _run(self, h: _Handler, routed, query, body) -> tuple[int, Any, dict]:
        if routed is None:
            return 404, {"error": {"code": 404, "message": "Method not found.",
                                   "status": "NOT_FOUND"}}, {}
        api, key, rng = routed
        try:
            if api == "oauth.token":
                return 200, self.auth.token_endpoint(body or {}, h.headers.get("Authorization")), {
                    "Cache-Control": "no-cache, no-store, max-age=0, must-revalidate"}
            return 200, self.service.call(api, key, rng, query, body,
                                          h.headers.get("Authorization")), {}
        except TokenError as err:
            return err.status, err.body, {}
        except ApiError as err:
            return err.code, err.body(), err.headers
        except Exception as err:  # a bug in the emulator: answer like Google's 500
            return 500, {"error": {"code": 500, "message": f"Internal error encountered. "
                                   f"({type(err).__name__}: {err})", "status": "INTERNAL"}}, {}

    @staticmethod
    def _body(raw: bytes, content_type: str, api: str):
        if not raw:
            return None
        text = raw.decode("utf-8", "replace")
        if api == "oauth.token" or "x-www-form-urlencoded" in content_type:
            return {k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()}
        try:
            return json.loads(text)
        except json.JSONDecodeError as err:
            raise bad_request(f"Invalid JSON payload received. {err.msg}.\n"
                              f"{text[max(0, err.pos - 20):err.pos + 20]}\n^") from None

    def _fail(self, h: _Handler, entry: dict, fault: Fault) -> None:
        if fault.drop:
            entry["status"] = None
            entry["dropped"] = True
            self.log.add(entry)
            h.drop()
            return
        if fault.raw is not None or fault.truncate:
            status = fault.status or 200
            raw = fault.raw.encode() if isinstance(fault.raw, str) else fault.raw
            data = raw if raw is not None else b'{"spreadsheetId":"'
            entry["status"] = status
            self.log.add(entry)
            try:
                h.send_response(status)
                h.send_header("Content-Type", "text/html; charset=UTF-8" if raw is not None
                              else "application/json; charset=UTF-8")
                h.send_header("Content-Length", str(len(data)))
                h.end_headers()
                h.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        err = error_for_status(fault.status)
        payload = fault.body if fault.body is not None else err.body()
        headers = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(int(fault.retry_after)) \
                if float(fault.retry_after).is_integer() else str(fault.retry_after)
        self._finish(h, entry, fault.status, payload, headers)

    def _finish(self, h, entry, status, payload, headers=None, pretty=False) -> None:
        entry["status"] = status
        # Logged before the answer goes out: a client that has its answer must find its
        # call in the log (tests count calls right after them).
        self.log.add(entry)
        try:
            # The answer's size, set once it is sent (benchmarks: bytes read).
            entry["bytes"] = h.send_json(status, payload, headers, pretty)
        except (BrokenPipeError, ConnectionResetError):
            pass
        # Seconds from the request's arrival to the last byte written (benchmarks).
        entry["elapsed"] = time.time() - entry["time"]

    def _admin(self, h: _Handler, method: str, path: str, query, raw: bytes) -> None:
        try:
            body = json.loads(raw) if raw else {}
            status, payload = 200, self.admin(method, path[len("/_emulator/"):], query, body)
        except (KeyError, ValueError, TypeError) as err:
            status, payload = 400, {"error": {"code": 400, "message": str(err),
                                              "status": "INVALID_ARGUMENT"}}
        if payload is None:
            status, payload = 404, {"error": {"code": 404, "message": "No such admin call.",
                                              "status": "NOT_FOUND"}}
        h.send_json(status, payload)


def make_server(host: str, port: int, app: App) -> _Server:
    return _Server((host, port), _Handler, app)
