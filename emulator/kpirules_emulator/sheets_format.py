"""Locales, number formats and USER_ENTERED parsing, the way Google Sheets renders cells.

Numbers are floats, dates are serial numbers (days since 1899-12-30) carrying a DATE /
TIME / DATE_TIME number format. ``format_value`` gives a cell's formattedValue for the
spreadsheet locale (``1,234.56`` in en_US, ``1 234,56`` with a no-break space in pl_PL);
``parse_user_entered`` turns typed text into a value plus the number format Sheets infers
(``2,000,000.01`` -> 2000000.01 with ``#,##0.00``; ``2020-01-01`` -> 43831 with
``yyyy-mm-dd``).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from functools import lru_cache

EPOCH = dt.datetime(1899, 12, 30)


@dataclass(frozen=True)
class Locale:
    decimal: str
    group: str
    date: str  # default DATE pattern
    time: str  # default TIME pattern
    true: str
    false: str
    currency: str  # default CURRENCY pattern
    day_first: bool
    months: tuple[str, ...]
    days: tuple[str, ...]  # Monday first


_EN_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December")
_EN_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_PL_MONTHS = ("stycznia", "lutego", "marca", "kwietnia", "maja", "czerwca", "lipca",
              "sierpnia", "września", "października", "listopada", "grudnia")
_PL_DAYS = ("poniedziałek", "wtorek", "środa", "czwartek", "piątek", "sobota", "niedziela")
_DE_MONTHS = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
              "September", "Oktober", "November", "Dezember")
_DE_DAYS = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")
_FR_MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
              "septembre", "octobre", "novembre", "décembre")
_FR_DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")

# Group separators as Sheets shows them: pl_PL uses a no-break space (U+00A0), fr_FR the
# narrow no-break space (U+202F) that current CLDR data gives French.
LOCALES: dict[str, Locale] = {
    "en_US": Locale(".", ",", "M/d/yyyy", "h:mm:ss am/pm", "TRUE", "FALSE",
                    '"$"#,##0.00', False, _EN_MONTHS, _EN_DAYS),
    "en_GB": Locale(".", ",", "dd/MM/yyyy", "HH:mm:ss", "TRUE", "FALSE",
                    '"£"#,##0.00', True, _EN_MONTHS, _EN_DAYS),
    "pl_PL": Locale(",", "\u00a0", "d.MM.yyyy", "HH:mm:ss", "PRAWDA", "FAŁSZ",
                    '#,##0.00 "zł"', True, _PL_MONTHS, _PL_DAYS),
    "de_DE": Locale(",", ".", "d.M.yyyy", "HH:mm:ss", "WAHR", "FALSCH",
                    '#,##0.00 "€"', True, _DE_MONTHS, _DE_DAYS),
    "fr_FR": Locale(",", "\u202f", "dd/MM/yyyy", "HH:mm:ss", "VRAI", "FAUX",
                    '#,##0.00 "€"', True, _FR_MONTHS, _FR_DAYS),
}


def locale_for(name: str | None) -> Locale:
    """Unknown locales format like their language's nearest neighbour, else en_US."""
    if name in LOCALES:
        return LOCALES[name]
    lang = (name or "en").split("_")[0]
    for key, loc in LOCALES.items():
        if key.startswith(lang + "_"):
            return loc
    return LOCALES["en_US"]


@dataclass(frozen=True)
class SheetError:
    """An error value (#DIV/0! ...): ``type`` is the ErrorValue enum name."""

    type: str
    message: str

    @property
    def text(self) -> str:
        return ERROR_TEXT.get(self.type, "#ERROR!")


ERROR_TEXT = {"ERROR": "#ERROR!", "NULL_VALUE": "#NULL!", "DIVIDE_BY_ZERO": "#DIV/0!",
              "VALUE": "#VALUE!", "REF": "#REF!", "NAME": "#NAME?", "NUM": "#NUM!",
              "N_A": "#N/A", "LOADING": "Loading..."}


def num_out(x: float) -> int | float:
    """A double as Google's JSON writes it: integral values without ``.0``."""
    if x.is_integer() and -9007199254740992.0 < x < 9007199254740992.0:
        return int(x)
    return x


def to_serial(value: dt.date | dt.datetime | dt.time) -> float:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.replace(tzinfo=None)
        delta = value - EPOCH
        return delta.days + delta.seconds / 86400 + delta.microseconds / 86400e6
    if isinstance(value, dt.date):
        return float((value - EPOCH.date()).days)
    return (value.hour * 3600 + value.minute * 60 + value.second) / 86400


def from_serial(serial: float) -> dt.datetime:
    # Round to the millisecond so 0.1-day steps do not print as 02:23:59.
    ms = round(serial * 86400000)
    return EPOCH + dt.timedelta(milliseconds=ms)


DATE_TYPES = ("DATE", "TIME", "DATE_TIME")


# --- automatic format ---------------------------------------------------------------

def auto_number(x: float, loc: Locale) -> str:
    """A number with no number format, as Sheets' automatic format shows it: up to 10
    decimals, scientific from 1e15, no grouping."""
    if x != x:
        return "#NUM!"
    if x.is_integer() and abs(x) < 1e15:  # the common case, without string surgery
        return str(int(x))
    if abs(x) >= 1e15 or abs(x) < 1e-10:
        mant, exp = f"{x:.5E}".split("E")
        mant = mant.rstrip("0").rstrip(".")
        return f"{mant}E{int(exp):+03d}".replace(".", loc.decimal)
    text = f"{round(x, 10):.10f}".rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text.replace(".", loc.decimal) if loc.decimal != "." else text


# --- patterns -----------------------------------------------------------------------

_DATE_TOKEN = re.compile(
    r'"[^"]*"|\\.|\[[^\]]*\]|am/pm|a/p|AM/PM|A/P|yyyy|yy|y|mmmmm|mmmm|mmm|mm|m|'
    r'MMMM|MMM|MM|M|dddd|ddd|dd|d|DDDD|DDD|DD|D|hh|h|HH|H|ss|s|SS|S|\.0+|.', re.S)


def _split_sections(pattern: str) -> list[str]:
    sections, cur, quoted, i = [], [], False, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == '"':
            quoted = not quoted
        elif ch == "\\" and i + 1 < len(pattern):
            cur.append(pattern[i:i + 2])
            i += 2
            continue
        elif ch == ";" and not quoted:
            sections.append("".join(cur))
            cur = []
            i += 1
            continue
        cur.append(ch)
        i += 1
    sections.append("".join(cur))
    return sections


def _is_date_pattern(section: str) -> bool:
    stripped = re.sub(r'"[^"]*"|\\.|\[[^\]]*\]', "", section)
    return bool(re.search(r"[dDyYhHsS]|[mM](?![^0#?]*[0#?])", stripped)) and \
        not re.search(r"[0#?]", stripped.replace(".0", ""))


def _format_date(serial: float, section: str, loc: Locale) -> str:
    when = from_serial(serial)
    tokens = _DATE_TOKEN.findall(section)
    has_ampm = any(t.lower() in ("am/pm", "a/p") for t in tokens)
    out: list[str] = []
    for i, tok in enumerate(tokens):
        low = tok.lower()
        if tok.startswith('"'):
            out.append(tok[1:-1])
        elif tok.startswith("\\"):
            out.append(tok[1:])
        elif low in ("[h]", "[hh]", "[m]", "[mm]", "[s]", "[ss]"):
            # Elapsed time: total hours/minutes/seconds, not the clock reading.
            seconds = round(serial * 86400)
            total = {"h": seconds // 3600, "m": seconds // 60, "s": seconds}[low[1]]
            out.append(str(total).rjust(len(low) - 2, "0"))
        elif tok.startswith("["):
            continue  # [Red], [$-415]: colour / locale tags print nothing
        elif low in ("yyyy", "y"):
            out.append(f"{when.year:04d}")
        elif low == "yy":
            out.append(f"{when.year % 100:02d}")
        elif low.startswith("m"):
            # m/mm is minutes right after an hour or right before seconds.
            prev = next((t.lower().strip("[]") for t in reversed(tokens[:i]) if t.strip()
                         and t.lower().strip("[")[:1] in tuple("hdmsy")), "")
            nxt = next((t.lower() for t in tokens[i + 1:] if t.strip() and
                        t.lower()[0] in "hdmsy"), "")
            # Sheets also accepts "M"/"MM" for months, so an upper-case M is a month.
            minutes = len(low) <= 2 and tok[0] == "m" and \
                (prev.startswith("h") or nxt.startswith("s"))
            if minutes:
                out.append(f"{when.minute:02d}" if len(low) == 2 else str(when.minute))
            elif len(low) == 1:
                out.append(str(when.month))
            elif len(low) == 2:
                out.append(f"{when.month:02d}")
            elif len(low) == 3:
                out.append(loc.months[when.month - 1][:3])
            elif len(low) == 5:
                out.append(loc.months[when.month - 1][0])
            else:
                out.append(loc.months[when.month - 1])
        elif low.startswith("d"):
            if len(low) == 1:
                out.append(str(when.day))
            elif len(low) == 2:
                out.append(f"{when.day:02d}")
            elif len(low) == 3:
                out.append(loc.days[when.weekday()][:3])
            else:
                out.append(loc.days[when.weekday()])
        elif low.startswith("h"):
            hour = when.hour
            if has_ampm:
                hour = hour % 12 or 12
            out.append(f"{hour:02d}" if len(low) == 2 else str(hour))
        elif low.startswith("s"):
            out.append(f"{when.second:02d}" if len(low) == 2 else str(when.second))
        elif low.startswith(".0"):
            frac = when.microsecond / 1e6
            out.append(loc.decimal + f"{frac:.{len(low) - 1}f}"[2:])
        elif low == "am/pm":
            out.append("AM" if when.hour < 12 else "PM")
        elif low == "a/p":
            out.append("A" if when.hour < 12 else "P")
        else:
            out.append(tok)
    return "".join(out)


@lru_cache(maxsize=512)
def _numeric_parts(section: str) -> tuple[str, str, str, int, int, bool, bool, int, str]:
    """Split a numeric section into prefix, integer mask, fraction mask... (cached)."""
    literal = []
    body = []
    in_body_done = False
    i = 0
    prefix, suffix = "", ""
    while i < len(section):
        ch = section[i]
        if ch == '"':
            j = section.index('"', i + 1) if '"' in section[i + 1:] else len(section)
            text = section[i + 1:j]
            i = j + 1
        elif ch == "\\" and i + 1 < len(section):
            text = section[i + 1]
            i += 2
        elif ch == "[":
            j = section.find("]", i)
            tag = section[i + 1:j if j > 0 else len(section)]
            text = tag[1:].split("-")[0] if tag.startswith("$") else ""
            i = (j + 1) if j > 0 else len(section)
        elif ch in "_*":
            text = " " if ch == "_" else ""
            i += 2
        elif ch in "0#?.,":
            if in_body_done:
                text = ch
                i += 1
            else:
                if not body:
                    prefix = "".join(literal)
                    literal = []
                body.append(ch)
                i += 1
                continue
        elif ch in "eE" and body and section[i + 1:i + 2] in ("+", "-"):
            body.append(section[i:i + 2])
            i += 2
            continue
        else:
            text = ch
            i += 1
        if body:
            in_body_done = True
        literal.append(text)
    suffix = "".join(literal) if body else ""
    if not body:
        prefix = "".join(literal)
    mask = "".join(body)
    exp_digits = 0
    sci = False
    m = re.search(r"[eE][+-]", mask)
    if m:
        sci = True
        exp_digits = len(mask[m.end():])
        mask = mask[:m.start()]
    scale = 0
    while mask.endswith(","):
        scale += 1
        mask = mask[:-1]
    int_mask, _, frac_mask = mask.partition(".")
    grouping = "," in int_mask
    int_mask = int_mask.replace(",", "")
    percent = "%" in prefix + suffix
    return prefix, int_mask, frac_mask, scale, exp_digits, grouping, percent, \
        (1 if sci else 0), suffix


def _group(digits: str, sep: str) -> str:
    head = len(digits) % 3 or 3
    parts = [digits[:head]] + [digits[i:i + 3] for i in range(head, len(digits), 3)]
    return sep.join(parts)


_FRACTION = re.compile(r"(#*\s+)?([0#?]+)\s*/\s*([0-9#?]+)")


def _format_fraction(x: float, section: str, m: re.Match, loc: Locale, sign: bool) -> str:
    """``# ?/?`` and friends: a whole part (if the pattern has one) and a fraction whose
    denominator has at most as many digits as the pattern's."""
    from fractions import Fraction

    neg, x = x < 0, abs(x)
    den = m.group(3)
    whole = int(x) if m.group(1) else 0
    rest = x - whole
    frac = Fraction(rest).limit_denominator(int(den)) if den.isdigit() else \
        Fraction(rest).limit_denominator(10 ** len(den) - 1)
    if frac.denominator == 1 and m.group(1):
        whole, frac = whole + frac.numerator, Fraction(0)
    text = (f"{whole} " if m.group(1) and whole else "") + \
        (f"{frac.numerator}/{frac.denominator}" if frac else ("" if whole else "0"))
    return ("-" if neg and sign else "") + section[:m.start()].replace('"', "") + \
        text.strip() + section[m.end():].replace('"', "")


def _format_number(x: float, section: str, loc: Locale, negative_sign: bool) -> str:
    fraction = _FRACTION.search(section)
    if fraction:
        return _format_fraction(x, section, fraction, loc, negative_sign)
    prefix, int_mask, frac_mask, scale, exp_digits, grouping, percent, sci, suffix = \
        _numeric_parts(section)
    if not int_mask and not frac_mask:
        return prefix + suffix
    if percent:
        x *= 100
    x /= 1000 ** scale
    neg = x < 0
    x = abs(x)
    exponent = 0
    if sci:
        if x != 0:
            exponent = math.floor(math.log10(x)) - (max(len(int_mask), 1) - 1)
            x = x / 10 ** exponent
    max_frac = len(frac_mask)
    min_frac = len(frac_mask.rstrip("#?"))
    text = f"{x:.{max_frac}f}"
    if sci and text.split(".")[0] == "10" and len(int_mask) <= 1:
        exponent += 1
        x /= 10
        text = f"{x:.{max_frac}f}"
    int_part, _, frac_part = text.partition(".")
    if max_frac > min_frac:
        frac_part = frac_part.rstrip("0")
        if len(frac_part) < min_frac:
            frac_part = frac_part.ljust(min_frac, "0")
    # "0.###" keeps its decimal point even with nothing after it (5 -> "5."), as Sheets.
    point = bool(max_frac) and not frac_part
    min_int = int_mask.count("0")
    if int_part == "0" and min_int == 0:
        int_part = ""
    int_part = int_part.rjust(min_int, "0")
    if grouping and int_part:
        int_part = _group(int_part, loc.group)
    out = int_part + (loc.decimal + frac_part if frac_part else (loc.decimal if point else ""))
    if sci:
        out += "E" + ("-" if exponent < 0 else "+") + str(abs(exponent)).rjust(exp_digits, "0")
    if not out:
        out = "0"
    if neg and negative_sign and any(ch != "0" for ch in out if ch.isdigit()):
        return "-" + prefix + out + suffix  # Sheets puts the sign before "$": -$1.50
    return prefix + out + suffix


def default_pattern(kind: str, loc: Locale) -> str:
    if kind == "DATE":
        return loc.date
    if kind == "TIME":
        return loc.time
    if kind == "DATE_TIME":
        return loc.date + " " + loc.time
    if kind == "PERCENT":
        return "0.00%"
    if kind == "CURRENCY":
        return loc.currency
    if kind == "SCIENTIFIC":
        return "0.00E+00"
    if kind == "TEXT":
        return "@"
    return "#,##0.00"


def format_number(x: float, number_format: dict | None, loc: Locale) -> str:
    """formattedValue of a number under a NumberFormat (``{"type", "pattern"}``)."""
    if not number_format:
        return auto_number(x, loc)
    kind = number_format.get("type") or "NUMBER"
    pattern = number_format.get("pattern") or default_pattern(kind, loc)
    if kind == "TEXT" or pattern == "@":
        return auto_number(x, loc)
    sections = _split_sections(pattern)
    section, sign = sections[0], True
    if x < 0 and len(sections) > 1 and sections[1]:
        section, sign = sections[1], False
    elif x == 0 and len(sections) > 2 and sections[2]:
        section = sections[2]
    if _is_date_pattern(section):
        if x < 0 or x > 2958465:
            return auto_number(x, loc)
        return _format_date(x, section, loc)
    return _format_number(x, section, loc, sign)


def format_text(text: str, number_format: dict | None) -> str:
    """A string under a format: only the fourth (``@``) section changes anything."""
    if number_format and number_format.get("pattern"):
        sections = _split_sections(number_format["pattern"])
        if len(sections) > 3 and "@" in sections[3]:
            return sections[3].replace('"', "").replace("@", text)
    return text


def format_value(value, number_format: dict | None, loc: Locale) -> str:
    """formattedValue for an effective value (float, str, bool, SheetError)."""
    kind = type(value)
    if kind is float:
        return format_number(value, number_format, loc)
    if kind is str:
        return format_text(value, number_format) if number_format else value
    if kind is bool:
        return loc.true if value else loc.false
    if isinstance(value, SheetError):
        return value.text
    if value is None:
        return ""
    return format_text(value, number_format)


# --- USER_ENTERED -------------------------------------------------------------------

_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_SLASH_DATE = re.compile(r"^(\d{1,2})([/.\-])(\d{1,2})\2(\d{2}|\d{4})"
                         r"(?: (\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([AaPp][Mm]))?$")


def _number_text(text: str, loc: Locale) -> tuple[float, str | None] | None:
    """Parse ``1,234.5`` / ``1 234,5`` / ``-3`` / ``1e3`` in the locale; returns the value
    and the pattern Sheets would give it (None = automatic)."""
    t = text.strip()
    groups = {loc.group, " ", "\u00a0", "\u202f"} if loc.group in " \u00a0\u202f" \
        else {loc.group}
    sign = 1.0
    if t.startswith("-"):
        sign, t = -1.0, t[1:]
    elif t.startswith("+"):
        t = t[1:]
    if not t:
        return None
    grouped = False
    body = t
    for g in groups:
        if g in body:
            parts = body.split(loc.decimal)[0].split(g)
            if len(parts) < 2 or not parts[0].isdigit() or len(parts[0]) > 3 or \
                    any(len(p) != 3 or not p.isdigit() for p in parts[1:]):
                return None
            body = body.replace(g, "")
            grouped = True
    if loc.decimal != ".":
        if "." in body:
            return None
        body = body.replace(loc.decimal, ".")
    if not re.fullmatch(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", body):
        return None
    value = sign * float(body)
    if "e" in body.lower():
        return value, "SCIENTIFIC"
    if grouped:
        # Sheets gives grouped input its "Number" format: two decimals, or none.
        return value, "#,##0.00" if "." in body else "#,##0"
    return value, None


def parse_user_entered(raw, loc: Locale):
    """A value typed by a user (valueInputOption USER_ENTERED) -> (user-entered value,
    number format or None). Formulas come back as ``("=...", None)`` for the caller to
    wrap; the caller has already turned JSON numbers and bools into floats/bools."""
    if not isinstance(raw, str):
        return raw, None
    text = raw
    if text.startswith("'"):
        return text[1:], None
    stripped = text.strip()
    if not stripped:
        return text, None
    upper = stripped.upper()
    if upper in ("TRUE", loc.true.upper()):
        return True, None
    if upper in ("FALSE", loc.false.upper()):
        return False, None
    parsed = _number_text(stripped, loc)
    if parsed:
        if parsed[1] == "SCIENTIFIC":
            return parsed[0], {"type": "SCIENTIFIC", "pattern": "0.00E+00"}
        return parsed[0], ({"type": "NUMBER", "pattern": parsed[1]} if parsed[1] else None)
    if stripped.endswith("%"):
        parsed = _number_text(stripped[:-1], loc)
        if parsed:
            decimals = len(stripped[:-1].replace(loc.decimal, ".").partition(".")[2])
            return parsed[0] / 100, {"type": "PERCENT",
                                     "pattern": "0." + "0" * decimals + "%" if decimals
                                     else "0%"}
    for symbol in ("$", "€", "£", "zł"):
        if symbol in stripped:
            rest = stripped.replace(symbol, "").strip()
            parsed = _number_text(rest, loc)
            if parsed:
                return parsed[0], {"type": "CURRENCY", "pattern": loc.currency}
    date = _parse_date(stripped, loc)
    if date:
        return date
    return text, None


def _parse_date(text: str, loc: Locale):
    m = _ISO_DATE.match(text)
    try:
        if m:
            y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
            if m.group(4):
                when = dt.datetime(y, mo, d, int(m.group(4)), int(m.group(5)),
                                   int(m.group(6) or 0))
                pattern = "yyyy-mm-dd h:mm" + (":ss" if m.group(6) else "")
                return to_serial(when), {"type": "DATE_TIME", "pattern": pattern}
            return to_serial(dt.date(y, mo, d)), {"type": "DATE", "pattern": "yyyy-mm-dd"}
        m = _SLASH_DATE.match(text)
        if m:
            a, sep, b, y = int(m.group(1)), m.group(2), int(m.group(3)), m.group(4)
            if sep == "." and not loc.day_first:
                return None
            year = int(y) + (2000 if len(y) == 2 and int(y) < 30 else
                             1900 if len(y) == 2 else 0)
            day, month = (a, b) if loc.day_first else (b, a)
            when = dt.datetime(year, month, day)
            if m.group(5):
                when = when.replace(hour=int(m.group(5)), minute=int(m.group(6)),
                                    second=int(m.group(7) or 0))
                return to_serial(when), {"type": "DATE_TIME",
                                         "pattern": loc.date + " " + loc.time}
            return to_serial(when.date()), {"type": "DATE", "pattern": loc.date}
        m = _TIME.match(text)
        if m:
            hour, minute, second = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
            if m.group(4):
                hour = hour % 12 + (12 if m.group(4).lower() == "pm" else 0)
            if hour > 23 or minute > 59 or second > 59:
                return None
            return to_serial(dt.time(hour, minute, second)), \
                {"type": "TIME", "pattern": loc.time}
    except ValueError:
        return None
    return None
