"""BigQuery, as far as it can run here. BigQuery itself cannot run on this machine, so:

- the client path (our connector: REST calls through google-auth, named parameters,
  polling, paging) runs against ``bigquery_fake``, a local HTTP fake of the BigQuery REST
  API whose requests are validated against the discovery document google-api-python-client
  ships; the fake runs the GoogleSQL we send on DuckDB after sqlglot transpiles it;
- the SQL we generate for the ``bigquery`` dialect is pinned by a snapshot, so a change to
  it is a visible diff;
- the GA4 helper reads date-sharded fixture tables shaped like GA4's export, and its daily
  numbers are checked against the same numbers computed here in plain Python.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from test_conformance import SQL_TYPES, assert_cases, column_types, expected_exit, rules_file, typed_rows

pytest.importorskip("duckdb")
pytest.importorskip("googleapiclient")

from bigquery_fake import BigQueryFake  # noqa: E402

HERE = Path(__file__).parent
CASE_FILES = sorted((HERE / "conformance").glob("*.json"))
SNAPSHOT = HERE / "snapshots" / "bigquery_plan.sql"


def kpirules(fake: BigQueryFake, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, KPIRULES_BIGQUERY_EMULATOR_HOST=fake.host)
    return subprocess.run([sys.executable, "-m", "kpirules", *args], capture_output=True, text=True,
                          timeout=120, env=env)


def load(fake: BigQueryFake, name: str, doc: dict) -> None:
    fake.create_table(name, [(c, SQL_TYPES[t]) for c, t in zip(doc["data"]["columns"], column_types(doc))],
                      typed_rows(doc))


@pytest.fixture(scope="module")
def fake():
    with BigQueryFake(page_size=7, slow_jobs=True) as server:
        for path in CASE_FILES:
            load(server, path.stem.replace("-", "_"), json.loads(path.read_text("utf-8")))
        yield server


@pytest.mark.parametrize("path", CASE_FILES, ids=lambda p: p.stem)
def test_conformance_through_the_bigquery_api(fake, path, tmp_path):
    doc = json.loads(path.read_text("utf-8"))
    rules = rules_file(doc, tmp_path)
    proc = kpirules(fake, "check", "bigquery://proj/ds", "--table", path.stem.replace("-", "_"),
                    "--rules", str(rules), "--as-of", doc["as_of"], "--format", "json")
    assert proc.returncode == expected_exit(doc), proc.stderr[-3000:]
    results = json.loads(proc.stdout)["results"]
    assert_cases(doc, results)
    assert not fake.errors, fake.errors  # every request met the API's contract


def test_one_query_polled_and_paged(fake, tmp_path):
    """One jobs.query for the whole plan, then getQueryResults until complete and paged."""
    rules = tmp_path / "r.kpi"
    rules.write_text("a: leads >= 1 weekly by campaign\nb: clicks / impressions >= 1% weekly by channel\n",
                     encoding="utf-8")
    before = len(fake.requests_log)
    proc = kpirules(fake, "check", "bigquery://proj/ds", "--table", "segments", "--rules", str(rules),
                    "--as-of", "2026-11-26", "--format", "json")
    assert proc.returncode in (0, 1), proc.stderr
    calls = fake.requests_log[before:]
    assert [m for m, p in calls if p.endswith("/queries")] == ["POST"]
    assert sum(1 for _, p in calls if "/queries/" in p) >= 2  # not complete once, then pages
    assert len(json.loads(proc.stdout)["results"]) > 7  # more rows than one page


def test_generated_sql_snapshot():
    """The GoogleSQL of one plan, pinned: parameters for every value, quoted identifiers."""
    from sqlglot import exp

    from kpirules.plan import build_plan
    from kpirules.rulesfile import parse_rules_file
    from kpirules.sql.compile import compile_plan

    entries = parse_rules_file('a: last(leads) / clicks >= 2% weekly by campaign where channel in ("email", "x\'y")\n')
    plan = build_plan(entries, names=["leads", "clicks", "campaign", "channel", "date"], as_of=dt.date(2026, 11, 26))
    compiled = compile_plan(plan, table=exp.table_("daily", db="ds", catalog="proj", quoted=True), date="date",
                            columns={n: n for n in ("leads", "clicks", "campaign", "channel")},
                            dialect="bigquery", extents=sorted(plan.metrics))
    text = compiled.sql + "\n-- params: " + json.dumps({k: str(v) for k, v in compiled.params.items()}) + "\n"
    if not SNAPSHOT.exists() or os.environ.get("KPIRULES_UPDATE_SNAPSHOTS"):
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(text, encoding="utf-8")
    assert text == SNAPSHOT.read_text(encoding="utf-8")
    assert "x'y" not in compiled.sql and "@p" in compiled.sql


# ------------------------------------------------------------------------------ GA4

GA4_DAYS = [dt.date(2026, 11, 1) + dt.timedelta(days=i) for i in range(25)]
SOURCES = [("google", "cpc", "black_friday"), ("newsletter", "email", "nov_digest"), ("(direct)", "(none)", "(direct)")]


def ga4_events(seed: int = 7) -> dict[dt.date, list[dict]]:
    """Events shaped like GA4's export, a few hundred a day."""
    rng = random.Random(seed)
    out: dict[dt.date, list[dict]] = {}
    for day in GA4_DAYS:
        events = []
        for _ in range(rng.randint(20, 40)):
            user = f"u{rng.randint(1, 60)}"
            session = rng.randint(1, 3)
            source = rng.choice(SOURCES)
            for name in ["session_start", "page_view"] + rng.choices(
                    ["page_view", "purchase", "sign_up", "generate_lead", "scroll"], k=rng.randint(0, 4)):
                revenue = round(rng.uniform(10, 200), 2) if name == "purchase" else None
                events.append({"event_name": name, "user_pseudo_id": user, "session": session,
                               "source": source, "revenue": revenue})
        out[day] = events
    return out


def ga4_expected(events: dict[dt.date, list[dict]], start: dt.date, end: dt.date) -> dict[str, float]:
    """The daily view's definitions, computed here in Python, summed over start..end."""
    sessions = users = purchases = key = 0
    revenue = 0.0
    for day, day_events in events.items():
        if not start <= day <= end:
            continue
        for source in SOURCES:
            mine = [e for e in day_events if e["source"] == source]
            sessions += len({(e["user_pseudo_id"], e["session"]) for e in mine})
            users += len({e["user_pseudo_id"] for e in mine})
            purchases += sum(e["event_name"] == "purchase" for e in mine)
            key += sum(e["event_name"] in ("purchase", "generate_lead", "sign_up") for e in mine)
            revenue += sum(e["revenue"] or 0 for e in mine)
    return {"sessions": sessions, "users": users, "purchases": purchases, "key_events": key, "revenue": revenue}


@pytest.fixture(scope="module")
def ga4_fake():
    events = ga4_events()
    columns = [("event_date", "VARCHAR"), ("event_timestamp", "BIGINT"), ("event_name", "VARCHAR"),
               ("user_pseudo_id", "VARCHAR"),
               ("event_params", "STRUCT(key VARCHAR, value STRUCT(string_value VARCHAR, int_value BIGINT, "
                                "float_value DOUBLE, double_value DOUBLE))[]"),
               ("traffic_source", "STRUCT(name VARCHAR, medium VARCHAR, source VARCHAR)"),
               ("ecommerce", "STRUCT(purchase_revenue DOUBLE, transaction_id VARCHAR)")]
    with BigQueryFake(project="shop-analytics", dataset="analytics_123456") as server:
        for day, day_events in events.items():
            rows = []
            for i, e in enumerate(day_events):
                params = [{"key": "ga_session_id", "value": {"string_value": None, "int_value": e["session"],
                                                               "float_value": None, "double_value": None}},
                          {"key": "page_location", "value": {"string_value": "https://shop.example/",
                                                              "int_value": None, "float_value": None,
                                                              "double_value": None}}]
                source, medium, campaign = e["source"]
                rows.append([day.strftime("%Y%m%d"), i, e["event_name"], e["user_pseudo_id"], params,
                             {"name": campaign, "medium": medium, "source": source},
                             {"purchase_revenue": e["revenue"], "transaction_id": None}])
            server.create_table("events_" + day.strftime("%Y%m%d"), columns, rows)
        # Today's intraday table must never be counted.
        server.create_table("events_intraday_20261126", columns,
                            [["20261126", 1, "purchase", "u1", [], {"name": "x", "medium": "y", "source": "z"},
                              {"purchase_revenue": 1e6, "transaction_id": None}]])
        server.create_wildcard("events_")
        yield server, events


def test_ga4_daily_table_matches_an_independent_computation(ga4_fake, tmp_path):
    server, events = ga4_fake
    rules = tmp_path / "ga4.kpi"
    rules.write_text("conversion: purchases / sessions >= 1% weekly\n"
                     "revenue: revenue >= 1 weekly\n"
                     "users: users >= 1 weekly\n"
                     "key: key_events >= 1 weekly\n"
                     "by_source: purchases >= 0 weekly by source\n", encoding="utf-8")
    proc = kpirules(server, "check", "bigquery://shop-analytics/analytics_123456", "--table", "ga4:events_*",
                    "--rules", str(rules), "--as-of", "2026-11-26", "--format", "json")
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    results = {r["name"]: r for r in json.loads(proc.stdout)["results"]}
    want = ga4_expected(events, dt.date(2026, 11, 16), dt.date(2026, 11, 22))
    assert results["conversion"]["value"] == pytest.approx(want["purchases"] / want["sessions"], rel=1e-9)
    assert results["revenue"]["value"] == pytest.approx(want["revenue"], rel=1e-9)
    assert results["users"]["value"] == want["users"]
    assert results["key"]["value"] == want["key_events"]
    by_source = json.loads(proc.stdout)["results"]
    assert sorted(r["segment"]["source"] for r in by_source if r["name"] == "by_source") == \
        sorted(s for s, _, _ in SOURCES)
    assert not server.errors, server.errors


def test_ga4_last_three_days_are_not_complete(ga4_fake, tmp_path):
    """GA4 rewrites its last three days: a period reaching past as-of minus 4 is NO_DATA
    (waiting for complete data), never a verdict on partial numbers."""
    server, _ = ga4_fake
    rules = tmp_path / "r.kpi"
    rules.write_text("yesterday: sessions >= 1 daily\nweek: sessions >= 1 weekly\n", encoding="utf-8")
    proc = kpirules(server, "check", "bigquery://shop-analytics/analytics_123456", "--table", "ga4:events_*",
                    "--rules", str(rules), "--as-of", "2026-11-26", "--format", "json")
    results = {r["name"]: r for r in json.loads(proc.stdout)["results"]}
    assert results["yesterday"]["status"] == "NO_DATA" and results["yesterday"].get("incomplete") is True
    assert results["week"]["status"] == "PASS"  # 2026-11-16..22 is complete through 11-22


def test_ga4_pattern_is_checked(ga4_fake, tmp_path):
    server, _ = ga4_fake
    rules = tmp_path / "r.kpi"
    rules.write_text("a: sessions >= 1 weekly\n", encoding="utf-8")
    proc = kpirules(server, "check", "bigquery://shop-analytics/analytics_123456", "--table",
                    "ga4:events_`; DROP", "--rules", str(rules))
    assert proc.returncode == 3 and "not a GA4 table pattern" in proc.stderr
