"""Numbers as exports write them: ``1,355``, ``1 899,48``, ``1.234,56``, ``$1,234.56``,
``PLN 1 234,56``, ``41.23%``, ``--``.

A column's *convention* is its decimal mark: ``"."`` (``1,234.56``) or ``","``
(``1.234,56``). Most cells say which on their own (``1,5``, ``1,234.56``, ``1.234.567``);
``1,234`` and ``1.234`` do not (a thousand, or one and a bit). ``decide`` settles a column
from its own cells first, then from what the reader knows of the file (a ``locale`` setting,
a Google Sheet's locale, a ``;`` delimiter, a recognised export); when both readings remain
possible, the cells that depend on it are reported, naming the column and the ``locale``
setting: never a guess.

Own code rather than Babel: Babel parses one locale's spelling exactly, but an export's
spelling is not a locale (Google Ads writes ``1,355`` in a ``pl_PL`` account's CSV), and
what we need is the opposite question: which readings does this cell allow.
"""

from __future__ import annotations

import math
import re

from kpirules.read import LazyPattern

DOT = "."
COMMA = ","
# Cells that mean "no value" in exports (Google Ads' `--`, Meta's `-`, `N/A`).
BLANK_WORDS = frozenset({"--", "-", "—", "–", "n/a", "na", "#n/a"})


def holds_no_value(value: object) -> bool:
    """A cell that is empty, only whitespace, or one of the ``BLANK_WORDS``: what every
    aggregate leaves out (spec: "a blank cell is missing"), and so what covers no day for a
    column's data start and end (kpirules.completeness)."""
    if value is None:
        return True
    if not isinstance(value, str):
        return False
    stripped = value.strip()
    return not stripped or stripped.casefold() in BLANK_WORDS
# Longest cell read as a number: a 1M-digit cell is a bad cell, not a float() of it.
MAX_NUMBER_CHARS = 100
_CURRENCY = r"(?:[$€£¥]|zł|PLN|USD|EUR|GBP|CHF|CZK|SEK|NOK|DKK|CAD|AUD|US\$)"
# Sign, currency before or after, percent; the body is digits with separators.
_CELL = LazyPattern(
    rf"^(?P<s1>[-+−]?)\s*(?:{_CURRENCY}\s*)?(?P<s2>[-+−]?)\s*"
    r"(?P<body>[0-9][0-9.,' \u00a0\u202f]*|[.,][0-9]+)"
    rf"\s*(?P<pct>%)?\s*(?:{_CURRENCY})?$", re.IGNORECASE)
_SPACES = " \u00a0\u202f"
_GROUPED = {
    # decimal mark -> a body with thousands groups (one kind of separator) and a decimal part
    DOT: LazyPattern(r"^[0-9]{1,3}(?:(?P<t>[, '\u00a0\u202f])[0-9]{3})?(?:(?P=t)[0-9]{3})*(?:\.[0-9]*)?$"),
    COMMA: LazyPattern(r"^[0-9]{1,3}(?:(?P<t>[. '\u00a0\u202f])[0-9]{3})?(?:(?P=t)[0-9]{3})*(?:,[0-9]*)?$"),
}
_PLAIN = {DOT: LazyPattern(r"^[0-9]*(?:\.[0-9]*)?$"), COMMA: LazyPattern(r"^[0-9]*(?:,[0-9]*)?$")}

_FLOAT = LazyPattern(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")
AMBIGUOUS = "ambiguous"
TOO_BIG = "too big"
NOT_A_NUMBER = "not a number"


def _readings(body: str, exponent: str = "") -> dict[str, float]:
    """The values ``body`` can have, by decimal mark (one entry, two equal, or two
    different); ``exponent`` ``"e-2"`` for a percent (exact: 41.23% is 0.4123)."""
    out: dict[str, float] = {}
    for mark in (DOT, COMMA):
        if _PLAIN[mark].match(body) or _GROUPED[mark].match(body):
            digits = body
            for ch in ("," if mark == DOT else ".") + "'" + _SPACES:
                digits = digits.replace(ch, "")
            digits = digits.replace(",", ".")
            if digits.strip("."):
                out[mark] = float(digits + exponent)
    return out


def split(text: str) -> tuple[float, str, bool] | None:
    """(sign, body, percent) of a number-like cell, else None."""
    m = _CELL.match(text.strip())
    if m is None or (m["s1"] and m["s2"]):
        return None
    sign = -1.0 if (m["s1"] or m["s2"]) in ("-", "−") else 1.0
    return sign, m["body"].strip(_SPACES), bool(m["pct"])


def evidence(text: str) -> str | None:
    """The decimal mark a text cell proves on its own, or None (no separator, or both
    readings possible, or not a number)."""
    parts = split(text) if len(text) <= MAX_NUMBER_CHARS else None
    if parts is None:
        return None
    readings = _readings(parts[1])
    if len(readings) == 1:
        return next(iter(readings))
    return None


def is_ambiguous(text: str) -> bool:
    parts = split(text) if len(text) <= MAX_NUMBER_CHARS else None
    if parts is None:
        return False
    readings = _readings(parts[1])
    return len(readings) == 2 and readings[DOT] != readings[COMMA]


def looks_numeric(value) -> bool:
    """A typed number, or text that reads as a number under some convention: what makes a
    row a data row (a number in some metric column)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    if isinstance(value, str) and value:
        read = read_text(value, None)
        return read is AMBIGUOUS or type(read) is float
    return False


def read_text(text: str, mark: str | None) -> float | None | str:
    """A text cell as a float (None when blank), or the reason it is bad: ``AMBIGUOUS``
    (no ``mark`` and the two readings differ), ``TOO_BIG`` or ``NOT_A_NUMBER``."""
    stripped = text.strip()
    if not stripped or stripped.casefold() in BLANK_WORDS:
        return None
    if len(stripped) > MAX_NUMBER_CHARS:
        return TOO_BIG if stripped.lstrip("+-").isdigit() else NOT_A_NUMBER
    parts = split(stripped)
    if parts is None:
        return _scientific(stripped)
    sign, body, percent = parts
    readings = _readings(body, "e-2" if percent else "")
    if not readings:
        return _scientific(stripped)
    if mark is not None:
        if mark not in readings:
            return NOT_A_NUMBER
        value = readings[mark]
    elif len(readings) == 2 and readings[DOT] != readings[COMMA]:
        return AMBIGUOUS
    else:
        value = next(iter(readings.values()))
    value = sign * value
    return value if math.isfinite(value) else TOO_BIG


def _scientific(text: str) -> float | str:
    # `1e3`, `-1E-3` (and digits of other scripts, as float() reads them): float()
    # spellings that are numbers (not inf/nan/1_000/0x10).
    if _FLOAT.match(text):
        value = float(text)
        return value if math.isfinite(value) else TOO_BIG
    return NOT_A_NUMBER


def mark_of_locale(locale: str | None) -> str | None:
    """The decimal mark of a locale such as ``pl_PL``, ``en-US`` or ``de``, else None."""
    if not locale:
        return None
    lang = re.split(r"[_\-.@]", locale.strip())[0].casefold()
    region = locale.strip()[len(lang) + 1:len(lang) + 3].upper()
    if lang in _DOT_LANGUAGES or (lang, region) in _DOT_REGIONS:
        return DOT
    if lang in _COMMA_LANGUAGES:
        return COMMA
    return None


# Languages writing 1,234.56 (regions that differ listed below); CLDR's decimal symbols.
_DOT_LANGUAGES = frozenset({"en", "ja", "zh", "ko", "th", "he", "hi", "ms", "tl", "ga", "cy", "mt", "sw"})
_DOT_REGIONS = frozenset({("de", "CH"), ("it", "CH"), ("fr", "CH"), ("es", "MX"), ("es", "US")})
_COMMA_LANGUAGES = frozenset({
    "pl", "de", "fr", "es", "it", "pt", "nl", "cs", "sk", "hu", "ro", "ru", "uk", "bg", "hr", "sl",
    "sr", "lt", "lv", "et", "fi", "sv", "da", "nb", "no", "nn", "tr", "el", "id", "vi", "ca", "is"})


def decide(cells, hint: str | None, override: str | None = None) -> str | None:
    """The decimal mark of a column of text cells: ``override`` (the ``locale`` setting)
    first, else the one its cells prove (the most proved when they disagree), else
    ``hint`` (the file's evidence), else None (both readings stay possible)."""
    if override is not None:
        return override
    proved = {DOT: 0, COMMA: 0}
    for text in cells:
        if type(text) is str and (mark := evidence(text)) is not None:
            proved[mark] += 1
    if proved[DOT] or proved[COMMA]:
        return DOT if proved[DOT] >= proved[COMMA] else COMMA
    return hint
