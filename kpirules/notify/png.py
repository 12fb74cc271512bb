"""A tiny PNG line chart for e-mail (mail clients show PNG, not SVG), with zlib only.

The picture: the values as a line, each period's marker coloured and shaped by its status
(the same shapes as the HTML report: PASS circle, WARN triangle, FAIL square, NO_DATA ring),
and the threshold as a dashed line. No text is drawn (no font needed): the numbers are in
the e-mail's text next to it and in the image's alt text.
"""

from __future__ import annotations

import struct
import zlib

WHITE, GRID, LINE, THRESHOLD = (255, 255, 255), (232, 232, 232), (69, 90, 100), (97, 97, 97)
COLOURS = {"PASS": (46, 125, 50), "WARN": (178, 106, 0), "FAIL": (198, 40, 40), "NO_DATA": (97, 97, 97),
           "INCONCLUSIVE": (94, 53, 177), "ERROR": (33, 33, 33)}


class Canvas:
    def __init__(self, width: int, height: int, background: tuple[int, int, int] = WHITE):
        self.width, self.height = width, height
        self.pixels = bytearray(bytes(background) * (width * height))

    def dot(self, x: float, y: float, colour: tuple[int, int, int]) -> None:
        xi, yi = round(x), round(y)
        if 0 <= xi < self.width and 0 <= yi < self.height:
            i = (yi * self.width + xi) * 3
            self.pixels[i:i + 3] = bytes(colour)

    def disc(self, x: float, y: float, r: float, colour: tuple[int, int, int], *, ring: bool = False) -> None:
        for dy in range(-int(r) - 1, int(r) + 2):
            for dx in range(-int(r) - 1, int(r) + 2):
                d2 = dx * dx + dy * dy
                if d2 <= r * r and (not ring or d2 >= (r - 2) ** 2):
                    self.dot(x + dx, y + dy, colour)

    def line(self, x0: float, y0: float, x1: float, y1: float, colour: tuple[int, int, int], *,
             width: float = 2.0, dash: int = 0) -> None:
        steps = int(max(abs(x1 - x0), abs(y1 - y0)) * 2) + 1
        for k in range(steps + 1):
            if dash and (k // (2 * dash)) % 2:
                continue
            t = k / steps
            self.disc(x0 + (x1 - x0) * t, y0 + (y1 - y0) * t, width / 2, colour)

    def marker(self, x: float, y: float, status: str, r: float = 5.0) -> None:
        colour = COLOURS.get(status, COLOURS["NO_DATA"])
        if status == "FAIL":
            for dy in range(-int(r), int(r) + 1):
                for dx in range(-int(r), int(r) + 1):
                    self.dot(x + dx, y + dy, colour)
        elif status in ("WARN", "INCONCLUSIVE"):
            for dy in range(-int(r) - 1, int(r) + 2):  # a triangle (WARN) or a diamond
                half = (dy + r + 1) / 2 if status == "WARN" else r - abs(dy)
                for dx in range(-int(half), int(half) + 1):
                    self.dot(x + dx, y + dy, colour)
        else:
            self.disc(x, y, r, colour, ring=status != "PASS")

    def png(self) -> bytes:
        rows = b"".join(b"\x00" + bytes(self.pixels[y * self.width * 3:(y + 1) * self.width * 3])
                        for y in range(self.height))

        def chunk(tag: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)  # 8-bit RGB
        return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9))
                + chunk(b"IEND", b""))


def line_chart(points: list[tuple[float | None, str]], threshold: float | None = None, *,
               width: int = 360, height: int = 110) -> bytes:
    """``points`` (value or None, status), oldest first, as a PNG."""
    canvas = Canvas(width, height)
    pad = 10
    values = [v for v, _ in points if v is not None] + ([threshold] if threshold is not None else [])
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    span = (high - low) or abs(high) or 1.0
    low, high = low - span * 0.1, high + span * 0.1

    def y(v: float) -> float:
        return pad + (height - 2 * pad) * (1 - (v - low) / (high - low))

    def x(i: int) -> float:
        return pad + (width - 2 * pad) * (i + 0.5) / max(1, len(points))

    for k in range(4):
        gy = pad + (height - 2 * pad) * k / 3
        canvas.line(pad, gy, width - pad, gy, GRID, width=1)
    if threshold is not None:
        canvas.line(pad, y(threshold), width - pad, y(threshold), THRESHOLD, width=1.5, dash=6)
    previous = None
    for i, (v, _) in enumerate(points):
        if v is not None and previous is not None:
            canvas.line(x(previous[0]), y(previous[1]), x(i), y(v), LINE, width=2.2)
        previous = (i, v) if v is not None else None
    for i, (v, status) in enumerate(points):
        canvas.marker(x(i), y(v) if v is not None else height - pad, status)
    return canvas.png()
