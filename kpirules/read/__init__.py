"""The reader of raw tables: what every connector's cells go through (issue 10).

- ``text``: bytes -> rows (a CSV file's encoding and delimiter, the limits on a cell);
- ``recipe``: a table's read recipe, decided from its head and tail: header row below any
  preamble, total rows, the date column and how its dates are written, the evidence for
  its numbers; executed by ``kpirules.table`` (Python) and by the DuckDB backend alike;
- ``dates`` and ``numbers``: cells as exports write them, per column;
- ``exports``: the exports recognised by their headers (GA4, Google Ads, Meta, ...).

Nothing here imports more than the standard library at start-up: charset-normalizer only
for a file that is not UTF-8.
"""

import re


class LazyPattern:
    """A regular expression compiled on its first use: most files never need most of the
    spellings the reader knows, and compiling them all costs a quick `check` a millisecond."""

    __slots__ = ("_args", "_rx")

    def __init__(self, pattern: str, flags: int = 0):
        self._args = (pattern, flags)
        self._rx: re.Pattern | None = None

    def __getattr__(self, name: str):  # match, search, ...
        if self._rx is None:
            self._rx = re.compile(*self._args)
        return getattr(self._rx, name)
