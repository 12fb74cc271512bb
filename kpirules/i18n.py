"""The language kpirules speaks to people: English, or Polish (``language = "pl"``).

    from kpirules.i18n import _, ngettext
    _("no data for {period}").format(period=...)
    ngettext("{n} row", "{n} rows", n).format(n=n)

One language at a time, chosen by the command: ``--lang``, else the ``language`` setting,
else the Google Sheet's locale (``pl_PL`` -> pl), else English. It is kept per thread: the
service (``kpirules serve``) answers requests for several sheets at once, each in its own
worker thread, and sets each request's language from English up. Catalogs are gettext ``.po``
files under ``kpirules/locale``, compiled to ``.mo`` (``python -m kpirules.i18n``, with
Babel; a test keeps the two in step), so reading one needs only the standard library. English
needs no catalog at all, and nothing is loaded until Polish is asked for. The commands' and
options' help (``--help --lang pl``) is translated only when a help page is shown
(``help_text``, from ``kpirules.cli.group``).

Numbers and dates follow the language: ``2.24%`` and ``1,399`` and ``2026-11-26`` in
English; ``2,24%``, ``1 399`` (a no-break space) and ``26.11.2026`` in Polish. JSON keys,
status codes (PASS, FAIL...) and rule text stay as they are.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

LANGUAGES = ("en", "pl")
DOMAIN = "kpirules"
# Ours, and click's messages (usage errors, help headings) that click marks with gettext.
DOMAINS = (DOMAIN, "click")
LOCALE_DIR = os.path.join(os.path.dirname(__file__), "locale")
NBSP = "\u00a0"

class _Speaking(threading.local):
    language = "en"
    catalog: Any = None  # gettext.GNUTranslations for the language, None for English
    pinned = False  # chosen on the command line (--lang): settings and locales do not change it


_now = _Speaking()


def __getattr__(name: str) -> Any:
    if name == "_catalog":  # what tests/test_startup_imports.py looks at
        return _now.catalog
    raise AttributeError(name)


def language() -> str:
    return _now.language


def language_code(lang: str | None) -> str:
    """The language ``lang`` names (``pl``, ``pl_PL``, ``pl-PL``: pl), English when it names
    none that kpirules speaks."""
    code = (lang or "en").strip().lower().replace("-", "_").split("_")[0]
    return code if code in LANGUAGES else "en"


def set_language(lang: str | None, *, pinned: bool = False) -> str:
    """Speak ``lang`` from now on (None or unknown: English). Returns the language set.
    ``pinned``: the user chose it (``--lang``), so ``resolve`` keeps it whatever the
    settings or the sheet's locale say."""
    lang = language_code(lang)
    _now.language, _now.catalog, _now.pinned = lang, None, pinned
    if lang != "en":
        _now.catalog = _load_catalog(lang)
    return lang


_CATALOGS: dict[tuple[str, str], Any] = {}  # (language, domain) -> gettext.GNUTranslations


def _load_catalog(lang: str, domain: str = DOMAIN) -> Any:
    """The compiled catalog of ``domain`` for ``lang`` (not English), read once a process."""
    found = _CATALOGS.get((lang, domain))
    if found is None:
        import gettext

        found = _CATALOGS[(lang, domain)] = gettext.translation(domain, LOCALE_DIR, languages=[lang])
    return found


def speaker(lang: str | None) -> Any:
    """``_`` for ``lang`` (None or unknown: English), whatever this thread speaks: for code
    that answers several requests on one thread, as the service's event loop does."""
    lang = language_code(lang)
    if lang == "en":
        return lambda message: message
    return _load_catalog(lang).gettext


@contextlib.contextmanager
def speaking(lang: str) -> Iterator[None]:
    """Speak ``lang`` for a while, then what was spoken before, as it was chosen (a result's
    detail, built when read, says its periods as they were said when it was evaluated)."""
    before = (_now.language, _now.catalog, _now.pinned)
    set_language(lang, pinned=_now.pinned)
    try:
        yield
    finally:
        _now.language, _now.catalog, _now.pinned = before


def resolve(option: str | None, settings: Any = None, workbook: Any = None) -> str:
    """The language a command uses: ``--lang``, the setting, the sheet's locale, English."""
    if option is None and _now.pinned:
        return _now.language  # --lang, given when the command started
    chosen = option or (getattr(settings, "language", None) if settings is not None else None)
    if not chosen and workbook is not None and getattr(workbook, "locale", None):
        chosen = str(workbook.locale)
    return set_language(chosen, pinned=_now.pinned)


def follow(requested: Any) -> None:
    """The language settings ask for as soon as they are read (before they are checked, so
    that their own problems are said in it), unless ``--lang`` chose one."""
    if not _now.pinned and isinstance(requested, str) and requested.strip().lower() in LANGUAGES:
        set_language(requested)


def _(message: str) -> str:
    """``message`` in the current language (itself in English or when untranslated)."""
    catalog = _now.catalog
    return message if catalog is None else catalog.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form for ``n`` (Polish has three: 1 wiersz, 2 wiersze, 5 wierszy, 22 wiersze)."""
    catalog = _now.catalog
    if catalog is None:
        return singular if n == 1 else plural
    return catalog.ngettext(singular, plural, n)


def click_gettext(message: str) -> str:
    """click's own message (``Usage:``, ``Invalid value for ...``) in the current language:
    its catalog is the ``click`` domain beside ours (``kpirules.cli.group`` points click at
    these two functions)."""
    if _now.catalog is None:
        return message
    return _load_catalog(_now.language, "click").gettext(message)


def click_ngettext(singular: str, plural: str, n: int) -> str:
    if _now.catalog is None:
        return singular if n == 1 else plural
    return _load_catalog(_now.language, "click").ngettext(singular, plural, n)


_KEEP = "\b\n"  # click's mark of a paragraph printed as written (not rewrapped)


def help_messages(text: str) -> list[str]:
    """The catalog entries of a command's or an option's help (as click cleans it: no
    common indentation): one per paragraph, without click's ``\\b`` mark, which stays out of
    the catalog and in the help."""
    return [paragraph.removeprefix(_KEEP) for paragraph in text.split("\n\n") if paragraph]


def help_text(text: str) -> str:
    """A command's or an option's help as ``--help`` shows it, in the current language:
    translated when the help page is rendered, never when a command is defined (a command
    line that does not ask for help reads no catalog). Paragraph by paragraph; the help
    click gives its own options (``--version``) comes from click's catalog."""
    if _now.catalog is None:
        return text

    def said(paragraph: str) -> str:
        if not paragraph:
            return paragraph
        keep = _KEEP if paragraph.startswith(_KEEP) else ""
        message = paragraph.removeprefix(keep)
        translated = _now.catalog.gettext(message)
        if translated == message:
            translated = click_gettext(message)
        return keep + translated

    return "\n\n".join(said(paragraph) for paragraph in text.split("\n\n"))


def N_(message: str) -> str:
    """Marks a message for the catalog where it is defined; translated where it is shown."""
    return message


# Headers kpirules writes into a sheet, and their Polish. A fixed table rather than the
# catalog: columns are found by header in EITHER language, whatever the current one (a sheet
# written in English and run later in Polish must not grow a second set of columns).
HEADERS_PL = {
    "Status": "Stan", "Value": "Wartość", "Target": "Próg docelowy", "Period": "Okres", "Checked": "Sprawdzono",
    "Message": "Komunikat", "Rule": "Reguła", "Segment": "Segment", "Period start": "Początek okresu",
    "Period end": "Koniec okresu", "Threshold": "Próg", "Numbers": "Liczby", "Checked at": "Sprawdzono o",
    "Restated": "Przeliczono", "Time": "Czas", "From": "Z", "To": "Na", "Notified": "Powiadomiono",
    "Trend": "Tendencja", "Last value": "Ostatnia wartość", "Change": "Zmiana",
    "History values, oldest first \u2192": "Wartości z historii, od najstarszej \u2192",
}


# Polish headers earlier releases wrote: still found, never written ("Grupa" said what every
# message calls a segment in another word).
EARLIER_HEADERS_PL = {"Segment": "Grupa"}


def header(label: str) -> str:
    """The header to write for the engine's column ``label`` in the current language."""
    return HEADERS_PL.get(label, label) if _now.language == "pl" else label


def header_keys(label: str) -> set[str]:
    """The normalised headers under which column ``label`` is found: English or Polish."""
    from kpirules.names import normalise

    said = (HEADERS_PL.get(label), EARLIER_HEADERS_PL.get(label))
    return {normalise(label)} | {normalise(h) for h in said if h}


def header_columns(headers: Sequence[Any], labels: Iterable[str]) -> dict[str, int]:
    """Where each of ``labels`` is among a tab's ``headers``: the first header that is the
    label in English or in Polish (``header_keys``), whatever the current language; labels
    not found are left out. Every reader of a tab kpirules writes finds its columns so:
    a Polish sheet's History, Alerts and engine columns are found on the next run."""
    from kpirules.names import normalise

    heads = [normalise(str(h)) if h not in (None, "") else "" for h in headers]
    found = {}
    for label in labels:
        keys = header_keys(label)
        at = next((i for i, h in enumerate(heads) if h and h in keys), None)
        if at is not None:
            found[label] = at
    return found


# A number, alone or with a unit written onto it (2.24%, 0.34pp, 290.1k), never inside a word.
_UNIT_OR_END = r"(?=pp\b|[kM]\b|(?!\w))"
_ENGLISH_NUMBER = re.compile(rf"(?<![\w.])-?\d{{1,3}}(?:,\d{{3}})*(?:\.\d+)?{_UNIT_OR_END}"
                             rf"|(?<![\w.,])-?\d+\.\d+{_UNIT_OR_END}")


def number_text(text: str, lang: str | None = None) -> str:
    """An English-formatted number (``1,399.50``, ``2.24%``) as the language writes it (the
    thread's, or ``lang``)."""
    if (lang or _now.language) != "pl":
        return text
    return _ENGLISH_NUMBER.sub(lambda m: m.group(0).replace(",", NBSP).replace(".", ","), text)


def date_text(day: dt.date) -> str:
    return day.isoformat() if _now.language != "pl" else f"{day.day:02d}.{day.month:02d}.{day.year}"


def period_text(start: dt.date, end: dt.date) -> str:
    """Polish periods: ``16–22.11.2026``, ``29.10–25.11.2026``, ``28.12.2025–03.01.2026``."""
    if start == end:
        return date_text(start)
    if start.year != end.year:
        return f"{date_text(start)}\u2013{date_text(end)}"
    if start.month != end.month:
        return f"{start.day:02d}.{start.month:02d}\u2013{date_text(end)}"
    return f"{start.day:02d}\u2013{date_text(end)}"


_POLISH_PERIOD = re.compile(r"^(?:(\d{2})(?:\.(\d{2})(?:\.(\d{4}))?)?\u2013)?(\d{2})\.(\d{2})\.(\d{4})$")


def read_period_text(text: str) -> tuple[dt.date, dt.date] | None:
    """``period_text``'s inverse (``16–22.11.2026``, ``29.10–25.11.2026``,
    ``28.12.2025–03.01.2026``, ``26.11.2026``), for a Polish Alerts row read back; None
    for any other text."""
    m = _POLISH_PERIOD.match(text.strip())
    if m is None:
        return None
    day1, month1, year1, day2, month2, year2 = m.groups()
    try:
        end = dt.date(int(year2), int(month2), int(day2))
        if day1 is None:
            return end, end
        start = dt.date(int(year1 or year2), int(month1 or month2), int(day1))
    except ValueError:
        return None
    return (start, end) if start <= end else None


KEYWORDS = {"_": 1, "N_": 1, "ngettext": 2}  # function -> how many message arguments


def source_messages(root: str | None = None) -> dict[Any, str]:
    """Every message the code marks (``_``, ``N_``, ``ngettext``, also ``i18n._``), as msgid
    or (singular, plural), with where it is first used. Read with ``ast``, which also sees
    calls inside f-strings (xgettext-style extractors do not)."""
    import ast

    roots = [root] if root else [os.path.dirname(__file__)]
    beside = os.path.join(os.path.dirname(os.path.dirname(__file__)), "connectors")
    if root is None and not os.path.isdir(os.path.join(roots[0], "connectors")) and os.path.isdir(beside):
        roots.append(beside)  # a checkout: the connectors live beside the package (kpirules/__init__.py)
    found: dict[Any, str] = {}
    for folder, dirs, files in (walked for top in roots for walked in os.walk(top)):
        dirs[:] = sorted(d for d in dirs if d not in ("testing", "__pycache__"))
        for name in sorted(f for f in files if f.endswith(".py")):
            path = os.path.join(folder, name)
            with open(path, encoding="utf-8") as fh:
                tree = ast.parse(fh.read(), path)
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                called = (func.id if isinstance(func, ast.Name) else
                          func.attr if isinstance(func, ast.Attribute) else None)
                count = KEYWORDS.get(called or "")
                args = node.args[:count] if count else []
                if count and len(args) == count and all(isinstance(a, ast.Constant) and isinstance(a.value, str)
                                                        for a in args):
                    key = args[0].value if count == 1 else (args[0].value, args[1].value)
                    found.setdefault(key, f"{os.path.relpath(path, roots[0])}:{node.lineno}")
    return found


def compile_catalogs() -> list[str]:
    """``.po`` -> ``.mo`` for every language (needs Babel: a build step, not a runtime one)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for lang in LANGUAGES[1:]:
        folder = os.path.join(LOCALE_DIR, lang, "LC_MESSAGES")
        for domain in DOMAINS:
            with open(os.path.join(folder, f"{domain}.po"), "rb") as fh:
                catalog = read_po(fh, locale=lang)
            target = os.path.join(folder, f"{domain}.mo")
            with open(target, "wb") as fh:
                write_mo(fh, catalog)
            written.append(target)
    return written


if __name__ == "__main__":  # python -m kpirules.i18n
    for path in compile_catalogs():
        print(f"wrote {path}")
