"""Header and name normalisation (spec/semantics.md, "Names").

``Emails sent`` -> ``emails_sent``, ``Zapisy (newsletter)`` -> ``zapisy_newsletter``,
``Wyświetlenia`` -> ``wyświetlenia``. Rule names and headers meet only in this form.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# The characters str.strip() removes (str.isspace), for SQL that must trim a cell as
# kpirules.table.dimension_text does (the DuckDB CSV path, the compiled warehouse query).
WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
              "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")

# \w is Unicode-aware: letters, digits and underscore of every script.
_NON_WORD = re.compile(r"[^\w]+")


@lru_cache(maxsize=4096)
def normalise(text: str) -> str:
    text = unicodedata.normalize("NFC", str(text)).strip().lower()
    return _NON_WORD.sub("_", text).strip("_")


# Dimension values of a type other than text read as one text on every engine (spec
# "Segments and filters"; the SQL of kpirules.sql.compile writes the same texts).
# Booleans as the spreadsheets show them; a filter value TRUE or FALSE matches in any
# case (``where paid = "true"``), since databases spell them true/false.
BOOL_WORDS = frozenset({"TRUE", "FALSE"})
# Integral numbers below this are written as integers (2, not 2.0); from it up, Python's
# shortest round-trip form (1e+16), which is where DuckDB and PostgreSQL write it too.
WHOLE_LIMIT = 1e16


def number_text(value: float) -> str:
    """A number as a dimension's text: 2, 2.5, 0.1, 1e-05, 1e+16 (``repr`` without ``.0``
    for integral values below 1e16; 0 for -0.0)."""
    if value.is_integer() and abs(value) < WHOLE_LIMIT:
        return str(int(value))
    return repr(value)


def bool_word(text: str) -> str | None:
    """``text`` upper-cased when it is TRUE or FALSE in any case, else None."""
    if text[:1] in ("t", "T", "f", "F"):
        upper = text.upper()
        if upper in BOOL_WORDS:
            return upper
    return None
