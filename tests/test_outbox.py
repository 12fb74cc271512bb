"""The alert outbox: a channel that is down for one run gets every alert on the next, once,
with the same key (real servers on 127.0.0.1: a webhook receiver, a Slack-like receiver
and an aiosmtpd SMTP server that is not there for the first run)."""

from __future__ import annotations

import json
import re
import socket
import threading
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner
from test_run_common import AS_OF, RULES
from test_run_xlsx import make_workbook, tab_rows

from kpirules.cli.main import cli
from kpirules.writeback.outbox import delivery_key

CLEAN = [r for r in RULES if r["Name"] in ("conversion", "by_campaign", "daily_visits")]


class Endpoint:
    """Records every POST with its headers; answers ``status`` (switchable)."""

    def __init__(self):
        self.status = 500
        self.calls: list[tuple[int, dict, dict]] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                endpoint.calls.append((endpoint.status, dict(self.headers), body))
                self.send_response(endpoint.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def taken(self) -> list[tuple[dict, dict]]:
        return [(h, b) for status, h, b in self.calls if status == 200]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Mailbox:
    def __init__(self):
        self.received = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append(envelope)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def channel_toml(kind: str, url: str | None, port: int | None) -> str:
    on = 'on = ["fail", "warn", "no_data", "recovery"]'
    if kind == "webhook":
        return f'[[notifications]]\nname = "bi"\ntype = "webhook"\nurl = "{url}"\n{on}\n'
    if kind == "slack":
        return f'[[notifications]]\nname = "team"\ntype = "slack"\nwebhook_url = "{url}"\n{on}\n'
    return (f'[[notifications]]\nname = "owners"\ntype = "email"\nhost = "127.0.0.1"\nport = {port}\n'
            f'starttls = false\nfrom = "kpirules <kpi@example.com>"\nto = ["anna@example.com"]\n{on}\n')


def alert_rows(book) -> list[dict]:
    rows = tab_rows(book, "Alerts")
    head = rows[0]
    return [dict(zip(head, r)) for r in rows[1:]]


def run(book, config, *extra):
    return CliRunner().invoke(cli, ["run", str(book), "--as-of", AS_OF.isoformat(), "--config", str(config), *extra])


@pytest.mark.parametrize("kind", ["webhook", "slack", "email"])
def test_a_channel_down_for_one_run_gets_every_alert_on_the_next_once(tmp_path, kind):
    from aiosmtpd.controller import Controller

    book = make_workbook(tmp_path / "k.xlsx", rules=CLEAN)
    endpoint = Endpoint()
    port = free_port()
    name = {"webhook": "bi", "slack": "team", "email": "owners"}[kind]
    config = tmp_path / "kpirules.toml"
    config.write_text(channel_toml(kind, endpoint.url, port))
    try:
        # Run 1: the channel is down (500s; for e-mail nothing listens on the port).
        first = run(book, config)
        assert first.exit_code == 5, first.output  # results written, alerts owed
        assert "still owed" in first.output
        rows = alert_rows(book)
        assert len(rows) >= 3
        assert all(r["Key"] and f"{name}: FAILED" in r["Notified"] and r["Notified"].endswith("(owed)")
                   for r in rows)
        expected = {delivery_key(r["Key"], name) for r in rows}

        # Run 2: healthy. Every owed alert is delivered, once, with its key; nothing new.
        endpoint.status = 200
        box = Mailbox()
        controller = Controller(box, hostname="127.0.0.1", port=port)
        if kind == "email":
            controller.start()
        try:
            second = run(book, config)
            assert second.exit_code == 1, second.output  # some FAIL, nothing owed any more
            assert "owed by earlier runs" in second.output
            if kind == "webhook":
                keys = [h["Idempotency-Key"] for h, _ in endpoint.taken()]
                assert all(b["raised_at"] for _, b in endpoint.taken())
            elif kind == "slack":
                keys = [b["text"].rsplit("(key ", 1)[1].rstrip(")") for _, b in endpoint.taken()]
                assert all("delivered late" in b["text"] for _, b in endpoint.taken())
                # numbers as the rule writes them, as when raised: 2.5%, not 0.025
                late = json.dumps([b for _, b in endpoint.taken() if "conversion" in json.dumps(b)])
                assert "2.5%" in late and not re.search(r"\b0\.0\d", late), late
            else:
                (mail,) = box.received  # one message bundling the channel's alerts
                msg = message_from_bytes(mail.content, policy=policy.default)
                keys = [k.strip() for k in msg["X-Kpirules-Alert-Keys"].split(",")]
                assert msg["Message-ID"].strip("<>").split("@")[0]
            assert sorted(keys) == sorted(expected)  # each once, the keys stable
            after = alert_rows(book)
            assert len(after) == len(rows)  # no new row: the same alerts, delivered
            assert all(r["Notified"] == f"{kind} {name}: sent" for r in after)

            # Run 3: nothing owed, nothing changed: nothing sent.
            before = len(endpoint.taken()), len(box.received)
            third = run(book, config)
            assert third.exit_code == 1, third.output
            assert (len(endpoint.taken()), len(box.received)) == before
        finally:
            if kind == "email":
                controller.stop()
    finally:
        endpoint.close()


def webhook_book(tmp_path, status: int = 200, settings: str = ""):
    """A workbook of CLEAN rules, a webhook endpoint answering ``status`` and a settings
    file naming it (``settings`` first)."""
    book = make_workbook(tmp_path / "k.xlsx", rules=CLEAN)
    endpoint = Endpoint()
    endpoint.status = status
    config = tmp_path / "kpirules.toml"
    config.write_text(settings + channel_toml("webhook", endpoint.url, None))
    return book, endpoint, config


def test_no_notify_and_old_rows_are_not_owed_and_owed_for_expires(tmp_path):
    book, endpoint, config = webhook_book(tmp_path)
    try:
        quiet = run(book, config, "--no-notify")
        assert quiet.exit_code == 1, quiet.output
        assert all(r["Notified"] == "not sent (--no-notify)" for r in alert_rows(book))
        assert run(book, config).exit_code == 1
        assert endpoint.calls == []  # alerts of a --no-notify run are never owed
    finally:
        endpoint.close()


def test_a_dry_run_exits_as_the_data_say_not_5(tmp_path):
    # 5 says "the results were written, but some notification could not be delivered"
    # (docs/spec/cli.md). A dry run with a working channel exited 5 because the alerts it
    # would raise counted as owed: a scheduler was sent to check a channel nobody used.
    book, endpoint, config = webhook_book(tmp_path)
    try:
        dry = run(book, config, "--dry-run")
        assert dry.exit_code == 1, dry.output  # by_campaign fails
        assert "alert: by_campaign [campaign=social_prospect]: new -> FAIL" in dry.output
        assert endpoint.calls == []
        assert run(book, config).exit_code == 1 and len(endpoint.taken()) == 3
        endpoint.status = 500  # a channel down: the real run says so, a dry run after it too
        book.unlink()
        make_workbook(book, rules=CLEAN)
        assert run(book, config).exit_code == 5
        assert run(book, config, "--dry-run").exit_code == 1
    finally:
        endpoint.close()


def test_an_owed_alert_older_than_owed_for_is_given_up(tmp_path):
    book, endpoint, config = webhook_book(tmp_path, 500, 'owed_for = "1 day"\n')  # down
    try:
        assert run(book, config).exit_code == 5
        endpoint.status = 200
        # Make the owed alerts look raised long ago: past owed_for, they are given up.
        import openpyxl

        wb = openpyxl.load_workbook(book)
        ws = wb["Alerts"]
        head = [c.value for c in ws[1]]
        for row in ws.iter_rows(min_row=2):
            row[head.index("Time")].value = "2020-01-01 07:00"
            row[head.index("Notified")].value = "webhook bi: FAILED: down (owed)"
        wb.save(book)
        sent_before = len(endpoint.taken())
        result = run(book, config)
        assert result.exit_code == 1, result.output
        assert len(endpoint.taken()) == sent_before
        assert all("owed for longer than owed_for (1 day)" in r["Notified"] for r in alert_rows(book))
    finally:
        endpoint.close()


def test_on_a_google_sheet_owed_alerts_are_delivered_next_run_and_old_rows_are_not_owed(tmp_path, monkeypatch):
    from test_run_sheets import KEY, make_sheet, rules_tab

    from kpirules_emulator.sheets import SheetsEmulator

    legacy = [["Time", "Rule", "Segment", "From", "To", "Value", "Threshold", "Period", "Message", "Notified"],
              ["2026-11-01 07:00", "conversion", None, None, "FAIL", None, None, None, "old",
               "webhook bi: FAILED after 3 tries: down"],  # before the outbox: never owed
              [], ["2026-11-02 07:00", "by_campaign", "campaign=x", None, "FAIL", None, None, None, "old", None]]
    endpoint = Endpoint()
    config = tmp_path / "kpirules.toml"
    config.write_text(channel_toml("webhook", endpoint.url, None))
    args = ["run", KEY, "--as-of", AS_OF.isoformat(), "--config", str(config)]
    try:
        with SheetsEmulator() as emu:
            monkeypatch.setenv("KPIRULES_SHEETS_EMULATOR_HOST", emu.host)
            make_sheet(emu, rules=rules_tab(rules=CLEAN), extra={"Alerts": legacy})
            first = CliRunner().invoke(cli, args)
            assert first.exit_code == 5, first.output
            rows = emu.values(KEY, "Alerts")
            head = rows[0]
            new = [dict(zip(head, r)) for r in rows[4:]]
            assert len(new) >= 3 and all(r["Notified"].endswith("(owed)") and r["Key"] for r in new)
            endpoint.status = 200
            second = CliRunner().invoke(cli, args)
            assert second.exit_code == 1, second.output
            keys = sorted(h["Idempotency-Key"] for h, _ in endpoint.taken())
            assert keys == sorted(delivery_key(r["Key"], "bi") for r in new)
            after = emu.values(KEY, "Alerts")
            assert after[:4] == rows[:4]  # the old rows as they were (not owed, not touched)
            assert [dict(zip(head, r))["Notified"] for r in after[4:]] == ["webhook bi: sent"] * len(new)
            assert CliRunner().invoke(cli, args).exit_code == 1
            assert len(endpoint.taken()) == len(new)
    finally:
        endpoint.close()


def test_delivery_states_read_back_as_written():
    from kpirules.connectors.base import RawTable
    from kpirules.notify import Alert
    from kpirules.notify.dispatch import Delivery
    from kpirules.writeback import outbox

    a = Alert(rule="r", new_status="FAIL")
    states = [outbox.after(Delivery("bi", "webhook", a, True, 1)),
              outbox.after(Delivery("team", "slack", a, False, 3, "said 'no; never'"))]
    text = outbox.render(states)
    assert text == "webhook bi: sent; slack team: FAILED: said 'no, never' (owed)"
    parsed = outbox.parse(text)
    assert [(s.channel_type, s.owed) for s in parsed] == [("webhook", False), ("slack", True)]
    assert outbox.parse("sent by hand") == [] and outbox.parse(None) == []
    from kpirules.config import Settings

    with pytest.raises(ValueError, match="cannot contain"):
        Settings.model_validate({"notifications": [{"name": "a; b", "type": "webhook", "url": "https://x.example"}]})
    assert outbox.delivery_key("k1", "bi") == outbox.delivery_key("k1", "bi") != outbox.delivery_key("k1", "team")
    empty = RawTable(headers=[], rows=[], sheet="Alerts", header_row=1)
    assert outbox.last_row(empty) == 0
    table = RawTable(headers=["Time"], rows=[["x"], [None], ["y"], [None]], sheet="Alerts", header_row=2)
    assert outbox.last_row(table) == 5
