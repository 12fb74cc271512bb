"""BigQuery: ``kpirules check bigquery://PROJECT/DATASET --table T`` (a table or view of the
dataset), or ``--table ga4:events_*`` for GA4's export read as a daily table
(``kpirules.sql.ga4``).

The plan runs as one query (``jobs.query`` with named parameters, then
``jobs.getQueryResults`` until the job is done and every page is in); only aggregates come
back. Credentials are those of Google Sheets (``kpirules.gauth``: ``--credentials``, a
service account, ADC), asked for the ``bigquery`` scope; the roles BigQuery Data Viewer on
the dataset and BigQuery Job User on the project are enough. The REST API is called with
google-auth's AuthorizedSession (no BigQuery client library needed).
``KPIRULES_BIGQUERY_EMULATOR_HOST=HOST:PORT`` sends every call to a local server instead.
"""

from __future__ import annotations

import os
import time
from typing import Any, ClassVar, Sequence
from urllib.parse import urlsplit

from kpirules.connectors.warehouse import WarehouseConnector
from kpirules.errors import SourceError
from kpirules.i18n import _

API_ROOT = "https://bigquery.googleapis.com/bigquery/v2"
EMULATOR_ENV = "KPIRULES_BIGQUERY_EMULATOR_HOST"
SCOPES = ["https://www.googleapis.com/auth/bigquery"]
QUERY_DEADLINE_S = 600
_TYPES = {"DATE": "DATE", "FLOAT": "FLOAT64", "FLOAT64": "FLOAT64", "NUMERIC": "NUMERIC",
          "BIGNUMERIC": "BIGNUMERIC", "INTEGER": "INT64", "INT64": "INT64", "STRING": "STRING",
          "TIMESTAMP": "TIMESTAMP", "DATETIME": "DATETIME", "BOOL": "BOOL", "BOOLEAN": "BOOL"}


def _param(name: str, value: Any) -> dict:
    import datetime as dt

    if isinstance(value, dt.date):
        kind, text = "DATE", value.isoformat()
    elif isinstance(value, (int, float)):
        kind, text = "FLOAT64", repr(float(value))
    else:
        kind, text = "STRING", str(value)
    return {"name": name, "parameterType": {"type": kind}, "parameterValue": {"value": text}}


def _cell(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind in ("FLOAT", "FLOAT64", "NUMERIC", "BIGNUMERIC", "INTEGER", "INT64"):
        return float(value)
    return value


class BigQueryEngine:
    dialect = "bigquery"

    def __init__(self, session, root: str, project: str, dataset: str):
        self.session, self.root, self.project, self.dataset = session, root, project, dataset

    def _call(self, method: str, path: str, **kwargs) -> dict:
        import requests

        try:
            reply = self.session.request(method, self.root + path, timeout=(15, 120), **kwargs)
        except requests.RequestException as exc:
            raise SourceError(_("BigQuery did not answer: {reason}").format(reason=type(exc).__name__),
                              hint=_("check the network, or retry later")) from None
        try:
            body = reply.json()
        except ValueError:
            body = {}
        if reply.status_code >= 400:
            message = (body.get("error") or {}).get("message") or reply.reason
            hint = (_("grant the credentials BigQuery Data Viewer on the dataset and BigQuery Job User "
                      "on the project") if reply.status_code == 403 else _("check --table and the dataset"))
            raise SourceError(_("BigQuery refused ({status}): {message}").format(status=reply.status_code,
                                                                                  message=message), hint=hint)
        return body

    def columns(self, table: str) -> list[tuple[str, str]]:
        from kpirules.sql import ga4

        if ga4.is_ga4(table):
            return list(ga4.COLUMNS)
        from kpirules.sql.identifiers import split_table_name

        split_table_name(table)
        body = self._call("GET", f"/projects/{self.project}/datasets/{self.dataset}/tables/{table}")
        fields = (body.get("schema") or {}).get("fields") or []
        return [(f["name"], _TYPES.get(f.get("type", ""), f.get("type", "")).lower()) for f in fields]

    def relation(self, table: str):
        """What the compiled query reads: the table, or GA4's daily view as a subquery."""
        import sqlglot
        from sqlglot import exp

        from kpirules.sql import ga4

        if ga4.is_ga4(table):
            view = sqlglot.parse_one(ga4.daily_view(self.project, self.dataset, ga4.shard_pattern(table)),
                                     read="bigquery")
            return exp.Subquery(this=view, alias=exp.TableAlias(this=exp.to_identifier("ga4_daily")))
        return exp.table_(table, db=self.dataset, catalog=self.project, quoted=True)

    def execute(self, sql: str, params: dict[str, Any]) -> Sequence[tuple]:
        body = {"query": sql, "useLegacySql": False, "parameterMode": "NAMED",
                "queryParameters": [_param(k, v) for k, v in params.items()],
                "timeoutMs": 60000, "maxResults": 10000,
                "defaultDataset": {"projectId": self.project, "datasetId": self.dataset}}
        reply = self._call("POST", f"/projects/{self.project}/queries", json=body)
        deadline = time.monotonic() + QUERY_DEADLINE_S
        job = reply.get("jobReference") or {}
        rows: list[tuple] = []
        while True:
            if reply.get("jobComplete"):
                kinds = [f.get("type", "STRING") for f in (reply.get("schema") or {}).get("fields", [])]
                rows += [tuple(_cell(c.get("v"), k) for c, k in zip(r.get("f", []), kinds))
                         for r in reply.get("rows", [])]
                token = reply.get("pageToken")
                if not token:
                    return rows
                query = {"pageToken": token}
            else:
                if time.monotonic() > deadline:
                    raise SourceError(_("the BigQuery query did not finish in time"),
                                      hint=_("retry later; a view with fewer rows helps"))
                query = {}
            if job.get("location"):
                query["location"] = job["location"]
            reply = self._call("GET", f"/projects/{job.get('projectId', self.project)}/queries/{job['jobId']}",
                               params={**query, "timeoutMs": 60000, "maxResults": 10000})


class BigQueryConnector(WarehouseConnector):
    name: ClassVar[str] = "bigquery"
    schemes: ClassVar[tuple[str, ...]] = ("bigquery",)
    example: ClassVar[str] = "--table daily_marketing, or --table ga4:events_*"

    def __init__(self, source: str, *, credentials: str | None = None, **options: Any):
        super().__init__(source, **options)
        parts = urlsplit(source)
        path = [p for p in parts.path.split("/") if p]
        if not parts.hostname or len(path) != 1:
            raise SourceError(_("{source} is not a BigQuery dataset").format(source=source),
                              hint=_("write bigquery://PROJECT/DATASET"))
        self.project, self.dataset = parts.netloc, path[0]
        from kpirules.sql import ga4
        from kpirules.sql.identifiers import split_table_name

        split_table_name(self.project + "." + self.dataset)
        if ga4.is_ga4(self.table):
            pattern = ga4.shard_pattern(self.table)
            if not all(ch.isalnum() or ch in "_*" for ch in pattern):
                raise SourceError(_("`{pattern}` is not a GA4 table pattern").format(pattern=pattern),
                                  hint=_("write --table ga4:events_*"))
            # GA4 rewrites its last three days: complete only through as_of - 4.
            self.complete_lag_days = ga4.COMPLETE_LAG_DAYS
        self.credentials = credentials

    def connect(self) -> BigQueryEngine:
        from google.auth.transport.requests import AuthorizedSession

        from kpirules import gauth

        emulator = os.environ.get(EMULATOR_ENV, "").strip()
        if emulator:
            from google.auth.credentials import AnonymousCredentials

            creds, root = AnonymousCredentials(), f"http://{emulator}/bigquery/v2"
        else:
            creds, root = gauth.find_credentials(self.credentials).credentials, API_ROOT
            if hasattr(creds, "with_scopes"):
                creds = creds.with_scopes(SCOPES)
        session = AuthorizedSession(creds)
        session.trust_env = not emulator
        return BigQueryEngine(session, root, self.project, self.dataset)
