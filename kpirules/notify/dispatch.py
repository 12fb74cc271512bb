"""Send alerts to the channels that cover them and report every delivery; never raise
for a failed one, so that a run still writes its Alerts rows when Slack is down."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from kpirules.i18n import _
from kpirules.notify.alert import Alert, title
from kpirules.notify.transport import Sending, scrub

if TYPE_CHECKING:  # pragma: no cover
    from kpirules.config import Settings
    from kpirules.config_channels import ChannelSettings

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
    # Failed, but the receiver may have taken it, and the channel's messages carry no key
    # to drop a repeat by (it lacks ``idempotency-key``): a resend may be a duplicate.
    maybe_delivered: bool = False

    def describe(self) -> str:
        """"slack 'team': FAIL conversion: delivered" (for the run's summary)."""
        head = f"{self.channel_type} {self.channel!r}: {title(self.alert)}"
        if self.ok:
            said = _("{head}: delivered ({detail})") if self.error else _("{head}: delivered")
        elif self.maybe_delivered:
            said = _("{head}: NOT delivered: {detail} (it may have arrived: the next run sends it again, "
                     "which may repeat it)")
        else:
            said = _("{head}: NOT delivered: {detail}")
        return said.format(head=head, detail=self.error)


def dispatch(alerts: list[Alert], settings: "Settings", *, timeout: float = 10, max_attempts: int = 3,
             backoff: float = 0.5, sleep: Callable[[float], None] = time.sleep,
             env: Mapping[str, str] | None = None) -> list[Delivery]:
    """Send every alert to every channel of ``settings.notifications`` that covers it
    (its ``on`` kinds and ``rules`` globs), each through its kind's ``send``
    (kpirules.config_channels.ChannelKind): one POST per alert for Slack and webhooks; a
    kind that ``bundles`` (e-mail) is given the alerts of one raising run at a time (this
    run's, and each earlier run's still owed), so that it sends one message per channel and
    run, and a bundle sent again is the same message with the same key. Returns one
    Delivery per (channel, alert), channels in settings order, alerts in the given order.
    ``env`` resolves ``${VAR}`` secrets (default: os.environ)."""
    env = os.environ if env is None else env
    sending = Sending(env, timeout=timeout, max_attempts=max(1, int(max_attempts)), backoff=backoff,
                      sleep=sleep, user_agent=_user_agent())
    deliveries: list[Delivery] = []
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
            if covered:
                deliveries += _deliver(channel, covered, sending)
    finally:
        sending.close()
        for name in _NOISY:
            logging.getLogger(name).removeFilter(guard)
    for d in deliveries:
        if not d.ok:
            # INFO, not WARNING: the caller reports failed deliveries (``run`` prints each
            # once); a WARNING would reach stderr a second time through logging's last resort.
            log.info("%s", d.describe())
    return deliveries


def _deliver(channel: ChannelSettings, alerts: list[Alert], sending: Sending) -> list[Delivery]:
    """The channel's kind sends; whatever it did not report on is reported as not sent."""
    from kpirules.config_channels import BUNDLES, IDEMPOTENCY_KEY, MissingEnv, channel_kind

    done: list[Delivery] = []
    # Every kind scrubs its own errors; this is defence in depth against a plugin's that does not.
    secrets = _channel_secrets(channel, sending.env)
    try:
        kind = channel_kind(channel.type)
        if kind is None:  # settings validated against a registry that has changed since
            raise LookupError(f"no channel type {channel.type!r} is installed")
        keyed = IDEMPOTENCY_KEY in kind.capabilities
        view = sending.for_channel(kind.capabilities)
        for batch in (by_raising_run(alerts) if BUNDLES in kind.capabilities else [alerts]):
            for alert, outcome in kind.send(channel, batch, view):
                error = scrub(outcome.error, secrets) if outcome.error else None
                maybe = not outcome.ok and not keyed and outcome.maybe_delivered
                done.append(Delivery(channel.name, channel.type, alert, outcome.ok, outcome.attempts, error,
                                     maybe_delivered=maybe))
    except MissingEnv as exc:
        text: str = _missing(exc)
    except Exception as exc:  # a bug here must not lose the run: report and go on
        # The type only: an exception's text may quote a resolved secret.
        text = _("internal error: {error}").format(error=type(exc).__name__)
        log.error("notification channel %r failed: %s", channel.name, text)
        log.debug("notification channel %r failed", channel.name, exc_info=True)
    else:
        text = _("not sent: the channel's sender stopped before it")
    sent = {id(d.alert) for d in done}
    return done + [Delivery(channel.name, channel.type, a, False, 0, text) for a in alerts if id(a) not in sent]


def by_raising_run(alerts: list[Alert]) -> list[list[Alert]]:
    """``alerts`` in groups raised by the same run (an earlier run's owed alerts carry
    when it raised them; this run's, none), in their order: what one bundle carries."""
    groups: dict[object, list[Alert]] = {}
    for alert in alerts:
        groups.setdefault(alert.raised_at, []).append(alert)
    return list(groups.values())


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
    return [s for ch in settings.notifications for s in _channel_secrets(ch, env)]


def _channel_secrets(channel: ChannelSettings, env: Mapping[str, str]) -> list[str]:
    """The channel's secrets as sent (a URL's token-bearing parts too)."""
    from kpirules.notify.transport import url_secrets

    out: list[str] = []
    for value in channel.resolved_secrets(env):
        out += url_secrets(value) if value.startswith(("http://", "https://")) else [value]
    return out


def _user_agent() -> str:
    from kpirules._version import __version__

    return f"kpirules/{__version__}"


def _missing(exc: Exception) -> str:
    name = getattr(exc, "name", "?")
    return _("not sent: the environment variable {name} is not set (docs/configuration.md, Secrets)").format(name=name)
