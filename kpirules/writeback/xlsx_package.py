"""Where an .xlsx package keeps what ``xlsx_rows`` needs: each sheet's part and notes part,
how many cell formats the workbook has, its shared strings. Read with regular expressions
on the raw parts (an XML parser over a large sheet costs what ``xlsx_rows`` saves). And
which of its parts openpyxl would drop (``check_lossless``): such a workbook is refused."""

from __future__ import annotations

import os
import re
import zipfile

from kpirules.errors import SourceError
from kpirules.i18n import N_, _

_XF = re.compile(rb"<cellXfs\b[^>]*>(.*?)</cellXfs>", re.S)
_SHEET = re.compile(rb'<sheet\b[^>]*/>')
_NAME = re.compile(rb'\bname="([^"]*)"')
_RID = re.compile(rb'\br:id="([^"]*)"')
_REL = re.compile(rb"<Relationship\b[^>]*/>")
_COMMENT_REF = re.compile(rb'<comment\b[^>]*\bref="[A-Z]+([0-9]+)"')
_SI = re.compile(rb"<si>(.*?)</si>|<si/>", re.S)


def sheet_parts(zf: zipfile.ZipFile) -> dict[str, tuple[str, str | None]]:
    """Sheet title -> (its zip member, its comments member or None)."""
    import html
    import posixpath

    try:
        book = zf.read("xl/workbook.xml")
        rels = zf.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        return {}
    targets = _targets(rels, "xl")
    out: dict[str, tuple[str, str | None]] = {}
    for tag in _SHEET.findall(book):
        name, rid = _NAME.search(tag), _RID.search(tag)
        if name is None or rid is None or rid[1].decode() not in targets:
            continue
        part = targets[rid[1].decode()][0]
        if not part.startswith("xl/worksheets/"):
            continue  # a chart sheet
        folder, base = posixpath.split(part)
        comments = None
        try:
            sheet_rels = zf.read(f"{folder}/_rels/{base}.rels")
        except KeyError:
            sheet_rels = b""
        for target, kind in _targets(sheet_rels, folder).values():
            if kind.endswith("/comments"):
                comments = target
        out[html.unescape(name[1].decode("utf-8"))] = (part, comments)
    return out


def _targets(rels: bytes, folder: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (zip member, type) in a .rels part of ``folder``."""
    import posixpath

    out = {}
    for tag in _REL.findall(rels):
        attrs = dict(re.findall(rb'\b(Id|Target|Type)="([^"]*)"', tag))
        if b"Id" not in attrs or b"Target" not in attrs:
            continue
        target = attrs[b"Target"].decode()
        member = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        out[attrs[b"Id"].decode()] = (member, attrs.get(b"Type", b"").decode())
    return out


def comment_rows(zf: zipfile.ZipFile, comments: str | None) -> list[int]:
    if comments is None:
        return []
    try:
        return [int(n) for n in _COMMENT_REF.findall(zf.read(comments))]
    except KeyError:
        return []


def formats(zf: zipfile.ZipFile) -> int:
    """How many cell formats (``cellXfs``) the workbook has."""
    try:
        found = _XF.search(zf.read("xl/styles.xml"))
    except KeyError:
        return 1
    return found[1].count(b"<xf") if found else 1


def shared_strings(zf: zipfile.ZipFile) -> list[bytes] | None:
    """The inside of each shared string (``<si>``: the same content as an inline ``<is>``),
    in order; None when the workbook has no shared strings part."""
    try:
        rels = zf.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        return None
    found = [m for m, kind in _targets(rels, "xl").values() if kind.endswith("/sharedStrings")]
    try:
        data = zf.read(found[0]) if found else None
    except KeyError:
        return None
    return [m[1] or b"" for m in _SI.finditer(data)] if data is not None else None


# Zip parts openpyxl drops on load: writing the workbook back would lose them.
LOSSY_PARTS = {
    "xl/slicers/": N_("slicers"), "xl/slicerCaches/": N_("slicers"), "xl/timelines/": N_("timelines"),
    "xl/threadedComments/": N_("threaded comments"), "xl/ctrlProps/": N_("form controls"),
    "xl/activeX/": N_("ActiveX controls"), "xl/embeddings/": N_("embedded objects"),
}
SHAPES = N_("shapes or text boxes")
_SHAPE = re.compile(rb"<xdr:sp[ >]")
# Pictures (xl/media): openpyxl drops them all when Pillow is not installed, and EMF and
# WMF ones always (it cannot write them back).
PICTURES = N_("pictures")
PICTURES_WITHOUT_PILLOW = N_("pictures (the Pillow package, which keeps PNG and JPEG ones, is not installed)")


def check_lossless(path: str) -> None:
    """Refuse a workbook holding parts that openpyxl would drop on save."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            found = sorted({what for name in names for prefix, what in LOSSY_PARTS.items()
                            if name.startswith(prefix)})
            if any(n.startswith("xl/drawings/drawing") and _SHAPE.search(zf.read(n)) for n in names):
                found.append(SHAPES)
            pictures = _pictures_lost([n for n in names if n.startswith("xl/media/")])
            if pictures:
                found.append(pictures)
    except (OSError, zipfile.BadZipFile) as exc:
        raise SourceError(_("{path} is not a readable .xlsx workbook ({reason})").format(path=path, reason=exc)) from None
    if found:
        raise SourceError(
            _("{file} holds {parts}, which the xlsx library kpirules uses cannot keep: writing results into it "
              "would lose them, so nothing was written").format(
                file=os.path.basename(path), parts=", ".join(_(what) for what in found)),
            hint=_("keep the Rules and Data tabs in a workbook without them (or use a Google Sheet), "
                   "or use `kpirules check`, which writes nothing"),
        )


def _pictures_lost(media: list[str]) -> str | None:
    """What of the workbook's pictures a save would lose (None: nothing)."""
    import importlib.util

    if not media:
        return None
    if any(n.lower().endswith((".emf", ".wmf")) for n in media):
        return PICTURES
    return None if importlib.util.find_spec("PIL") is not None else PICTURES_WITHOUT_PILLOW
