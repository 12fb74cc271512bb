"""Send alerts to the channels that cover them and report every delivery; never raise
for a failed one, so that a run still writes its Alerts rows when Slack is down."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from kpirules.notify.alert import Alert, delivery_key, title
from kpirules.notify.transport import Outcome, scrub

if TYPE_CHECKING:  # pragma: no cover
    from kpirules.config import EmailChannel, Settings, SlackChannel, WebhookChannel

log = logging.getLogger("kpirules.notify")


@dataclass(frozen=True)
class Delivery:
    """How one alert fared on one channel. ``ok`` with an ``error`` text is a partial
    success (an e-mail some recipients refused). ``attempts`` is 0 when the channel was not
    tried: a secret was missing, or the channel had already failed in this run."""

    channel: str
    channel_type: str
    alert: Alert
    ok: bool
    attempts: int
    error: str | None = None

    def describe(self) -> str:
        """"slack 'team': FAIL conversion: delivered" (for the run's summary)."""
        head = f"{self.channel_type} {self.channel!r}: {title(self.alert)}"
        if self.ok:
            return f"{head}: delivered" + (f" ({self.error})" if self.error else "")
        return f"{head}: NOT delivered: {self.error}"


def dispatch(alerts: list[Alert], settings: "Settings", *, timeout: float = 10, max_attempts: int = 3,
             backoff: float = 0.5, sleep: Callable[[float], None] = time.sleep,
             env: Mapping[str, str] | None = None) -> list[Delivery]:
    """Send every alert to every channel of ``settings.notifications`` that covers it
    (its ``on`` kinds and ``rules`` globs): one POST per alert for Slack and webhooks, one
    e-mail per channel bundling its alerts. Returns one Delivery per (channel, alert),
    channels in settings order, alerts in the given order. ``env`` resolves ``${VAR}``
    secrets (default: os.environ)."""
    env = os.environ if env is None else env
    max_attempts = max(1, int(max_attempts))
    deliveries: list[Delivery] = []
    session = None
    # urllib3 logs every request line at DEBUG, and a Slack webhook's path is its token.
    guard = _Redact(_resolved_secrets(settings, env))
    for name in _NOISY:
        logging.getLogger(name).addFilter(guard)
    try:
        for channel in settings.notifications:
            # An alert the outbox routes (``channels``) goes where it is still owed; a new
            # one wherever a channel covers its rule and kind.
            covered = [a for a in alerts if (channel.name in a.channels if a.channels is not None
                                             else channel.covers(a.rule, a.kind))]
            if not covered:
                continue
            if channel.type != "email" and session is None:
                import requests

                session = requests.Session()
                session.headers["User-Agent"] = _user_agent()
            opts = dict(timeout=timeout, max_attempts=max_attempts, backoff=backoff, sleep=sleep)
            done: list[Delivery] = []
            try:
                if channel.type == "email":
                    _email(channel, covered, env, opts, done)
                else:
                    _http(channel, covered, env, session, opts, done)
            except Exception as exc:  # a bug here must not lose the run: report and go on
                # The type only: an exception's text may quote a resolved secret.
                text = f"internal error: {type(exc).__name__}"
                log.error("notification channel %r failed: %s", channel.name, text)
                log.debug("notification channel %r failed", channel.name, exc_info=True)
                sent = {id(d.alert) for d in done}
                done += [Delivery(channel.name, channel.type, a, False, 0, text) for a in covered if id(a) not in sent]
            deliveries += done
    finally:
        if session is not None:
            session.close()
        for name in _NOISY:
            logging.getLogger(name).removeFilter(guard)
    for d in deliveries:
        if not d.ok:
            # INFO, not WARNING: the caller reports failed deliveries (``run`` prints each
            # once); a WARNING would reach stderr a second time through logging's last resort.
            log.info("%s", d.describe())
    return deliveries


_NOISY = ("urllib3.connectionpool", "urllib3.connection", "urllib3", "requests")


class _Redact(logging.Filter):
    """Rewrites records of third-party loggers so that no secret reaches a handler."""

    def __init__(self, secrets: list[str]):
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            text = record.getMessage()
            clean = scrub(text, self.secrets)
            if clean != text:
                record.msg, record.args = clean, ()
        return True


def _resolved_secrets(settings: "Settings", env: Mapping[str, str]) -> list[str]:
    from kpirules.config import MissingEnv, resolve_env
    from kpirules.notify.transport import url_secrets

    out: list[str] = []
    for ch in settings.notifications:
        texts = ch.secret_texts()
        if ch.type == "email":
            try:
                texts = [t for t in [ch.password_text(env)] if t]
            except MissingEnv:
                texts = []
        for text in texts:
            try:
                value = resolve_env(text, env)
            except MissingEnv:
                continue
            out += url_secrets(value) if value.startswith(("http://", "https://")) else [value]
    return out


def _user_agent() -> str:
    from kpirules._version import __version__

    return f"kpirules/{__version__}"


def _http(channel: "SlackChannel | WebhookChannel", alerts: list[Alert], env: Mapping[str, str],
          session: Any, opts: dict, out: list[Delivery]) -> None:
    from kpirules.config import MissingEnv, resolve_env
    from kpirules.notify.transport import post, url_secrets

    try:
        if channel.type == "slack":
            url, headers, key = resolve_env(channel.webhook_url.get_secret_value(), env), {}, None
        else:
            url = resolve_env(channel.url.get_secret_value(), env)
            headers = {k: resolve_env(v.get_secret_value(), env) for k, v in channel.headers.items()}
            key = resolve_env(channel.secret.get_secret_value(), env) if channel.secret else None
    except MissingEnv as exc:
        out += [Delivery(channel.name, channel.type, a, False, 0, _missing(exc)) for a in alerts]
        return
    secrets = url_secrets(url) + list(headers.values()) + ([key] if key else [])
    down: Outcome | None = None
    for alert in alerts:
        if down is not None:
            out.append(Delivery(channel.name, channel.type, alert, False, 0,
                                f"not tried: the channel failed earlier in this run ({down.error})"))
            continue
        body, request_headers, check = _request(channel, alert, headers, key)
        outcome = post(session, url, body, request_headers, check=check, **opts)
        error = scrub(outcome.error, secrets) if outcome.error else None
        out.append(Delivery(channel.name, channel.type, alert, outcome.ok, outcome.attempts, error))
        if not outcome.ok and outcome.channel_down:
            down = Outcome(False, outcome.attempts, error)


def _request(channel: Any, alert: Alert, headers: dict[str, str], key: str | None) -> tuple:
    from kpirules.notify import slack, webhook

    if channel.type == "slack":
        key = delivery_key(alert.key, channel.name) if alert.key else None
        body = json.dumps(slack.slack_payload(alert, key=key), ensure_ascii=False).encode()
        return body, {"Content-Type": "application/json; charset=utf-8"}, slack.slack_answer_problem
    body = webhook.webhook_body(alert)
    request_headers = {"Content-Type": "application/json; charset=utf-8", **headers}
    if alert.key:
        request_headers["Idempotency-Key"] = delivery_key(alert.key, channel.name)
    if key:
        request_headers[webhook.SIGNATURE_HEADER] = webhook.signature(body, key)
    return body, request_headers, None


def _email(channel: "EmailChannel", alerts: list[Alert], env: Mapping[str, str], opts: dict,
           out: list[Delivery]) -> None:
    from kpirules.config import MissingEnv, resolve_env
    from kpirules.notify.email import email_message, send_email

    try:
        password = channel.password_text(env)
        username = resolve_env(channel.username, env) if channel.username else None
        recipients = [resolve_env(a, env) for a in channel.to]
    except MissingEnv as exc:
        out += [Delivery(channel.name, channel.type, a, False, 0, _missing(exc)) for a in alerts]
        return
    msg = email_message(alerts, sender=channel.from_, to=recipients, prefix=channel.subject_prefix,
                        with_html=channel.html, channel=channel.name)
    outcome = send_email(msg, channel, recipients=recipients, username=username, password=password, **opts)
    error = scrub(outcome.error, [password] if password else []) if outcome.error else None
    out += [Delivery(channel.name, channel.type, a, outcome.ok, outcome.attempts, error) for a in alerts]


def _missing(exc: Exception) -> str:
    name = getattr(exc, "name", "?")
    return f"not sent: the environment variable {name} is not set (docs/configuration.md, Secrets)"
