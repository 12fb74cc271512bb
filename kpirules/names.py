"""Header and name normalisation (spec/semantics.md, "Names").

``Emails sent`` -> ``emails_sent``, ``Zapisy (newsletter)`` -> ``zapisy_newsletter``,
``Wyświetlenia`` -> ``wyświetlenia``. Rule names and headers meet only in this form.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# \w is Unicode-aware: letters, digits and underscore of every script.
_NON_WORD = re.compile(r"[^\w]+")


@lru_cache(maxsize=4096)
def normalise(text: str) -> str:
    text = unicodedata.normalize("NFC", str(text)).strip().lower()
    return _NON_WORD.sub("_", text).strip("_")
