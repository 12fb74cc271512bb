"""The settings vocabulary shared by the readers (``kpirules.config_sources``), the models
(``kpirules.config``) and the commands that open a source (``kpirules.source``): the file
and tab names, the ``${NAME}`` reference syntax, the error type, and finding the file.

It sits below all three so that none of them imports another upwards, and it imports
nothing heavy: every ``check`` asks for the settings file and must not pay for pydantic
when there is none.
"""

from __future__ import annotations

import re

from kpirules.errors import Problem

SETTINGS_TAB = "Settings"
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
    """``kpirules.toml`` in ``directory``, else its ``pyproject.toml`` if that has a
    ``[tool.kpirules]`` table, else None. (Here, not in ``kpirules.config``, because every
    ``check`` asks and must not pay for pydantic when the answer is no.)"""
    import os
    import tomllib

    candidate = os.path.join(directory, SETTINGS_FILE)
    if os.path.isfile(candidate):
        return candidate if directory != "." else SETTINGS_FILE
    pyproject = os.path.join(directory, "pyproject.toml")
    if os.path.isfile(pyproject):
        try:
            with open(pyproject, "rb") as fh:
                if "kpirules" in tomllib.load(fh).get("tool", {}):
                    return pyproject if directory != "." else "pyproject.toml"
        except (OSError, tomllib.TOMLDecodeError):
            return None  # someone else's broken pyproject is not our settings file
    return None
