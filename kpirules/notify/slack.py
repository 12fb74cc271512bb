"""The Slack channel: incoming webhooks, one message per alert with a ``text`` fallback
(what notifications and screen readers show) and Block Kit ``blocks``.

    [[notifications]]
    type = "slack"
    name = "team"
    webhook_url = "${SLACK_WEBHOOK_URL}"
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal

from pydantic import SecretStr, field_validator

from kpirules.config_channels import ChannelKind, ChannelSettings, http_url
from kpirules.format import period_text
from kpirules.notify.alert import Alert, delivery_key, render_text, title, what_happened, when_text

if TYPE_CHECKING:  # pragma: no cover
    from kpirules.notify.transport import Outcome, Request, Sending

EMOJI = {"fail": ":red_circle:", "warn": ":large_orange_circle:", "no_data": ":white_circle:",
         "recovery": ":large_green_circle:", "error": ":warning:", "inconclusive": ":grey_question:",
         "data_late": ":hourglass:", "data_recovered": ":white_check_mark:"}
_SECTION_MAX = 3000  # Slack rejects a section text longer than this


def _esc(text: str) -> str:
    """Slack mrkdwn treats &, < and > as control characters."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(alert: Alert, *, key: str | None = None) -> dict[str, Any]:
    """The message; ``key`` (the outbox's delivery key) ends the text, so that a repeat
    can be recognised (Slack's incoming webhooks take no idempotency header)."""
    lines = [f"{EMOJI[alert.kind]} *{_esc(title(alert))}*", _esc(f"{alert.rule} {what_happened(alert)}.")]
    if alert.message:
        lines.append(_esc(" ".join(alert.message.split())))
    from kpirules.notify.trend import trend_line

    if trend_line(alert):  # the direction and a text sparkline (Slack shows no chart images)
        lines.append(_esc(trend_line(alert)))
    if alert.link:
        from kpirules.i18n import _

        opener = _("Open the sheet: {link}").format(link="").rstrip(": ")
        lines.append(f"<{_esc(alert.link)}|{_esc(opener)}>")
    text = "\n".join(lines)
    if len(text) > _SECTION_MAX:
        text = text[: _SECTION_MAX - 1] + "…"
    context = [f"`{_esc(alert.rule_text)}`"] if alert.rule_text else []
    if alert.period:
        context.append(period_text(alert.period))
    from kpirules.i18n import _

    if alert.checked_at:
        context.append(_("checked {when}").format(when=when_text(alert.checked_at)))
    if key:
        context.append(_("key {key}").format(key=key))
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    if context:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(context)}]})
    # The top-level text is what notifications show, and Slack reads mrkdwn there too: a
    # campaign named <!channel> would otherwise ping the whole channel.
    fallback = _esc(render_text(alert)) + (" (" + _("key {key}").format(key=key) + ")" if key else "")
    return {"text": fallback, "blocks": blocks}


def slack_answer_problem(response: Any) -> str | None:
    """Slack answers 200 "ok"; anything else in a 2xx body is worth reporting."""
    body = (response.text or "").strip()
    if body in ("", "ok"):
        return None
    from kpirules.i18n import _

    return _("said {text}").format(text=repr(body[:80]))


class SlackChannel(ChannelSettings):
    """A Slack incoming webhook (Slack app > Incoming Webhooks > the URL it gives)."""

    type: Literal["slack"]
    webhook_url: SecretStr

    check_url = field_validator("webhook_url")(http_url)

    def secret_texts(self) -> list[str]:
        return [self.webhook_url.get_secret_value()]


def send(channel: SlackChannel, alerts: list[Alert], sending: Sending) -> Iterator[tuple[Alert, Outcome]]:
    url = sending.resolve(channel.webhook_url)

    def request(alert: Alert) -> Request:
        key = delivery_key(alert.key, channel.name) if alert.key else None
        body = json.dumps(slack_payload(alert, key=key), ensure_ascii=False).encode()
        return body, {"Content-Type": "application/json; charset=utf-8"}, slack_answer_problem

    yield from sending.post_each(url, alerts, request)


# Slack's incoming webhooks take no idempotency header: the key ends the message's text.
CHANNEL = ChannelKind(SlackChannel, send, frozenset({"idempotency-key"}))
