"""The Alerts tab's Notified cells in the run's language, read back in either: a Polish run
writes "NIE WYSŁANO ... (do wysłania)" and "wysłano", an English one "FAILED ... (owed)" and
"sent", and every run finds what any earlier run still owes, whatever language wrote it (a
workbook switched from English to Polish keeps its English rows, and the reverse). Real
workbooks and a real webhook receiver on 127.0.0.1 (tests/test_outbox.py's Endpoint)."""

from __future__ import annotations

import json

import pytest
from test_outbox import CLEAN, Endpoint, alert_rows, channel_toml, run
from test_run_xlsx import make_workbook

from kpirules.notify.transport import where
from kpirules.writeback import outbox
from kpirules.writeback.outbox import delivery_key

NOTIFIED = {"en": "Notified", "pl": "Powiadomiono"}


def settings(path, lang: str, url: str, extra: str = "") -> None:
    path.write_text(f'language = "{lang}"\n{extra}' + channel_toml("webhook", url, None))


def failed_cells(lang: str, url: str, n: int) -> list[str]:
    """What a webhook answering 500 leaves in the Notified cells of a run's ``n`` alerts:
    the first tried three times, the others not tried once the channel looked down."""
    if lang == "pl":
        error = f"{where(url)} odpowiedział HTTP 500: ok (po 3 próbach)"
        return ([f"webhook bi: NIE WYSŁANO: {error} (do wysłania)"] +
                [f"webhook bi: NIE WYSŁANO: nie próbowano: ten kanał zawiódł wcześniej w tym uruchomieniu "
                 f"({error}) (do wysłania)"] * (n - 1))
    error = f"{where(url)} answered HTTP 500: ok (after 3 attempts)"
    return ([f"webhook bi: FAILED: {error} (owed)"] +
            [f"webhook bi: FAILED: not tried: the channel failed earlier in this run ({error}) (owed)"] * (n - 1))


@pytest.mark.parametrize("first, second", [("pl", "pl"), ("en", "pl"), ("pl", "en")])
def test_every_owed_alert_is_delivered_once_whatever_language_wrote_its_row(tmp_path, first, second):
    book = make_workbook(tmp_path / "k.xlsx", rules=CLEAN)
    endpoint = Endpoint()  # down: 500
    config = tmp_path / "kpirules.toml"
    settings(config, first, endpoint.url)
    try:
        down = run(book, config)
        assert down.exit_code == 5, down.output  # results written, alerts owed
        rows = alert_rows(book)
        column = NOTIFIED[first]  # the tab keeps the headers of the run that created it
        assert len(rows) >= 3 and all(r["Key"] for r in rows)
        assert [r[column] for r in rows] == failed_cells(first, endpoint.url, len(rows))
        expected = sorted(delivery_key(r["Key"], "bi") for r in rows)

        settings(config, second, endpoint.url)  # the language may change between the runs
        endpoint.status = 200
        up = run(book, config)
        assert up.exit_code == 1, up.output  # some FAIL; nothing owed any more
        keys = sorted(h["Idempotency-Key"] for h, _ in endpoint.taken())
        assert keys == expected  # every owed alert, each once, with its key
        assert all(b["raised_at"] for _, b in endpoint.taken())
        # Each rebuilt from its row, its period too, whichever language wrote it (16–22.11.2026).
        assert {(b["period"]["start"], b["period"]["end"]) for _, b in endpoint.taken()} == {("2026-11-16", "2026-11-22")}
        after = alert_rows(book)
        assert len(after) == len(rows)  # the same alerts, delivered: no new row
        sent = {"en": "webhook bi: sent", "pl": "webhook bi: wysłano"}[second]
        assert [r[column] for r in after] == [sent] * len(rows)

        again = run(book, config)  # nothing owed, nothing changed: nothing sent
        assert again.exit_code == 1, again.output
        assert len(endpoint.taken()) == len(rows)
    finally:
        endpoint.close()


@pytest.mark.parametrize("lang", ["en", "pl"])
def test_a_tab_with_rows_of_both_languages_owes_what_each_row_owes(tmp_path, lang):
    # English rows from before a switch and Polish ones after, owed and sent: a run in
    # either language delivers exactly the owed ones, once each, and no sent one again.
    import openpyxl

    book = make_workbook(tmp_path / "k.xlsx", rules=CLEAN)
    endpoint = Endpoint()
    config = tmp_path / "kpirules.toml"
    settings(config, "en", endpoint.url)
    try:
        assert run(book, config).exit_code == 5
        owed = alert_rows(book)
        wb = openpyxl.load_workbook(book)
        ws = wb["Alerts"]
        head = [c.value for c in ws[1]]
        notified, key = head.index("Notified") + 1, head.index("Key") + 1
        ws.cell(row=3, column=notified).value = failed_cells("pl", endpoint.url, 2)[1]  # a Polish run's
        for text, k in (("webhook bi: wysłano", "0000sentinpolish"), ("webhook bi: sent", "00sentinenglish")):
            ws.append([ws.cell(row=2, column=c).value for c in range(1, len(head) + 1)])
            ws.cell(row=ws.max_row, column=notified).value = text
            ws.cell(row=ws.max_row, column=key).value = k
        wb.save(book)

        settings(config, lang, endpoint.url)
        endpoint.status = 200
        done = run(book, config)
        assert done.exit_code == 1, done.output
        keys = sorted(h["Idempotency-Key"] for h, _ in endpoint.taken())
        assert keys == sorted(delivery_key(r["Key"], "bi") for r in owed)
        sent = {"en": "webhook bi: sent", "pl": "webhook bi: wysłano"}[lang]
        assert [r["Notified"] for r in alert_rows(book)] == [sent] * len(owed) + [
            "webhook bi: wysłano", "webhook bi: sent"]
    finally:
        endpoint.close()


def test_notified_cells_read_back_in_either_language():
    from kpirules.connectors.base import RawTable
    from kpirules.i18n import speaking
    from kpirules.notify import Alert
    from kpirules.notify.dispatch import Delivery

    a = Alert(rule="r", new_status="FAIL")
    failed = Delivery("bi", "webhook", a, False, 3, "down; for now")
    maybe = Delivery("team", "slack", a, False, 1, "no answer", maybe_delivered=True)
    with speaking("pl"):
        polish = [outbox.after(Delivery("bi", "webhook", a, True, 1)), outbox.after(failed), outbox.after(maybe)]
        resent = outbox.after(Delivery("team", "slack", a, True, 1), polish[2])
        owed = outbox.owed(type("Channel", (), {"type": "webhook", "name": "bi"})())
    assert outbox.render(polish) == ("webhook bi: wysłano; webhook bi: NIE WYSŁANO: down, for now "
                                     "(do wysłania); slack team: NIE WYSŁANO: no answer "
                                     "(do wysłania, mogło już dotrzeć)")
    assert resent.text == "wysłano (możliwe powtórzenie: wcześniejsza próba mogła już dotrzeć)"
    assert owed.text == "do wysłania" and owed.owed
    english = [outbox.after(failed), outbox.after(maybe)]
    assert outbox.render(english) == ("webhook bi: FAILED: down, for now (owed); "
                                      "slack team: FAILED: no answer (owed, may have arrived)")
    for lang, states in (("pl", polish), ("en", [outbox.after(Delivery("bi", "webhook", a, True, 1)), *english])):
        parsed = outbox.parse(outbox.render(states))
        assert [(s.owed, s.maybe_arrived) for s in parsed] == [(False, False), (True, False), (True, True)], lang
    # read_owed finds owed rows of both languages (whatever this thread speaks), no others.
    head = ["Czas", "Reguła", "Powiadomiono", "Key"]
    cells = ["webhook bi: do wysłania", "webhook bi: owed", "webhook bi: wysłano", "webhook bi: sent",
             outbox.render(polish), outbox.render(english), "webhook bi: nie wysłano (--no-notify)",
             "webhook bi: not sent (--no-notify)", "webhook bi: nie wysłano: czekało dłużej, niż pozwala owed_for (1 day)"]
    raw = RawTable(headers=head, rows=[[f"2026-11-2{i} 07:00", "r", c, f"k{i}"] for i, c in enumerate(cells)],
                   sheet="Alerts", header_row=1)
    for lang in ("en", "pl"):
        with speaking(lang):
            found = outbox.read_owed(raw, ("Time", "Rule", "Notified", "Key"))
        assert [o.key for o in found] == ["k0", "k1", "k4", "k5"], lang


def test_a_late_metrics_owed_alert_is_delivered_once_after_the_language_changes(tmp_path):
    # data_late alerts are owed like any other; their LATE state (the To cell) is not a
    # word of either language, so the switch neither repeats nor loses them.
    from click.testing import CliRunner

    from kpirules.cli.main import cli

    book = make_workbook(tmp_path / "k.xlsx", rules=CLEAN)  # data through 2026-11-25
    hook = Endpoint()
    hook.status = 200
    config = tmp_path / "kpirules.toml"
    kinds = 'on = ["fail", "warn", "no_data", "recovery", "data_late", "data_recovered"]\n'

    def write(lang):
        config.write_text(f'language = "{lang}"\n[[notifications]]\nname = "bi"\ntype = "webhook"\n'
                          f'url = "{hook.url}"\n{kinds}')

    def go(as_of):
        return CliRunner().invoke(cli, ["run", str(book), "--as-of", as_of, "--config", str(config)])

    try:
        write("en")
        assert go("2026-11-26").exit_code == 1
        before = len(hook.taken())
        hook.status = 500
        write("pl")
        late = go("2026-11-30")  # 11-26..29 missing: two metrics late, the hook down
        assert late.exit_code == 5, late.output
        rows = [r for r in alert_rows(book) if r["Rule"] == "(data)"]
        assert [r["To"] for r in rows] == ["LATE", "LATE"]
        assert all(r["Notified"].endswith("(do wysłania)") for r in rows)
        hook.status = 200
        write("en")
        again = go("2026-11-30")
        assert again.exit_code == 6, again.output  # late, and nothing owed any more
        late_sent = [(b["rule"], b["kind"]) for _, b in hook.taken()][before:]
        assert late_sent == [("(data)", "data_late"), ("(data)", "data_late")]
        assert sorted(h["Idempotency-Key"] for h, _ in hook.taken()[before:]) == sorted(
            delivery_key(r["Key"], "bi") for r in rows)
        after = [r for r in alert_rows(book) if r["Rule"] == "(data)"]
        assert [r["Notified"] for r in after] == ["webhook bi: sent"] * 2  # no new data_late row
        assert go("2026-11-30").exit_code == 6
        assert len(hook.taken()) == before + 2  # said once
    finally:
        hook.close()


def test_on_a_google_sheet_polish_owed_alerts_are_delivered_after_a_switch_to_english(tmp_path, monkeypatch):
    from click.testing import CliRunner
    from test_run_common import AS_OF
    from test_run_sheets import KEY, make_sheet, rules_tab

    from kpirules.cli.main import cli
    from kpirules_emulator.sheets import SheetsEmulator

    endpoint = Endpoint()
    config = tmp_path / "kpirules.toml"
    args = ["run", KEY, "--as-of", AS_OF.isoformat(), "--config", str(config)]
    try:
        with SheetsEmulator() as emu:
            monkeypatch.setenv("KPIRULES_SHEETS_EMULATOR_HOST", emu.host)
            make_sheet(emu, rules=rules_tab(rules=CLEAN))
            settings(config, "pl", endpoint.url)
            first = CliRunner().invoke(cli, args)
            assert first.exit_code == 5, first.output
            rows = emu.values(KEY, "Alerts")
            head = rows[0]
            owed = [dict(zip(head, r)) for r in rows[1:]]
            assert [r["Powiadomiono"] for r in owed] == failed_cells("pl", endpoint.url, len(owed))
            settings(config, "en", endpoint.url)
            endpoint.status = 200
            second = CliRunner().invoke(cli, args)
            assert second.exit_code == 1, second.output
            keys = sorted(h["Idempotency-Key"] for h, _ in endpoint.taken())
            assert keys == sorted(delivery_key(r["Key"], "bi") for r in owed)
            after = [dict(zip(head, r)) for r in emu.values(KEY, "Alerts")[1:]]
            assert [r["Powiadomiono"] for r in after] == ["webhook bi: sent"] * len(owed)
            assert CliRunner().invoke(cli, args).exit_code == 1
            assert len(endpoint.taken()) == len(owed)
    finally:
        endpoint.close()


@pytest.mark.parametrize("kind", ["slack", "email"])
def test_a_polish_runs_late_deliveries_are_polish(tmp_path, kind):
    """Alerts a channel was owed, delivered by the next run of a Polish workbook: the
    "delivered late" note, the Slack context's labels and the e-mail's subject are Polish
    (a real Slack-like receiver and a real SMTP server on 127.0.0.1)."""
    import re
    from email import message_from_bytes, policy

    from aiosmtpd.controller import Controller
    from test_outbox import Mailbox, free_port

    book = make_workbook(tmp_path / "k.xlsx", rules=CLEAN)
    endpoint, port = Endpoint(), free_port()  # down: 500; nothing listens on the SMTP port yet
    config = tmp_path / "kpirules.toml"
    config.write_text('language = "pl"\n' + channel_toml(kind, endpoint.url, port))
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    try:
        assert run(book, config).exit_code == 5  # owed
        endpoint.status = 200
        if kind == "email":
            controller.start()
        second = run(book, config)
        assert second.exit_code == 1, second.output
        late = re.compile(r"\[zgłoszony \d\d\.\d\d\.\d{4} \d\d:\d\d, dostarczony z opóźnieniem\]")
        if kind == "slack":
            payloads = [b for _, b in endpoint.taken()]
            assert len(payloads) == 3
            for body in payloads:
                context = body["blocks"][1]["elements"][0]["text"]
                assert re.search(r"sprawdzono \d\d\.\d\d\.\d{4} \d\d:\d\d · klucz [0-9a-f-]+$", context), context
                assert late.search(body["text"]) and body["text"].endswith(")") and " (klucz " in body["text"]
                said = json.dumps(body, ensure_ascii=False)
                assert not re.search(r"delivered late|checked |key |\braised\b", said), said
        else:
            (mail,) = box.received
            msg = message_from_bytes(mail.content, policy=policy.default)
            assert msg["Subject"].startswith("[kpirules] 3 zmiany stanu: ")
            text = msg.get_body(("plain",)).get_content()
            html = msg.get_body(("html",)).get_content()
            assert len(late.findall(text)) == 3 and len(late.findall(html)) == 3
            for said in (msg["Subject"], text, html):
                assert not re.search(r"delivered late|\balerts?\b|\braised\b|Sent by", said), said
    finally:
        if kind == "email":
            controller.stop()
        endpoint.close()


def test_alert_headings_that_are_not_status_words_are_polish():
    import datetime as dt

    from kpirules import i18n
    from kpirules.notify import Alert
    from kpirules.notify.alert import render_text, title

    back = Alert(rule="conversion", new_status="PASS", previous_status="FAIL", value=0.0211, value_text="2.11%",
                 period_start=dt.date(2026, 11, 30), period_end=dt.date(2026, 12, 6))
    late = Alert(rule="(data)", new_status="NO_DATA", event="data_late", segment={"metric": "visits"})
    i18n.set_language("pl")
    try:
        assert title(back) == "PONOWNIE OK conversion" and render_text(back).startswith("PONOWNIE OK: conversion")
        assert title(late).startswith("DANE SPÓŹNIONE")
        fail = Alert(rule="conversion", new_status="FAIL", previous_status="PASS")
        assert title(fail) == "FAIL conversion"  # status words stay as every command says them
    finally:
        i18n.set_language("en")
    assert title(back) == "RECOVERED conversion"
