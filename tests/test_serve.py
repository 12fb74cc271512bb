"""`kpirules serve` over real HTTP (uvicorn on 127.0.0.1) against the Sheets emulator:
evaluate, validate, check and run, authentication (static token and Google ID tokens
signed by a local key, with the certificates served locally), limits, and one run per sheet.
"""

from __future__ import annotations

import json
import threading
import time

import pytest
from click.testing import CliRunner
from serve_support import MARKETING, TOKEN, Served, call, tab_values

AS_OF = "2026-11-26"


@pytest.fixture
def emulator(monkeypatch):
    from kpirules_emulator.sheets import SheetsEmulator

    with SheetsEmulator() as emu:
        monkeypatch.setenv("KPIRULES_SHEETS_EMULATOR_HOST", emu.host)
        yield emu


@pytest.fixture
def marketing(emulator):
    """The example workbook served as spreadsheet `marketing`."""
    emulator.add_spreadsheet_from_xlsx(MARKETING, key="marketing")
    return emulator


SMALL_RULES = [["Name", "Rule", "Enabled"], ["visits_daily", "count(visits) >= 1 daily", True],
               ["signup_rate", "signups / visits >= 2% weekly by campaign", True]]


@pytest.fixture
def small(emulator):
    """A small sheet `small`: two weeks of two campaigns, one of which signs up 0.6%."""
    import datetime as dt

    rows = [["Date", "Campaign", "Visits", "Signups"]]
    for day in range(14):
        for campaign, visits in (("brand", 100), ("Campaign-Secret-4711", 500)):
            rows.append([dt.date(2026, 11, 12) + dt.timedelta(days=day), campaign, visits, 3])
    emulator.add_spreadsheet("small", {"Data": rows, "Rules": SMALL_RULES})
    return emulator


def make_config(**kwargs):
    from kpirules.serve.app import ServeConfig
    from kpirules.serve.auth import AuthConfig

    auth = kwargs.pop("auth", None) or AuthConfig(static_token=TOKEN)
    return ServeConfig(auth=auth, **kwargs)


@pytest.fixture
def service():
    served = Served(make_config())
    yield served
    served.stop()


def cli_json(*args):
    from kpirules.cli.main import cli

    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, json.loads(result.output)


def test_check_answers_what_the_cli_prints(marketing, service):
    status, doc = call(service.url, "/v1/check", {"spreadsheet": "marketing", "as_of": AS_OF})
    assert status == 200
    code, expected = cli_json("check", "marketing", "--as-of", AS_OF, "--format", "json")
    assert doc["results"] == expected["results"] and doc["as_of"] == expected["as_of"] == AS_OF
    assert doc["exit_status"] == code == 1  # some rule fails, as the CLI exits


def test_evaluate_on_tab_values_gives_the_same_results(marketing, service):
    body = {"rules": tab_values(MARKETING, "Rules"), "data": tab_values(MARKETING, "Data"), "as_of": AS_OF}
    status, doc = call(service.url, "/v1/evaluate", body)
    assert status == 200
    _, expected = cli_json("check", "marketing", "--as-of", AS_OF, "--format", "json")
    assert doc["results"] == expected["results"]
    # The cells to write: engine headers right of the user's columns, then one line a rule.
    cells = {c["a1"]: c for c in doc["cells"]}
    assert [cells[f"{col}1"]["value"] for col in "FGHIJK"] == ["Status", "Value", "Target", "Period",
                                                               "Checked", "Message"]
    assert cells["F2"]["value"] == "WARN" and cells["G2"]["number_format"] == "0.00%"
    assert cells["H2"]["value"] == ">= 2%, warn at 2.5%" and cells["I2"]["value"] == "2026-11-16..22"
    assert cells["F20"]["value"] == "OFF"  # likes_target (row 20) is switched off in the Enabled column
    sidebar = {r["name"]: r for r in doc["rules"]}
    assert sidebar["orders_trend"] == {
        "name": "orders_trend", "row": 5, "status": "FAIL", "value": "-17.79%", "target": ">= -10%",
        "period": "2026-11-16..22", "message": cells["K5"]["value"]}


def test_evaluate_reads_the_settings_tab_and_reports_bad_settings(service):
    rules = [["Name", "Rule"], ["daily", "count(visits) >= 1 daily"]]
    data = [["Day", "Visits"], ["2026-11-24", 5], ["2026-11-25", 7]]
    status, doc = call(service.url, "/v1/evaluate", {"rules": rules, "data": data, "as_of": AS_OF,
                                                     "settings": [["Key", "Value"], ["date_column", "Day"]]})
    assert status == 200 and [r["status"] for r in doc["results"]] == ["PASS"]
    status, doc = call(service.url, "/v1/evaluate", {"rules": rules, "data": data,
                                                     "settings": [["Key", "Value"], ["restate_periods", "many"]]})
    assert status == 422 and doc["error"]["category"] == "config" and doc["error"]["exit_status"] == 2
    assert "Settings!B2" in doc["error"]["message"]


def test_evaluate_writes_text_as_text_and_errors_with_a_caret(service):
    rules = [["Name", "Rule"], ["bad", "signups / visitz >= 2% weekly"]]
    data = [["Date", "Signups", "Visits"], ["2026-11-20", 1, 10]]
    status, doc = call(service.url, "/v1/evaluate", {"rules": rules, "data": data, "as_of": AS_OF})
    assert status == 200 and doc["exit_status"] == 2
    cell = next(c for c in doc["cells"] if c["a1"] == "H2")
    # One line in the cell; the rule and the caret under the bad name in its note.
    assert "visitz" in cell["value"] and "\n" not in cell["value"]
    assert cell["note"].rstrip().endswith("^^^^^^")


@pytest.mark.parametrize("body, field", [
    ({"rules": [["Name", "Rule"]]}, "data"),
    ({"rules": "x", "data": [["Date"]]}, "rules"),
    ({"rules": [["Name", "Rule"]], "data": [["Date"]], "as_of": "26/11/2026"}, "as_of"),
    ({"rules": [["Name", "Rule"]], "data": [["Date"]], "as_of": "0001-01-02"}, "as_of"),  # not a crash
    ({"rules": [["Name", "Rule"]], "data": [["Date", {"x": 1}]]}, "data[0][1]"),
    ({"rules": [["Name", "Rule"]], "data": [["Date"]], "rulez": []}, "rulez"),
])
def test_bad_bodies_are_usage_errors_that_say_which_field(service, body, field):
    status, doc = call(service.url, "/v1/evaluate", body)
    assert status == 400 and doc["error"]["category"] == "usage" and doc["error"]["exit_status"] == 2
    assert field in doc["error"]["message"]


def test_validate_reports_every_problem_with_its_column(service):
    body = {"rules": [{"name": "ok", "rule": "signups / visits >= 2% weekly", "row": 2},
                      {"name": "typo", "rule": "signups / visitz >= 2% weekly", "row": 3},
                      {"name": "broken", "rule": "signups >=", "row": 4}],
            "headers": ["Date", "Signups", "Visits"]}
    status, doc = call(service.url, "/v1/validate", body)
    assert status == 200 and doc["problems"] == 2 and doc["exit_status"] == 1
    ok, typo, broken = doc["rules"]
    assert ok == {"name": "ok", "ok": True, "problems": [], "row": 2}
    assert typo["problems"][0]["category"] == "unknown-name" and typo["problems"][0]["column"] == 11
    assert "did you mean `visits`" in typo["problems"][0]["message"]
    assert broken["problems"][0]["category"] == "syntax" and broken["row"] == 4


@pytest.mark.parametrize("row", ["<script>alert(1)</script>", {"html": "<b>x</b>", "n": 7}, [2], 2.5, True, 0,
                                 10_000_001])
def test_validate_answers_back_only_a_row_number_never_other_json_of_the_caller(service, row):
    body = {"rules": [{"name": "ok", "rule": "signups >= 1 daily", "row": row}]}
    status, doc = call(service.url, "/v1/validate", body)
    assert status == 400 and doc["error"]["category"] == "usage"
    assert "rules[0].row" in doc["error"]["message"] and "row number" in doc["error"]["message"]
    said = json.dumps(doc)
    assert "script" not in said and "html" not in said and "2.5" not in said
    status, doc = call(service.url, "/v1/validate", dict(body, rules=[{"name": "ok", "rule": "signups >= 1 daily",
                                                                       "row": 9_999_999}]))
    assert status == 200 and doc["rules"][0]["row"] == 9_999_999


def test_an_unknown_field_is_named_without_echoing_all_of_it(service):
    key = "rulez" + "A" * 100_000
    status, doc = call(service.url, "/v1/validate", {"rules": [{"rule": "signups >= 1 daily"}], key: 1})
    assert status == 400 and doc["error"]["message"].startswith("unknown field 'rulezAAA")
    assert len(json.dumps(doc)) < 1000


def test_each_request_speaks_its_own_sheets_language(service):
    """The language is per request: a Polish sheet's answer is Polish, and the next request
    (served by a worker thread that answered in Polish before) is English again."""
    body = {"rules": [{"name": "typo", "rule": "signups / visitz >= 2% weekly"}], "headers": ["Date", "Signups", "Visits"]}
    for _ in range(3):
        status, doc = call(service.url, "/v1/validate", dict(body, locale="pl_PL"))
        assert status == 200
        assert doc["rules"][0]["problems"][0]["message"] == "nieznana kolumna `visitz`; czy chodziło o `visits`?"
        assert doc["rules"][0]["problems"][0]["category"] == "unknown-name"  # categories stay as they are
        status, doc = call(service.url, "/v1/validate", body)
        assert doc["rules"][0]["problems"][0]["message"] == "unknown column `visitz`; did you mean `visits`?"
    rules = [["Name", "Rule"], ["bad", "signups / visits >= weekly"]]
    data = [["Date", "Signups", "Visits"], ["2026-11-20", 1, 10]]
    status, doc = call(service.url, "/v1/evaluate", {"rules": rules, "data": data, "as_of": AS_OF, "locale": "pl_PL"})
    assert "oczekiwano progu po `>=`" in next(c for c in doc["cells"] if c["a1"] == "H2")["value"]
    status, doc = call(service.url, "/v1/validate", {"rules": [{"name": "b", "rule": "signups >="}]})
    assert doc["rules"][0]["problems"][0]["message"].startswith("expected a threshold after `>=`")


def test_run_writes_back_like_the_cli(small, service):
    status, doc = call(service.url, "/v1/run", {"spreadsheet": "small", "as_of": AS_OF})
    assert status == 200 and doc["written"] is True and doc["exit_status"] == 1
    served = small.values("small", "Rules")
    small.restore()  # the sheet as it was, then the CLI
    from kpirules.cli.main import cli

    result = CliRunner().invoke(cli, ["run", "small", "--as-of", AS_OF])
    assert result.exit_code == 1
    by_cli = small.values("small", "Rules")
    checked = served[0].index("Checked")
    def strip(rows):
        return [r[:checked] + r[checked + 1:] for r in rows]
    assert strip(served) == strip(by_cli)
    assert [r["status"] for r in doc["rules"]] == ["PASS", "FAIL"]
    assert [a["name"] for a in doc["alerts"]] == ["signup_rate"]  # a new FAIL alerts; a new PASS does not


def test_two_runs_at_once_on_one_sheet_one_is_refused(small, service):
    small.set_latency(0.5)  # every Sheets call is slow: the first run holds the sheet a while
    start = threading.Barrier(2)
    answers = []

    def one_run():
        start.wait()
        answers.append(call(service.url, "/v1/run", {"spreadsheet": "small", "as_of": AS_OF}))

    threads = [threading.Thread(target=one_run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(status for status, _ in answers)
    assert statuses == [200, 409]
    refused = next(doc for status, doc in answers if status == 409)["error"]
    assert refused["category"] == "locked" and refused["exit_status"] == 7
    # Only the run that ran wrote History: one row per rule x segment, not two.
    small.set_latency(0)
    history = small.values("small", "History")
    keys = [tuple(r[:3]) for r in history[1:]]
    assert len(keys) == len(set(keys))


def test_a_sheet_the_service_cannot_read_is_a_source_error(emulator, service):
    status, doc = call(service.url, "/v1/check", {"spreadsheet": "nosuchsheet"})
    assert status == 422 and doc["error"]["category"] == "source" and doc["error"]["exit_status"] == 3
    status, doc = call(service.url, "/v1/check", {"spreadsheet": "../../etc/passwd"})
    assert status == 400 and doc["error"]["category"] == "usage"


def test_a_sheets_data_setting_cannot_make_the_service_open_a_database(emulator, service, tmp_path):
    """The Settings tab is written by whoever can edit the sheet: its `data` setting must not
    make the service read (or, with DuckDB, create) a database on its own disk."""
    duckdb = pytest.importorskip("duckdb")
    secret = tmp_path / "secret.duckdb"
    with duckdb.connect(str(secret)) as db:
        db.execute("create table t as select date '2026-11-25' as date, 42 as visits")
    created = tmp_path / "created.duckdb"
    rules = [["Name", "Rule"], ["visits", "sum(visits) >= 40 daily"]]
    for key, url in (("reads", f"duckdb:///{secret}"), ("creates", f"duckdb:///{created}")):
        emulator.add_spreadsheet(key, {"Data": [["Date", "Visits"], ["2026-11-25", 1]], "Rules": rules,
                                       "Settings": [["Key", "Value"], ["data", url], ["table", "t"]]})
        status, doc = call(service.url, "/v1/check", {"spreadsheet": key, "as_of": AS_OF})
        assert status == 422 and doc["error"]["category"] == "source" and doc["error"]["exit_status"] == 3
        assert "`data` setting" in doc["error"]["message"]
        status, doc = call(service.url, "/v1/run", {"spreadsheet": key, "as_of": AS_OF})
        assert status == 200 and doc["exit_status"] == 3 and doc["results"] == []  # no verdict from the database
        assert doc["rules"][0]["status"].startswith("not checked")
    assert not created.exists()


@pytest.mark.parametrize("token", [None, "", "wrong-token", "a.b.c"])
def test_without_a_valid_token_401(service, token):
    headers = {"Authorization": token} if token == "" else None
    status, doc = call(service.url, "/v1/evaluate", {"rules": [], "data": []}, token=token or None,
                       headers=headers)
    assert status == 401 and doc["error"]["category"] == "auth"
    assert (token or TOKEN) not in doc["error"]["message"]


def test_health_needs_no_token_and_unknown_paths_are_json(service):
    assert call(service.url, "/healthz", token=None)[0] == 200
    status, doc = call(service.url, "/v1/nothing", {}, token=TOKEN)
    assert status == 404 and doc["error"]["category"] == "not-found"
    status, doc = call(service.url, "/v1/evaluate", token=TOKEN, method="GET")
    assert status == 405 and "error" in doc


def test_limits_body_size_and_time(small):
    served = Served(make_config(max_body=2048, timeout=1))
    try:
        status, doc = call(served.url, "/v1/evaluate", raw=b"[" + b"0," * 4000 + b"0]")
        assert status == 413 and doc["error"]["category"] == "too-large"
        status, doc = call(served.url, "/v1/evaluate", raw=b"{not json")
        assert status == 400 and doc["error"]["message"] == "the request body is not valid JSON"
        status, doc = call(served.url, "/v1/evaluate", raw=b"[" * 1000 + b"]" * 1000)  # was a 500
        assert status == 400 and doc["error"]["message"] == "the request body nests too deeply to be read"
        small.set_latency(1.5)
        status, doc = call(served.url, "/v1/check", {"spreadsheet": "small"})
        assert status == 504 and doc["error"]["category"] == "timeout"
    finally:
        served.stop()


def test_a_run_that_timed_out_still_writes_before_the_service_stops(small):
    # The caller hears 504 after 1 s; the run goes on (a run cannot be interrupted between
    # its write and its notifications) and stopping the service waits for it. Before, the
    # process could end under it, and its requests went on after the service had stopped.
    served = Served(make_config(timeout=1))
    try:
        small.set_latency(1.2)
        status, doc = call(served.url, "/v1/run", {"spreadsheet": "small", "as_of": AS_OF})
        assert status == 504 and doc["error"]["category"] == "timeout"
        assert "may still finish" in doc["error"]["hint"]
    finally:
        served.stop()
    small.set_latency(0)
    seen = len(small.requests())
    rules = small.values("small", "Rules")
    status_col = rules[0].index("Status")
    assert [r[status_col] for r in rules[1:]] == ["PASS", "FAIL"]  # the run's write landed
    time.sleep(0.3)
    assert len(small.requests()) == seen  # and nothing of it is left running


def test_no_cell_value_or_secret_in_the_logs(small, service, caplog):
    import logging

    caplog.set_level(logging.INFO)  # the service's level (`serve` keeps urllib3 quiet even at debug)
    secret_cell = "Campaign-Secret-4711"
    rules = [["Name", "Rule"], ["r", "count(visits) >= 1 daily by campaign"]]
    data = [["Date", "Campaign", "Visits"], ["2026-11-25", secret_cell, "not a number"]]
    assert call(service.url, "/v1/evaluate", {"rules": rules, "data": data, "as_of": AS_OF})[0] == 200
    call(service.url, "/v1/evaluate", {"rules": rules, "data": data}, token="wrong-" + TOKEN)
    assert call(service.url, "/v1/run", {"spreadsheet": "small", "as_of": AS_OF})[0] == 200
    text = ""
    for _ in range(200):  # the server logs a request just after answering it
        text = "\n".join(r.getMessage() for r in caplog.records)
        if "/v1/run 200" in text:
            break
        time.sleep(0.05)
    assert "/v1/evaluate 200" in text and "/v1/evaluate 401" in text and "/v1/run 200" in text
    for forbidden in (secret_cell, "not a number", TOKEN, "small", "brand", "visits"):
        assert forbidden not in text


def test_a_path_cannot_write_lines_into_the_log(service, caplog):
    """The log line named the request's path as the caller sent it, decoded: %0a started a
    forged line (`POST /v1/run 200 ... auth=token`), and a key put into a path was logged."""
    import http.client
    import logging

    caplog.set_level(logging.INFO)
    connection = http.client.HTTPConnection("127.0.0.1", service.port, timeout=30)
    connection.request("GET", "/v1/x%0aPOST%20/v1/run%20200%201ms%20auth=token%0a1BxSecretKey")
    assert connection.getresponse().status == 404
    connection.close()
    lines: list[str] = []
    for _ in range(200):  # the server logs a request just after answering it
        lines = [r.getMessage() for r in caplog.records if r.name == "kpirules.serve"]
        if any(" 404 " in line for line in lines):
            break
        time.sleep(0.05)
    assert [line.split()[:3] for line in lines] == [["GET", "-", "404"]]
    assert not any("\n" in line or "SecretKey" in line for line in lines)


# --- Google ID tokens, signed by a local test key --------------------------------------

class TokenIssuer:
    """A stand-in for Google's token signer: an RSA key, its certificate served on
    127.0.0.1 in the format of https://www.googleapis.com/oauth2/v1/certs ({kid: PEM}),
    and ID tokens signed with it. The service verifies them with google-auth, as in
    production; only the certificates' URL differs."""

    KID = "test-key-1"

    def __init__(self):
        import datetime as dt
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kpirules test issuer")])
        now = dt.datetime.now(dt.UTC)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(1).not_valid_before(now - dt.timedelta(days=1))
                .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
        self.private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption())
        certs = json.dumps({self.KID: cert.public_bytes(serialization.Encoding.PEM).decode()}).encode()
        self.fetches = 0
        issuer = self

        class Certs(BaseHTTPRequestHandler):
            def do_GET(self):
                issuer.fetches += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(certs)

            def log_message(self, *args):
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Certs)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        self.certs_url = f"http://127.0.0.1:{self.http.server_address[1]}/oauth2/v1/certs"

    def token(self, *, key_pem=None, kid=KID, **claims) -> str:
        import time

        from google.auth import crypt, jwt

        now = int(time.time())
        payload = {"iss": "https://accounts.google.com", "aud": "addon-client.apps.googleusercontent.com",
                   "sub": "1234", "email": "ana@example.com", "email_verified": True, "hd": "example.com",
                   "iat": now, "exp": now + 600}
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        signer = crypt.RSASigner.from_string(key_pem or self.private_pem, key_id=kid)
        return jwt.encode(signer, payload).decode()


@pytest.fixture(scope="module")
def issuer():
    made = TokenIssuer()
    yield made
    made.http.shutdown()


@pytest.fixture
def id_service(issuer):
    from kpirules.serve.auth import AuthConfig

    auth = AuthConfig.from_allow(["example.com", "bob@partner.org"], audiences=("addon-client.apps.googleusercontent.com",),
                                 certs_url=issuer.certs_url)
    served = Served(make_config(auth=auth))
    yield served
    served.stop()


VALIDATE = {"rules": [{"name": "r", "rule": "signups >= 1 daily"}]}


def test_id_tokens_from_allowed_accounts_are_accepted(issuer, id_service):
    for token in (issuer.token(), issuer.token(email="bob@partner.org", hd=None)):
        status, doc = call(id_service.url, "/v1/validate", VALIDATE, token=token)
        assert status == 200 and doc["exit_status"] == 0
    assert issuer.fetches == 1  # the certificates are fetched once, then cached


@pytest.mark.parametrize("claims, why", [
    ({"aud": "someone-else.apps.googleusercontent.com"}, "another audience"),
    ({"exp": 1_000_000_000, "iat": 999_999_000}, "expired"),
    ({"iss": "https://evil.example"}, "not Google's"),
    ({"email_verified": False}, "unverified e-mail"),
    ({"email": "eve@example.org", "hd": "example.org"}, "domain not allowed"),
    ({"email": "eve@example.com", "hd": None}, "a consumer account at the allowed domain's address"),
])
def test_id_tokens_that_do_not_qualify_are_401(issuer, id_service, claims, why):
    status, doc = call(id_service.url, "/v1/validate", VALIDATE, token=issuer.token(**claims))
    assert status == 401 and doc["error"]["category"] == "auth", why


def test_an_id_token_signed_by_another_key_is_401(issuer, id_service):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    status, doc = call(id_service.url, "/v1/validate", VALIDATE, token=issuer.token(key_pem=other))
    assert status == 401 and doc["error"]["message"] == "the ID token is not valid for this service"
    # The static token is not accepted by a service configured for ID tokens only.
    assert call(id_service.url, "/v1/validate", VALIDATE, token=TOKEN)[0] == 401


def test_serve_refuses_to_start_without_a_way_to_authenticate(monkeypatch):
    from kpirules.cli.main import cli

    monkeypatch.delenv("KPIRULES_SERVE_TOKEN", raising=False)
    result = CliRunner().invoke(cli, ["serve", "--port", "0"])
    assert result.exit_code == 2 and "KPIRULES_SERVE_TOKEN" in result.output
    result = CliRunner().invoke(cli, ["serve", "--port", "0", "--audience", "x.apps.googleusercontent.com"])
    assert result.exit_code == 2 and "--allow" in result.output


def test_audiences_given_with_spaces_after_the_commas_accept_their_tokens(issuer, monkeypatch):
    """`--audience "a, b"` (as people write lists) kept " b" with its space, so that every
    ID token for b was refused."""
    import os
    import re
    import subprocess
    import sys

    monkeypatch.delenv("KPIRULES_SERVE_TOKEN", raising=False)
    audience = "addon-client.apps.googleusercontent.com"
    server = subprocess.Popen(
        [sys.executable, "-m", "kpirules", "serve", "--port", "0", "--certs-url", issuer.certs_url,
         "--audience", f"other-client.apps.googleusercontent.com, {audience}", "--allow", "example.com"],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = server.stderr.readline()
        found = re.search(r"listening on (http://\S+)", line)
        assert found, line
        status, doc = call(found.group(1), "/v1/validate", VALIDATE, token=issuer.token(aud=audience))
        assert status == 200 and doc["exit_status"] == 0
    finally:
        server.terminate()
        server.wait(timeout=30)
