"""The compact series notation of rule tests (``visits: "1000+10x6"``), after promtool's.

A series is whitespace-separated items, each giving one or more consecutive values:

=============  ==========================================================================
``1000``        one value; ``2%`` = 0.02, ``15k`` = 15,000, ``0.25M`` = 250,000, as in rules
``_``           one missing (blank) cell
``a+bxn``       ``a, a+b, a+2b, ... a+n*b``: **n+1** values (``1000+10x6`` is a week)
``a-bxn``       the same, going down
``axn``         ``a`` repeated n+1 times (``0x6`` is a week of zeros)
``_xn``         **n** missing cells (as in promtool, where blanks count differently)
=============  ==========================================================================

Values are computed in decimal so ``0.1+0.1x2`` gives exactly 0.1 0.2 0.3. Series keys may
carry dimension values, ``visits{channel=email}``, so one test can hold several segments.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from kpirules.periods import AS_OF_RANGE

# Suffixes mean what they mean in rules (spec/semantics.md, "Literals").
_SCALE = {"": Decimal(1), "%": Decimal("0.01"), "k": Decimal(1000), "K": Decimal(1000),
          "m": Decimal(1_000_000), "M": Decimal(1_000_000)}
_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?[%kKmM]?"
_ITEM = re.compile(
    rf"^(?P<start>{_NUMBER}|_)(?:(?P<sign>[-+])(?P<step>{_NUMBER}))?(?:x(?P<times>\d+))?$"
)
# A rule test is a small made-up data set: this bounds a typo (`1000x99999999`) to a clear
# error instead of a CI job that builds rows until it is killed. 100 years of days.
MAX_VALUES = 36_525
_KEY = re.compile(r"^\s*(?P<name>[^{}]+?)\s*(?:\{(?P<labels>[^{}]*)\})?\s*$")


class SeriesError(ValueError):
    """A malformed series; ``offset`` is the 0-based character position of the bad item."""

    def __init__(self, message: str, offset: int = 0):
        super().__init__(message)
        self.offset = offset


def parse_number(text: str) -> Decimal:
    """``2%`` -> 0.02, ``-0.5pp`` -> -0.005, ``15k`` -> 15000; raises ``ValueError`` for
    anything else."""
    text = text.strip()
    if text.endswith("pp"):  # percentage points, as in rules: the same number as %
        text = text[:-2] + "%"
    if not re.fullmatch(_NUMBER, text):
        raise ValueError(f"`{text}` is not a number (write 1000, 2.5, 2%, -0.5pp, 15k or 0.25M)")
    suffix = text[-1] if text[-1] in _SCALE and not text[-1].isdigit() and text[-1] != "." else ""
    try:
        return Decimal(text[: len(text) - len(suffix)]) * _SCALE[suffix]
    except InvalidOperation:  # pragma: no cover - the regex already rules this out
        raise ValueError(f"`{text}` is not a number") from None


def _plain(value: Decimal) -> int | float:
    """A Decimal as the int or float a spreadsheet cell would hold."""
    return int(value) if value == value.to_integral_value() else float(value)


def expand(text: str) -> list[int | float | None]:
    """The values a series stands for; ``None`` is a blank cell."""
    values: list[int | float | None] = []
    for match in re.finditer(r"\S+", str(text)):
        item = match.group()
        m = _ITEM.match(item)
        if m is None:
            raise SeriesError(
                f"`{item}` is not a series item (write 100, _, 100+5x6, 100-5x6, 100x6 or _x3)",
                match.start(),
            )
        times = int(m["times"]) if m["times"] is not None else None
        count = len(values) + (times or 0) + (m["start"] != "_")
        if count > MAX_VALUES:
            raise SeriesError(f"`{item}`: a series holds at most {MAX_VALUES:,} values (100 years of days); "
                              f"this one would hold {count:,}", match.start())
        if m["start"] == "_":
            if m["step"]:
                raise SeriesError(f"`{item}`: a blank cannot grow; write `_x{times or 1}`", match.start())
            values.extend([None] * (times if times is not None else 1))
            continue
        start = parse_number(m["start"])
        if m["step"] and times is None:
            raise SeriesError(f"`{item}`: a step needs a count, e.g. `{item}x6`", match.start())
        step = parse_number(m["step"]) if m["step"] else Decimal(0)
        if m["sign"] == "-":
            step = -step
        values.extend(_plain(start + step * i) for i in range((times or 0) + 1))
    if not values:
        raise SeriesError("the series is empty (write values such as `100+5x6`)")
    return values


def value_date(start: dt.date, step: str, i: int) -> dt.date:
    """The date of a series' ``i``-th value (0-based), one value a ``step`` from ``start``."""
    if step == "day":
        return start + dt.timedelta(days=i)
    if step == "week":
        return start + dt.timedelta(weeks=i)
    import calendar

    index = start.year * 12 + start.month - 1 + i
    year, month = divmod(index, 12)
    day = min(start.day, calendar.monthrange(year, month + 1)[1])
    return dt.date(year, month + 1, day)


def last_date_error(start: dt.date, step: str, count: int) -> str | None:
    """Why ``count`` values from ``start`` do not fit the calendar kpirules judges
    (``periods.AS_OF_RANGE``), or None when they do."""
    try:
        last = value_date(start, step, count - 1)
    except (OverflowError, ValueError):
        last = None
    if last is not None and last <= AS_OF_RANGE[1]:
        return None
    ends = f"on {last.isoformat()}" if last else "after 9999-12-31"
    return (f"the series runs past {AS_OF_RANGE[1].isoformat()}: {count:,} values from {start.isoformat()}, "
            f"one a {step}, end {ends}; start earlier or give fewer values")


def parse_key(key: str) -> tuple[str, dict[str, str]]:
    """``visits{channel=email, campaign="spring promo"}`` -> ("visits", {...})."""
    m = _KEY.match(str(key))
    if m is None or not m["name"].strip():
        raise SeriesError(f"`{key}` is not a column name with optional {{dimension=value}} labels")
    labels: dict[str, str] = {}
    raw = m["labels"]
    if raw and raw.strip():
        for part in _split_labels(raw):
            name, eq, value = part.partition("=")
            if not eq or not name.strip():
                raise SeriesError(f"`{part.strip()}` in `{key}` is not `dimension=value`")
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            labels[name.strip()] = value
    return m["name"].strip(), labels


def _split_labels(raw: str) -> list[str]:
    """Split ``a=1, b="x, y"`` on commas outside quotes."""
    parts, current, quote = [], "", None
    for ch in raw:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == ",":
            parts.append(current)
            current = ""
            continue
        current += ch
    parts.append(current)
    return [p for p in parts if p.strip()]
