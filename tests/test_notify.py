"""Notifications against real servers on 127.0.0.1: an HTTP server playing Slack and a
generic webhook, and an aiosmtpd SMTP server. Tests assert what the servers received."""

from __future__ import annotations

import datetime as dt
import json
import logging
import socket
import subprocess
import sys
import threading
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kpirules.config import Settings
from kpirules.notify import Alert, dispatch, render_text, verify
from kpirules.notify.slack import slack_payload
from kpirules.notify.webhook import SIGNATURE_HEADER
from kpirules.results import Period, RuleResult, Status

SLACK_TOKEN = "T0KPI/B0KPI/xoxSecretToken42"
HMAC_KEY = "hmac-key-9d2e"
BEARER = "bearer-7a6b5c"
SMTP_USER, SMTP_PASSWORD = "kpi@example.com", "smtp-pw-31415"


def alert(rule="conversion", new="FAIL", previous="PASS", **kw) -> Alert:
    base = dict(rule=rule, rule_text="signups / visits >= 2% weekly", previous_status=previous, new_status=new,
                value=0.0183, threshold=0.02, value_text="1.83%", threshold_text="2%",
                period_start=dt.date(2026, 11, 16), period_end=dt.date(2026, 11, 22),
                message="32 signups / 1,750 visits", link="https://docs.google.com/spreadsheets/d/abc",
                checked_at=dt.datetime(2026, 11, 26, 7, 0, tzinfo=dt.UTC))
    return Alert(**(base | kw))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------- servers

class HookServer:
    """Records every request; answers from a script of (status, headers, body), then 200 ok."""

    def __init__(self):
        self.requests: list[dict] = []
        self.script: list[tuple[int, dict, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                status, headers, text = server.script.pop(0) if server.script else (200, {}, "ok")
                data = text.encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # keep test output clean
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def json(self, i: int = 0) -> dict:
        return json.loads(self.requests[i]["body"])

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def hook():
    server = HookServer()
    yield server
    server.close()


class Mailbox:
    async def handle_DATA(self, server, session, envelope):
        self.received.append(envelope)
        return "250 OK"

    def __init__(self):
        self.received = []
        self.logins: list[tuple[bytes, bytes]] = []


@pytest.fixture
def smtp():
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    box = Mailbox()

    def authenticator(server, session, envelope, mechanism, auth_data):
        box.logins.append((auth_data.login, auth_data.password))
        ok = auth_data.login == SMTP_USER.encode() and auth_data.password == SMTP_PASSWORD.encode()
        return AuthResult(success=ok, handled=False)  # not handled: the server answers 535 itself

    controller = Controller(box, hostname="127.0.0.1", port=free_port(), authenticator=authenticator,
                            auth_require_tls=False, auth_required=False)
    controller.start()
    box.port = controller.port
    yield box
    controller.stop()


def slack_settings(url: str, **kw) -> Settings:
    return Settings.model_validate({"notifications": [
        {"name": "team", "type": "slack", "webhook_url": url + "/services/${SLACK_PATH}", **kw}]})


def mail_settings(port: int, **kw) -> Settings:
    return Settings.model_validate({"notifications": [{
        "name": "mail", "type": "email", "host": "127.0.0.1", "port": port, "starttls": False,
        "username": SMTP_USER, "password_env": "SMTP_PASSWORD", "from": f"kpirules <{SMTP_USER}>",
        "to": ["anna@example.com", "ben@example.com"], **kw}]})


ENV = {"SLACK_PATH": SLACK_TOKEN, "SMTP_PASSWORD": SMTP_PASSWORD, "BI_TOKEN": BEARER, "BI_KEY": HMAC_KEY}


class Sleeps(list):
    """Records the waits instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


# ---------------------------------------------------------------------------- text

def test_render_text_is_one_plain_sentence_with_the_numbers():
    assert render_text(alert()) == (
        "FAIL: conversion (signups / visits >= 2% weekly) is 1.83%, below the threshold 2% for 2026-11-16..22 "
        "(was PASS). 32 signups / 1,750 visits. Open the sheet: https://docs.google.com/spreadsheets/d/abc")
    back = alert(new="PASS", previous="FAIL", value=0.0211, value_text="2.11%", segment={"campaign": "spring"},
                 period_start=dt.date(2026, 11, 30), period_end=dt.date(2026, 12, 6), link=None)
    assert render_text(back) == ("RECOVERED: conversion [campaign=spring] (signups / visits >= 2% weekly) is back "
                                 "at 2.11% for 2026-11-30..12-06 (was FAIL). 32 signups / 1,750 visits.")


def test_the_direction_compares_with_the_previous_value_not_the_threshold():
    # Issue: Slack said "rose to 2.24%" after the rate fell from 2.84% (2.24% is above
    # a 2% threshold, but below the week before).
    warned = alert(new="WARN", previous="PASS", value=0.0224, value_text="2.24%", previous_value=0.0284,
                   previous_value_text="2.84%", link=None, message="")
    assert "fell to 2.24% from 2.84%, in the warning zone" in render_text(warned)
    risen = alert(new="FAIL", previous="PASS", value=0.0183, value_text="1.83%", previous_value=0.0150,
                  previous_value_text="1.50%", link=None, message="")
    assert "rose to 1.83% from 1.50%, below the threshold 2%" in render_text(risen)
    same = alert(new="FAIL", previous="WARN", value=0.0183, value_text="1.83%", previous_value=0.0183,
                 link=None, message="")
    assert "stayed at 1.83%" in render_text(same)


@pytest.mark.parametrize("new, previous, kind", [
    ("FAIL", "PASS", "fail"), ("WARN", "PASS", "warn"), ("no data", "PASS", "no_data"),
    ("PASS", "FAIL", "recovery"), ("PASS", "NO_DATA", "recovery"), (Status.ERROR, None, "error"),
])
def test_kind(new, previous, kind):
    assert alert(new=new, previous=previous).kind == kind


def test_alert_from_a_rule_result_formats_like_the_threshold():
    result = RuleResult(name="conversion", rule="signups / visits >= 2% weekly", status=Status.FAIL,
                        value=0.0183, threshold=0.02, unit="%", message="32 signups / 1,750 visits",
                        period=Period(dt.date(2026, 11, 16), dt.date(2026, 11, 22)))
    a = Alert.from_result(result, "PASS", link="https://x.example")
    assert (a.value_text, a.threshold_text, a.previous_status, a.kind) == ("1.83%", "2%", Status.PASS, "fail")
    assert a.period == result.period


# ---------------------------------------------------------------------------- Slack and webhooks

def test_a_slack_message_never_carries_a_mention_a_sheet_wrote():
    # A campaign named <!channel> (a segment value, a message) must not ping anyone, in the
    # notification text as in the blocks.
    payload = slack_payload(alert(segment={"campaign": "<!channel>"}, message="<!here> & <@U123>"))
    texts = [payload["text"], payload["blocks"][0]["text"]["text"],
             *(e["text"] for b in payload["blocks"][1:] for e in b["elements"])]
    assert not any(mark in t for t in texts for mark in ("<!channel>", "<!here>", "<@U123>"))
    assert "&lt;!channel&gt;" in payload["text"]


def test_slack_receives_text_and_blocks(hook):
    deliveries = dispatch([alert()], slack_settings(hook.url), env=ENV)
    assert [(d.channel, d.ok, d.attempts, d.error) for d in deliveries] == [("team", True, 1, None)]
    (req,) = hook.requests
    assert req["path"] == f"/services/{SLACK_TOKEN}"
    assert req["headers"]["Content-Type"].startswith("application/json")
    payload = hook.json()
    assert payload["text"] == render_text(alert()).replace(">", "&gt;")
    section = payload["blocks"][0]["text"]["text"]
    assert "*FAIL conversion*" in section and "is 1.83%, below the threshold 2%" in section
    assert "<https://docs.google.com/spreadsheets/d/abc|Open the sheet>" in section
    assert "`signups / visits &gt;= 2% weekly`" in payload["blocks"][1]["elements"][0]["text"]


def test_webhook_gets_the_documented_schema_signed(hook):
    settings = Settings.model_validate({"notifications": [{
        "name": "bi", "type": "webhook", "url": hook.url + "/kpi?k=1", "on": ["fail", "warn", "recovery"],
        "headers": {"Authorization": "Bearer ${BI_TOKEN}"}, "secret": "${BI_KEY}"}]})
    a = alert(segment={"campaign": "spring"})
    (d,) = dispatch([a], settings, env=ENV)
    assert d.ok
    (req,) = hook.requests
    assert req["path"] == "/kpi?k=1" and req["headers"]["Authorization"] == f"Bearer {BEARER}"
    body = hook.json()
    expected = {
        "version": 1, "id": a.id, "kind": "fail", "rule": "conversion",
        "rule_text": "signups / visits >= 2% weekly", "segment": {"campaign": "spring"},
        "status": "FAIL", "previous_status": "PASS", "value": 0.0183, "threshold": 0.02,
        "value_text": "1.83%", "threshold_text": "2%", "period": {"start": "2026-11-16", "end": "2026-11-22"},
        "message": "32 signups / 1,750 visits", "text": render_text(a),
        "link": "https://docs.google.com/spreadsheets/d/abc", "checked_at": "2026-11-26T07:00:00+00:00"}
    # Schema version 1: every documented key as it was; keys are only ever added.
    assert {k: body[k] for k in expected} == expected
    assert {k: body[k] for k in set(body) - set(expected)} == {"key": None, "raised_at": None,
                                                               "previous_value": None}
    sig = req["headers"][SIGNATURE_HEADER]
    assert sig.startswith("sha256=") and verify(req["body"], HMAC_KEY, sig)
    assert not verify(req["body"] + b" ", HMAC_KEY, sig) and not verify(req["body"], "other", sig)


def test_server_errors_are_retried_with_backoff(hook):
    hook.script = [(500, {}, "oops"), (503, {}, "busy")]
    sleeps = Sleeps()
    (d,) = dispatch([alert()], slack_settings(hook.url), env=ENV, sleep=sleeps, backoff=0.5)
    assert (d.ok, d.attempts, d.error) == (True, 3, None)
    assert len(hook.requests) == 3 and sleeps == [0.5, 1.0]
    assert hook.json(0) == hook.json(2)  # the same message each time


def test_retry_after_is_honoured(hook):
    hook.script = [(429, {"Retry-After": "7"}, "rate_limited")]
    sleeps = Sleeps()
    (d,) = dispatch([alert()], slack_settings(hook.url), env=ENV, sleep=sleeps)
    assert d.ok and d.attempts == 2 and sleeps == [7.0]


def test_a_server_that_keeps_failing_is_reported_not_raised(hook, caplog):
    caplog.set_level(logging.DEBUG)
    hook.script = [(500, {}, f"error at /services/{SLACK_TOKEN}")] * 10
    sleeps = Sleeps()
    deliveries = dispatch([alert(), alert(rule="conversion_eu")], slack_settings(hook.url), env=ENV,
                          sleep=sleeps, max_attempts=3)
    first, second = deliveries
    assert (first.ok, first.attempts) == (False, 3)
    assert "answered HTTP 500" in first.error and "after 3 attempts" in first.error
    # the channel is down: the next alert is reported without three more tries
    assert (second.ok, second.attempts) == (False, 0) and "failed earlier in this run" in second.error
    assert len(hook.requests) == 3 and sleeps == [0.5, 1.0]
    for text in (first.error, second.error, first.describe(), caplog.text):
        assert SLACK_TOKEN not in text and "xoxSecretToken42" not in text


def test_client_errors_are_not_retried(hook):
    hook.script = [(404, {}, "no_service")]
    (d,) = dispatch([alert()], slack_settings(hook.url), env=ENV, sleep=Sleeps())
    assert (d.ok, d.attempts) == (False, 1) and "HTTP 404: no_service" in d.error


def test_connection_refused_is_reported_without_the_token():
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    sleeps = Sleeps()
    (d,) = dispatch([alert()], slack_settings(url), env=ENV, sleep=sleeps, max_attempts=2)
    assert (d.ok, d.attempts) == (False, 2) and sleeps == [0.5]
    assert d.error.startswith(f"could not connect to {url} (") and SLACK_TOKEN not in d.error


def test_a_server_that_never_answers_times_out():
    with socket.socket() as s:  # listens, never accepts: the request waits for an answer
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
        (d,) = dispatch([alert()], slack_settings(url), env=ENV, sleep=Sleeps(), max_attempts=1, timeout=0.2)
    assert not d.ok and d.error == f"no answer from {url} within 0.2 s"


def test_missing_secret_is_reported_and_nothing_is_sent(hook):
    (d,) = dispatch([alert()], slack_settings(hook.url), env={})
    assert (d.ok, d.attempts) == (False, 0) and "SLACK_PATH is not set" in d.error
    assert hook.requests == []


def test_channels_get_only_the_alerts_they_cover(hook):
    settings = Settings.model_validate({"notifications": [
        {"name": "all-fails", "type": "webhook", "url": hook.url + "/a"},  # default: fail + recovery
        {"name": "funnel", "type": "webhook", "url": hook.url + "/b", "on": ["fail", "warn", "no_data"],
         "rules": ["conv*", "!conversion_test"]},
    ]})
    alerts = [alert(), alert(rule="conversion_test"), alert(rule="ctr", new="WARN"),
              alert(rule="conversion_eu", new="NO_DATA"), alert(rule="signups", new="PASS", previous="FAIL")]
    deliveries = dispatch(alerts, settings, env=ENV)
    assert [(d.channel, d.alert.rule) for d in deliveries] == [
        ("all-fails", "conversion"), ("all-fails", "conversion_test"), ("all-fails", "signups"),
        ("funnel", "conversion"), ("funnel", "conversion_eu")]
    received = [(r["path"], json.loads(r["body"])["rule"]) for r in hook.requests]
    assert received == [("/a", "conversion"), ("/a", "conversion_test"), ("/a", "signups"),
                        ("/b", "conversion"), ("/b", "conversion_eu")]


# ---------------------------------------------------------------------------- e-mail

def test_one_email_per_channel_bundles_its_alerts(smtp):
    alerts = [alert(), alert(rule="ctr", new="PASS", previous="FAIL", value=0.016, value_text="1.6%",
                             rule_text="clicks / impressions >= 1.5% weekly", message="48 clicks / 3,000 impressions")]
    deliveries = dispatch(alerts, mail_settings(smtp.port), env=ENV)
    assert [(d.ok, d.attempts) for d in deliveries] == [(True, 1), (True, 1)]
    assert smtp.logins == [(SMTP_USER.encode(), SMTP_PASSWORD.encode())]
    (envelope,) = smtp.received
    assert envelope.mail_from == SMTP_USER
    assert envelope.rcpt_tos == ["anna@example.com", "ben@example.com"]
    msg = message_from_bytes(envelope.content, policy=policy.default)
    assert msg["Subject"] == "[kpirules] 2 alerts: FAIL conversion, RECOVERED ctr"
    assert msg["From"] == f"kpirules <{SMTP_USER}>" and msg["To"] == "anna@example.com, ben@example.com"
    assert msg["Auto-Submitted"] == "auto-generated"
    text = msg.get_body(("plain",)).get_content()
    assert render_text(alerts[0]) in text and "32 signups / 1,750 visits" in text
    assert "RECOVERED: ctr (clicks / impressions >= 1.5% weekly) is back at 1.6%" in text
    html = msg.get_body(("html",)).get_content()
    assert "is 1.83%, below the threshold 2%" in html and 'href="https://docs.google.com/spreadsheets/d/abc"' in html


def test_single_alert_subject_and_text_only(smtp):
    (d,) = dispatch([alert()], mail_settings(smtp.port, html=False, subject_prefix="[KPI]"), env=ENV)
    assert d.ok
    msg = message_from_bytes(smtp.received[0].content, policy=policy.default)
    assert msg["Subject"] == "[KPI] FAIL conversion" and not msg.is_multipart()


def test_smtp_login_failure_is_reported_without_the_password(smtp, caplog):
    caplog.set_level(logging.DEBUG)
    sleeps = Sleeps()
    (d,) = dispatch([alert()], mail_settings(smtp.port), env=ENV | {"SMTP_PASSWORD": "wrong-pw-2718"},
                    sleep=sleeps)
    assert (d.ok, d.attempts) == (False, 1) and sleeps == []  # a wrong password does not get better
    assert "rejected the login (535)" in d.error
    assert smtp.received == []
    for text in (d.error, caplog.text):
        assert "wrong-pw-2718" not in text and SMTP_PASSWORD not in text


def test_smtp_server_unreachable_is_retried_then_reported():
    sleeps = Sleeps()
    (d,) = dispatch([alert()], mail_settings(free_port()), env=ENV, sleep=sleeps)
    assert (d.ok, d.attempts) == (False, 3) and sleeps == [0.5, 1.0]
    assert d.error.startswith("could not talk to 127.0.0.1:") and SMTP_PASSWORD not in d.error


def test_smtp_server_that_never_greets_times_out():
    with socket.socket() as s:  # accepts into the backlog, never says 220
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        port = s.getsockname()[1]
        (d,) = dispatch([alert()], mail_settings(port), env=ENV, sleep=Sleeps(), max_attempts=1, timeout=0.2)
    assert not d.ok and d.error == f"no answer from 127.0.0.1:{port} within 0.2 s"


def test_email_without_tls_to_a_server_without_starttls_is_refused(smtp):
    settings = mail_settings(smtp.port, starttls=True)
    (d,) = dispatch([alert()], settings, env=ENV, sleep=Sleeps())
    assert not d.ok and "does not offer STARTTLS" in d.error and smtp.logins == []


def test_a_login_to_a_server_that_offers_none_is_said_so_not_blamed_on_starttls():
    from aiosmtpd.controller import Controller

    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())  # no AUTH offered
    controller.start()
    try:
        (d,) = dispatch([alert()], mail_settings(controller.port, starttls=False), env=ENV, sleep=Sleeps())
    finally:
        controller.stop()
    assert not d.ok and d.attempts == 1 and box.received == []
    assert "offers no login" in d.error and "STARTTLS" not in d.error and SMTP_PASSWORD not in d.error


# ---------------------------------------------------------------------------- packaging

def test_importing_notify_does_not_import_requests():
    code = "import kpirules.notify, kpirules.config, sys; print('requests' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
