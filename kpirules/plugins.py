"""What packages declare in kpirules' entry-point groups, read only when asked.

A plugin adds a notification channel (``kpirules.channels``) or an aggregate function
(``kpirules.functions``) by naming it in its own ``pyproject.toml``::

    [project.entry-points."kpirules.channels"]
    teams = "kpirules_teams:CHANNEL"

kpirules declares its own built-in channels in the same group of its pyproject.toml. An
installed kpirules reports them through its metadata like any plugin; a source checkout
that was never installed (or runs over another installed copy, through PYTHONPATH) reads
the checkout's own pyproject.toml, so that the running code and its declarations agree.

Scanning the installed packages' metadata costs milliseconds: nothing on a quick
``check``'s path calls this (tests/test_startup_imports.py).
"""

from __future__ import annotations

import importlib
from functools import cache
from pathlib import Path
from typing import Any, Callable, TypeVar

T = TypeVar("T")

_CHECKOUT_PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


@cache
def declared(group: str) -> dict[str, str]:
    """Entry-point name -> ``"module:attr"`` in ``group``: kpirules' own declarations
    first, then every other installed package's (a plugin may replace a built-in by using
    its name). Read once per process; ``forget()`` reads again."""
    from importlib.metadata import entry_points

    own = _checkout_entry_points(group)
    found: dict[str, str] = dict(own or {})
    for ep in entry_points(group=group):
        dist = getattr(ep, "dist", None)
        if own is not None and dist is not None and _normal(dist.metadata["Name"] or "") == "kpirules":
            continue  # an installed copy's declarations, not this checkout's
        found[ep.name] = ep.value
    return found


def load(target: str) -> Any:
    """The object an entry point names: ``"package.module:attr"``."""
    module, _, attr = target.partition(":")
    value: Any = importlib.import_module(module.strip())
    for part in attr.strip().split(".") if attr.strip() else []:
        value = getattr(value, part)
    return value


def load_declared(group: str, name: str, error: type[Exception], what: str, *, expected: type[T],
                  key: Callable[[T], str], described: str) -> T | None:
    """The ``expected`` object ``group`` declares as ``name`` (``key`` of it must be
    ``name``), imported now; None when nothing declares it. A declaration that does not
    load, or loads something else, raises ``error`` naming it (``what``: how messages name
    it, e.g. "channel type 'teams'"; ``described``: what it should have been)."""
    target = declared(group).get(name)
    if target is None:
        return None
    try:
        value = load(target)
    except Exception as exc:  # a broken plugin: say which, whatever it raised
        raise error(f"{what} ({target}) did not load: {type(exc).__name__}: {exc}") from exc
    if not isinstance(value, expected) or key(value) != name:
        raise error(f"{what}: {target} is not {described}")
    return value


def forget() -> None:
    """Read the entry points again on the next ``declared`` (a package was installed)."""
    declared.cache_clear()


def _normal(name: str) -> str:
    return name.lower().replace("_", "-")


def _checkout_entry_points(group: str) -> dict[str, str] | None:
    """The group in the checkout's pyproject.toml when this package runs from a checkout;
    None when it runs installed (no pyproject.toml of kpirules beside the package)."""
    if not _CHECKOUT_PYPROJECT.is_file():
        return None
    import tomllib

    try:
        project = tomllib.loads(_CHECKOUT_PYPROJECT.read_text(encoding="utf-8")).get("project", {})
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None
    if project.get("name") != "kpirules":
        return None
    group_table = project.get("entry-points", {}).get(group, {})
    return {str(name): str(target) for name, target in group_table.items()}
