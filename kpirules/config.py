"""Project settings: tab names, restatement, links and notification channels.

Settings come from up to two places, merged key by key (docs/configuration.md):

    defaults  <  the workbook's Settings tab  <  kpirules.toml (or [tool.kpirules])

The file wins because it is reviewed and versioned with the job that runs it; the tab lets a
sheet owner fill in what the file leaves open. A notification channel is defined in one place
only: when both name the same channel the file's definition is used whole, so nobody who can
edit the sheet can point a channel whose credentials come from the environment elsewhere.

Secrets are written as ``${ENV_VAR}`` references and resolved when a notification is sent,
not when settings load, so ``kpirules check`` works on a machine without the secrets.

This module holds the models, checks one place's raw settings against them (every message
naming the file line or the tab cell) and merges the places; reading the file and the tab
into raw settings is ``kpirules.config_sources``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from kpirules.config_base import CONFIG, FILE_NAME, ConfigError, env_refs, find_settings_file, pydantic_message
from kpirules.config_base import ENV_REF as _REF
from kpirules.config_channels import (  # noqa: F401  (re-exported: `from kpirules.config import ...`)
    TRIGGERS,
    ChannelPluginError,
    ChannelSettings,
    MissingEnv,
    Trigger,
    _secret,
    channel_kind,
    channel_types,
    resolve_env,
)
from kpirules.errors import Problem, did_you_mean
from kpirules.i18n import _

if TYPE_CHECKING:
    from kpirules.config_sources import Layer

__all__ = [
    "Settings", "ConfigError", "MissingEnv",
    "load_settings", "settings_from_tab", "merge_settings", "find_settings_file", "resolve_env",
    "env_refs", "TRIGGERS", "ChannelSettings",
]

# The built-in channels' models, still importable from here; each lives with its kind
# (kpirules.notify.<type>) and loads through the registry when first named.
_MODEL_OF_TYPE = {"SlackChannel": "slack", "WebhookChannel": "webhook", "EmailChannel": "email"}


def __getattr__(name: str) -> Any:
    kind = channel_kind(_MODEL_OF_TYPE[name]) if name in _MODEL_OF_TYPE else None
    if kind is None:
        raise AttributeError(f"module 'kpirules.config' has no attribute {name!r}")
    return kind.settings


def _channel_models(value: Any) -> Any:
    """Each channel's table validated by its kind's model, the kind found by its ``type``
    in the registry; errors carry the channel's position."""
    from pydantic_core import InitErrorDetails

    if not isinstance(value, list):
        return value
    out: list[Any] = []
    errors: list[InitErrorDetails] = []
    for i, raw in enumerate(value):
        if not isinstance(raw, dict):
            out.append(raw)
            continue
        try:
            kind = channel_kind(str(raw.get("type")))
        except ChannelPluginError as exc:
            errors.append({"type": "value_error", "loc": (i, "type"), "input": raw.get("type"),
                           "ctx": {"error": ValueError(str(exc))}})
            continue
        if kind is None:
            known = ", ".join(channel_types())
            errors.append({"type": "value_error", "loc": (i, "type"), "input": raw.get("type"),
                           "ctx": {"error": ValueError(f"unknown channel type {raw.get('type')!r}; "
                                                       f"type is one of: {known}")}})
            continue
        try:
            out.append(kind.settings.model_validate(raw))
        except ValidationError as exc:
            for e in exc.errors():
                detail: InitErrorDetails = {"type": e["type"], "loc": (i, *e["loc"]), "input": e["input"]}
                if "ctx" in e:
                    detail["ctx"] = e["ctx"]
                errors.append(detail)
    if errors:
        raise ValidationError.from_exception_data("notifications", errors)
    return out

class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data_tab: str = Field("Data", min_length=1)
    rules_tab: str = Field("Rules", min_length=1)
    history_tab: str = Field("History", min_length=1)
    alerts_tab: str = Field("Alerts", min_length=1)
    date_column: str = Field("date", min_length=1)
    # How the data's text is written, when the reader cannot tell (kpirules.read):
    encoding: str | None = None  # a CSV file's codec, e.g. "cp1250"; default: detected
    date_format: str | None = None  # strptime codes, e.g. "%d/%m/%Y"; default: detected
    locale: str | None = None  # e.g. "pl_PL": decimal comma, day-first dates
    restate_periods: int = Field(3, ge=0, le=366)  # previous periods re-evaluated for late data
    sheet_url: str | None = None  # the link put in messages
    timezone: str | None = None  # IANA name; "today" for as-of dates
    # What people read: "en" or "pl" (None: the Google Sheet's locale, else English).
    language: Literal["en", "pl"] | None = None
    # Complete periods (docs/spec/semantics.md): every metric complete through this date,
    # or "yesterday", instead of its last filled date; for event tables.
    complete_through: str | None = None
    # The data are late (exit 6, data_late alerts) when a metric's data end is older than
    # A-1 minus this: "2 days", "1 week", "0 days".
    late_after: str = "2 days"
    # Rules in the sheet, data in a warehouse (docs/warehouses.md): a database URL (never
    # with a password in a Settings tab) and its [schema.]table.
    data: str | None = None
    table: str | None = None
    # Each a ChannelSettings subclass: the model of its kind (``type``), from the registry.
    notifications: list[ChannelSettings] = Field(default_factory=list)
    # How long an undelivered alert stays owed (kpirules.writeback.outbox), and how long
    # History keeps rows (a rule's latest row is always kept): "7 days", "400 days",
    # "12 weeks", "2 years"; "forever" keeps every row.
    owed_for: str = "7 days"
    history_keep: str = "180 days"
    timeout: float | None = Field(None, gt=0, le=3600)  # s per small Sheets read (30); more per cell

    @field_validator("owed_for", "history_keep")
    @classmethod
    def check_duration(cls, value: str) -> str:
        duration_days(value)
        return value

    @field_validator("encoding")
    @classmethod
    def check_encoding(cls, value: str | None) -> str | None:
        if value is not None:
            import codecs

            try:
                codecs.lookup(value)
            except LookupError:
                raise ValueError(_('unknown encoding {value}; use e.g. "utf-8", "cp1250", "cp1252" or "utf-16"')
                                 .format(value=repr(value))) from None
        return value

    @field_validator("date_format")
    @classmethod
    def check_date_format(cls, value: str | None) -> str | None:
        if value is not None and "%" not in value:
            raise ValueError(_('date_format {value} has no strptime codes; write e.g. "%d/%m/%Y"').format(value=repr(value)))
        return value

    @field_validator("locale")
    @classmethod
    def check_locale(cls, value: str | None) -> str | None:
        from kpirules.read.numbers import mark_of_locale

        if value is not None and mark_of_locale(value) is None:
            raise ValueError(_('unknown locale {value}; write a language and region such as "pl_PL", "de_DE" or "en_US"')
                             .format(value=repr(value)))
        return value

    @field_validator("timezone")
    @classmethod
    def check_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        import zoneinfo

        known = zoneinfo.available_timezones()
        if known and value not in known:  # no tz database installed: cannot judge, accept
            guess = did_you_mean(value, known)
            raise ValueError(_("unknown time zone {value}").format(value=repr(value))
                             + ("; " + _("did you mean {guess}?").format(guess=repr(guess)) if guess else ""))
        return value

    @field_validator("complete_through", mode="before")
    @classmethod
    def check_complete_through(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        from kpirules.completeness import parse_complete_through

        parsed = parse_complete_through(value)  # ValueError says what to write
        return parsed if isinstance(parsed, str) else parsed.isoformat()

    @field_validator("late_after", mode="before")
    @classmethod
    def check_late_after(cls, value: Any) -> Any:
        from kpirules.completeness import parse_late_after

        if isinstance(value, float) and value.is_integer():  # a Settings tab cell: 2.0
            value = int(value)
        parse_late_after(value)
        return f"{value} days" if isinstance(value, int) else str(value).strip()

    @field_validator("notifications", mode="before")
    @classmethod
    def channel_models(cls, value: Any) -> Any:
        return _channel_models(value)

    @field_validator("notifications")
    @classmethod
    def check_unique(cls, value: list) -> list:
        names = [c.name for c in value]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(_("channel names must be unique: {names} is used twice").format(names=", ".join(dup)))
        return value

    def channel(self, name: str) -> ChannelSettings:
        for ch in self.notifications:
            if ch.name == name:
                return ch
        raise KeyError(name)

    def unresolved_secrets(self, env: Mapping[str, str] | None = None) -> list[str]:
        """One line per ``${VAR}``/password_env whose variable is not set, e.g.
        ``channel 'team': SLACK_WEBHOOK_URL is not set`` (for a warning before a run)."""
        env = os.environ if env is None else env
        return [_("channel {name}: {variable} is not set").format(name=repr(ch.name), variable=n)
                for ch in self.notifications for n in dict.fromkeys(ch.env_names()) if n not in env]


def duration_days(text: str) -> int | None:
    """Days in ``"400 days"``, ``"12 weeks"`` (as ``late_after`` reads them), ``"18 months"``,
    ``"2 years"``; None for ``"forever"``. ValueError (for pydantic's message) otherwise."""
    from kpirules.completeness import check_days, parse_late_after

    words = str(text).strip().lower()
    if words == "forever":
        return None
    m = re.fullmatch(r"(\d+)\s*(month|year)s?", words)
    days = int(m[1]) * (30 if m[2] == "month" else 365) if m else parse_late_after(text).days
    check_days(text, days)
    if days <= 0:
        raise ValueError(_('{value} must be at least one day (or "forever")').format(value=repr(text)))
    return days


# ---------------------------------------------------------------------------- validation

# The top-level settings other than the channel list, for did-you-mean on unknown keys.
SETTING_NAMES = [name for name in Settings.model_fields if name != "notifications"]


def _channel_fields(kind: str) -> list[str]:
    model = channel_kind(kind)
    return [f.alias or n for n, f in model.settings.model_fields.items()] if model else []


def _list_fields(kind: str) -> set[str]:
    """The kind's settings that hold a list (a tab writes them as comma text)."""
    from typing import get_origin

    model = channel_kind(kind)
    fields = model.settings.model_fields.items() if model else ()
    return {f.alias or n for n, f in fields if get_origin(f.annotation) is list}


def _fields_or_none(kind: str) -> list[str]:
    try:
        return _channel_fields(kind)
    except ChannelPluginError:  # another kind that does not load: not this channel's problem
        return []


def _structure(layer: Layer) -> tuple[dict, list[Problem]]:
    """Unknown keys, channel types and shapes, checked before pydantic so that every
    message can name the key and suggest the right one; returns the data without them."""
    from kpirules.config_sources import split_list

    problems: list[Problem] = []
    suggested: set[tuple] = set()

    def problem(path: tuple, message: str, hint: str | None = None, value: bool = False) -> None:
        problems.append(Problem(CONFIG, message, suggestion=hint, **layer.locate(path, value)))

    clean: dict[str, Any] = {}
    for key, value in layer.data.items():
        if key in SETTING_NAMES:
            clean[key] = value
        elif key != "notifications":
            guess = did_you_mean(key, SETTING_NAMES + ["notifications"])
            hint = (_("did you mean `{guess}`?").format(guess=guess) if guess else
                    _("known keys: {keys}").format(keys=", ".join(SETTING_NAMES)))
            if key in ("notify", "notification", "channels"):
                hint = _("write channels as {how}").format(how=layer.channel_hint)
            problem((key,), _("unknown setting `{key}`").format(key=layer.display((key,))), hint)
    channels = layer.data.get("notifications", [])
    if not isinstance(channels, list):
        problem(("notifications",), _("`notifications` must be a list of channels"),
                _("write channels as {how}").format(how=layer.channel_hint))
        channels = []
    clean_channels = []
    for i, raw in enumerate(channels):
        path = ("notifications", i)
        if not isinstance(raw, dict):
            problem(path, _("a notification channel must be a table of settings"),
                    _("write channels as {how}").format(how=layer.channel_hint))
            continue
        types = channel_types()
        kind = raw.get("type") or (raw.get("name") if raw.get("name") in types else None)
        try:
            known = kind in types and channel_kind(str(kind)) is not None
        except ChannelPluginError as exc:
            problem(path + ("type",), str(exc), _("reinstall or remove the package that declares it"), value=True)
            continue
        if not known:
            guess = did_you_mean(str(kind), types) if kind else None
            name = repr(raw.get("name", i))
            problem(path + ("type",), _("channel {name} has unknown type {kind}").format(name=name, kind=repr(kind))
                    if kind else _("channel {name} has no `type`").format(name=name),
                    _("did you mean `{guess}`?").format(guess=guess) if guess else
                    _("type is one of: {types}").format(types=", ".join(types)),
                    value=bool(kind))
            continue
        fields = _channel_fields(kind)
        ch = {"type": kind}
        lists = _list_fields(kind) if layer.texts else set()
        for key, value in raw.items():
            if key in fields:
                if key in lists and isinstance(value, str):
                    value = split_list(value)
                ch[key] = value
                continue
            others = [t for t in types if t != kind and key in _fields_or_none(t)]
            guess = did_you_mean(key, fields)
            if guess:  # then "`guess` is required" would only repeat this problem
                suggested.add(path + (guess,))
            taken = ", ".join(f for f in fields if f != "type")
            hint = (_("did you mean `{guess}`?").format(guess=guess) if guess else
                    _("`{key}` belongs to {other} channels; {kind} channels take: {fields}").format(
                        key=key, other=others[0], kind=kind, fields=taken) if others else
                    _("{kind} channels take: {fields}").format(kind=kind, fields=taken))
            problem(path + (key,), _("unknown setting `{key}` for a {kind} channel").format(
                key=layer.display(path + (key,)), kind=kind), hint)
        clean_channels.append((i, ch))
    clean["notifications"] = [ch for _, ch in clean_channels]
    # pydantic reports positions in the cleaned list; map them back to the layer's indexes
    clean["__index__"] = [i for i, _ in clean_channels]
    clean["__suggested__"] = suggested
    return clean, problems


def _validate(layer: Layer) -> Settings:
    data, problems = _structure(layer)
    problems = layer.problems + problems
    index, suggested = data.pop("__index__"), data.pop("__suggested__")
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors(include_input=False, include_url=False):
            loc = tuple(err["loc"])
            if loc[:1] == ("notifications",) and len(loc) >= 2 and isinstance(loc[1], int):
                loc = ("notifications", index[loc[1]]) + tuple(loc[2:])
            message = pydantic_message(err)
            hint = None
            if err["type"] == "literal_error" and "on" in loc:
                raw = layer.value_at(loc)
                guess = did_you_mean(str(raw), TRIGGERS) if raw is not None else None
                hint = (_("did you mean `{guess}`?").format(guess=guess) if guess else
                        _("one of: {values}").format(values=", ".join(TRIGGERS)))
            if err["type"] == "missing":
                if loc in suggested:
                    continue
                message = _("this setting is required")
            key = layer.display(loc)
            problems.append(Problem(CONFIG, f"`{key}`: {message}" if key else message,
                                    suggestion=hint, **layer.locate(loc, True)))
        settings = None
    if problems:
        raise ConfigError(sorted(problems, key=_order))
    assert settings is not None
    return settings


def _order(problem: Problem) -> tuple:
    """File problems by line, tab problems by row then column."""
    m = re.search(r"([A-Z]+)(\d+)$", problem.cell or "")
    return (problem.line or 0, int(m.group(2)) if m else 0, m.group(1) if m else "")


# ---------------------------------------------------------------------------- loading
# Reading the file and the tab is kpirules.config_sources (below this module: it knows the
# setting names only through the ``known`` argument).

def load_settings(path: str | None = None, *, tab: Any = None, tab_name: str = "Settings") -> Settings:
    """Settings from ``path`` (a ``kpirules.toml`` or a ``pyproject.toml`` with
    ``[tool.kpirules]``), or from the nearest one (``find_settings_file``) when ``path`` is
    None, merged over the Settings tab ``tab`` when given (rows, a RawTable or a mapping;
    see ``settings_from_tab``). No file and no tab: the defaults.

    Raises ``ConfigError`` (a ValueError) naming file:line or the tab cell of every
    mistake, and ``SourceError`` when ``path`` cannot be read."""
    from kpirules.config_sources import file_layer, tab_layer

    from kpirules.i18n import follow

    path = path if path is not None else find_settings_file()
    from_file = file_layer(path) if path else None
    from_tab = None
    if tab is not None:
        in_file = {c.get("name") for c in (from_file.data.get("notifications") if from_file else None) or []
                   if isinstance(c, dict)}
        from_tab = tab_layer(tab, tab_name, skip_channels=in_file, known=SETTING_NAMES)
    # The language they ask for (the file's wins), before they are checked: their own
    # problems are said in it too.
    asked = [layer.data.get("language") for layer in (from_file, from_tab) if layer is not None]
    follow(next((a for a in asked if a), None))
    layers: list[Settings] = []
    if from_tab is not None:
        layers.append(_validate(from_tab))
    if from_file is not None:
        layers.append(_validate(from_file))
    return merge_settings(*layers) if layers else Settings()


def settings_from_tab(rows: Any, *, tab_name: str = "Settings") -> Settings:
    """Settings from a Settings tab: key/value rows (``[["data_tab", "Daily"], ...]``; column
    A the key, column B the value, row 1 may be a ``Key | Value`` header), a RawTable, or a
    mapping of key -> value. Keys as in docs/configuration.md: ``restate_periods``,
    ``notify.<channel>.<setting>``, ``notify.<channel>.headers.<Header>``; ``to``, ``on``
    and ``rules`` take comma lists. Raises ``ConfigError`` naming the cells."""
    from kpirules.config_sources import tab_layer

    return _validate(tab_layer(rows, tab_name, known=SETTING_NAMES))


def merge_settings(*layers: Settings) -> Settings:
    """Later layers win, key by key, over earlier ones; only keys a layer set explicitly
    count. Channels are merged by name; a later layer's channel replaces an earlier one."""
    merged: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    for layer in layers:
        merged.update({k: getattr(layer, k) for k in layer.model_fields_set if k != "notifications"})
        for ch in layer.notifications:
            channels[ch.name] = ch
    if channels:
        merged["notifications"] = list(channels.values())
    return Settings.model_validate(merged)

