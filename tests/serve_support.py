"""Shared by the service and add-on tests: ``kpirules serve``'s app on a real socket
(uvicorn on 127.0.0.1, a free port) in a thread, a tiny JSON client over real HTTP, and the
example workbook's tabs as the add-on sends them."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MARKETING = ROOT / "examples" / "marketing.xlsx"
TOKEN = "static-test-token"


class Served:
    """``create_app(config)`` served by uvicorn on 127.0.0.1 until ``stop``."""

    def __init__(self, config: Any):
        import uvicorn

        from kpirules.serve.app import create_app

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(create_app(config), log_config=None, access_log=False,
                                                    lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the service did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def call(url: str, path: str, body: Any = None, *, token: str | None = TOKEN, method: str | None = None,
         raw: bytes | None = None, headers: dict | None = None) -> tuple[int, Any]:
    """(HTTP status, parsed JSON answer)."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url + path, data=data, method=method or ("POST" if data is not None else "GET"))
    request.add_header("Content-Type", "application/json")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    for k, v in (headers or {}).items():
        request.add_header(k, v)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def cell_json(value: Any) -> Any:
    """A cell as the add-on sends it: dates as ISO text (Code.gs formats them the same way)."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def tab_values(path: Path, tab: str) -> list[list[Any]] | None:
    """A tab's values (header row first) as ``Range.getValues()`` gives them, JSON-ready."""
    from kpirules.connectors.xlsx_file import XlsxConnector

    wb = XlsxConnector(str(path)).read(data_tab="Data", rules_tab="Rules", extra_tabs=("Settings",))
    raw = {"Data": wb.data, "Rules": wb.rules}.get(tab) or wb.extra_tabs.get(tab)
    if raw is None:
        return None
    width = max(len(raw.headers), *(len(r) for r in raw.rows)) if raw.rows else len(raw.headers)
    def pad(row):
        return [cell_json(c) if c is not None else "" for c in row] + [""] * (width - len(row))
    return [pad(raw.headers)] + [pad(r) for r in raw.rows]
