"""The emulator's parts on their own: A1 notation, number formats, formulas, masks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kpirules_emulator import sheets_a1 as a1
from kpirules_emulator import sheets_fields as fields
from kpirules_emulator.sheets_format import format_value, locale_for, parse_user_entered
from kpirules_emulator.sheets_model import Cell, Formula
from kpirules_emulator.sheets_render import Renderer
from kpirules_emulator.sheets_seed import build_spreadsheet

EN, PL = locale_for("en_US"), locale_for("pl_PL")


@pytest.mark.parametrize("title,quoted", [
    ("Sheet1", "Sheet1"), ("Data", "Data"), ("My Sheet", "'My Sheet'"), ("D3", "'D3'"),
    ("tab01", "'tab01'"), ("R1C1", "'R1C1'"), ("It's", "'It''s'"), ("2024", "'2024'"),
    ("🌵 x", "'🌵 x'")])
def test_titles_are_quoted_only_when_needed(title, quoted):
    assert a1.quote_title(title) == quoted


@pytest.mark.parametrize("text,bounds", [
    ("Data", (0, 1000, 0, 26)), ("Data!A1", (0, 1, 0, 1)), ("Data!B2:A1", (0, 2, 0, 2)),
    ("Data!A:C", (0, 1000, 0, 3)), ("Data!3:5", (2, 5, 0, 26)), ("Data!A5:A", (4, 1000, 0, 1)),
    ("Data!A1:1", (0, 1, 0, 26)), ("Data!$B$2", (1, 2, 1, 2)), ("R2C3:R4C5", (1, 4, 2, 5))])
def test_ranges_parse(text, bounds):
    assert a1.parse(text, ["Data"]).bounds(1000, 26) == bounds


@pytest.mark.parametrize("text", ["Nope!A1", "Data!", "A", "Data!A0", "Data!AAAA1", "'Data!A1"])
def test_bad_ranges(text):
    with pytest.raises(a1.A1Error):
        a1.parse(text, ["Data"])


@given(title=st.text(min_size=1, max_size=12).filter(lambda t: t.strip() == t and t),
       r0=st.integers(0, 5000), h=st.integers(1, 50), c0=st.integers(0, 700),
       w=st.integers(1, 30))
def test_formatted_ranges_parse_back(title, r0, h, c0, w):
    text = a1.format_range(title, r0, r0 + h, c0, c0 + w)
    parsed = a1.parse(text, [title])
    assert parsed.sheet == title
    assert parsed.bounds(10 ** 6, 10 ** 5) == (r0, r0 + h, c0, c0 + w)


@pytest.mark.parametrize("value,fmt,en,pl", [
    (1234.56, {"type": "NUMBER", "pattern": "#,##0.00"}, "1,234.56", "1\u00a0234,56"),
    (0.0009765625, None, "0.0009765625", "0,0009765625"),
    (1 / 3, None, "0.3333333333", "0,3333333333"),
    (-1234.5, {"type": "CURRENCY", "pattern": '"$"#,##0.00'}, "-$1,234.50", "-$1\u00a0234,50"),
    (12345.678, {"type": "SCIENTIFIC", "pattern": "0.00E+00"}, "1.23E+04", "1,23E+04"),
    (1234567.0, {"type": "NUMBER", "pattern": '#,##0,"K"'}, "1,235K", "1\u00a0235K"),
    (43831.75, {"type": "DATE_TIME", "pattern": "yyyy-mm-dd hh:mm"}, "2020-01-01 18:00",
     "2020-01-01 18:00"),
    (43831.0, {"type": "DATE", "pattern": "dddd, mmmm d"}, "Wednesday, January 1",
     "środa, stycznia 1"),
    (0.5, {"type": "TIME", "pattern": "h:mm am/pm"}, "12:00 PM", "12:00 PM"),
    (0.0, {"type": "NUMBER", "pattern": '0.0;(0.0);"zero"'}, "zero", "zero"),
    (5.0, {"type": "NUMBER", "pattern": "0.###"}, "5.", "5,"),
    (3.14159, {"type": "NUMBER", "pattern": "# ?/?"}, "3 1/7", "3 1/7"),
    (1.5, {"type": "TIME", "pattern": "[h]:mm"}, "36:00", "36:00"),
])
def test_number_formats(value, fmt, en, pl):
    assert format_value(value, fmt, EN) == en
    assert format_value(value, fmt, PL) == pl


@pytest.mark.parametrize("text,loc,value,pattern", [
    ("2,000,000.01", EN, 2000000.01, "#,##0.00"), ("1,234", EN, 1234.0, "#,##0"),
    ("0042", EN, 42.0, None), ("10%", EN, 0.1, "0%"), ("1e3", EN, 1000.0, "0.00E+00"),
    ("2020-01-01", EN, 43831.0, "yyyy-mm-dd"), ("1/2/2020", EN, 43832.0, "M/d/yyyy"),
    ("1/2/2020", PL, 43862.0, "d.MM.yyyy"), ("1234,5", PL, 1234.5, None),
    ("'123", EN, "123", None), ("abc", EN, "abc", None), ("1.5", PL, "1.5", None)])
def test_user_entered_parsing(text, loc, value, pattern):
    got, fmt = parse_user_entered(text, loc)
    assert got == value
    assert (fmt or {}).get("pattern") == pattern


def evaluate(tabs, ref="A1", sheet="S"):
    book = build_spreadsheet("k", tabs)
    s = book.by_title(sheet)
    r = a1.parse_cells(ref, sheet)
    return Renderer(book).effective(s, r.row0, r.col0)


@pytest.mark.parametrize("formula,value", [
    ("=2+3*4", 14.0), ("=-2^2", 4.0), ("=(1+2)/4", 0.75), ("=50%*4", 2.0),
    ('="a"&1&TRUE', "a1TRUE"), ("=1<2", True), ('="b">"A"', True),
    ("=IF(1>2,\"y\",\"n\")", "n"), ("=ROUND(2.345,2)", 2.35), ("=ROUND(-2.5)", -3.0),
    ("=DATE(2020,13,1)", 44197.0), ("=AND(TRUE,1)", True), ("=LEN(\"abc\")", 3.0),
    ("=IFERROR(1/0,\"z\")", "z"), ("=SUM(1,2;3)", 6.0)])
def test_formulas(formula, value):
    assert evaluate({"S": [[formula]]}) == pytest.approx(value) if isinstance(value, float) \
        else evaluate({"S": [[formula]]}) == value


def test_references_ranges_and_other_sheets():
    tabs = {"S": [["=SUM(B:B)", 1, "=Other!A1*2", "=AVERAGE(B1:B3)", "=COUNTA(B:B)"],
                  [None, 2], [None, "x"]],
            "Other": [[21]], "My tab": [[5]]}
    assert evaluate(tabs, "A1") == 3.0  # text in a range is skipped by SUM
    assert evaluate(tabs, "C1") == 42.0
    assert evaluate(tabs, "D1") == 1.5
    assert evaluate(tabs, "E1") == 3.0
    assert evaluate({"S": [["='My tab'!A1+1"]], "My tab": [[5]]}) == 6.0


def test_formula_errors():
    assert evaluate({"S": [["=1/0"]]}).type == "DIVIDE_BY_ZERO"
    assert evaluate({"S": [["=A1"]]}).type == "REF"  # circular
    assert evaluate({"S": [["=Nope!A1"]]}).type == "REF"
    assert evaluate({"S": [['="a"+1']]}).type == "VALUE"
    assert evaluate({"S": [["=FOO(1)"]]}).message == "Unknown function: 'foo'."
    assert evaluate({"S": [["=1+"]]}).type == "ERROR"


def test_excel_cached_values_stand_in_for_unknown_functions():
    book = build_spreadsheet("k", {"S": [[]]})
    sheet = book.by_title("S")
    sheet.put(0, 0, Cell(Formula("=NETWORKDAYS(1,10)"), cached=7.0))
    assert Renderer(book).effective(sheet, 0, 0) == 7.0


def test_field_masks():
    tree = fields.parse("sheets(properties(sheetId,title),data.rowData.values/note),spreadsheetId")
    assert tree == {"sheets": {"properties": {"sheetId": True, "title": True},
                               "data": {"rowData": {"values": {"note": True}}}},
                    "spreadsheetId": True}
    obj = {"spreadsheetId": "k", "properties": {"title": "t"},
           "sheets": [{"properties": {"sheetId": 0, "title": "A", "index": 0}, "data": [{}]}]}
    assert fields.filter_response(obj, tree) == {
        "spreadsheetId": "k",
        "sheets": [{"properties": {"sheetId": 0, "title": "A"}, "data": [{}]}]}
    target = {"a": {"x": 1, "y": 2}, "b": 3}
    assert fields.apply_update(target, {"a": {"x": 5}}, fields.parse("a/x,a/y,b")) == {
        "a": {"x": 5}}
    with pytest.raises(fields.MaskError):
        fields.parse("a(b")
