"""Shared pytest fixtures.

Sheets emulator: ``sheets_emulator`` is a fresh emulator on 127.0.0.1 per test (start-up
is a socket bind and a thread, so per-test servers are cheap and tests cannot leak state
into each other); ``sheet_from_rows`` builds a spreadsheet in it from Python rows;
``gspread_client`` is the real gspread client routed to it.
"""

from __future__ import annotations

from typing import Any, Iterable

import pytest


@pytest.fixture(autouse=True)
def english_after_each_test():
    """The language is per process (kpirules.i18n): a test that speaks Polish through the CLI
    must not leave the next test speaking it."""
    yield
    from kpirules.i18n import set_language

    set_language("en")


# --- Sheets API emulator ------------------------------------------------------------

@pytest.fixture
def sheets_emulator():
    from kpirules.testing.sheets import SheetsEmulator

    with SheetsEmulator() as emu:
        yield emu


def spreadsheet_from_rows(emulator, data: Iterable[Iterable[Any]], *, key: str = "kpis",
                          tab: str = "Data", **kwargs) -> str:
    """Serve ``data`` (rows of cells) as tab ``tab`` of spreadsheet ``key``; other keyword
    arguments go to ``SheetsEmulator.add_spreadsheet`` (locale, time_zone, rows/cols for
    the grid size, more tabs via ``tabs``)."""
    tabs = {tab: [list(r) for r in data]}
    tabs.update(kwargs.pop("tabs", {}))
    return emulator.add_spreadsheet(key, tabs, **kwargs)


@pytest.fixture
def sheet_from_rows(sheets_emulator):
    """``sheet_from_rows(data, key="kpis", tab="Data", **kwargs) -> key``."""
    def build(data, **kwargs):
        return spreadsheet_from_rows(sheets_emulator, data, **kwargs)
    return build


@pytest.fixture
def gspread_client(sheets_emulator):
    from kpirules.testing.sheets import gspread_client_for

    return gspread_client_for(sheets_emulator.host)
