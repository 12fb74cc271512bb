"""A CSV file without quotes is split with str.split (kpirules.read.text._split_plain):
it must give exactly the rows csv.reader gives, and leave every other file to csv.reader."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from kpirules.read.text import _split_plain, dialect, read_rows


def _csv_rows(text: str, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline=""), dialect=dialect(delimiter)))


@pytest.mark.parametrize("text", [
    "", "\n", "\n\n", "a", "a\n", "a,b\n1,2", "a,b\n1,2\n", "a,b\r\n1,2\r\n", "a,b\n\n1,2\n\n",
    "a,,b,\n,,\n", "  a , b \n", "a,b\n1,2\r\n3,4\n", "é,ł\n1,2\u2028x\n", "a\tb\n1\t2\n",
    "x,y\n\x0b,\x0c\n\x1c,\x85\n",
])
@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_rows_are_the_csv_modules(text, delimiter):
    rows = _split_plain(text, delimiter)
    assert rows is not None and rows == _csv_rows(text, delimiter)


@pytest.mark.parametrize("text", ['a,"b,c"\n', "a\rb\n", "a,b\r1,2\r\n", "a\x00b\n"])
def test_quotes_lone_carriage_returns_and_nul_go_to_csv(text):
    assert _split_plain(text, ",") is None


@hsettings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('ab ,;\n\r\t"\x85\u2028é')), max_size=60))
def test_any_text_gives_csv_rows_or_is_left_to_csv(text):
    rows = _split_plain(text, ",")
    assert rows is None or rows == _csv_rows(text, ",")


def test_a_file_is_read_the_same_either_way(tmp_path):
    plain = tmp_path / "plain.csv"
    plain.write_bytes("\ufeffdate;visits\r\n2026-11-01;3\r\n\r\n2026-11-02;4\r\n".encode())
    quoted = tmp_path / "quoted.csv"
    quoted.write_bytes('\ufeffdate;visits\r\n"2026-11-01";3\r\n\r\n2026-11-02;4\r\n'.encode())
    assert read_rows(str(plain)) == read_rows(str(quoted)) == (
        [["date", "visits"], ["2026-11-01", "3"], [], ["2026-11-02", "4"]], "utf-8-sig", ";")
