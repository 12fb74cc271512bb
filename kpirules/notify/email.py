"""The e-mail channel: one message per channel and run, bundling its alerts, sent with
smtplib (imported when a message is sent, not when settings name the channel)."""

from __future__ import annotations

import hashlib
import html
import logging
import os
from collections.abc import Iterator, Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import TYPE_CHECKING, Any, Callable, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from kpirules.config_base import env_refs
from kpirules.config_channels import ChannelKind, ChannelSettings, MissingEnv, resolve_env
from kpirules.i18n import _
from kpirules.notify.alert import Alert, delivery_key, label, render_text, title
from kpirules.notify.transport import Outcome, after_attempts, scrub

if TYPE_CHECKING:  # pragma: no cover
    from kpirules.notify.transport import Sending

log = logging.getLogger("kpirules.notify")
_SUBJECT_MAX = 140
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


class EmailChannel(ChannelSettings):
    type: Literal["email"]
    host: str = Field(min_length=1)
    port: int | None = Field(None, ge=1, le=65535)  # default 465 with ssl, else 587
    ssl: bool = False  # implicit TLS (SMTPS, port 465)
    starttls: bool | None = None  # default: on unless ssl
    username: str | None = None
    password: SecretStr | None = None
    password_env: str | None = None  # the name of a variable holding the password
    from_: str = Field(alias="from", min_length=3)
    to: list[str] = Field(min_length=1)
    subject_prefix: str = "[kpirules]"
    html: bool = True  # add an HTML alternative to the text body

    @field_validator("to", mode="before")
    @classmethod
    def one_address(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("to")
    @classmethod
    def check_addresses(cls, value: list[str]) -> list[str]:
        bad = [a for a in value if "@" not in a and not env_refs(a)]
        if bad:
            raise ValueError(_("not an e-mail address: {addresses}").format(addresses=", ".join(bad)))
        return value

    @model_validator(mode="after")
    def check_tls(self) -> EmailChannel:
        if self.password is not None and self.password_env:
            raise ValueError(_("give either password or password_env, not both"))
        if self.ssl and self.starttls:
            raise ValueError(_("ssl and starttls exclude each other: ssl for port 465, starttls for 587"))
        has_password = self.password is not None or bool(self.password_env)
        # A password over a plain connection can be read by anyone on the path; allowed only
        # to a relay on this machine.
        if has_password and not self.use_ssl and not self.use_starttls and self.host not in _LOOPBACK:
            raise ValueError(_("would send the SMTP password unencrypted: set starttls = true or ssl = true"))
        return self

    @property
    def use_ssl(self) -> bool:
        return self.ssl

    @property
    def use_starttls(self) -> bool:
        return (not self.ssl) if self.starttls is None else self.starttls

    @property
    def smtp_port(self) -> int:
        return self.port or (465 if self.ssl else 587)

    def password_text(self, env: Mapping[str, str] | None = None) -> str | None:
        """The password, resolved; raises MissingEnv when its variable is not set."""
        env = os.environ if env is None else env
        if self.password_env:
            if self.password_env not in env:
                raise MissingEnv(self.password_env)
            return env[self.password_env]
        return resolve_env(self.password.get_secret_value(), env) if self.password else None

    def secret_texts(self) -> list[str]:
        return [self.password.get_secret_value()] if self.password else []

    def env_names(self) -> list[str]:
        names = super().env_names() + env_refs(self.username)
        return names + ([self.password_env] if self.password_env else [])

    def resolved_secrets(self, env: Mapping[str, str]) -> list[str]:
        try:
            return [t for t in [self.password_text(env)] if t]
        except MissingEnv:
            return []


def send(channel: EmailChannel, alerts: list[Alert], sending: Sending) -> Iterator[tuple[Alert, Outcome]]:
    """One message bundling the channel's alerts: its outcome is each alert's."""
    password = channel.password_text(sending.env)
    username = sending.resolve(channel.username) if channel.username else None
    recipients = [sending.resolve(a) for a in channel.to]
    msg = email_message(alerts, sender=channel.from_, to=recipients, prefix=channel.subject_prefix,
                        with_html=channel.html, channel=channel.name)
    outcome = send_email(msg, channel, recipients=recipients, username=username, password=password,
                         **sending.retry)
    if outcome.error:
        outcome.error = scrub(outcome.error, [password] if password else [])
    for alert in alerts:
        yield alert, outcome


def _header(text: str) -> str:
    # Rule names come from a sheet: no line breaks may reach a header.
    return " ".join(str(text).split())


def subject(alerts: list[Alert], prefix: str = "[kpirules]") -> str:
    """"[kpirules] FAIL conversion" or "[kpirules] 3 alerts: FAIL conversion, ..."."""
    if len(alerts) == 1:
        text = f"{prefix} {title(alerts[0])}"
    else:
        from kpirules.i18n import ngettext

        count = ngettext("{n} alert", "{n} alerts", len(alerts)).format(n=len(alerts))
        text = f"{prefix} {count}: " + ", ".join(title(a) for a in alerts)
    text = _header(text)
    return text if len(text) <= _SUBJECT_MAX else text[: _SUBJECT_MAX - 1].rstrip(", ") + "…"


def email_message(alerts: list[Alert], *, sender: str, to: list[str], prefix: str = "[kpirules]",
                  with_html: bool = True, channel: str | None = None) -> EmailMessage:
    """The message for ``alerts`` (at least one): a text body, one paragraph per alert, and
    an HTML alternative with the same content. Alerts with outbox keys give a stable
    Message-ID (one alert: its delivery key; several: a digest of theirs, listed in
    ``X-Kpirules-Alert-Keys``), so that a repeated delivery is the same message."""
    if not alerts:
        raise ValueError("an alert e-mail needs at least one alert")
    msg = EmailMessage()
    msg["Subject"] = subject(alerts, prefix)
    msg["From"] = _header(sender)
    msg["To"] = ", ".join(_header(a) for a in to)
    msg["Date"] = formatdate(localtime=True)
    domain = parseaddr(sender)[1].rpartition("@")[2] or None
    keys = _delivery_keys(alerts, channel)
    if keys:
        ident = keys[0] if len(keys) == 1 else hashlib.sha256(",".join(sorted(keys)).encode()).hexdigest()[:24]
        msg["Message-ID"] = f"<{ident}@{domain or 'kpirules.invalid'}>"
        msg["X-Kpirules-Alert-Keys"] = ", ".join(keys)
    else:
        msg["Message-ID"] = make_msgid(domain=domain)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to us
    msg["X-Kpirules-Alerts"] = str(len(alerts))
    from kpirules.notify.trend import chart_png, trend_line

    paragraphs = [render_text(a) + (f"\n{trend_line(a)}" if trend_line(a) else "") for a in alerts]
    from kpirules.i18n import _

    msg.set_content("\n\n".join(paragraphs) + "\n\n-- \n" + _("Sent by kpirules.") + "\n")
    if with_html:
        # Each alert's chart as an inline PNG (mail clients do not show SVG), referred to by
        # Content-ID from the HTML part: multipart/alternative(text, related(html, png...)).
        charts = {i: png for i, a in enumerate(alerts) if (png := chart_png(a)) is not None}
        cids = {i: make_msgid(domain="kpirules.invalid")[1:-1] for i in charts}
        msg.add_alternative(_html(alerts, cids), subtype="html")
        html_part = msg.get_payload()[-1]
        for i, png in charts.items():
            html_part.add_related(png, maintype="image", subtype="png", cid=f"<{cids[i]}>",
                                  filename=f"trend-{i + 1}.png", disposition="inline")
    return msg


def _delivery_keys(alerts: list[Alert], channel: str | None) -> list[str]:
    if channel is None or not any(a.key for a in alerts):
        return []
    return [delivery_key(a.key, channel) for a in alerts if a.key]


def _html(alerts: list[Alert], cids: dict[int, str] | None = None) -> str:
    from kpirules.i18n import _
    from kpirules.notify.trend import alt_text, trend_line

    colour = {"fail": "#c62828", "warn": "#ef6c00", "no_data": "#616161", "recovery": "#2e7d32",
              "error": "#6a1b9a", "inconclusive": "#616161", "data_late": "#ef6c00",
              "data_recovered": "#2e7d32"}
    items = []
    for i, a in enumerate(alerts):
        opener = _("Open the sheet: {link}").format(link=a.link) if a.link else ""
        link = f' <a href="{html.escape(a.link, quote=True)}">{html.escape(opener.partition(":")[0])}</a>' if a.link else ""
        text = render_text(a).removesuffix(f" {opener}" if a.link else "")
        chart = ""
        if cids and i in cids:
            chart = (f'<br><img src="cid:{cids[i]}" width="360" height="110" '
                     f'alt="{html.escape(alt_text(a), quote=True)}"><br>'
                     f'<span style="color:#555">{html.escape(trend_line(a))}</span>')
        items.append(
            f'<li><strong style="color:{colour[a.kind]}">{html.escape(label(a))}</strong> '
            f"{html.escape(text.partition(': ')[2])}{link}{chart}</li>"
        )
    return ("<html><body><ul>\n" + "\n".join(items) + "\n</ul>"
            f'<p style="color:#777">{html.escape(_("Sent by kpirules."))}</p></body></html>\n')


def send_email(msg: EmailMessage, channel: EmailChannel, *, recipients: list[str], username: str | None,
               password: str | None, timeout: float, max_attempts: int, backoff: float,
               sleep: Callable[[float], None]) -> Outcome:
    """Send ``msg`` through the channel's server, retrying connection errors and 4xx
    (temporary) SMTP answers. Authentication failures and refused recipients are final."""
    import smtplib
    import ssl

    target = f"{channel.host}:{channel.smtp_port}"
    secrets = [s for s in (password,) if s]
    sender = parseaddr(channel.from_)[1] or channel.from_
    attempt, error, retry = 0, None, False
    while attempt < max_attempts:
        attempt += 1
        try:
            refused = _send_once(msg, channel, sender, recipients, username, password, timeout)
            if refused:
                # Delivered to the others: a partial success, reported but not retried.
                bad = ", ".join(f"{addr} ({code})" for addr, (code, _said) in refused.items())
                return Outcome(True, attempt, _("{target} refused some recipients: {addresses}").format(
                    target=target, addresses=bad))
            return Outcome(True, attempt)
        except smtplib.SMTPAuthenticationError as exc:
            error, retry = _("{target} rejected the login ({code}); check username and password").format(
                target=target, code=exc.smtp_code), False
        except smtplib.SMTPRecipientsRefused as exc:
            error, retry = _("{target} refused every recipient: {addresses}").format(
                target=target, addresses=", ".join(exc.recipients)), False
        except _NoLogin:
            error, retry = _("{target} offers no login; remove username and password for a relay that needs "
                              "none, or use its submission port (587 with starttls, 465 with ssl)").format(
                target=target), False
        except smtplib.SMTPNotSupportedError:
            error, retry = _("{target} does not offer STARTTLS (set ssl = true for port 465, or starttls = false for "
                              "a local relay)").format(target=target), False
        except ssl.SSLCertVerificationError as exc:
            error, retry = _("the TLS certificate of {target} could not be verified ({reason})").format(
                target=target, reason=exc.verify_message), False
        except smtplib.SMTPResponseException as exc:
            text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
            error = _("{target} answered {code} {text}").format(target=target, code=exc.smtp_code,
                                                               text=" ".join(text.split())[:120])
            retry = 400 <= exc.smtp_code < 500
        except (smtplib.SMTPException, OSError) as exc:  # refused, reset, DNS, timeout
            if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
                # smtplib turns a read timeout into SMTPServerDisconnected
                error = _("no answer from {target} within {seconds} s").format(target=target, seconds=f"{timeout:g}")
            else:
                error = _("could not talk to {target} ({reason})").format(
                    target=target, reason=getattr(exc, "strerror", None) or type(exc).__name__)
            retry = True
        error = scrub(error, secrets)
        log.info("e-mail via %s failed (attempt %d of %d): %s", target, attempt, max_attempts, error)
        if not retry:
            break
        if attempt < max_attempts:
            sleep(backoff * 2 ** (attempt - 1))
    return Outcome(False, attempt, after_attempts(error, attempt), channel_down=True)


def _send_once(msg: EmailMessage, channel: EmailChannel, sender: str, recipients: list[str],
               username: str | None, password: str | None, timeout: float) -> dict:
    import smtplib
    import ssl

    context = ssl.create_default_context()
    if channel.use_ssl:
        server: smtplib.SMTP = smtplib.SMTP_SSL(channel.host, channel.smtp_port, timeout=timeout, context=context)
    else:
        server = smtplib.SMTP(channel.host, channel.smtp_port, timeout=timeout)
    with server:
        server.ehlo()
        if channel.use_starttls:
            server.starttls(context=context)
            server.ehlo()
        if username:
            if not server.has_extn("auth"):
                raise _NoLogin  # smtplib says "not supported" as for STARTTLS
            server.login(username, password or "")
        return server.send_message(msg, from_addr=sender, to_addrs=[parseaddr(a)[1] or a for a in recipients])


class _NoLogin(Exception):
    """The server offers no AUTH, and the channel has a username to log in with."""


# The Message-ID is the delivery key (a digest of the keys when several alerts bundle).
CHANNEL = ChannelKind(EmailChannel, send, frozenset({"idempotency-key", "bundles"}))
