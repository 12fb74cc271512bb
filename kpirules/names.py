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
