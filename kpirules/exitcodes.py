"""Exit statuses of every command that evaluates (shared/spec/cli.md, vendored as
docs/spec/cli.md): one table, one precedence.

Commands collect the statuses that apply to their run and exit with ``combine(...)``:
when several apply, the first in ``PRECEDENCE`` wins (3, 2, 7, 5, 6, 1, 0). ``validate``
keeps its own codes (0 valid, 1 some rule invalid, 2 bad usage or settings).
"""

from __future__ import annotations

from enum import IntEnum
from typing import Iterable


class Exit(IntEnum):
    OK = 0           # every result PASS/WARN/NO_DATA/INCONCLUSIVE, all delivered, data not late
    FAIL = 1         # some result is FAIL
    ERROR = 2        # some rule is an ERROR, a settings file is invalid, or bad usage
    SOURCE = 3       # the data could not be read or the results could not be written
    LINT = 4         # `lint --strict` found something
    UNDELIVERED = 5  # results written, some notification still owed
    LATE = 6         # some metric's data end is older than `late_after` allows
    LOCKED = 7       # another run holds this sheet; this one changed nothing


PRECEDENCE: tuple[Exit, ...] = (Exit.SOURCE, Exit.ERROR, Exit.LOCKED, Exit.UNDELIVERED,
                                Exit.LATE, Exit.FAIL, Exit.LINT, Exit.OK)


def combine(codes: Iterable[int]) -> int:
    """The one status to exit with when several apply (``PRECEDENCE`` order)."""
    present = {int(c) for c in codes}
    for code in PRECEDENCE:
        if int(code) in present:
            return int(code)
    return int(Exit.OK)
