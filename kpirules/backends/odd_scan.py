"""Whether a CSV file holds a number only DuckDB reads (``1_000``, ``+-1``), looked for in a
process of its own while the rules are parsed and DuckDB reads the file.

DuckDB's DOUBLE reader takes ``1_000`` as 1000 and ``+-1`` as -1; ``kpirules.read.numbers``
calls both bad. The typed read of ``DuckTable`` is only kept when the file holds neither,
and only a look at every byte can say so. That look costs about a second of CPU on a
640 MB file (every ``_`` of every campaign name is a stop), and ``re`` holds the GIL while
it looks: in a thread it would slow the parsing of the rules down as much as it ran. As a
process started when the table is opened, it runs on the core the single-threaded start
(imports, rules, plan) leaves idle, before DuckDB takes both.

This module is also the process's script (``python -I -S odd_scan.py PATH``: exit 1 when
found, 0 when not), so it imports nothing but the standard library.
"""

from __future__ import annotations

import re
import subprocess
import sys

_UNDERSCORE_IN_DIGITS = re.compile(rb"_(?<=[0-9]_)[0-9]")  # starts with a literal: found at memchr speed
_FOUND, _NONE = 1, 0


def odd_numbers(path: str) -> bool:
    """True when the file holds ``+-`` or a ``_`` between two digits: what DuckDB's DOUBLE
    reader takes as a number (``+-1`` is -1, ``1_000`` is 1000) and ``kpirules.read.numbers``
    calls bad. Any cell it takes with a ``_`` has one between digits. Campaign names such as
    ``spring_2024`` have a ``_`` too, but seldom between digits (``q1_2024`` makes the
    DuckDB path read the numbers as text: slower, still right)."""
    edge = b""
    with open(path, "rb", buffering=0) as fh:
        while chunk := fh.read(1 << 20):
            for data in (edge + chunk[:2], chunk):  # a pattern may straddle two chunks
                if b"+" in data and b"+-" in data:
                    return True
                if b"_" in data and _UNDERSCORE_IN_DIGITS.search(data):
                    return True
            edge = chunk[-2:]
    return False


class OddScan:
    """``odd_numbers(path)`` running in a child process from its creation on.

    ``answer()`` waits for it: True (found), False (not found), or True when the process
    could not start or did not finish (no answer is a doubt: the typed read is not kept).
    ``stop()`` ends it when the answer is no longer wanted."""

    def __init__(self, path: str):
        self._answer: bool | None = None
        try:
            # -I: none of the user's environment or site-packages; -S: no site (this script
            # needs only the standard library), which also makes the start a few ms shorter.
            self._process: subprocess.Popen | None = subprocess.Popen(
                [sys.executable, "-I", "-S", __file__, path],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except (OSError, ValueError):
            self._process = None

    def answer(self) -> bool:
        if self._answer is None:
            code = self._process.wait() if self._process is not None else None
            self._answer = code != _NONE
        return self._answer

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        if self._answer is None:
            self._answer = True  # stopped: no answer


if __name__ == "__main__":
    try:
        sys.exit(_FOUND if odd_numbers(sys.argv[1]) else _NONE)
    except OSError:
        sys.exit(2)  # a doubt
