"""Slack incoming webhooks: a ``text`` fallback (what notifications and screen readers
show) and Block Kit ``blocks`` for the channel."""

from __future__ import annotations

from typing import Any

from kpirules.format import period_text
from kpirules.notify.alert import Alert, render_text, title, what_happened

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
    if alert.checked_at:
        context.append(f"checked {alert.checked_at.isoformat(timespec='minutes')}")
    if key:
        context.append(f"key {key}")
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    if context:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(context)}]})
    fallback = render_text(alert) + (f" (key {key})" if key else "")
    return {"text": fallback, "blocks": blocks}


def slack_answer_problem(response: Any) -> str | None:
    """Slack answers 200 "ok"; anything else in a 2xx body is worth reporting."""
    body = (response.text or "").strip()
    return None if body in ("", "ok") else f"said {body[:80]!r}"
