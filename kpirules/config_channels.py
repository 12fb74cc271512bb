"""Notification channels of the settings (Slack, webhook, email) and their secrets.

Secrets are written as ``${ENV_VAR}`` references and resolved when a notification is sent,
not when settings load (``resolve_env``), so ``kpirules check`` works on a machine without
the secrets. ``kpirules.config`` holds the Settings that list these channels, and re-exports
every name here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from kpirules.config_base import ENV_REF as _REF
from kpirules.config_base import env_refs
from kpirules.i18n import _

TRIGGERS = ("fail", "warn", "no_data", "recovery", "error", "inconclusive", "data_late", "data_recovered")
CHANNEL_TYPES = ("slack", "webhook", "email")
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}

Trigger = Literal["fail", "warn", "no_data", "recovery", "error", "inconclusive", "data_late",
                  "data_recovered"]

_DEFAULT_TRIGGERS: list[Trigger] = ["fail", "recovery"]


class MissingEnv(LookupError):
    """A ``${NAME}`` reference whose variable is not set."""

    def __init__(self, name: str):
        self.name = name
        super().__init__(f"environment variable {name} is not set")


def resolve_env(text: str, env: Mapping[str, str] | None = None) -> str:
    """``text`` with every ``${NAME}`` replaced from ``env`` (default: os.environ)."""
    env = os.environ if env is None else env

    def sub(match: re.Match) -> str:
        if match.group(1) not in env:
            raise MissingEnv(match.group(1))
        return env[match.group(1)]

    return _REF.sub(sub, text)


def _secret(value: SecretStr | str | None) -> str | None:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


class _Channel(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1)
    on: list[Trigger] = Field(default_factory=lambda: _DEFAULT_TRIGGERS.copy())
    # Globs over rule names, case-insensitive; a leading "!" excludes ("!test_*").
    rules: list[str] = Field(default_factory=lambda: ["*"])

    @field_validator("name")
    @classmethod
    def check_name(cls, value: str) -> str:
        # The Alerts tab records each channel's delivery as "type name: state; ..."
        if ";" in value or ":" in value:
            raise ValueError(_("a channel name cannot contain `;` or `:`"))
        return value

    @field_validator("on", "rules", mode="before")
    @classmethod
    def one_is_a_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value  # on = "fail" means ["fail"]

    def covers(self, rule: str, kind: str) -> bool:
        """True when an alert of ``kind`` ("fail", "recovery"...) for ``rule`` goes here."""
        if kind not in self.on:
            return False
        name = rule.lower()
        include = [p.lower() for p in self.rules if not p.startswith("!")] or ["*"]
        exclude = [p[1:].lower() for p in self.rules if p.startswith("!")]
        return any(fnmatchcase(name, p) for p in include) and not any(fnmatchcase(name, p) for p in exclude)

    def secret_texts(self) -> list[str]:
        """Every secret text of the channel as written (for scrubbing error texts)."""
        return []

    def env_names(self) -> list[str]:
        return [n for text in self.secret_texts() for n in env_refs(text)]


def _check_url(value: SecretStr) -> SecretStr:
    text = value.get_secret_value().strip()
    if not env_refs(text) and not re.match(r"https?://[^/\s]+", text):
        raise ValueError(_("must be an http:// or https:// URL, or a ${ENV_VAR} reference"))
    return SecretStr(text)


class SlackChannel(_Channel):
    """A Slack incoming webhook (Slack app > Incoming Webhooks > the URL it gives)."""

    type: Literal["slack"]
    webhook_url: SecretStr

    check_url = field_validator("webhook_url")(_check_url)

    def secret_texts(self) -> list[str]:
        return [self.webhook_url.get_secret_value()]


class WebhookChannel(_Channel):
    """Any HTTP endpoint taking the JSON documented in docs/configuration.md."""

    type: Literal["webhook"]
    url: SecretStr
    headers: dict[str, SecretStr] = Field(default_factory=dict)
    secret: SecretStr | None = None  # HMAC-SHA256 key for the X-Kpirules-Signature header

    check_url = field_validator("url")(_check_url)

    def secret_texts(self) -> list[str]:
        out = [self.url.get_secret_value(), *(v.get_secret_value() for v in self.headers.values())]
        return out + ([self.secret.get_secret_value()] if self.secret else [])


class EmailChannel(_Channel):
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


Channel = Annotated[SlackChannel | WebhookChannel | EmailChannel, Field(discriminator="type")]
CHANNEL_MODELS: dict[str, type[_Channel]] = {"slack": SlackChannel, "webhook": WebhookChannel, "email": EmailChannel}
