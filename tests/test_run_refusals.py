"""Workbooks a run must leave as they are, with exit 3 and nothing sent (real xlsx files,
a real webhook receiver on 127.0.0.1)."""

from __future__ import annotations

import os
import stat
import struct
import zipfile
import zlib

import pytest
from click.testing import CliRunner
from test_outbox import CLEAN, Endpoint, channel_toml
from test_run_common import AS_OF
from test_run_xlsx import make_workbook

from kpirules.cli.main import cli


def test_a_read_only_workbook_is_not_replaced(tmp_path):
    # The file was replaced through a rename, which needs only the folder's permission:
    # a workbook its owner made read-only was rewritten (and kept its read-only mode).
    book = make_workbook(tmp_path / "kpis.xlsx", rules=CLEAN)
    os.chmod(book, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    before = book.read_bytes()
    endpoint = Endpoint()
    endpoint.status = 200
    config = tmp_path / "kpirules.toml"
    config.write_text(channel_toml("webhook", endpoint.url, None))
    try:
        result = CliRunner().invoke(cli, ["run", str(book), "--as-of", AS_OF.isoformat(), "--config", str(config)])
        assert result.exit_code == 3, result.output
        assert "could not write" in result.output and "the file is read-only" in result.output
        assert "--out COPY.xlsx" in result.output
        assert endpoint.calls == []  # nothing written, so nothing sent
        assert book.read_bytes() == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["kpirules.toml", "kpis.xlsx"]
        copy = tmp_path / "copy.xlsx"
        again = CliRunner().invoke(cli, ["run", str(book), "--as-of", AS_OF.isoformat(), "--config", str(config),
                                         "--out", str(copy)])
        assert again.exit_code == 1, again.output  # the way out the hint names
        assert book.read_bytes() == before
    finally:
        endpoint.close()


def test_a_workbook_reached_by_a_symbolic_link_is_written_through_it(tmp_path):
    # The save replaced the link by a file of its own: the workbook it led to never got the
    # results, a run on the workbook itself raised the same alerts again, and two runs by
    # the two paths took two different locks.
    from test_run_common import by_header, history_keys
    from test_run_xlsx import tab_rows

    from kpirules.writeback.lock import file_lock

    (tmp_path / "shared").mkdir()
    (tmp_path / "job").mkdir()
    real = make_workbook(tmp_path / "shared" / "kpis.xlsx", rules=CLEAN)
    link = tmp_path / "job" / "kpis.xlsx"
    link.symlink_to(real)

    def run(path):
        return CliRunner().invoke(cli, ["run", str(path), "--as-of", AS_OF.isoformat()])

    first = run(link)
    assert first.exit_code == 1 and "alert: by_campaign" in first.output, first.output
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert by_header(tab_rows(real, "Rules"))["by_campaign"]["status"] == "FAIL"
    keys = history_keys(tab_rows(real, "History"))
    again = run(real)
    assert again.exit_code == 1 and "alert:" not in again.output, again.output
    assert history_keys(tab_rows(real, "History")) == keys
    with file_lock(str(real), since="07:00:12"):
        held = run(link)
    assert held.exit_code == 7, held.output
    assert sorted(p.name for p in (tmp_path / "shared").iterdir()) == ["kpis.xlsx"]


def with_picture(path, name="image1.png"):
    """The workbook at ``path`` with a picture (a logo) on its Rules tab, as Excel stores
    one: the media part, a drawing that shows it, and the relationships between them."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))
    rels_ns = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    drawing = (
        '<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing" '
        f'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:r="{rels_ns}">'
        '<xdr:oneCellAnchor><xdr:from><xdr:col>8</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>1</xdr:row>'
        '<xdr:rowOff>0</xdr:rowOff></xdr:from><xdr:ext cx="952500" cy="952500"/><xdr:pic><xdr:nvPicPr>'
        '<xdr:cNvPr id="1" name="Logo"/><xdr:cNvPicPr/></xdr:nvPicPr><xdr:blipFill><a:blip r:embed="rId1"/>'
        '<a:stretch><a:fillRect/></a:stretch></xdr:blipFill><xdr:spPr><a:prstGeom prst="rect"><a:avLst/>'
        '</a:prstGeom></xdr:spPr></xdr:pic><xdr:clientData/></xdr:oneCellAnchor></xdr:wsDr>')
    with zipfile.ZipFile(path) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    sheet = "xl/worksheets/sheet2.xml"  # Rules, the workbook's second tab
    rels = "xl/worksheets/_rels/sheet2.xml.rels"
    link = (f'<Relationship Id="rIdLogo" Type="{rels_ns}/drawing" Target="/xl/drawings/drawing1.xml"/>').encode()
    parts[rels] = (parts[rels].replace(b"</Relationships>", link + b"</Relationships>") if rels in parts else
                   b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                   + link + b"</Relationships>")
    xml = parts[sheet]
    if b"xmlns:r=" not in xml[:600]:
        xml = xml.replace(b"<worksheet ", f'<worksheet xmlns:r="{rels_ns}" '.encode(), 1)
    parts[sheet] = xml.replace(b"</worksheet>", b'<drawing r:id="rIdLogo"/></worksheet>')
    parts["xl/drawings/drawing1.xml"] = drawing.encode()
    parts["xl/drawings/_rels/drawing1.xml.rels"] = (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{rels_ns}/image" Target="../media/{name}"/></Relationships>').encode()
    parts[f"xl/media/{name}"] = png
    extension = name.rsplit(".", 1)[1]
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"<Default ", f'<Default Extension="{extension}" ContentType="image/{extension}"/><Default '.encode(), 1
    ).replace(b"</Types>", b'<Override PartName="/xl/drawings/drawing1.xml" '
              b'ContentType="application/vnd.openxmlformats-officedocument.drawing+xml"/></Types>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for member, data in parts.items():
            zf.writestr(member, data)
    return path


@pytest.mark.parametrize("name", ["image1.png", "image1.emf"])
def test_a_workbooks_logo_is_kept_or_the_workbook_refused_untouched(tmp_path, name):
    # openpyxl drops every picture when Pillow is not installed (a dependency since) and
    # EMF or WMF ones always: the run deleted the team's logo from the Rules tab without a word.
    book = with_picture(make_workbook(tmp_path / "kpis.xlsx", rules=CLEAN), name)
    before = book.read_bytes()
    with zipfile.ZipFile(book) as zf:
        picture = zf.read(f"xl/media/{name}")
    for command in ("run", "init"):
        result = CliRunner().invoke(cli, [command, str(book), *(["--as-of", AS_OF.isoformat()] * (command == "run"))])
        if name.endswith(".png"):  # the run goes through and the logo stays, byte for byte
            assert result.exit_code in (0, 1), result.output
            with zipfile.ZipFile(book) as zf:
                assert zf.read(f"xl/media/{name}") == picture
            continue
        assert result.exit_code == 3, result.output
        assert "holds pictures" in result.output and "nothing was written" in result.output
        assert book.read_bytes() == before
