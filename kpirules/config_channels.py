"""Notification channels: what every channel's settings share, and the registry of kinds.

A kind of channel (Slack, webhook, e-mail, or a plugin's) declares itself once, in its own
module, as a ``ChannelKind``: its settings model, its ``send`` and its capabilities. That
module is named in the ``kpirules.channels`` entry-point group (kpirules' own pyproject.toml
names the built-ins there too), and loaded only when settings name its type or a run
sends to it: ``channel_kind("slack")``. Settings validation (kpirules.config), dispatch
(kpirules.notify.dispatch) and the outbox read the registry; none of them names a kind.

Secrets are written as ``${ENV_VAR}`` references and resolved when a notification is sent,
not when settings load (``resolve_env``), so ``kpirules check`` works on a machine without
the secrets.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Callable, Iterable, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from kpirules.config_base import ENV_REF as _REF
from kpirules.config_base import env_refs
from kpirules.i18n import _

TRIGGERS = ("fail", "warn", "no_data", "recovery", "error", "inconclusive", "data_late", "data_recovered")
ENTRY_POINT_GROUP = "kpirules.channels"

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


class ChannelSettings(BaseModel):
    """What every channel's settings have. A kind's model subclasses it and adds
    ``type: Literal["<kind>"]`` (the settings key) and its own settings."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    type: str
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

    def resolved_secrets(self, env: Mapping[str, str]) -> list[str]:
        """The secrets' values where their variables are set (for scrubbing logs)."""
        out = []
        for text in self.secret_texts():
            try:
                out.append(resolve_env(text, env))
            except MissingEnv:
                continue
        return out


def http_url(value: SecretStr) -> SecretStr:
    """A validator for a URL setting: http(s), or a ``${ENV_VAR}`` reference."""
    text = value.get_secret_value().strip()
    if not env_refs(text) and not re.match(r"https?://[^/\s]+", text):
        raise ValueError(_("must be an http:// or https:// URL, or a ${ENV_VAR} reference"))
    return SecretStr(text)


# ---------------------------------------------------------------------------- registry

# What a kind may declare it can do, and what kpirules does with it:
# - IDEMPOTENCY_KEY: each message carries the outbox's delivery key, so a receiver can drop
#   a repeat. Only then is a send whose answer was lost (no answer in time, a 5xx, a
#   connection dropped after sending) retried at once; without it such a send is tried
#   once a run, and its Notified state says the alert may have arrived, and, once resent,
#   that the receiver may have it twice (transport.post, outbox.after).
# - BUNDLES: one message carries several alerts (e-mail). Its identity is the set it
#   carries, so dispatch gives ``send`` the alerts of one raising run at a time: a bundle
#   sent again is the same message, with the same key (notify.dispatch).
IDEMPOTENCY_KEY = "idempotency-key"
BUNDLES = "bundles"
CAPABILITIES = frozenset({IDEMPOTENCY_KEY, BUNDLES})
_TYPE_NAME = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class ChannelKind:
    """A kind of notification channel, declared once in its own module.

    ``settings``: its model, a ``ChannelSettings`` with ``extra="forbid"`` whose
    ``type: Literal["<kind>"]`` is the settings key (``type = "slack"``). ``send(channel,
    alerts, sending)`` yields ``(alert, Outcome)`` for each alert as it is delivered or
    given up on, in order, and may raise ``MissingEnv`` for a secret whose variable is not
    set (the alerts not yet yielded are reported as not sent); ``sending`` is a
    ``kpirules.notify.transport.Sending`` (secrets resolved, the retry policy, one HTTP
    POST per alert). ``capabilities``: words of ``CAPABILITIES``."""

    settings: type[ChannelSettings]
    send: Callable[[Any, list[Any], Any], Iterable[tuple[Any, Any]]]
    capabilities: frozenset[str] = frozenset()

    @property
    def type(self) -> str:
        return _declared_type(self.settings)


def _declared_type(model: type[ChannelSettings]) -> str:
    field = model.model_fields.get("type")
    values = get_args(field.annotation) if field is not None else ()
    if len(values) != 1 or not isinstance(values[0], str):
        raise TypeError(f"{model.__name__} must declare its settings key as type: Literal[\"<kind>\"]")
    return values[0]


_KINDS: dict[str, ChannelKind] = {}


def register_channel(kind: ChannelKind) -> ChannelKind:
    """Make ``kind`` known by its type; what loading its entry point does (a test or an
    embedding program may call it directly). Checks the declaration."""
    name = kind.type
    if not _TYPE_NAME.fullmatch(name):
        raise ValueError(f"channel type {name!r}: lowercase letters, digits and _ only")
    if kind.settings.model_config.get("extra") != "forbid":
        raise TypeError(f"{kind.settings.__name__} must forbid unknown settings (extra=\"forbid\")")
    unknown = kind.capabilities - CAPABILITIES
    if unknown:
        raise ValueError(f"channel type {name!r}: unknown capabilities {sorted(unknown)}")
    _KINDS[name] = kind
    return kind


def channel_types() -> list[str]:
    """Every kind's type, registered or declared (no module is imported for this)."""
    from kpirules.plugins import declared

    return list(dict.fromkeys([*declared(ENTRY_POINT_GROUP), *_KINDS]))


def channel_kind(name: str) -> ChannelKind | None:
    """The kind registered as ``name``, its module imported on first use; None when no
    package declares it. A declaration that does not load is an error naming it."""
    if name in _KINDS:
        return _KINDS[name]
    from kpirules.plugins import load_declared

    found = load_declared(ENTRY_POINT_GROUP, name, ChannelPluginError, f"channel type {name!r}",
                          expected=ChannelKind, key=lambda k: k.type,
                          described=f"a ChannelKind of type {name!r}")
    return None if found is None else register_channel(found)


class ChannelPluginError(RuntimeError):
    """An entry point of ``kpirules.channels`` that does not give a working kind."""
