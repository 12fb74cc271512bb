"""Settings reach a connector by what it declares (kpirules.connectors.base capabilities),
never by probing for an attribute: a connector that happens to have ``encoding`` or
``timeout`` without declaring it is left alone."""

from __future__ import annotations

from typing import ClassVar

from kpirules.config import Settings
from kpirules.connectors.base import (
    COLUMN_SUBSET,
    GUESS_TABS,
    READ_TIMEOUT,
    SQL_TABLE,
    TABS,
    TEXT_ENCODING,
    WRITE_SHEET,
    WRITE_WORKBOOK,
    RawTable,
    Workbook,
    capabilities,
)
from kpirules.source import apply_timeout, read_source


class Declares:
    name: ClassVar[str] = "declares"
    capabilities: ClassVar[frozenset[str]] = frozenset({READ_TIMEOUT, TEXT_ENCODING})

    def __init__(self) -> None:
        self.timeout = 30.0
        self.encoding: str | None = None


class Probed:
    """Has the attributes, declares nothing: what a probe would have written into."""

    name: ClassVar[str] = "probed"

    def __init__(self) -> None:
        self.timeout = 30.0
        self.encoding: str | None = None


def test_the_timeout_setting_goes_only_to_a_connector_that_declares_it():
    settings = Settings(timeout=5)
    declares, probed = Declares(), Probed()
    apply_timeout(declares, settings)  # type: ignore[arg-type]
    apply_timeout(probed, settings)  # type: ignore[arg-type]
    assert declares.timeout == 5 and probed.timeout == 30.0


def test_the_encoding_setting_goes_only_to_a_connector_that_declares_it(tmp_path, monkeypatch):
    (tmp_path / "kpirules.toml").write_text('encoding = "cp1250"\n', encoding="utf-8")
    opened: list = []

    def open_source(source, connector=None, **options):
        conn = Declares() if source == "declares" else Probed()
        conn.read = lambda **kw: Workbook(data=RawTable(["date"], [], sheet="Data"))  # type: ignore[attr-defined]
        opened.append(conn)
        return conn

    import kpirules.connectors

    monkeypatch.setattr(kpirules.connectors, "open_source", open_source)
    config = str(tmp_path / "kpirules.toml")
    read_source("declares", config=config)
    read_source("probed", config=config)
    assert [c.encoding for c in opened] == ["cp1250", None]


def test_the_built_in_connectors_declare_what_they_do():
    from kpirules.connectors import get

    declared = {name: capabilities(get(name)) for name in ("csv", "xlsx", "gsheets", "duckdb")}
    assert declared["csv"] == {TEXT_ENCODING}
    assert declared["xlsx"] == {WRITE_WORKBOOK, TABS}
    assert declared["gsheets"] >= {WRITE_SHEET, TABS, READ_TIMEOUT, COLUMN_SUBSET, GUESS_TABS}
    assert declared["duckdb"] == {SQL_TABLE}
