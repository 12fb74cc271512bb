"""Bytes -> rows of text cells: the encoding and the delimiter of a CSV file.

Encodings: a byte-order mark decides (UTF-8, UTF-16 LE/BE: Excel's "Unicode text" and
Google Ads' "CSV for Excel"); else valid UTF-8 is UTF-8; else charset-normalizer (imported
only then) tells Windows-1250 (Polish Excel) from Windows-1252; the ``encoding`` setting
overrides all of it. Delimiters: ``,`` ``;`` tab ``|``, the one the lines of the head agree on.

Limits, said in the error when passed: a cell holds at most ``MAX_CELL_CHARS`` characters
(the csv module's own limit, 131,072, raised: a long text cell is not a reason to fail, a
runaway quote that swallows the rest of the file is); a NUL byte outside UTF-16 means the
file is not text.
"""

from __future__ import annotations

import codecs
import csv
import os
import re

from kpirules.errors import SourceError
from kpirules.i18n import _
from kpirules.read import LazyPattern

MAX_CELL_CHARS = 1 << 20  # 1,048,576
DELIMITERS = (",", ";", "\t", "|")
HEAD_BYTES = 1 << 16
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_QUOTED = re.compile(r'"[^"]*"')
_CONTROL = LazyPattern(rb"[\x00-\x08\x0e-\x1f]")  # never in text: a binary file


def sniff_encoding(head: bytes, *, setting: str | None = None, whole: bytes | None = None,
                   path: str = "") -> str:
    """The codec to read a file whose first bytes are ``head`` (``whole``: every byte,
    given when the file proved not to be UTF-8)."""
    if setting:
        try:
            return codecs.lookup(setting).name if not setting.lower().startswith("utf-8") or \
                not head.startswith(codecs.BOM_UTF8) else "utf-8-sig"
        except LookupError:
            raise SourceError(_("unknown encoding {value} in the settings").format(value=repr(setting)),
                              hint=_("use a Python codec name such as utf-8, cp1250, cp1252 or utf-16")) from None
    for bom, codec in _BOMS:
        if head.startswith(bom):
            return codec
    data = whole if whole is not None else head
    nul = data.find(b"\x00")
    if nul != -1:
        from kpirules.read.file_kind import not_csv

        workbook = not_csv(path, data[:8])
        if workbook is not None:
            raise workbook
        raise SourceError(_("{path} holds a NUL byte at byte {byte}: it is not a text file "
                            "(or UTF-16 saved without a byte-order mark)").format(path=path, byte=nul),
                          hint=_("export it again as CSV (UTF-8), or set `encoding` in the settings"))
    if whole is None:
        return "utf-8"
    try:
        whole.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        bad = exc.start
    from charset_normalizer import from_bytes  # only for files that are not UTF-8

    # Which Windows code page: the letters decide (windows_code_page); charset-normalizer
    # (which alone often picks 1252 for short Polish text) only when they do not.
    readable = []
    for codec in ("cp1250", "cp1252"):
        try:
            whole.decode(codec)
            readable.append(codec)
        except UnicodeDecodeError:
            pass
    if not readable or _CONTROL.search(whole):
        raise SourceError(_("{path} is not UTF-8 text (invalid byte at {byte}) and not "
                            "Windows-1250/1252 either").format(path=path, byte=bad),
                          hint=_("save the file as CSV UTF-8, or set `encoding` in the settings"))
    if len(readable) == 1:
        return readable[0]
    votes = windows_code_page(whole)
    if votes:
        return "cp1250" if votes > 0 else "cp1252"
    best = from_bytes(whole, cp_isolation=["cp1250", "cp1252"]).best()
    return best.encoding if best is not None else "cp1252"


# Letters each code page's text is made of, among those its bytes 0x80-0xFF decode to
# differently from the other page's: Central European (Polish, Czech, Hungarian...) and
# Western European (French, Spanish, German...).
_CENTRAL = frozenset("ąćęłńśźżĄĆĘŁŃŚŹŻčďěňřšťůžČĎĚŇŘŠŤŮŽőűŐŰĺľŕĹĽŔăâîşţĂÂÎŞŢ")
_WESTERN = frozenset("àèìòùâêîôûãõñçæœåøÀÈÌÒÙÂÊÎÔÛÃÕÑÇÆŒÅØÿŸšžŠŽ")
# Letters rare in their languages count half: "brûlée" is French before it is Hungarian.
_RARE = frozenset("ŕĺľťďňűőţşăđŔĹĽŤĎŇŰŐŢŞĂĐìòøåõãðþÌÒØÅÕÃÐÞ")


def windows_code_page(data: bytes) -> float:
    """Votes for ``cp1250`` (above 0) or ``cp1252`` (below 0) of single-byte text: each
    byte the two pages read as different characters votes for the page where it is a
    letter of that page's languages (ą, ł, ż in 1250 are ¹, ³, ¿ in 1252; è, ñ in 1252 are
    č, ń in 1250)."""
    votes = 0
    for byte in set(data):
        if byte < 0x80:
            continue
        raw = bytes([byte])
        central, western = raw.decode("cp1250", "replace"), raw.decode("cp1252", "replace")
        if central == western:
            continue
        n = data.count(raw)
        votes += n * (_weight(central, _CENTRAL) - _weight(western, _WESTERN))
    return votes


def _weight(letter: str, letters: frozenset[str]) -> float:
    return 0.0 if letter not in letters else 0.5 if letter in _RARE else 1.0


def sniff_delimiter(sample: str) -> str:
    """The delimiter the lines of ``sample`` agree on (comment and blank lines aside):
    for each candidate, the most common non-zero count per line, scored by how many lines
    have it times that count (the cells it makes: `1.234,50 €` in a `;` file puts one comma
    on every line, but three semicolons). Quoted text is left out of the count."""
    lines = [_QUOTED.sub("", line) for line in sample.splitlines()[:60]
             if line.strip() and not line.lstrip().startswith("#")]
    if len(lines) > 1 and len(sample) >= HEAD_BYTES // 2:
        lines = lines[:-1]  # the sample may cut the last line short
    best, best_score = ",", 0
    for delim in DELIMITERS:
        counts: dict[int, int] = {}
        for line in lines:
            n = line.count(delim)
            if n:
                counts[n] = counts.get(n, 0) + 1
        if counts:
            width, lines_with = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
            score = lines_with * width
            if score > best_score:
                best, best_score = delim, score
    return best


def dialect(delimiter: str) -> type[csv.Dialect]:
    """Excel's CSV dialect (quotes doubled inside quoted cells) with ``delimiter``."""

    class Dialect(csv.excel):
        pass

    Dialect.delimiter = delimiter
    return Dialect


def read_rows(path: str, *, encoding: str | None = None) -> tuple[list[list[str]], str, str]:
    """Every row of the CSV file at ``path``: (rows, codec, delimiter). Raises
    ``SourceError`` for a file that cannot be read as text."""
    from kpirules.bulk import gc_paused

    if csv.field_size_limit() < MAX_CELL_CHARS:
        csv.field_size_limit(MAX_CELL_CHARS)
    try:
        with open(path, "rb") as fh:
            head = fh.read(HEAD_BYTES)
        codec = sniff_encoding(head, setting=encoding, path=path)
        try:
            return _read(path, codec, gc_paused)
        except UnicodeDecodeError:
            if encoding:
                raise
            with open(path, "rb") as fh:
                whole = fh.read()
            codec = sniff_encoding(head, whole=whole, path=path)
            return _read(path, codec, gc_paused)
    except FileNotFoundError:
        raise SourceError(_("no such file: {path}").format(path=path)) from None
    except UnicodeDecodeError as exc:
        raise SourceError(_("{path} is not {encoding} text ({reason} at byte {byte})").format(
            path=path, encoding=encoding, reason=exc.reason, byte=exc.start),
            hint=_("fix the `encoding` setting, or save the file as CSV UTF-8")) from None
    except IsADirectoryError:
        raise SourceError(_("{path} is a folder, not a file").format(path=path)) from None
    except OSError as exc:
        raise SourceError(_("cannot read {path}: {reason}").format(path=path, reason=exc.strerror)) from None


# Files up to this size whose text has no quote are split with str.split (~3x the csv
# module's speed: most of reading a small export); others go through csv.reader.
_SPLIT_BYTES = 32 << 20


def _split_plain(text: str, delimiter: str) -> list[list[str]] | None:
    """The rows csv.reader would give for ``text``, when it holds no quote (nothing but
    delimiters and line ends to split on), no lone carriage return, no NUL (csv's error)
    and no line over the cell limit; None otherwise."""
    if '"' in text or "\x00" in text:
        return None
    if "\r" in text:
        if text.count("\r") != text.count("\r\n"):
            return None  # a lone \r ends a row for csv: leave it to csv
        text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the end of the last line, not an empty row
    if len(text) > MAX_CELL_CHARS and max(map(len, lines), default=0) > MAX_CELL_CHARS:
        return None  # csv says which line holds the over-long cell
    return [line.split(delimiter) if line else [] for line in lines]


def _read(path: str, codec: str, gc_paused) -> tuple[list[list[str]], str, str]:
    with open(path, newline="", encoding=codec) as fh:
        sample = fh.read(HEAD_BYTES)
        if "\x00" in sample:
            raise SourceError(_("{path} holds a NUL character: it is not a text file").format(path=path),
                              hint=_("export it again as CSV (UTF-8)"))
        delimiter = sniff_delimiter(sample)
        fh.seek(0)
        if os.fstat(fh.fileno()).st_size <= _SPLIT_BYTES:
            with gc_paused():
                rows = _split_plain(fh.read(), delimiter)
            if rows is not None:
                return rows, codec, delimiter
            fh.seek(0)
        reader = csv.reader(fh, dialect=dialect(delimiter))
        try:
            with gc_paused():  # a million rows of small strings: see gc_paused
                rows = list(reader)
        except csv.Error as exc:
            line = reader.line_num
            if "field larger" in str(exc):
                raise SourceError(f"{path}:{line}: " + _("a cell is longer than {max} characters "
                                                         "(often a quote that is never closed)").format(
                    max=f"{MAX_CELL_CHARS:,}"), hint=_("check the quotes near that line")) from None
            raise SourceError(f"{path}:{line}: {exc}") from None
    return rows, codec, delimiter
