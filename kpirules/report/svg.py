"""A small SVG writer: elements as strings, every attribute and text escaped.

Why our own and not Vega-Lite (vl-convert) or matplotlib: the report needs a handful of
shapes (bands, a line, markers, axis labels) with a ``<title>`` and ``data-*`` attributes on
every point, which neither gives without post-processing; vl-convert is a 100 MB native
wheel and matplotlib a 40 MB one with a slow import, both for drawing rectangles and
polylines. Building the text ourselves keeps the report offline, dependency-free and
byte-for-byte deterministic (a report built twice from the same data is the same file).
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

Attr = str | int | float | None


def num(value: float) -> str:
    """Coordinates with at most one decimal: smaller files, the same picture."""
    text = f"{value:.1f}"
    return text.removesuffix(".0")


def attrs(values: dict[str, Attr]) -> str:
    out = []
    for key, value in values.items():
        if value is None:
            continue
        name = key.rstrip("_").replace("_", "-")  # class_ -> class, aria_label -> aria-label
        text = num(value) if isinstance(value, float) else str(value)
        out.append(f' {name}="{escape(text, quote=True)}"')
    return "".join(out)


def el(tag: str, *children: str, **values: Attr) -> str:
    """``<tag attrs>children</tag>``; children are already-built markup (use ``text`` for words)."""
    inner = "".join(children)
    if not inner:
        return f"<{tag}{attrs(values)}/>"
    return f"<{tag}{attrs(values)}>{inner}</{tag}>"


def text(value: str) -> str:
    return escape(value, quote=False)


def title(value: str) -> str:
    """The tooltip and accessible name of the element it is the first child of."""
    return f"<title>{text(value)}</title>"


def points(coords: Iterable[tuple[float, float]]) -> str:
    return " ".join(f"{num(x)},{num(y)}" for x, y in coords)
