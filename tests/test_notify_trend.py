"""Notifications that show the trend: a PNG chart inline in the HTML e-mail (decoded here
byte by byte), a text sparkline with the direction in the plain text and on Slack, and a
real run delivering both to servers on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import json
import re
import struct
import zlib
from email import message_from_bytes, policy

from click.testing import CliRunner
from test_run_common import AS_OF
from test_run_notify import config, servers  # noqa: F401 (a fixture)
from test_run_xlsx import make_workbook

from kpirules.cli.main import cli
from kpirules.notify import Alert
from kpirules.notify.email import email_message
from kpirules.notify.png import COLOURS
from kpirules.notify.slack import slack_payload

TREND = ((0.0301, "PASS"), (0.0296, "PASS"), (0.0284, "PASS"), None, (0.0183, "FAIL"))


def alert(trend=TREND) -> Alert:
    points = tuple((None, "NO_DATA") if p is None else p for p in trend)
    return Alert(rule="conversion", rule_text="signups / visits >= 2% weekly", new_status="FAIL",
                 previous_status="PASS", value=0.0183, threshold=0.02, value_text="1.83%", threshold_text="2%",
                 period_start=dt.date(2026, 11, 16), period_end=dt.date(2026, 11, 22),
                 message="32 signups / 1,750 visits", trend=points, trend_unit="%")


def decode_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and RGB rows of an 8-bit RGB PNG, every chunk's CRC checked."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, size = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        tag, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(tag + body) & 0xFFFFFFFF
        if tag == b"IHDR":
            size = struct.unpack(">IIBBBBB", body)
            assert size[2:] == (8, 2, 0, 0, 0)
        idat += body if tag == b"IDAT" else b""
        pos += 12 + length
    width, height = size[0], size[1]
    raw = zlib.decompress(idat)
    stride = width * 3 + 1
    rows = [raw[y * stride:(y + 1) * stride] for y in range(height)]
    assert all(r[0] == 0 for r in rows)  # filter type None
    return width, height, [r[1:] for r in rows]


def colours(rows: list[bytes]) -> set[tuple[int, int, int]]:
    return {tuple(r[i:i + 3]) for r in rows for i in range(0, len(r), 3)}


def test_the_html_email_carries_the_chart_as_an_inline_png_and_the_text_part_a_sparkline():
    msg = email_message([alert()], sender="kpi@example.com", to=["anna@example.com"])
    mail = message_from_bytes(msg.as_bytes(), policy=policy.default)
    assert mail.get_content_type() == "multipart/alternative"
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "Trend (5 periods, oldest first): ██▇ ▁ \u2198 down from 2.84% to 1.83%" in text
    related = mail.get_payload()[1]
    assert related.get_content_type() == "multipart/related"
    html = mail.get_body(preferencelist=("html",)).get_content()
    (cid,) = re.findall(r'<img src="cid:([^"]+)"', html)
    assert 'alt="Trend of conversion, oldest first: 3.01% PASS, 2.96% PASS, 2.84% PASS, no value NO_DATA, 1.83% FAIL"' in html
    (image,) = [p for p in mail.walk() if p.get_content_type() == "image/png"]
    assert image["Content-ID"] == f"<{cid}>" and image.get_content_disposition() == "inline"
    width, height, rows = decode_png(image.get_content())
    assert (width, height) == (360, 110)
    found = colours(rows)
    assert COLOURS["FAIL"] in found and COLOURS["PASS"] in found and COLOURS["NO_DATA"] in found
    assert COLOURS["WARN"] not in found  # no WARN period, no WARN marker


def test_an_alert_without_a_trend_has_no_image():
    msg = email_message([alert(trend=())], sender="kpi@example.com", to=["anna@example.com"])
    assert not any(p.get_content_type() == "image/png" for p in msg.walk())
    assert "Trend" not in msg.get_body(preferencelist=("plain",)).get_content()


def test_slack_shows_the_direction_and_a_text_sparkline():
    section = slack_payload(alert())["blocks"][0]["text"]["text"]
    assert "Trend (5 periods, oldest first): ██▇ ▁ \u2198 down from 2.84% to 1.83%" in section
    up = alert(trend=((0.0183, "FAIL"), (0.0301, "PASS")))
    assert "\u2197 up from 1.83% to 3.01%" in slack_payload(up)["blocks"][0]["text"]["text"]


def test_a_run_sends_the_trend_by_email_and_webhook(tmp_path, servers):  # noqa: F811
    ok, gone, box, smtp_port = servers
    book = make_workbook(tmp_path / "kpis.xlsx")
    settings = config(tmp_path, ok, gone, smtp_port)
    result = CliRunner().invoke(cli, ["run", str(book), "--as-of", AS_OF.isoformat(), "--config", str(settings)])
    assert result.exit_code == 2, result.output
    social = next(b for b in ok.bodies if b["segment"] == {"campaign": "social_prospect"})
    trend = social["trend"]
    assert len(trend) == 4  # this week and the three restated before it
    assert trend[-1] == {"value": social["value"], "status": "FAIL"}
    mail = message_from_bytes(box.received[0].content, policy=policy.default)
    pngs = [p for p in mail.walk() if p.get_content_type() == "image/png"]
    assert len(pngs) == 3  # the channel's three FAIL alerts, one chart each
    for p in pngs:
        decode_png(p.get_content())
    assert json.dumps(social)  # the webhook body stays plain JSON
