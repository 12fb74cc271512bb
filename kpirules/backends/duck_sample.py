"""The head and tail of a CSV file as the csv module reads them, for the DuckDB backend:
what its read recipe is decided from (``kpirules.read.recipe``), as the Python path decides
it from every row; and the file in UTF-8 for DuckDB (transcoded when it is not)."""

from __future__ import annotations

import csv
import os
from itertools import islice

from kpirules.errors import SourceError
from kpirules.read.recipe import HEAD_ROWS, TAIL_ROWS

_TAIL_BYTES = 1 << 16  # first try at the tail; doubled until it holds the rows wanted


class Sample:
    """The head (and, for a large file, the tail) of a CSV file as the csv module reads it:
    what the read recipe is decided from, as the Python path decides it from every row."""

    def __init__(self, path: str, encoding: str | None):
        from kpirules.read.text import HEAD_BYTES, dialect, sniff_delimiter, sniff_encoding

        with open(path, "rb") as fh:
            head = fh.read(HEAD_BYTES)
        codec = sniff_encoding(head, setting=encoding, path=path)
        if codec == "utf-8" and not encoding:
            import codecs

            try:  # a head that is not UTF-8: the whole file decides (Windows-1250/1252)
                codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < HEAD_BYTES)
            except UnicodeDecodeError:
                with open(path, "rb") as fh:
                    codec = sniff_encoding(head, whole=fh.read(), path=path)
        self.csv_path = path if codec in ("utf-8", "utf-8-sig") else transcoded(path, codec)
        with open(self.csv_path, newline="", encoding="utf-8-sig") as fh:
            text = fh.read(HEAD_BYTES)
            if "\x00" in text:
                raise SourceError("a NUL character")
            self.delimiter = sniff_delimiter(text)
            fh.seek(0)
            reader = csv.reader(fh, dialect=dialect(self.delimiter))
            self.rows: list[list[str]] = []
            self.line_ends: list[int] = []  # the line each record ends on
            for row in islice(reader, HEAD_ROWS + 1):
                self.rows.append(row)
                self.line_ends.append(reader.line_num)
            self.whole = next(reader, None) is None
        self.skipinitialspace = False
        self.tail = [] if self.whole else self.last(TAIL_ROWS)

    def records(self, n: int) -> list[list[str]]:
        """The first ``n`` records of the file."""
        from kpirules.read.text import dialect

        with open(self.csv_path, newline="", encoding="utf-8-sig") as fh:
            return list(islice(csv.reader(fh, dialect=dialect(self.delimiter)), n))

    def last(self, n: int) -> list[list[str]]:
        """The last ``n`` complete records (fewer in a short file), from the last bytes."""
        import io

        from kpirules.read.text import dialect

        size = os.path.getsize(self.csv_path)
        span = _TAIL_BYTES
        while True:
            with open(self.csv_path, "rb") as fh:
                fh.seek(max(0, size - span))
                data = fh.read()
            if span < size:
                data = data[data.find(b"\n") + 1:]  # a line cut short
            rows = list(csv.reader(io.StringIO(data.decode("utf-8", errors="replace"), newline=""),
                                   dialect=dialect(self.delimiter)))
            if len(rows) >= n or span >= size:
                return rows[-n:] if n else []
            span *= 4


def transcoded(path: str, codec: str) -> str:
    """A UTF-8 copy of the file (DuckDB reads UTF-8 only), removed when the process ends."""
    import atexit
    import shutil
    import tempfile

    fd, copy = tempfile.mkstemp(suffix=".csv", prefix="kpirules-")
    atexit.register(lambda: os.path.exists(copy) and os.remove(copy))
    with open(path, encoding=codec, newline="") as src, os.fdopen(fd, "w", encoding="utf-8", newline="") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    return copy


def has_blank_lines(path: str, after_lines: int = 0) -> bool:
    """True when an empty line sits between two rows below the first ``after_lines`` lines
    (the preamble and the header; empty lines at the end do not count)."""
    pending = False  # an empty line seen, with only line breaks after it so far
    tail = b""
    with open(path, "rb") as fh:
        for _ in range(after_lines):
            fh.readline()
        while chunk := fh.read(1 << 20):
            if pending and chunk.strip(b"\r\n"):
                return True
            data = tail + chunk  # a pattern may straddle two chunks
            for pattern in (b"\n\n", b"\r\r", b"\n\r\n"):
                at = data.find(pattern)
                if at != -1:
                    if data[at:].strip(b"\r\n"):
                        return True
                    pending = True
            tail = data[-2:]
    return False
