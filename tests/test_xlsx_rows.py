"""Rows carried past openpyxl on an xlsx write (kpirules.writeback.xlsx_rows): the workbook
a run writes that way opens in openpyxl and in calamine with the same values, dates as
dates, the styles in place, and later runs upsert, restate and expire History as before."""

from __future__ import annotations

import datetime as dt
import re
import zipfile

import openpyxl
import python_calamine
from test_run_common import AS_OF, HYPER, INJECT, history_keys
from test_run_xlsx import make_workbook, run, set_signups, tab_rows

from kpirules.writeback import xlsx_rows
from kpirules.writeback.plan import STATUS_STYLE_COLOURS, WritePlan


def carried(path) -> set[str]:
    stub = xlsx_rows.prepare(str(path), WritePlan(tabs=[]))
    return {s.title for s in stub.sheets} if stub is not None else set()


def sheet_xml(path, title: str) -> str:
    from kpirules.connectors.xlsx_cells import sheet_part

    with zipfile.ZipFile(path) as zf:
        return zf.read(sheet_part(zf, title)).decode("utf-8")


def calamine_rows(path, title: str) -> list[list]:
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    try:
        rows = book.get_sheet_by_name(title).to_python(skip_empty_area=False)
    finally:
        book.close()
    while rows and all(v in ("", None) for v in rows[-1]):
        rows.pop()
    return [[None if v == "" else v for v in r] for r in rows]


def same_value(a, b) -> bool:
    if isinstance(a, dt.datetime):
        a = a.date()
    if isinstance(b, dt.datetime):
        b = b.date()
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return abs(a - b) < 1e-12
    return a == b


def test_a_second_run_writes_history_in_place_readable_by_openpyxl_and_calamine(tmp_path, monkeypatch):
    book = make_workbook(tmp_path / "kpis.xlsx")
    assert run(book, "--as-of", AS_OF.isoformat()).exit_code == 2
    assert {"Data", "History"} <= carried(book)  # plain rows after one run: carried from now on
    rendered = []
    original = xlsx_rows.render
    monkeypatch.setattr(xlsx_rows, "render", lambda saved, sheet, epoch: rendered.append(sheet.title)
                        or original(saved, sheet, epoch))
    assert run(book, "--as-of", "2026-12-03").exit_code == 2
    assert "History" in rendered and "Data" in rendered

    wb = openpyxl.load_workbook(book)  # Excel-style validity as openpyxl checks it
    ws = wb["History"]
    heads = [c.value for c in ws[1]]
    rows = [list(r) for r in ws.iter_rows(min_row=2, values_only=True)]
    read = calamine_rows(book, "History")[1:]
    assert len(read) == len(rows)  # the same History values through either reader
    assert all(len(x) >= len(heads) and all(same_value(a, b) for a, b in zip(x, y)) for x, y in zip(rows, read))
    start, end, status = heads.index("Period start"), heads.index("Period end"), heads.index("Status")
    for cells in ws.iter_rows(min_row=2):
        assert isinstance(cells[start].value, dt.datetime) and cells[start].is_date  # dates are dates
        assert cells[start].number_format == "yyyy-mm-dd" and cells[end].is_date
        fill, ink = STATUS_STYLE_COLOURS[cells[status].value]
        assert cells[status].fill.fgColor.rgb == "FF" + fill.lstrip("#")  # styles in place
        assert cells[status].font.b and cells[status].font.color.rgb == "FF" + ink.lstrip("#")
    # A week's new row was appended, last week's kept; every key once.
    keys = history_keys(tab_rows(book, "History"))
    assert len(keys) == len(set(keys))
    assert ("by_campaign", "campaign=social_prospect", "2026-11-23", "2026-11-29") in keys
    # Text from data is text, never a formula, written by either path.
    xml = sheet_xml(book, "History")
    assert "<f>" not in xml and "<f " not in xml
    assert any(r[0] == HYPER for r in rows) and any(r[1] == f"campaign={INJECT}" for r in rows)
    assert ws["A1"].comment is not None  # the header notes stay (openpyxl keeps the header rows)
    assert ws.freeze_panes == "A2"
    dim = re.search(r'<dimension ref="A1:([A-Z]+)([0-9]+)"', xml)
    assert dim is not None and int(dim[2]) == len(rows) + 1 and dim[1] == "J"


def test_restated_periods_update_their_rows_and_repeated_runs_append_nothing(tmp_path):
    book = make_workbook(tmp_path / "kpis.xlsx")
    assert run(book, "--as-of", AS_OF.isoformat()).exit_code == 2
    assert run(book, "--as-of", AS_OF.isoformat()).exit_code == 2
    first = tab_rows(book, "History")

    def late(day, campaign, visits, signups):  # the ad platform re-reported the week before
        if campaign == "social_prospect" and dt.date(2026, 11, 9) <= day <= dt.date(2026, 11, 15):
            return visits, 20
        return visits, signups

    set_signups(book, late)
    assert "History" in carried(book)
    assert run(book, "--as-of", AS_OF.isoformat()).exit_code == 2
    second = tab_rows(book, "History")
    assert len(second) == len(first)  # updated where they were, nothing appended
    assert history_keys(second) == history_keys(first)
    head = second[0]
    found = [r for r in second[1:] if r[head.index("Segment")] == "campaign=social_prospect"
             and r[head.index("Period start")] == dt.datetime(2026, 11, 9)]
    assert len(found) == 1 and found[0][head.index("Restated")] == "was FAIL"
    assert found[0][head.index("Status")] == "PASS"


def test_dashboard_references_point_at_the_history_rows_after_deletes(tmp_path):
    # history_keep removes rows of the first run; the rows below move up, and each Dashboard
    # cell referring to History must still read the value it carries as its cached result.
    book = make_workbook(tmp_path / "kpis.xlsx")
    assert run(book, "--as-of", "2026-10-13").exit_code in (1, 2)
    assert run(book, "--as-of", "2026-10-20").exit_code in (1, 2)
    wb = openpyxl.load_workbook(book)
    wb["Settings"].append(["history_keep", "30 days"])
    wb.save(book)
    before = history_keys(tab_rows(book, "History"))
    assert "History" in carried(book)
    assert run(book, "--as-of", AS_OF.isoformat()).exit_code == 2
    history = calamine_rows(book, "History")
    after = history_keys(tab_rows(book, "History"))
    assert set(before) - set(after)  # rows older than 30 days went, the rows below moved up
    assert len(after) == len(set(after))
    formulas = openpyxl.load_workbook(book)["Dashboard"]
    cached = calamine_rows(book, "Dashboard")
    checked = 0
    for row in formulas.iter_rows(min_row=2):
        for cell in row:
            if cell.data_type != "f" or "History" not in str(cell.value):
                continue
            ref = re.fullmatch(r"='History'!([A-Z]+)([0-9]+)", cell.value)
            assert ref is not None, cell.value
            col = openpyxl.utils.column_index_from_string(ref[1]) - 1
            target = history[int(ref[2]) - 1][col]
            line = cached[cell.row - 1]
            shown = line[cell.column - 1] if cell.column <= len(line) else None
            assert same_value(target, shown), (cell.coordinate, cell.value)
            checked += 1
    assert checked > 10


def test_a_sheet_with_formulas_in_its_rows_stays_with_openpyxl(tmp_path):
    book = make_workbook(tmp_path / "kpis.xlsx")
    assert run(book, "--as-of", AS_OF.isoformat()).exit_code == 2
    wb = openpyxl.load_workbook(book)
    wb["History"]["L3"] = "=F3*2"  # the user's own formula beside History
    wb.save(book)
    assert "History" not in carried(book) and "Data" in carried(book)
    assert run(book, "--as-of", "2026-12-03").exit_code == 2
    assert openpyxl.load_workbook(book)["History"]["L3"].value == "=F3*2"
    keys = history_keys(tab_rows(book, "History"))
    assert len(keys) == len(set(keys))


def test_cells_are_written_as_openpyxl_would_and_text_is_never_a_formula():
    from kpirules.writeback.plan import Out

    assert xlsx_rows.cell_xml(b"B7", Out("=HYPERLINK(\"x\")"), 3, None) == (
        b'<c r="B7" s="3" t="inlineStr"><is><t>=HYPERLINK("x")</t></is></c>')
    assert xlsx_rows.cell_xml(b"A1", Out(" a<b & c "), 0, None) == (
        b'<c r="A1" t="inlineStr"><is><t xml:space="preserve"> a&lt;b &amp; c </t></is></c>')
    assert xlsx_rows.cell_xml(b"C2", Out(0.1), 4, None) == b'<c r="C2" s="4" t="n"><v>0.1</v></c>'
    assert xlsx_rows.cell_xml(b"C2", Out(True), 4, None) == b'<c r="C2" s="4" t="b"><v>1</v></c>'
    epoch = openpyxl.Workbook().epoch
    assert xlsx_rows.cell_xml(b"D2", Out(dt.date(2026, 11, 22)), 5, epoch) == (
        b'<c r="D2" s="5" t="n"><v>46348</v></c>')
    assert xlsx_rows.cell_xml(b"E2", Out(None), 6, None) == b'<c r="E2" s="6"/>'
    # A control character XML cannot hold is written as its escape, as the terminal shows it
    # (tests/test_terminal_text.py): never dropped, so History reads back the key it wrote.
    assert xlsx_rows.cell_xml(b"E2", Out("bell\x07"), 0, None) == (
        b'<c r="E2" t="inlineStr"><is><t>bell\\x07</t></is></c>')


def as_saved_by_excel(path, title: str) -> None:
    """Rewrite ``title``'s part the way Excel saves it: strings in the shared strings part,
    rows with Excel's ignorable ``x14ac:dyDescent`` under namespaces its root declares."""
    from kpirules.connectors.xlsx_cells import sheet_part

    with zipfile.ZipFile(path) as zf:
        parts = {i.filename: zf.read(i.filename) for i in zf.infolist()}
        part = sheet_part(zf, title)
    strings: list[bytes] = []

    def shared(m: re.Match) -> bytes:
        strings.append(m[2])
        return m[1] + b' t="s"><v>%d</v></c>' % (len(strings) - 1)

    xml = re.sub(rb'(<c r="[A-Z]+[0-9]+"(?: s="[0-9]+")?) t="inlineStr"><is>(.*?)</is></c>', shared, parts[part])
    xml = re.sub(rb'<row r="([0-9]+)">', rb'<row r="\1" spans="1:10" x14ac:dyDescent="0.25">', xml)
    main = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    xml = xml.replace(main, main + b' xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"'
                      b' xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac"'
                      b' mc:Ignorable="x14ac"', 1)
    assert strings and b"x14ac:dyDescent" in xml
    parts[part] = xml
    parts["xl/sharedStrings.xml"] = (b'<sst ' + main + b' count="%d" uniqueCount="%d">' % (len(strings), len(strings))
                                     + b"".join(b"<si>" + s + b"</si>" for s in strings) + b"</sst>")
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>", b'<Relationship Id="rIdSst" Target="sharedStrings.xml" Type="http://schemas.'
        b'openxmlformats.org/officeDocument/2006/relationships/sharedStrings"/></Relationships>')
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
        b'officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)


def test_history_saved_by_excel_is_carried_with_its_shared_strings_inlined(tmp_path):
    book = make_workbook(tmp_path / "kpis.xlsx")
    assert run(book, "--as-of", AS_OF.isoformat()).exit_code == 2
    twin = tmp_path / "twin.xlsx"
    twin.write_bytes(book.read_bytes())
    as_saved_by_excel(book, "History")
    assert tab_rows(book, "History") == tab_rows(twin, "History")  # the same workbook, as Excel saves it
    assert "History" in carried(book)
    for path in (book, twin):
        assert run(path, "--as-of", "2026-12-03").exit_code == 2
    xml = sheet_xml(book, "History")
    assert 't="s"' not in xml and "x14ac" not in xml  # strings inline, as openpyxl writes them

    def values(path):  # when each ran aside
        return [[None if isinstance(v, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", v) else v
                 for v in r] for r in calamine_rows(path, "History")]

    assert values(book) == values(twin)
    wb = openpyxl.load_workbook(book)
    assert wb["History"]["A1"].value == "Rule" and wb["History"].freeze_panes == "A2"
