"""Where settings come from: a ``kpirules.toml`` / ``[tool.kpirules]`` file and the
workbook's Settings tab, each read into a ``Layer`` of raw values.

A layer keeps, besides the values, how to point at each key in a message: the file and line
for a TOML file (tomllib keeps no positions, so lines are looked up in the text), the cell
for the tab (``Settings!B6``), and the key as the user wrote it (``notify.slack.webhook_url``).
``kpirules.config`` validates a layer into ``Settings`` and merges the layers.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from typing import Any, Callable

from kpirules.config_base import CONFIG, FILE_NAME, ConfigError, env_refs
from kpirules.errors import Problem, SourceError, did_you_mean
from kpirules.i18n import _

# The logger's name from before these readers moved out of kpirules.config, so that
# filters and log configurations keyed on it keep working.
log = logging.getLogger("kpirules.config")

# Environment references a sheet editor may use: anyone who can edit the Settings tab could
# otherwise send any secret of the job's environment (cloud keys, GITHUB_TOKEN) to their URL.
TAB_ENV_PREFIX = "KPIRULES_"

__all__ = ["Layer", "file_layer", "tab_layer", "TAB_ENV_PREFIX", "origin"]


@dataclass
class Layer:
    """Raw settings from one place plus how to name a key path in messages."""

    data: dict[str, Any]
    locate: Callable[[tuple, bool], dict]  # path, is_value -> Problem(...) location kwargs
    display: Callable[[tuple], str]  # path -> the key as the user wrote it
    channel_hint: str  # how channels are written in this place
    problems: list[Problem] = field(default_factory=list)  # found while reading the place
    # Values are cell texts (the Settings tab): a list is written "a, b; c".
    texts: bool = False

    def value_at(self, path: tuple) -> Any:
        """The raw value at a key path such as ("notifications", 0, "on"), or None."""
        return _dig(self.data, path)


def _dotted(head: str, path: tuple) -> str:
    """("on", 0) after "notify.team" -> "notify.team.on[0]"."""
    for part in path:
        head += f"[{part}]" if isinstance(part, int) else (f".{part}" if head else str(part))
    return head


def _dig(data: Any, path: tuple) -> Any:
    """The value at ``path`` in nested tables and lists, or None where the path leads nowhere."""
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


def file_layer(path: str) -> Layer:
    import tomllib

    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        raise SourceError(_("settings file {path} does not exist").format(path=path),
                          hint=_("create {file} (docs/configuration.md) or leave out the path").format(
                              file=FILE_NAME)) from None
    except OSError as exc:
        raise SourceError(_("cannot read settings file {path}: {reason}").format(path=path, reason=exc.strerror)) \
            from None
    text = raw.decode("utf-8", errors="replace")
    try:
        data = tomllib.loads(text)
    except RecursionError:  # arrays or tables nested thousands deep
        raise ConfigError([Problem(CONFIG, _("not valid TOML: it nests too deeply to read"), file=path)]) from None
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line = int(m.group(1)) if m else None
        message = re.sub(r"\s*\(at line.*\)$", "", str(exc)) or _("not valid TOML")
        # No source line in the message: the broken line may hold a secret, and this text
        # ends up in CI logs.
        raise ConfigError([Problem(CONFIG, _("not valid TOML: {reason}").format(reason=message), file=path, line=line,
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
    return Layer(data, locate, display, hint)


# ---------------------------------------------------------------------------- the tab

# Lists every channel has; a kind's own list settings are split by kpirules.config, which
# knows the kind's model.
_LIST_FIELDS = {"on", "rules"}


def split_list(text: str) -> list[str]:
    """A list setting written in one cell: ``"a@x.com, b@y.com"`` -> two items."""
    return [v.strip() for v in re.split(r"[,;\n]", text) if v.strip()]

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


def tab_layer(tab: Any, tab_name: str = "Settings", skip_channels: Set[str] = frozenset(),
              known: Sequence[str] = ()) -> Layer:
    """``known``: the top-level setting names (kpirules.config.SETTING_NAMES), for
    did-you-mean on an unknown dotted key."""
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

    value: Any  # a text, or a list for the comma-list settings
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
                problems.append(Problem(CONFIG, _("unknown setting `{key}`").format(key=key), **where(row, False),
                                        suggestion=_("write notify.{name}.<setting>, e.g. notify.{name}.type")
                                        .format(name=name)))
                continue
            else:
                path = ("notifications", i, setting)
                value = split_list(text) if setting in _LIST_FIELDS else text
                if setting == "on":
                    value = [_norm(v) for v in value]
                target, slot = channels[i], setting
        elif len(parts) == 1:
            path, target, slot, value = (_norm(key),), data, _norm(key), text
        else:
            guess = did_you_mean(_norm(key), known)
            problems.append(Problem(CONFIG, _("unknown setting `{key}`").format(key=key), **where(row, False),
                                    suggestion=_("did you mean `{guess}`?").format(guess=guess) if guess else
                                    _("channel settings are written notify.<channel>.<setting>")))
            continue
        if path in written:
            first_at = cells[path][0] or _("above")
            problems.append(Problem(CONFIG, _("`{key}` is set twice (first at {first})").format(
                key=key, first=first_at),
                                    **where(row, False), suggestion=_("keep one of the two rows")))
            continue
        for ref in env_refs(text) + ([text] if slot == "password_env" else []):
            if not ref.startswith(TAB_ENV_PREFIX):
                problems.append(Problem(
                    CONFIG, _("`{key}` refers to the environment variable {ref}; the Settings tab may "
                              "only use variables named {prefix}*").format(key=key, ref=ref, prefix=TAB_ENV_PREFIX),
                    **where(row, True),
                    suggestion=_("name the variable {name} or move this setting to {file}").format(
                        name=f"{TAB_ENV_PREFIX}{ref}", file=FILE_NAME)))
        if slot == "data" and _has_password(text):
            problems.append(Problem(
                CONFIG, _("`{key}` holds a password; a sheet is no place for a credential").format(key=key),
                **where(row, True),
                suggestion=_("remove it from the URL and give it as the database expects it "
                             "(PGPASSWORD, ~/.pgpass, SNOWFLAKE_PASSWORD), or set data in kpirules.toml")))
            continue
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

    return Layer(data, locate, display, "rows notify.<channel>.<setting>", problems, texts=True)


# ---------------------------------------------------------------------------- origins

def origin(key: str, config: str | None, tab: Any = None,
           tab_name: str = "Settings") -> tuple[Any, str] | None:
    """The value of the top-level setting ``key`` and where it came from, for a message
    about it: ``("Daily", "`data_tab = Daily` from ops/kpirules.toml:3")`` (or ``from
    Settings!B4``); None when neither place sets it (a default). The file wins over the
    tab, as in ``load_settings``."""
    layers = []
    if config:
        try:
            layers.append(file_layer(config))
        except (SourceError, ConfigError):
            pass
    if tab is not None:
        layers.append(tab_layer(tab, tab_name))
    for layer in layers:
        value = layer.value_at((key,))
        if value is None:
            continue
        where = layer.locate((key,), True)
        place = where.get("cell") or where.get("file", "")
        if where.get("line"):
            place += f":{where['line']}"
        return value, _("{setting} from {place}").format(setting=f"`{layer.display((key,))} = {value}`", place=place)
    return None


def _has_password(url: str) -> bool:
    """Whether a URL carries a password (``scheme://user:secret@host``)."""
    from urllib.parse import urlsplit

    try:
        return bool(urlsplit(url.strip()).password)
    except ValueError:
        return False
