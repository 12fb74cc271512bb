"""A local fake of the BigQuery REST API v2, for tests: BigQuery itself cannot run here.

It serves the three calls kpirules makes (``tables.get``, ``jobs.query``,
``jobs.getQueryResults``) on 127.0.0.1 and is held to the real API's contract:

- every request body and query parameter is validated against the BigQuery discovery
  document that google-api-python-client ships (``bigquery.v2.json``): an unknown field,
  a wrong type or a bad enum is a 400, exactly what a client that drifted from the API
  would get, and ``requests_log`` keeps every call for the tests;
- answers have the API's shapes (``jobReference``, ``jobComplete``, ``schema.fields``, rows
  as ``{"f": [{"v": "..."}]}`` with every value a string, ``pageToken`` paging);
- the SQL is BigQuery's (GoogleSQL), transpiled to DuckDB by sqlglot and run on a DuckDB
  database whose schema ``dataset`` holds the tables. Wildcard tables (``events_*``) are
  views over the shards with their ``_TABLE_SUFFIX``.

``slow_jobs`` makes ``jobs.query`` answer "not complete yet" first, and ``page_size`` caps
rows per page, so that the client's polling and paging are exercised.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import duckdb
import sqlglot

_TYPES = {"DOUBLE": "FLOAT", "FLOAT": "FLOAT", "BIGINT": "INTEGER", "INTEGER": "INTEGER",
          "HUGEINT": "INTEGER", "VARCHAR": "STRING", "DATE": "DATE", "BOOLEAN": "BOOLEAN",
          "TIMESTAMP": "TIMESTAMP"}


def discovery() -> dict:
    import googleapiclient

    path = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents" / "bigquery.v2.json"
    return json.loads(path.read_text("utf-8"))


class ContractError(Exception):
    pass


def validate(value: Any, schema: dict, schemas: dict, where: str) -> None:
    """``value`` against a discovery-document schema (JSON-Schema-like)."""
    if "$ref" in schema:
        schema = schemas[schema["$ref"]]
    kind = schema.get("type")
    if kind == "object":
        if not isinstance(value, dict):
            raise ContractError(f"{where}: expected an object")
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if key in props:
                validate(item, props[key], schemas, f"{where}.{key}")
            elif extra is not None:
                validate(item, extra, schemas, f"{where}.{key}")
            else:
                raise ContractError(f"{where}: unknown field {key!r}")
    elif kind == "array":
        if not isinstance(value, list):
            raise ContractError(f"{where}: expected an array")
        for i, item in enumerate(value):
            validate(item, schema["items"], schemas, f"{where}[{i}]")
    elif kind == "string":
        if schema.get("format") in ("int64", "uint64"):
            if not (isinstance(value, int) or (isinstance(value, str) and re.fullmatch(r"-?\d+", value))):
                raise ContractError(f"{where}: expected an int64")
        elif not isinstance(value, str):
            raise ContractError(f"{where}: expected a string")
        if "enum" in schema and value not in schema["enum"]:
            raise ContractError(f"{where}: {value!r} is not one of {schema['enum']}")
    elif kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            raise ContractError(f"{where}: expected an integer")
    elif kind == "boolean":
        if not isinstance(value, bool):
            raise ContractError(f"{where}: expected a boolean")


class BigQueryFake:
    def __init__(self, project: str = "proj", dataset: str = "ds", *, page_size: int = 10000,
                 slow_jobs: bool = False):
        self.project, self.dataset = project, dataset
        self.page_size, self.slow_jobs = page_size, slow_jobs
        self.db = duckdb.connect()
        self.db.execute(f"ATTACH ':memory:' AS \"{project}\"")
        self.db.execute(f"CREATE SCHEMA \"{project}\".\"{dataset}\"")
        self.db.execute(f"USE \"{project}\".\"{dataset}\"")
        self.lock = threading.Lock()
        self.jobs: dict[str, dict] = {}
        self.requests_log: list[tuple[str, str]] = []
        self.errors: list[str] = []
        self.sql_log: list[str] = []
        doc = discovery()
        self.schemas = doc["schemas"]
        jobs = doc["resources"]["jobs"]["methods"]
        self.get_results_params = jobs["getQueryResults"]["parameters"]
        self._server: ThreadingHTTPServer | None = None

    # ---------------------------------------------------------------- data

    def create_table(self, name: str, columns: list[tuple[str, str]], rows: list[list[Any]]) -> None:
        cols = ", ".join(f'"{c}" {t}' for c, t in columns)
        with self.lock:
            self.db.execute(f'CREATE OR REPLACE TABLE "{name}" ({cols})')
            if rows:
                self.db.executemany(f'INSERT INTO "{name}" VALUES ({", ".join("?" * len(columns))})', rows)

    def create_wildcard(self, prefix: str) -> None:
        """The view ``prefix*`` over every ``prefixYYYYMMDD`` shard, with ``_TABLE_SUFFIX``."""
        with self.lock:
            shards = [r[0] for r in self.db.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ? AND table_name LIKE ?",
                [self.dataset, prefix + "%"]).fetchall() if not r[0].endswith("*")]
            union = " UNION ALL BY NAME ".join(
                f"SELECT *, '{s[len(prefix):]}' AS _TABLE_SUFFIX FROM \"{s}\"" for s in sorted(shards))
            self.db.execute(f'CREATE OR REPLACE VIEW "{prefix}*" AS {union}')

    # ---------------------------------------------------------------- server

    def __enter__(self) -> BigQueryFake:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _reply(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._reply(*fake.handle("GET", self.path, None))

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    self._reply(400, _error(400, "invalid JSON"))
                    return
                self._reply(*fake.handle("POST", self.path, body))

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    @property
    def host(self) -> str:
        assert self._server
        return f"127.0.0.1:{self._server.server_address[1]}"

    # ---------------------------------------------------------------- API

    def handle(self, method: str, path: str, body: dict | None) -> tuple[int, dict]:
        url = urlsplit(path)
        self.requests_log.append((method, url.path))
        try:
            m = re.fullmatch(r"/bigquery/v2/projects/([^/]+)/datasets/([^/]+)/tables/([^/]+)", url.path)
            if m and method == "GET":
                return self.tables_get(*m.groups())
            m = re.fullmatch(r"/bigquery/v2/projects/([^/]+)/queries", url.path)
            if m and method == "POST":
                validate(body, {"$ref": "QueryRequest"}, self.schemas, "QueryRequest")
                return self.jobs_query(m.group(1), body)
            m = re.fullmatch(r"/bigquery/v2/projects/([^/]+)/queries/([^/]+)", url.path)
            if m and method == "GET":
                query = {k: v[-1] for k, v in parse_qs(url.query).items()}
                for key in query:
                    if key not in self.get_results_params:
                        raise ContractError(f"getQueryResults: unknown parameter {key!r}")
                return self.get_results(m.group(2), query)
            return 404, _error(404, f"Not found: {method} {url.path}")
        except ContractError as exc:
            self.errors.append(str(exc))
            return 400, _error(400, str(exc))
        except duckdb.Error as exc:
            self.errors.append(str(exc))
            return 400, _error(400, f"Query error: {str(exc).splitlines()[0]}", reason="invalidQuery")

    def tables_get(self, project: str, dataset: str, table: str) -> tuple[int, dict]:
        with self.lock:
            cols = self.db.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = ? "
                "AND table_name = ? ORDER BY ordinal_position", [dataset, table]).fetchall()
        if project != self.project or not cols:
            return 404, _error(404, f"Not found: Table {project}:{dataset}.{table}")
        return 200, {"kind": "bigquery#table", "id": f"{project}:{dataset}.{table}",
                     "tableReference": {"projectId": project, "datasetId": dataset, "tableId": table},
                     "schema": {"fields": [{"name": c, "type": _TYPES.get(t, "STRING"), "mode": "NULLABLE"}
                                           for c, t in cols]}}

    def jobs_query(self, project: str, body: dict) -> tuple[int, dict]:
        if body.get("useLegacySql", True):
            raise ContractError("kpirules must ask for GoogleSQL (useLegacySql: false)")
        params = {}
        for p in body.get("queryParameters", []):
            kind, value = p["parameterType"]["type"], p["parameterValue"].get("value")
            params[p["name"]] = (dt.date.fromisoformat(value) if kind == "DATE" else
                                 float(value) if kind in ("FLOAT64", "INT64") else value)
        sql = sqlglot.transpile(body["query"], read="bigquery", write="duckdb")[0]
        self.sql_log.append(body["query"])
        with self.lock:
            cursor = self.db.execute(sql, params)
            names = [d[0] for d in cursor.description]
            kinds = [_TYPES.get(str(d[1]).upper(), "STRING") for d in cursor.description]
            rows = cursor.fetchall()
        job_id = "job_" + uuid.uuid4().hex[:12]
        self.jobs[job_id] = {"rows": rows, "fields": [{"name": n, "type": k} for n, k in zip(names, kinds)],
                             "polled": not self.slow_jobs}
        reference = {"projectId": project, "jobId": job_id, "location": "EU"}
        if self.slow_jobs:
            return 200, {"kind": "bigquery#queryResponse", "jobReference": reference, "jobComplete": False}
        return 200, self._page(job_id, 0, body.get("maxResults"), reference)

    def get_results(self, job_id: str, query: dict) -> tuple[int, dict]:
        job = self.jobs.get(job_id)
        if job is None:
            return 404, _error(404, f"Not found: Job {job_id}")
        reference = {"projectId": self.project, "jobId": job_id, "location": query.get("location", "EU")}
        if not job["polled"]:
            job["polled"] = True
            return 200, {"kind": "bigquery#getQueryResultsResponse", "jobReference": reference, "jobComplete": False}
        start = int(query.get("pageToken") or 0)
        page = self._page(job_id, start, query.get("maxResults"), reference)
        page["kind"] = "bigquery#getQueryResultsResponse"
        return 200, page

    def _page(self, job_id: str, start: int, max_results: Any, reference: dict) -> dict:
        job = self.jobs[job_id]
        size = min(int(max_results or self.page_size), self.page_size)
        rows = job["rows"][start:start + size]
        out = {"kind": "bigquery#queryResponse", "jobReference": reference, "jobComplete": True,
               "schema": {"fields": job["fields"]}, "totalRows": str(len(job["rows"])),
               "rows": [{"f": [{"v": _text(v)} for v in row]} for row in rows]}
        if start + size < len(job["rows"]):
            out["pageToken"] = str(start + size)
        return out


def _text(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _error(code: int, message: str, reason: str = "invalid") -> dict:
    return {"error": {"code": code, "message": message, "errors": [{"message": message, "reason": reason}],
                      "status": "INVALID_ARGUMENT" if code == 400 else "NOT_FOUND"}}
