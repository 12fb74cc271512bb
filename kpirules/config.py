"""Project settings: tab names, restatement, links and notification channels.

Settings come from up to two places, merged key by key (docs/configuration.md):

    defaults  <  the workbook's Settings tab  <  kpirules.toml (or [tool.kpirules])

The file wins because it is reviewed and versioned with the job that runs it; the tab lets a
sheet owner fill in what the file leaves open. A notification channel is defined in one place
only: when both name the same channel the file's definition is used whole, so nobody who can
edit the sheet can point a channel whose credentials come from the environment elsewhere.

Secrets are written as ``${ENV_VAR}`` references and resolved when a notification is sent,
not when settings load, so ``kpirules check`` works on a machine without the secrets.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Annotated, Any, Callable, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from kpirules.errors import Problem, SourceError, did_you_mean

log = logging.getLogger("kpirules.config")

CONFIG = "config"  # Problem category for settings mistakes
FILE_NAME = "kpirules.toml"
TRIGGERS = ("fail", "warn", "no_data", "recovery", "error")
CHANNEL_TYPES = ("slack", "webhook", "email")
# Environment references a sheet editor may use: anyone who can edit the Settings tab could
# otherwise send any secret of the job's environment (cloud keys, GITHUB_TOKEN) to their URL.
TAB_ENV_PREFIX = "KPIRULES_"
_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}

Trigger = Literal["fail", "warn", "no_data", "recovery", "error"]


class MissingEnv(LookupError):
    """A ``${NAME}`` reference whose variable is not set."""

    def __init__(self, name: str):
        self.name = name
        super().__init__(f"environment variable {name} is not set")


def env_refs(text: str | None) -> list[str]:
    return _REF.findall(text or "")


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
    on: list[Trigger] = Field(default_factory=lambda: ["fail", "recovery"])
    # Globs over rule names, case-insensitive; a leading "!" excludes ("!test_*").
    rules: list[str] = Field(default_factory=lambda: ["*"])

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
        raise ValueError("must be an http:// or https:// URL, or a ${ENV_VAR} reference")
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
            raise ValueError(f"not an e-mail address: {', '.join(bad)}")
        return value

    @model_validator(mode="after")
    def check_tls(self) -> "EmailChannel":
        if self.password is not None and self.password_env:
            raise ValueError("give either password or password_env, not both")
        if self.ssl and self.starttls:
            raise ValueError("ssl and starttls exclude each other: ssl for port 465, starttls for 587")
        has_password = self.password is not None or bool(self.password_env)
        # A password over a plain connection can be read by anyone on the path; allowed only
        # to a relay on this machine.
        if has_password and not self.use_ssl and not self.use_starttls and self.host not in _LOOPBACK:
            raise ValueError("would send the SMTP password unencrypted: set starttls = true or ssl = true")
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
        return [_secret(self.password)] if self.password else []

    def env_names(self) -> list[str]:
        names = super().env_names() + env_refs(self.username)
        return names + ([self.password_env] if self.password_env else [])


Channel = Annotated[Union[SlackChannel, WebhookChannel, EmailChannel], Field(discriminator="type")]
CHANNEL_MODELS: dict[str, type[_Channel]] = {"slack": SlackChannel, "webhook": WebhookChannel, "email": EmailChannel}


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data_tab: str = Field("Data", min_length=1)
    rules_tab: str = Field("Rules", min_length=1)
    history_tab: str = Field("History", min_length=1)
    alerts_tab: str = Field("Alerts", min_length=1)
    date_column: str = Field("date", min_length=1)
    restate_periods: int = Field(3, ge=0, le=366)  # previous periods re-evaluated for late data
    sheet_url: str | None = None  # the link put in messages
    timezone: str | None = None  # IANA name; "today" for as-of dates
    notifications: list[Channel] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def check_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        import zoneinfo

        known = zoneinfo.available_timezones()
        if known and value not in known:  # no tz database installed: cannot judge, accept
            guess = did_you_mean(value, known)
            raise ValueError(f"unknown time zone {value!r}" + (f"; did you mean {guess!r}?" if guess else ""))
        return value

    @field_validator("notifications")
    @classmethod
    def check_unique(cls, value: list) -> list:
        names = [c.name for c in value]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"channel names must be unique: {', '.join(dup)} is used twice")
        return value

    def channel(self, name: str) -> "SlackChannel | WebhookChannel | EmailChannel":
        for ch in self.notifications:
            if ch.name == name:
                return ch
        raise KeyError(name)

    def unresolved_secrets(self, env: Mapping[str, str] | None = None) -> list[str]:
        """One line per ``${VAR}``/password_env whose variable is not set, e.g.
        ``channel 'team': SLACK_WEBHOOK_URL is not set`` (for a warning before a run)."""
        env = os.environ if env is None else env
        return [f"channel {ch.name!r}: {n} is not set"
                for ch in self.notifications for n in dict.fromkeys(ch.env_names()) if n not in env]


class ConfigError(ValueError):
    """Settings that cannot be used; ``problems`` lists every one found, each located at a
    file line (``kpirules.toml:12``) or a cell (``Settings!A7``)."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(p.render() for p in problems))


# ---------------------------------------------------------------------------- validation

@dataclass
class _Layer:
    """Raw settings from one place plus how to name a key path in messages."""

    data: dict[str, Any]
    locate: Callable[[tuple, bool], dict]  # path, is_value -> Problem(...) location kwargs
    display: Callable[[tuple], str]  # path -> the key as the user wrote it
    channel_hint: str  # how channels are written in this place
    problems: list[Problem] = field(default_factory=list)  # found while reading the place


_TOP = [name for name in Settings.model_fields if name != "notifications"]


def _channel_fields(kind: str) -> list[str]:
    return [f.alias or n for n, f in CHANNEL_MODELS[kind].model_fields.items()]


def _structure(layer: _Layer) -> tuple[dict, list[Problem]]:
    """Unknown keys, channel types and shapes, checked before pydantic so that every
    message can name the key and suggest the right one; returns the data without them."""
    problems: list[Problem] = []
    suggested: set[tuple] = set()

    def problem(path: tuple, message: str, hint: str | None = None, value: bool = False) -> None:
        problems.append(Problem(CONFIG, message, suggestion=hint, **layer.locate(path, value)))

    clean: dict[str, Any] = {}
    for key, value in layer.data.items():
        if key in _TOP:
            clean[key] = value
        elif key != "notifications":
            guess = did_you_mean(key, _TOP + ["notifications"])
            hint = f"did you mean `{guess}`?" if guess else f"known keys: {', '.join(_TOP)}"
            if key in ("notify", "notification", "channels"):
                hint = f"write channels as {layer.channel_hint}"
            problem((key,), f"unknown setting `{layer.display((key,))}`", hint)
    channels = layer.data.get("notifications", [])
    if not isinstance(channels, list):
        problem(("notifications",), "`notifications` must be a list of channels",
                f"write channels as {layer.channel_hint}")
        channels = []
    clean_channels = []
    for i, raw in enumerate(channels):
        path = ("notifications", i)
        if not isinstance(raw, dict):
            problem(path, "a notification channel must be a table of settings",
                    f"write channels as {layer.channel_hint}")
            continue
        kind = raw.get("type") or (raw.get("name") if raw.get("name") in CHANNEL_TYPES else None)
        if kind not in CHANNEL_TYPES:
            guess = did_you_mean(str(kind), CHANNEL_TYPES) if kind else None
            problem(path + ("type",), f"channel {raw.get('name', i)!r} has "
                    + (f"unknown type {kind!r}" if kind else "no `type`"),
                    f"did you mean `{guess}`?" if guess else f"type is one of: {', '.join(CHANNEL_TYPES)}",
                    value=bool(kind))
            continue
        fields = _channel_fields(kind)
        ch = {"type": kind}
        for key, value in raw.items():
            if key in fields:
                ch[key] = value
                continue
            others = [t for t in CHANNEL_TYPES if t != kind and key in _channel_fields(t)]
            guess = did_you_mean(key, fields)
            if guess:  # then "`guess` is required" would only repeat this problem
                suggested.add(path + (guess,))
            hint = (f"did you mean `{guess}`?" if guess else
                    f"`{key}` belongs to {others[0]} channels; {kind} channels take: "
                    f"{', '.join(f for f in fields if f != 'type')}" if others else
                    f"{kind} channels take: {', '.join(f for f in fields if f != 'type')}")
            problem(path + (key,), f"unknown setting `{layer.display(path + (key,))}` for a {kind} channel", hint)
        clean_channels.append((i, ch))
    clean["notifications"] = [ch for _, ch in clean_channels]
    # pydantic reports positions in the cleaned list; map them back to the layer's indexes
    clean["__index__"] = [i for i, _ in clean_channels]
    clean["__suggested__"] = suggested
    return clean, problems


def _validate(layer: _Layer) -> Settings:
    data, problems = _structure(layer)
    problems = layer.problems + problems
    index, suggested = data.pop("__index__"), data.pop("__suggested__")
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors(include_input=False, include_url=False):
            loc = tuple(err["loc"])
            if loc[:1] == ("notifications",) and len(loc) >= 2 and isinstance(loc[1], int):
                # drop pydantic's union tag ("slack") after the list position
                loc = ("notifications", index[loc[1]]) + tuple(p for p in loc[3:])
            message = err["msg"].removeprefix("Value error, ")
            hint = None
            if err["type"] == "literal_error" and "on" in loc:
                raw = _dig(layer.data, loc)
                guess = did_you_mean(str(raw), TRIGGERS) if raw is not None else None
                hint = f"did you mean `{guess}`?" if guess else f"one of: {', '.join(TRIGGERS)}"
            if err["type"] == "missing":
                if loc in suggested:
                    continue
                message = "this setting is required"
            key = layer.display(loc)
            problems.append(Problem(CONFIG, f"`{key}`: {message}" if key else message,
                                    suggestion=hint, **layer.locate(loc, True)))
        settings = None
    if problems:
        raise ConfigError(sorted(problems, key=_order))
    assert settings is not None
    return settings


def _dotted(head: str, path: tuple) -> str:
    """("on", 0) after "notify.team" -> "notify.team.on[0]"."""
    for part in path:
        head += f"[{part}]" if isinstance(part, int) else (f".{part}" if head else str(part))
    return head


def _order(problem: Problem) -> tuple:
    """File problems by line, tab problems by row then column."""
    m = re.search(r"([A-Z]+)(\d+)$", problem.cell or "")
    return (problem.line or 0, int(m.group(2)) if m else 0, m.group(1) if m else "")


def _dig(data: Any, path: tuple) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


# ---------------------------------------------------------------------------- files

def _toml_lines(text: str, prefix: tuple = ()) -> dict[tuple, int]:
    """Key path -> line of a TOML text, for messages (tomllib keeps no positions).

    Understands ``[table]``, ``[[array]]`` and ``key = ...`` lines, which is how settings
    files are written; a key in an inline table is reported at its table's line."""
    lines: dict[tuple, int] = {}
    counts: dict[tuple, int] = {}
    table: tuple = ()

    def dotted(text: str) -> tuple:
        return tuple(p.strip().strip("\"'") for p in re.split(r"\.(?=(?:[^\"']*[\"'][^\"']*[\"'])*[^\"']*$)", text))

    for number, line in enumerate(text.splitlines(), start=1):
        s = line.strip()
        if m := re.match(r"^\[\[\s*(.+?)\s*\]\]", s):
            path = dotted(m.group(1))
            counts[path] = counts.get(path, -1) + 1
            table = path + (counts[path],)
        elif m := re.match(r"^\[\s*(.+?)\s*\]", s):
            table = dotted(m.group(1))
        elif m := re.match(r"^([A-Za-z0-9_\-.]+|\"[^\"]*\"|'[^']*')\s*=", s):
            table_key = table + dotted(m.group(1))
            lines.setdefault(table_key, number)
            continue
        else:
            continue
        for n in range(1, len(table) + 1):  # [a.b] also locates a
            lines.setdefault(table[:n], number)
    if prefix:
        lines = {k[len(prefix):]: v for k, v in lines.items() if k[: len(prefix)] == prefix}
    return lines


def _file_layer(path: str) -> _Layer:
    import tomllib

    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        raise SourceError(f"settings file {path} does not exist",
                          hint=f"create {FILE_NAME} (docs/configuration.md) or leave out the path") from None
    except OSError as exc:
        raise SourceError(f"cannot read settings file {path}: {exc.strerror}") from None
    text = raw.decode("utf-8", errors="replace")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line = int(m.group(1)) if m else None
        message = re.sub(r"\s*\(at line.*\)$", "", str(exc)) or "not valid TOML"
        # No source line in the message: the broken line may hold a secret, and this text
        # ends up in CI logs.
        raise ConfigError([Problem(CONFIG, f"not valid TOML: {message}", file=path, line=line,
                                   column=int(m.group(2)) if m else None)]) from None
    prefix: tuple = ()
    if os.path.basename(path) == "pyproject.toml":
        prefix = ("tool", "kpirules")
        data = data.get("tool", {}).get("kpirules", {})
    lines = _toml_lines(text, prefix)

    def locate(key_path: tuple, value: bool) -> dict:
        for n in range(len(key_path), -1, -1):
            if key_path[:n] in lines:
                return {"file": path, "line": lines[key_path[:n]]}
        return {"file": path}

    def display(key_path: tuple) -> str:
        if key_path[:1] == ("notifications",) and len(key_path) >= 2:
            ch = _dig(data, key_path[:2])
            name = ch.get("name") if isinstance(ch, dict) else None
            head = f"notifications[{key_path[1]}]" + (f" ({name})" if name else "")
            return _dotted(head, key_path[2:])
        return _dotted("", key_path)

    hint = "[[tool.kpirules.notifications]] tables" if prefix else "[[notifications]] tables"
    return _Layer(data, locate, display, hint)


def find_settings_file(directory: str = ".") -> str | None:
    """``kpirules.toml`` in ``directory``, else its ``pyproject.toml`` if that has a
    ``[tool.kpirules]`` table, else None."""
    import tomllib

    join = (lambda name: name) if directory == "." else (lambda name: os.path.join(directory, name))
    candidate = join(FILE_NAME)
    if os.path.isfile(candidate):
        return candidate
    pyproject = join("pyproject.toml")
    if os.path.isfile(pyproject):
        try:
            with open(pyproject, "rb") as fh:
                if "kpirules" in tomllib.load(fh).get("tool", {}):
                    return pyproject
        except (OSError, tomllib.TOMLDecodeError):
            return None  # someone else's broken pyproject is not our settings file
    return None


def load_settings(path: str | None = None, *, tab: Any = None, tab_name: str = "Settings") -> Settings:
    """Settings from ``path`` (a ``kpirules.toml`` or a ``pyproject.toml`` with
    ``[tool.kpirules]``), or from the one found in the current directory when ``path`` is
    None, merged over the Settings tab ``tab`` when given (rows, a RawTable or a mapping;
    see ``settings_from_tab``). No file and no tab: the defaults.

    Raises ``ConfigError`` (a ValueError) naming file:line or the tab cell of every
    mistake, and ``SourceError`` when ``path`` cannot be read."""
    path = path if path is not None else find_settings_file()
    file_layer = _file_layer(path) if path else None
    layers: list[Settings] = []
    if tab is not None:
        in_file = {c.get("name") for c in (file_layer.data.get("notifications") if file_layer else None) or []
                   if isinstance(c, dict)}
        layers.append(_validate(_tab_layer(tab, tab_name, skip_channels=in_file)))
    if file_layer is not None:
        layers.append(_validate(file_layer))
    return merge_settings(*layers) if layers else Settings()


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


__all__ = [
    "Settings", "SlackChannel", "WebhookChannel", "EmailChannel", "ConfigError", "MissingEnv",
    "load_settings", "settings_from_tab", "merge_settings", "find_settings_file", "resolve_env",
    "env_refs", "TRIGGERS", "CHANNEL_TYPES",
]
# ---------------------------------------------------------------------------- the tab

_LIST_FIELDS = {"to", "on", "rules"}
_HEADER_KEYS = {"key", "keys", "setting", "settings", "name"}


def _cell_text(value: Any) -> str | None:
    """A cell as settings text: sheets give numbers as floats (587.0) and booleans natively."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def _norm(part: str) -> str:
    return re.sub(r"[\s\-]+", "_", part.strip().lower())


def _tab_rows(tab: Any, tab_name: str) -> tuple[list[tuple[int | None, Any, Any]], str]:
    from kpirules.connectors.base import RawTable

    if isinstance(tab, RawTable):
        rows = [tab.headers, *tab.rows]
        return [(tab.header_row + i, *(list(r) + [None, None])[:2]) for i, r in enumerate(rows)], tab.sheet or tab_name
    if isinstance(tab, Mapping):  # Workbook.settings: already key -> value
        return [(None, k, v) for k, v in tab.items()], tab_name
    return [(i, *(list(r) + [None, None])[:2]) for i, r in enumerate(tab, start=1)], tab_name


def _tab_layer(tab: Any, tab_name: str = "Settings", skip_channels: set = frozenset()) -> _Layer:
    from kpirules.connectors.base import a1

    rows, sheet = _tab_rows(tab, tab_name)
    data: dict[str, Any] = {}
    channels: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    cells: dict[tuple, tuple[str | None, str | None]] = {}  # path -> (key cell, value cell)
    written: dict[tuple, str] = {}  # path -> the key as written
    problems: list[Problem] = []

    def where(row: int | None, value: bool) -> dict:
        return {"cell": a1(sheet, row, 1 if value else 0)} if row else {"file": f"{sheet} tab"}

    first = True
    for row, key_cell, value_cell in rows:
        key = _cell_text(key_cell)
        if key is None or key.startswith("#"):
            continue
        text = _cell_text(value_cell)
        if first and _norm(key) in _HEADER_KEYS and (text or "").lower() in ("value", "values", ""):
            first = False
            continue  # a header row: Key | Value
        first = False
        if text is None:
            continue  # an empty value cell means "not set"
        parts = key.split(".")
        head = _norm(parts[0])
        if head in ("notify", "notifications", "notification") and len(parts) >= 3:
            name, setting = parts[1].strip(), _norm(parts[2])
            if name in skip_channels:  # defined in the settings file, which wins whole
                if name not in index:
                    log.warning("channel %r is defined in the settings file; its rows in the %s tab "
                                "are ignored", name, sheet)
                    index[name] = -1
                continue
            if name not in index:
                index[name] = len(channels)
                channels.append({"name": name})
                cells[("notifications", index[name])] = (where(row, False).get("cell"), None)
            i = index[name]
            if setting == "headers" and len(parts) >= 4:
                header = ".".join(parts[3:]).strip()
                path: tuple = ("notifications", i, "headers", header)
                target, slot, value = channels[i].setdefault("headers", {}), header, text
            elif len(parts) > 3 or setting == "name":
                problems.append(Problem(CONFIG, f"unknown setting `{key}`", **where(row, False),
                                        suggestion=f"write notify.{name}.<setting>, e.g. notify.{name}.type"))
                continue
            else:
                path = ("notifications", i, setting)
                value = [v.strip() for v in re.split(r"[,;\n]", text) if v.strip()] if setting in _LIST_FIELDS else text
                if setting == "on":
                    value = [_norm(v) for v in value]
                target, slot = channels[i], setting
        elif len(parts) == 1:
            path, target, slot, value = (_norm(key),), data, _norm(key), text
        else:
            guess = did_you_mean(_norm(key), _TOP)
            problems.append(Problem(CONFIG, f"unknown setting `{key}`", **where(row, False),
                                    suggestion=f"did you mean `{guess}`?" if guess else
                                    "channel settings are written notify.<channel>.<setting>"))
            continue
        if path in written:
            first_at = cells[path][0] or "above"
            problems.append(Problem(CONFIG, f"`{key}` is set twice (first at {first_at})", **where(row, False),
                                    suggestion="keep one of the two rows"))
            continue
        for ref in env_refs(text) + ([text] if slot == "password_env" else []):
            if not ref.startswith(TAB_ENV_PREFIX):
                problems.append(Problem(
                    CONFIG, f"`{key}` refers to the environment variable {ref}; the Settings tab may "
                    f"only use variables named {TAB_ENV_PREFIX}*", **where(row, True),
                    suggestion=f"name the variable {TAB_ENV_PREFIX}{ref} or move this setting to {FILE_NAME}"))
        target[slot] = value
        written[path] = key
        cells[path] = (where(row, False).get("cell"), where(row, True).get("cell"))
    if channels:
        data["notifications"] = channels

    def locate(path: tuple, value: bool) -> dict:
        for n in range(len(path), 0, -1):
            if path[:n] in cells:
                key_cell, value_cell = cells[path[:n]]
                cell = (value_cell if value and n == len(path) else None) or key_cell
                return {"cell": cell} if cell else {"file": f"{sheet} tab"}
        return {"file": f"{sheet} tab"}

    def display(path: tuple) -> str:
        if path in written:
            return written[path]
        if path[:1] == ("notifications",) and len(path) >= 2:
            name = channels[path[1]]["name"] if path[1] < len(channels) else path[1]
            return _dotted(f"notify.{name}", path[2:])
        return _dotted("", path)

    return _Layer(data, locate, display, "rows notify.<channel>.<setting>", problems)


def settings_from_tab(rows: Any, *, tab_name: str = "Settings") -> Settings:
    """Settings from a Settings tab: key/value rows (``[["data_tab", "Daily"], ...]``; column
    A the key, column B the value, row 1 may be a ``Key | Value`` header), a RawTable, or a
    mapping of key -> value. Keys as in docs/configuration.md: ``restate_periods``,
    ``notify.<channel>.<setting>``, ``notify.<channel>.headers.<Header>``; ``to``, ``on``
    and ``rules`` take comma lists. Raises ``ConfigError`` naming the cells."""
    return _validate(_tab_layer(rows, tab_name))
