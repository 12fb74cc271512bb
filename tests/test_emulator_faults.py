"""Fault injection, latency, request accounting, admin endpoints and thread safety."""

from __future__ import annotations

import threading

import gspread
import pytest
import requests

from kpirules_emulator.sheets import emulator_session

API = "https://sheets.googleapis.com/v4/spreadsheets"


@pytest.fixture
def session(sheets_emulator, sheet_from_rows):
    sheet_from_rows([["visits"], [1], [2]])
    return emulator_session(sheets_emulator.host)


def test_429_with_retry_after_for_the_next_n_calls(sheets_emulator, session):
    sheets_emulator.inject("spreadsheets.values.get", status=429, retry_after=7, times=2)
    for _ in range(2):
        r = session.get(f"{API}/kpis/values/Data")
        assert r.status_code == 429 and r.headers["Retry-After"] == "7"
        assert r.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
        assert r.json()["error"]["details"][0]["reason"] == "RATE_LIMIT_EXCEEDED"
    assert session.get(f"{API}/kpis").status_code == 200  # other methods unaffected
    assert session.get(f"{API}/kpis/values/Data").status_code == 200
    assert [e["status"] for e in sheets_emulator.requests("values.get")] == [429, 429, 200]


@pytest.mark.parametrize("status,name", [(500, "INTERNAL"), (503, "UNAVAILABLE")])
def test_server_errors_carry_googles_body_and_change_nothing(sheets_emulator, session,
                                                             status, name):
    before = sheets_emulator.snapshot("kpis")
    sheets_emulator.inject("spreadsheets.batchUpdate", status=status)
    client = gspread.Client(None, session=session)
    with pytest.raises(gspread.exceptions.APIError) as err:
        client.open_by_key("kpis").sheet1.update_title("renamed")
    assert err.value.code == status
    assert err.value.response.json()["error"]["status"] == name
    assert sheets_emulator.snapshot("kpis") == before


def test_a_custom_body(sheets_emulator, session):
    sheets_emulator.inject("spreadsheets.get", status=502, body={"oops": True})
    r = session.get(f"{API}/kpis")
    assert (r.status_code, r.json()) == (502, {"oops": True})


def test_dropped_connection(sheets_emulator, session):
    sheets_emulator.inject("spreadsheets.values.get", drop=True)
    with pytest.raises(requests.ConnectionError):
        session.get(f"{API}/kpis/values/Data")
    entry = sheets_emulator.requests("spreadsheets.values.get")[-1]
    assert entry["status"] is None and entry["dropped"]
    assert session.get(f"{API}/kpis/values/Data").ok  # the next call is served


def test_applied_then_dropped_write_lands_but_the_answer_is_lost(sheets_emulator, session):
    sheets_emulator.inject("spreadsheets.values.update", drop=True, apply=True)
    with pytest.raises(requests.ConnectionError):
        session.put(f"{API}/kpis/values/Data!A4", params={"valueInputOption": "RAW"},
                    json={"values": [[3]]})
    assert sheets_emulator.values("kpis", "Data")[-1] == [3]


def test_slow_responses_time_clients_out(sheets_emulator, session):
    sheets_emulator.inject("spreadsheets.get", delay=2.0)
    with pytest.raises(requests.Timeout):
        session.get(f"{API}/kpis", timeout=0.2)
    sheets_emulator.set_latency(2.0)
    with pytest.raises(requests.Timeout):
        session.get(f"{API}/kpis/values/Data", timeout=0.2)
    sheets_emulator.set_latency(0)
    assert session.get(f"{API}/kpis/values/Data", timeout=5).ok


def test_any_api_and_the_token_endpoint_can_fail(sheets_emulator, session):
    sheets_emulator.inject("*", status=503)
    assert session.get(f"{API}/kpis").status_code == 503
    sheets_emulator.inject("oauth.token", status=500)
    assert requests.post(sheets_emulator.token_uri, data={"grant_type": "x"}).status_code == 500


def test_accounting_records_every_call(sheets_emulator, session):
    session.get(f"{API}/kpis/values:batchGet", params={"ranges": ["Data!A1", "Data!A2"]})
    session.post(f"{API}/kpis:batchUpdate", json={"requests": []})
    session.get(f"{API}/kpis/nowhere")
    calls = sheets_emulator.requests()
    assert [(c["method"], c["api"], c["status"]) for c in calls] == [
        ("GET", "spreadsheets.values.batchGet", 200),
        ("POST", "spreadsheets.batchUpdate", 400),
        ("GET", "unknown", 404)]
    assert calls[0]["query"] == {"ranges": ["Data!A1", "Data!A2"]}
    assert calls[0]["path"] == "/v4/spreadsheets/kpis/values:batchGet"
    assert calls[1]["body"] == {"requests": []}
    sheets_emulator.reset_requests()
    assert sheets_emulator.requests() == []


def test_admin_endpoints(sheets_emulator, session):
    url = sheets_emulator.url + "/_emulator"
    r = requests.post(f"{url}/faults", json={"api": "values.get", "status": 429,
                                             "retry_after": 1})
    assert r.json()["faults"][0]["api"] == "spreadsheets.values.get"
    assert session.get(f"{API}/kpis/values/Data").status_code == 429
    log = requests.get(f"{url}/requests").json()
    assert [e["status"] for e in log] == [429]
    session.post(f"{API}/kpis/values/Data!A1:clear")
    assert requests.post(f"{url}/latency", json={"seconds": 2}).json() == {"latency": 2.0}
    with pytest.raises(requests.Timeout):
        session.get(f"{API}/kpis", timeout=0.2)
    requests.post(f"{url}/faults", json={"api": "spreadsheets.get", "status": 500, "times": 3})
    assert requests.post(f"{url}/reset", json={"state": True}).json() == {"reset": True}
    assert session.get(f"{API}/kpis", timeout=5).status_code == 200  # faults and latency gone
    assert sheets_emulator.values("kpis", "Data")[0] == ["visits"]  # state restored
    # The log was emptied by the reset (the timed-out call may still add itself later).
    assert ("spreadsheets.get", 200) in [(e["api"], e["status"]) for e in
                                         requests.get(f"{url}/requests").json()]
    assert all(e["status"] != 429 for e in requests.get(f"{url}/requests").json())


def test_concurrent_writers_do_not_lose_updates(sheets_emulator, session):
    errors = []

    def writer(n):
        s = emulator_session(sheets_emulator.host)
        for i in range(10):
            r = s.post(f"{API}/kpis/values/Data!A1:append",
                       params={"valueInputOption": "RAW", "insertDataOption": "INSERT_ROWS"},
                       json={"values": [[f"{n}-{i}"]]})
            if not r.ok:
                errors.append(r.text)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    rows = sheets_emulator.values("kpis", "Data")
    assert len(rows) == 3 + 60
    assert sorted(r[0] for r in rows[3:]) == sorted(f"{n}-{i}" for n in range(6)
                                                    for i in range(10))


def test_a_stopped_emulator_answers_nothing(sheets_emulator, session):
    assert session.get(f"{API}/kpis").ok  # a kept-alive connection now exists
    sheets_emulator.stop()
    with pytest.raises(requests.ConnectionError):
        session.get(f"{API}/kpis", timeout=5)
