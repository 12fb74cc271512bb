"""What a channel kind's capabilities change (kpirules/config_channels.py):

- ``bundles`` (e-mail): one message per channel and raising run, so that an owed bundle
  sent again is the same message, with the same Message-ID, however many other alerts are
  due in the run that resends it;
- ``idempotency-key``: a send whose answer was lost may be repeated at once; a channel
  without it is tried once a run after such a failure, and its Notified state says the
  alert may have arrived, and, once sent again, that the receiver may have it twice.

Real servers on 127.0.0.1 (aiosmtpd, an HTTP receiver) and a real .xlsx workbook."""

from __future__ import annotations

import datetime as dt
from email import message_from_bytes, policy
from typing import Literal

import pytest
from test_outbox import CLEAN, Endpoint, alert_rows, channel_toml, free_port
from test_run_common import AS_OF
from test_run_xlsx import make_workbook

from kpirules.writeback.outbox import delivery_key


def run(book, config):
    from click.testing import CliRunner

    from kpirules.cli.main import cli

    return CliRunner().invoke(cli, ["run", str(book), "--as-of", AS_OF.isoformat(), "--config", str(config)])


def add_rule(book, name: str, rule: str) -> None:
    """A rule typed into the Rules tab between two runs."""
    import openpyxl

    wb = openpyxl.load_workbook(book)
    tab = wb["Rules"]
    headers = [c.value for c in tab[1]]
    row = [None] * len(headers)
    row[headers.index("Name")], row[headers.index("Rule")], row[headers.index("Enabled")] = name, rule, "yes"
    tab.append(row)
    wb.save(book)


class FlakyMailbox:
    """Takes every message's content, then answers ``answer`` (451: try again later)."""

    def __init__(self):
        self.answer = "451 4.3.0 try again later"
        self.received: list = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append((self.answer, message_from_bytes(envelope.content, policy=policy.default)))
        return self.answer


def keys_of(msg) -> set[str]:
    return {k.strip() for k in msg["X-Kpirules-Alert-Keys"].split(",")}


def test_an_owed_bundle_is_sent_again_as_the_same_message_apart_from_new_alerts(tmp_path):
    from aiosmtpd.controller import Controller

    book = make_workbook(tmp_path / "k.xlsx", rules=CLEAN)
    config = tmp_path / "kpirules.toml"
    port = free_port()
    config.write_text(channel_toml("email", None, port))
    box = FlakyMailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        first = run(book, config)
        assert first.exit_code == 5, first.output  # the server said "later": owed
        tried = {m["Message-ID"] for _, m in box.received}
        assert len(tried) == 1  # one message, tried again within the run with the same id
        first_keys = {delivery_key(r["Key"], "owners") for r in alert_rows(book)}
        assert keys_of(box.received[0][1]) == first_keys

        box.answer, box.received = "250 OK", []
        add_rule(book, "signups_floor", "signups >= 1M weekly")  # run 2 raises an alert of its own
        second = run(book, config)  # and owes run 1's
        assert second.exit_code == 1, second.output
        messages = [m for _, m in box.received]
        assert len(messages) == 2, [m["Subject"] for m in messages]
        again, new = messages
        assert again["Message-ID"] in tried  # the same message: a receiver drops the repeat
        assert keys_of(again) == first_keys
        assert new["Message-ID"] not in tried and keys_of(new).isdisjoint(first_keys)
        assert all(r["Notified"].startswith("email owners: sent") for r in alert_rows(book))
    finally:
        controller.stop()


def test_the_bound_on_owed_alerts_never_splits_one_runs_bundle():
    from kpirules.config import Settings
    from kpirules.connectors.base import RawTable
    from kpirules.writeback import outbox
    from kpirules.writeback.alerts import ALERT_COLUMNS
    from kpirules.writeback.deliver import prepare_outbox

    settings = Settings.model_validate({"notifications": [
        {"type": "webhook", "name": "bi", "url": "http://127.0.0.1:9/hook"}]})
    cells = {"Notified": "webhook bi: FAILED: down (owed)"}

    def row(time: str, i: int) -> list:
        return [{"Time": time, "Key": f"k{time[-5:]}{i}", **cells}.get(c) for c in ALERT_COLUMNS]

    owed = [row("2026-12-01 07:00", i) for i in range(outbox.MAX_OWED_PER_RUN - 2)]
    owed += [row("2026-12-02 07:00", i) for i in range(5)]  # straddles the bound: kept whole
    owed += [row("2026-12-03 07:00", i) for i in range(3)]  # over it: left for the next run
    raw = RawTable(headers=list(ALERT_COLUMNS), rows=owed, sheet="Alerts")
    now = dt.datetime(2026, 12, 4, 7, 0)
    earlier = prepare_outbox([], raw, settings, checked="2026-12-04 07:00", now=now, notify=True)
    sent = [r.raised for r in earlier if not r.hold]
    held = [r.raised for r in earlier if r.hold]
    assert len(sent) == outbox.MAX_OWED_PER_RUN + 3
    assert set(held) == {"2026-12-03 07:00"} and len(held) == 3


# --------------------------------------------------------------- idempotency-key


@pytest.fixture
def keyless_kind():
    """A plugin's kind that POSTs one JSON body per alert and puts no key in it: it
    declares no capabilities."""
    from pydantic import SecretStr

    from kpirules import config_channels
    from kpirules.config_channels import ChannelKind, ChannelSettings, register_channel

    class Plain(ChannelSettings):
        type: Literal["plainhook"]
        url: SecretStr

    def send(channel, alerts, sending):
        def request(alert):
            return f'{{"rule": "{alert.rule}"}}'.encode(), {"Content-Type": "application/json"}, None

        yield from sending.post_each(sending.resolve(channel.url), alerts, request)

    yield register_channel(ChannelKind(Plain, send))
    config_channels._KINDS.pop("plainhook", None)


def plain_toml(url: str) -> str:
    return f'[[notifications]]\nname = "ops"\ntype = "plainhook"\nurl = "{url}"\non = ["fail", "warn"]\n'


def test_a_channel_without_keys_is_not_retried_blindly_and_says_a_repeat_is_possible(tmp_path, keyless_kind):
    book = make_workbook(tmp_path / "k.xlsx", rules=CLEAN)
    endpoint = Endpoint()  # answers 500: it may have taken the alert
    config = tmp_path / "kpirules.toml"
    config.write_text(plain_toml(endpoint.url))
    try:
        first = run(book, config)
        assert first.exit_code == 5, first.output
        # One try, not three: a repeat could not be told apart. Later alerts wait (down).
        assert len(endpoint.calls) == 1
        assert "it may have arrived" in first.output
        rows = alert_rows(book)
        tried, *waiting = [r["Notified"] for r in rows]
        assert tried.startswith("plainhook ops: FAILED: http://127.0.0.1:") and \
            tried.endswith(" answered HTTP 500: ok (owed, may have arrived)"), tried
        assert waiting and all("not tried" in n and n.endswith(" (owed)") for n in waiting)  # surely not arrived

        endpoint.status = 200
        second = run(book, config)
        assert second.exit_code == 1, second.output
        assert len(endpoint.taken()) == len(rows)  # every owed alert, once this run
        notified = [r["Notified"] for r in alert_rows(book)]
        assert notified == ["plainhook ops: sent (possibly a repeat: an earlier try may have arrived)"] + \
            ["plainhook ops: sent"] * len(waiting)
    finally:
        endpoint.close()


def test_a_channel_with_keys_is_retried_at_once_and_a_refused_connection_is_retried_by_any(tmp_path, keyless_kind):
    book = make_workbook(tmp_path / "k.xlsx", rules=CLEAN)
    endpoint = Endpoint()  # 500
    config = tmp_path / "kpirules.toml"
    config.write_text(channel_toml("webhook", endpoint.url, None))
    try:
        first = run(book, config)
        assert first.exit_code == 5, first.output
        assert len(endpoint.calls) == 3  # the Idempotency-Key makes a repeat harmless
        notified = [r["Notified"] for r in alert_rows(book)]
        assert notified[0].startswith("webhook bi: FAILED: ")
        assert all(n.endswith(" (owed)") for n in notified)  # a resend is told apart by its key
    finally:
        endpoint.close()

    # Nothing listens: the alert surely did not arrive, so even a keyless channel retries.
    book = make_workbook(tmp_path / "k2.xlsx", rules=CLEAN)
    config.write_text(plain_toml(f"http://127.0.0.1:{free_port()}/hook"))
    refused = run(book, config)
    assert refused.exit_code == 5, refused.output
    rows = alert_rows(book)
    notified = [r["Notified"] for r in rows]
    assert "FAILED: could not connect" in notified[0]
    # The attempts are said once, by the channel's error (not "after 3 tries: ... (after 3 attempts)").
    assert notified[0].endswith("(after 3 attempts) (owed)") and "tries" not in notified[0]
    assert all(n.endswith(" (owed)") for n in notified) and "may have arrived" not in refused.output
