"""The settings vocabulary shared by the readers (``kpirules.config_sources``), the models
(``kpirules.config``) and the commands that open a source (``kpirules.source``): the file
and tab names, the ``${NAME}`` reference syntax, the error type, and finding the file.

It sits below all three so that none of them imports another upwards, and it imports
nothing heavy: every ``check`` asks for the settings file and must not pay for pydantic
when there is none.
"""

from __future__ import annotations

import re
from typing import Any

from kpirules.errors import Problem
from kpirules.i18n import N_, _

SETTINGS_TAB = "Settings"
# The tabs kpirules names itself (no setting renames them): a setting that points History
# or Alerts at one of them is refused (kpirules.config, ``tab_clashes``).
DASHBOARD_TAB = "Dashboard"
LEASE_TAB = "kpirules-lease"
SETTINGS_FILE = "kpirules.toml"
FILE_NAME = SETTINGS_FILE  # the name kpirules.config has always used

CONFIG = "config"  # Problem category for settings mistakes

# A secret is written as a reference, ${NAME}, resolved when a notification is sent.
ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def env_refs(text: str | None) -> list[str]:
    return ENV_REF.findall(text or "")


class ConfigError(ValueError):
    """Settings that cannot be used; ``problems`` lists every one found, each located at a
    file line (``kpirules.toml:12``) or a cell (``Settings!A7``)."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(p.render() for p in problems))


def find_settings_file(directory: str = ".") -> str | None:
    """The settings that apply to a command run in ``directory``: the nearest folder, from
    there up to the repository's root (the folder holding ``.git``), with a
    ``kpirules.toml``, or else a ``pyproject.toml`` with a ``[tool.kpirules]`` table; None
    when there is none. Outside a repository only ``directory`` itself is looked at, so a
    stray file in a parent folder never changes a result. The path comes back relative to
    the current directory, as messages show it. (Here, not in ``kpirules.config``, because
    every ``check`` asks and must not pay for pydantic when the answer is no.)"""
    import os

    start = os.path.abspath(directory)
    folders = [start]
    here = start
    while not os.path.exists(os.path.join(here, ".git")):
        parent = os.path.dirname(here)
        if parent == here:
            folders = [start]  # no repository above: only the folder itself
            break
        here = parent
        folders.append(here)
    for folder in folders:
        found = _settings_in(folder)
        if found:
            return os.path.relpath(found)
    return None


# Where a pyproject.toml can hold [tool.kpirules]: that table (or a sub-table), a [tool]
# table (its keys may be `kpirules.x = ...`), or a top-level dotted key `tool.kpirules.x`.
_MAY_HOLD_SETTINGS = re.compile(rb"""^[ \t]*\[*[ \t]*["']?tool["']?[ \t]*(\]|\.[ \t]*["']?kpirules)""", re.M)


def _settings_in(folder: str) -> str | None:
    import os

    candidate = os.path.join(folder, SETTINGS_FILE)
    if os.path.isfile(candidate):
        return candidate
    pyproject = os.path.join(folder, "pyproject.toml")
    if os.path.isfile(pyproject):
        try:
            with open(pyproject, "rb") as fh:
                text = fh.read()
        except OSError:
            return None
        if not _MAY_HOLD_SETTINGS.search(text):
            return None  # no [tool.kpirules] table: no need to parse (or import tomllib)
        import tomllib  # only where there is a pyproject that may hold settings

        try:
            if "kpirules" in tomllib.loads(text.decode()).get("tool", {}):
                return pyproject
        except tomllib.TOMLDecodeError:
            return None  # someone else's broken pyproject is not our settings file
    return None


# pydantic's own messages (English only) for the mistakes settings see, by error type, in the
# words of the current language; "{...}" are pydantic's error context. Other types keep
# pydantic's text.
_PYDANTIC_MESSAGES = {
    "literal_error": N_("Input should be {expected}"),
    "string_type": N_("Input should be a valid string"),
    "int_parsing": N_("Input should be a valid integer"), "int_type": N_("Input should be a valid integer"),
    "int_from_float": N_("Input should be a valid integer"),
    "float_parsing": N_("Input should be a valid number"), "float_type": N_("Input should be a valid number"),
    "bool_parsing": N_("Input should be a valid boolean"), "bool_type": N_("Input should be a valid boolean"),
    "list_type": N_("Input should be a valid list"),
    "dict_type": N_("Input should be a table of settings"), "model_type": N_("Input should be a table of settings"),
    "greater_than": N_("Input should be greater than {gt}"),
    "greater_than_equal": N_("Input should be greater than or equal to {ge}"),
    "less_than": N_("Input should be less than {lt}"),
    "less_than_equal": N_("Input should be less than or equal to {le}"),
}


def pydantic_message(err: Any) -> str:
    """One pydantic error (``ValidationError.errors()``) as a message: our validators' own
    text (already in the current language), else pydantic's, translated where we know it."""
    from kpirules.i18n import language

    text = _PYDANTIC_MESSAGES.get(err.get("type", ""))
    if text is not None and language() != "en":  # English: pydantic's own words, as ever
        try:
            return _(text).format(**{k: f"{v:g}" if isinstance(v, float) else v
                                     for k, v in (err.get("ctx") or {}).items()})
        except (KeyError, IndexError):
            pass
    return str(err.get("msg", "")).removeprefix("Value error, ")
