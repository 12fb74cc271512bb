"""The Google Sheets connector against the Sheets API emulator, over real HTTP, with the
real gspread and google-auth code (KPIRULES_SHEETS_EMULATOR_HOST routes the calls).

What is checked: one API call per read, typed cells (Polish locale, Warsaw time zone),
sheet row numbers, tab lookup and its errors, the write path, and every fault kind ending
in bounded attempts. Retry waits use a recording ``sleep`` that does not sleep, so the
tests count attempts instead of timing them.
"""

from __future__ import annotations

import datetime as dt
import time
import zoneinfo

import pytest

from kpirules.connectors import open_source
from kpirules.connectors.gsheets import GRID_FIELDS, GoogleSheetsConnector
from kpirules.errors import SourceError
from kpirules.retry import RetryExhausted, RetryPolicy
from kpirules_emulator.sheets import SheetsEmulator

KEY = "1KpiRulesConnectorTest_abcdefghijklmnopqrstu"  # 44 characters, like Google's keys
URL = f"https://docs.google.com/spreadsheets/d/{KEY}/edit#gid=0"


@pytest.fixture(scope="module")
def server():
    with SheetsEmulator() as emu:
        yield emu


@pytest.fixture
def emulator(server, monkeypatch):
    server.reset()
    monkeypatch.setenv("KPIRULES_SHEETS_EMULATOR_HOST", server.host)
    for name in ("KPIRULES_CREDENTIALS", "GOOGLE_APPLICATION_CREDENTIALS"):
        monkeypatch.delenv(name, raising=False)
    yield server
    server.clear_faults()
    server.set_latency(0)


class Sleeps(list):
    """An injected ``sleep`` that records the waits and does not wait."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def connector(source: str = KEY, sleeps: Sleeps | None = None, **kw) -> GoogleSheetsConnector:
    retry = RetryPolicy(sleep=sleeps if sleeps is not None else Sleeps(), base=0.01,
                        **kw.pop("retry", {}))
    return GoogleSheetsConnector(source, retry=retry, **kw)


def sheet_calls(emu: SheetsEmulator) -> list[dict]:
    return [r for r in emu.requests() if r["api"] != "oauth.token"]


DATA = [
    ["date", "campaign", "visits", "signups"],
    [dt.date(2026, 11, 16), "brand", 1200, 30],
    [dt.date(2026, 11, 17), "search", 980.5, 21],
    [dt.date(2026, 11, 18), "brand", 1100, None],
]
RULES = [["Name", "Rule", "Owner"], ["conversion", "signups / visits >= 2% weekly", "ana"]]


def test_reads_by_url_and_by_bare_key_with_typed_cells(emulator):
    emulator.add_spreadsheet(KEY, {"Data": DATA, "Rules": RULES}, title="Marketing KPIs")
    for source in (URL, KEY):
        book = connector(source).read()
        assert book.data.headers == ["date", "campaign", "visits", "signups"]
        assert book.data.rows == [
            [dt.date(2026, 11, 16), "brand", 1200.0, 30.0],
            [dt.date(2026, 11, 17), "search", 980.5, 21.0],
            [dt.date(2026, 11, 18), "brand", 1100.0],
        ]
        assert all(type(v) is float for r in book.data.rows for v in r[2:])
        assert book.rules.headers == ["Name", "Rule", "Owner"]
        assert book.rules.rows == [["conversion", "signups / visits >= 2% weekly", "ana"]]
        assert book.title == "Marketing KPIs"
        assert book.url == f"https://docs.google.com/spreadsheets/d/{KEY}/edit#gid=0"
        assert book.tabs == ["Data", "Rules"]
        assert book.data.cell_ref(1, 2) == "Data!C3"


def test_open_source_picks_the_connector_for_urls_and_keys(emulator, tmp_path, monkeypatch):
    assert isinstance(open_source(URL), GoogleSheetsConnector)
    assert isinstance(open_source(KEY), GoogleSheetsConnector)
    assert GoogleSheetsConnector.matches("https://docs.google.com/spreadsheets/u/1/d/" + KEY)
    for not_a_sheet in ("data.csv", "report.xlsx", "https://example.com/d/" + KEY,
                        "has spaces in it and is long enough"):
        assert not GoogleSheetsConnector.matches(not_a_sheet)
    # The emulator serves a workbook under its file stem, so there a short name is a key...
    assert GoogleSheetsConnector.matches("short_key")
    # ...and against Google it is not (real keys are long).
    monkeypatch.delenv("KPIRULES_SHEETS_EMULATOR_HOST")
    assert not GoogleSheetsConnector.matches("short_key")
    lookalike = tmp_path / KEY  # a file named like a key is a file
    lookalike.write_text("date,visits\n")
    assert not GoogleSheetsConnector.matches(str(lookalike))
    with pytest.raises(SourceError, match="not a Google Sheets URL or key"):
        GoogleSheetsConnector("no pe")


@pytest.mark.parametrize("n_rules, extra", [(1, ()), (60, ()), (60, ("History", "Alerts"))])
def test_one_api_call_per_read_whatever_the_rules_and_tabs(emulator, n_rules, extra):
    rules = [["Name", "Rule"]] + [[f"r{i}", f"visits >= {i} weekly"] for i in range(n_rules)]
    tabs = {"Data": DATA, "Rules": rules}
    tabs.update({name: [["when", "what"], ["2026-11-20", "x"]] for name in extra})
    tabs["Unrelated"] = [["big"]] * 500  # never asked for, never sent
    emulator.add_spreadsheet(KEY, tabs)
    c = connector()
    book = c.read(extra_tabs=extra)
    calls = sheet_calls(emulator)
    assert len(calls) == 1 and c.calls == 1
    assert calls[0]["api"] == "spreadsheets.get" and calls[0]["status"] == 200
    asked = calls[0]["query"]["ranges"]
    # The data tab by its head (its first 1,000 rows: the whole tab here), the others whole.
    assert sorted([asked] if isinstance(asked, str) else asked) == \
        sorted(["'Data'!1:1000", *(f"'{t}'" for t in ("Rules", *extra))])
    assert calls[0]["query"]["fields"] == GRID_FIELDS
    assert len(book.rules.rows) == n_rules
    assert set(book.extra_tabs) == set(extra)
    assert "Unrelated" not in book.tabs
    assert set(c.sheet_ids) == {"Data", "Rules", *extra}


def test_headers_in_any_order_and_extra_columns_are_kept_as_they_are(emulator):
    shuffled = [["Signups", "Notes", "Visits", "Date", "", "Owner"],
                [30, "launch day", 1200, dt.date(2026, 11, 16), None, "ana"],
                [21, None, 980, dt.date(2026, 11, 17)]]
    emulator.add_spreadsheet(KEY, {"Rules": RULES, "Data": shuffled})
    book = connector().read()
    assert book.data.headers == ["Signups", "Notes", "Visits", "Date", None, "Owner"]
    assert book.data.rows[0] == [30.0, "launch day", 1200.0, dt.date(2026, 11, 16), None, "ana"]
    assert book.data.rows[1] == [21.0, None, 980.0, dt.date(2026, 11, 17)]
    assert book.data.cell_ref(1, 3) == "Data!D3"

    from kpirules.table import load_table

    table = load_table(book.data)  # the engine finds the columns by header, not position
    assert table.columns["date"] == 3 and table.columns["visits"] == 2
    assert table.date_range == (dt.date(2026, 11, 16), dt.date(2026, 11, 17))


def test_leading_empty_rows_and_columns_keep_sheet_cell_references(emulator):
    grid = [[], [], ["", "", "date", "visits"]] + \
           [["", "", dt.date(2026, 11, d), 100 + d] for d in range(1, 15)] + \
           [["", "", dt.date(2026, 11, 15), "n/a"]]
    emulator.add_spreadsheet(KEY, {"Data": grid, "Rules": RULES})
    book = connector().read()
    assert book.data.header_row == 3
    assert book.data.headers == [None, None, "date", "visits"]
    bad = next(i for i, r in enumerate(book.data.rows) if r[3] == "n/a")
    assert book.data.cell_ref(bad, 3) == "Data!D18"
    assert book.data.cell_ref(0, 2) == "Data!C4"


def test_empty_rows_inside_the_table_keep_the_numbering(emulator):
    emulator.add_spreadsheet(KEY, {"Data": [["date", "visits"], [dt.date(2026, 11, 1), 1], [],
                                            [dt.date(2026, 11, 3), 3]], "Rules": RULES})
    rows = connector().read().data.rows
    assert rows[1] in ([], [None, None])
    assert rows[2] == [dt.date(2026, 11, 3), 3.0]


def test_booleans_errors_and_blank_cells(emulator):
    emulator.add_spreadsheet(KEY, {"Data": [["date", "ok", "ratio", "note"],
                                            [dt.date(2026, 11, 2), True, "=1/0", ""],
                                            [dt.date(2026, 11, 3), False, "=4/2", "x"]],
                                   "Rules": RULES})
    rows = connector().read().data.rows
    assert rows[0][1] is True and rows[1][1] is False
    assert rows[0][2] == "#DIV/0!"  # shown as in the sheet, so the engine can report the cell
    assert rows[1][2] == 2.0
    assert rows[0][3:] == [] and rows[1][3] == "x"


def test_polish_locale_and_warsaw_time_zone(emulator):
    number = {"userEnteredValue": {"numberValue": 1234.56},
              "userEnteredFormat": {"numberFormat": {"type": "NUMBER", "pattern": "#,##0.00"}}}
    late = dt.datetime(2026, 3, 29, 23, 30)  # the night the clocks go forward in Poland
    emulator.add_spreadsheet(KEY, {"Dane": [["data", "wizyty", "kiedy", "przychód"],
                                            [dt.date(2026, 11, 16), 1200, late, number],
                                            [dt.date(2026, 12, 31), 0.1 + 0.2, None, -0.5]],
                                   "Reguły": RULES}, locale="pl_PL", time_zone="Europe/Warsaw")
    # The sheet itself shows Polish text; we must not read that text.
    assert emulator.cell(KEY, "Dane", "D2")["formattedValue"] == "1\u00a0234,56"
    book = connector().read(data_tab="Dane", rules_tab="Reguły")
    assert book.locale == "pl_PL" and book.timezone == "Europe/Warsaw"
    first, second = book.data.rows
    assert first[3] == 1234.56 and second[1] == 0.1 + 0.2 and second[3] == -0.5
    assert first[0] == dt.date(2026, 11, 16) and second[0] == dt.date(2026, 12, 31)
    assert first[2] == dt.datetime(2026, 3, 29, 23, 30, tzinfo=zoneinfo.ZoneInfo("Europe/Warsaw"))
    assert first[2].utcoffset() == dt.timedelta(hours=2)  # CEST that night
    assert book.rules.sheet == "Reguły"


def test_tab_names_are_matched_ignoring_case(emulator):
    emulator.add_spreadsheet(KEY, {"rules": RULES, "DATA": DATA, "settings": [
        ["Key", "Value"], ["data_tab", "DATA"], ["threshold", 0.5]]})
    c = connector()
    book = c.read(extra_tabs=("Settings",))
    assert book.data.sheet == "DATA" and book.rules.sheet == "rules"
    settings = book.extra_tabs["Settings"]
    assert settings.sheet == "settings" and settings.rows == [["data_tab", "DATA"], ["threshold", 0.5]]
    assert book.tabs == ["rules", "DATA", "settings"]
    # Google rejects the exact names, then one metadata call and one data call: never more.
    assert [r["status"] for r in sheet_calls(emulator)] == [400, 200, 200]
    assert c.sheet_ids.keys() == {"rules", "DATA", "settings"}


def test_the_settings_tab_comes_for_free_when_the_fallback_ran(emulator):
    emulator.add_spreadsheet(KEY, {"Data": DATA, "Settings": [["Key", "Value"], ["a", 1]]})
    book = connector().read()  # no Rules tab: the exact-name read fails, the fallback runs
    assert book.rules is None
    assert book.extra_tabs["Settings"].rows == [["a", 1.0]]


def test_a_missing_data_tab_names_it_and_the_tabs_that_exist(emulator):
    emulator.add_spreadsheet(KEY, {"Dat": DATA, "Rules": RULES, "History": [["x"]]},
                             title="Q4 KPIs")
    with pytest.raises(SourceError) as info:
        connector().read()
    err = info.value
    assert "'Q4 KPIs' has no tab named 'Data'" in err.message
    assert "(tabs: Dat, Rules, History)" in err.message
    assert "did you mean 'Dat'" in err.hint
    assert len(sheet_calls(emulator)) == 2  # the rejected read and the metadata call


def test_missing_optional_tabs_are_left_out(emulator):
    emulator.add_spreadsheet(KEY, {"Data": DATA})
    book = connector().read(extra_tabs=("History",))
    assert book.rules is None and book.extra_tabs == {}
    assert book.data.rows[0][1] == "brand"
    # Without a Rules tab to ask for (rules from a file), one call again.
    emulator.reset_requests()
    book = connector().read(rules_tab=None)
    assert book.rules is None and len(sheet_calls(emulator)) == 1


def test_an_empty_data_tab(emulator):
    emulator.add_spreadsheet(KEY, {"Data": [], "Rules": RULES})
    data = connector().read().data
    assert data.headers == [] and data.rows == []


@pytest.mark.slow  # 3-7 s on a shared 2-core machine, most of it the emulator building 17 MB
def test_fifty_thousand_rows_in_pages_of_bounded_size(emulator):
    start = dt.date(2020, 1, 1)
    rows = [["date", "campaign", "visits", "signups", "cost"]]
    rows += [[start + dt.timedelta(days=i // 20), f"c{i % 20}", i, i % 7, i * 0.25]
             for i in range(50_000)]
    emulator.add_spreadsheet(KEY, {"Data": rows, "Rules": RULES})
    c = connector()
    t0 = time.perf_counter()
    book = c.read()
    elapsed = time.perf_counter() - t0
    print(f"\n50,000-row read: {elapsed:.2f} s, {c.calls} call(s)")
    # The head (1,000 rows) and the 49,001 rows below it, 5 columns, 200,000 cells a page.
    assert c.calls == 3 and len(sheet_calls(emulator)) == 3
    pages = [r["query"]["ranges"] for r in sheet_calls(emulator)[1:]]
    assert pages == ["'Data'!A1001:E41000", "'Data'!A41001:E50001"]
    assert len(book.data.rows) == 50_000
    assert book.data.rows[-1] == [start + dt.timedelta(days=2499), "c19", 49_999.0, 49_999 % 7,
                                  49_999 * 0.25]
    assert book.data.cell_ref(49_999, 4) == "Data!E50001"


# --- the write path ----------------------------------------------------------------------

def test_batch_update_is_one_call_and_uses_sheet_ids_from_the_read(emulator):
    emulator.add_spreadsheet(KEY, {"Data": DATA, "Rules": RULES})
    c = connector()
    c.read()
    rules_id = c.sheet_ids["Rules"]
    emulator.reset_requests()
    reply = c.batch_update([{"updateCells": {
        "range": {"sheetId": rules_id, "startRowIndex": 1, "endRowIndex": 2,
                  "startColumnIndex": 3, "endColumnIndex": 4},
        "rows": [{"values": [{"userEnteredValue": {"stringValue": "PASS"}}]}],
        "fields": "userEnteredValue"}}])
    assert reply["spreadsheetId"] == KEY
    assert [r["api"] for r in sheet_calls(emulator)] == ["spreadsheets.batchUpdate"]
    assert emulator.values(KEY, "Rules")[1][3] == "PASS"
    assert c.batch_update([]) == {"spreadsheetId": KEY, "replies": []}
    assert len(sheet_calls(emulator)) == 1


def test_a_write_that_may_have_been_applied_is_not_retried_unless_idempotent(emulator):
    emulator.add_spreadsheet(KEY, {"Data": DATA, "Rules": RULES})
    append = [{"appendCells": {"sheetId": 0, "fields": "userEnteredValue", "rows": [
        {"values": [{"userEnteredValue": {"stringValue": "appended"}}]}]}}]
    emulator.inject("spreadsheets.batchUpdate", status=500, apply=True)
    c = connector()
    with pytest.raises(SourceError, match="answered 500"):
        c.batch_update(append)
    assert c.calls == 1
    assert sum(row[:1] == ["appended"] for row in emulator.values(KEY, "Data")) == 1  # once
    emulator.inject("spreadsheets.batchUpdate", status=503)  # 503: not carried out, retried
    c.batch_update(append)
    assert c.calls == 3
    emulator.inject("spreadsheets.batchUpdate", status=500)
    c.batch_update(append, idempotent=True)
    assert c.calls == 5


# --- faults: bounded retries -------------------------------------------------------------

def test_429_with_retry_after_is_waited_out_then_the_read_succeeds(emulator):
    emulator.add_spreadsheet(KEY, {"Data": DATA, "Rules": RULES})
    emulator.inject("spreadsheets.get", status=429, retry_after=3, times=2)
    sleeps = Sleeps()
    book = connector(sleeps=sleeps).read()
    assert book.data.rows[0][1] == "brand"
    assert [r["status"] for r in sheet_calls(emulator)] == [429, 429, 200]
    assert len(sleeps) == 2 and all(s >= 3 for s in sleeps)  # the server's Retry-After


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried_and_the_read_succeeds(emulator, status):
    emulator.add_spreadsheet(KEY, {"Data": DATA, "Rules": RULES})
    emulator.inject("spreadsheets.get", status=status, times=3)
    sleeps = Sleeps()
    c = connector(sleeps=sleeps)
    assert c.read().data.headers[0] == "date"
    assert c.calls == 4 and len(sleeps) == 3


def test_a_persistent_503_fails_in_bounded_attempts_with_a_clear_message(emulator):
    emulator.add_spreadsheet(KEY, {"Data": DATA, "Rules": RULES})
    emulator.inject("spreadsheets.get", status=503, times=100)
    c = connector()
    with pytest.raises(RetryExhausted) as info:
        c.read()
    assert c.calls == 5 and len(sheet_calls(emulator)) == 5
    assert info.value.message.startswith("Google Sheets answered 503 five times in ")
    assert info.value.hint == "try again later"


def test_a_persistent_429_says_the_quota_ran_out(emulator):
    emulator.add_spreadsheet(KEY, {"Data": DATA, "Rules": RULES})
    emulator.inject("spreadsheets.get", status=429, retry_after=1, times=100)
    c = connector(retry={"attempts": 3})
    with pytest.raises(RetryExhausted) as info:
        c.read()
    assert c.calls == 3
    assert "answered 429 three times" in info.value.message and "quota" in info.value.hint


def test_a_slow_answer_times_out_and_the_retry_gets_through(emulator):
    emulator.add_spreadsheet(KEY, {"Data": DATA, "Rules": RULES})
    emulator.inject("spreadsheets.get", delay=2.0, times=1)
    c = connector(timeout=0.3)
    assert c.read().data.rows[0][1] == "brand"
    assert c.calls == 2


def test_an_emulator_that_never_answers_in_time_fails_in_bounded_attempts(emulator):
    emulator.add_spreadsheet(KEY, {"Data": DATA, "Rules": RULES})
    emulator.set_latency(1.0)
    c = connector(timeout=0.2, retry={"attempts": 3})
    with pytest.raises(RetryExhausted) as info:
        c.read()
    assert c.calls == 3
    assert info.value.message.startswith("Google Sheets did not answer within 0.2 s, three times")


def test_a_dropped_connection_is_retried(emulator):
    emulator.add_spreadsheet(KEY, {"Data": DATA, "Rules": RULES})
    emulator.inject("spreadsheets.get", drop=True, times=2)
    c = connector()
    assert c.read().data.rows[0][1] == "brand"
    assert c.calls == 3


def test_connections_dropped_every_time_fail_in_bounded_attempts(emulator):
    emulator.add_spreadsheet(KEY, {"Data": DATA, "Rules": RULES})
    emulator.inject("spreadsheets.get", drop=True, times=100)
    c = connector(retry={"attempts": 4})
    with pytest.raises(RetryExhausted) as info:
        c.read()
    assert c.calls == 4
    assert "could not be reached" in info.value.message and "four times" in info.value.message


def test_nothing_listening_fails_in_bounded_attempts(monkeypatch):
    import socket

    with socket.socket() as s:  # a port that was free a moment ago: connection refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("KPIRULES_SHEETS_EMULATOR_HOST", f"127.0.0.1:{port}")
    c = connector(retry={"attempts": 3})
    with pytest.raises(RetryExhausted) as info:
        c.read()
    assert c.calls == 3
    assert "(connection refused) three times" in info.value.message


def test_the_overall_deadline_ends_a_run_of_retries(emulator):
    emulator.add_spreadsheet(KEY, {"Data": DATA, "Rules": RULES})
    emulator.inject("spreadsheets.get", status=503, retry_after=2, times=100)
    c = connector(retry={"attempts": 50, "deadline": 0.5})
    with pytest.raises(RetryExhausted) as info:
        c.read()
    assert c.calls == 1  # Retry-After 2 s does not fit in a 0.5 s deadline
    assert "deadline" in info.value.message


# --- errors that are not retried -----------------------------------------------------------

def test_404_says_there_is_no_such_spreadsheet(emulator):
    c = connector()
    with pytest.raises(SourceError) as info:
        c.read()
    assert info.value.message == f"no spreadsheet with key {KEY}; check the URL"
    assert c.calls == 1


def test_403_says_to_share_the_sheet(emulator):
    emulator.add_spreadsheet(KEY, {"Data": DATA, "Rules": RULES}, shared_with=["boss@example.com"])
    c = connector()
    with pytest.raises(SourceError) as info:
        c.read()
    assert "no access to the spreadsheet" in info.value.message
    assert "share the sheet with" in info.value.hint
    assert "(Editor for `run`, Viewer for `check`)" in info.value.hint
    assert c.calls == 1


def test_a_bad_request_is_reported_not_retried(emulator):
    emulator.add_spreadsheet(KEY, {"Data": DATA, "Rules": RULES})
    c = connector()
    c.read()
    with pytest.raises(SourceError, match="Google Sheets answered 400"):
        c.batch_update([{"deleteSheet": {"sheetId": 987654}}])
    assert c.calls == 2


def test_a_starting_emulator_is_waited_for_before_the_first_call(monkeypatch):
    """KPIRULES_SHEETS_EMULATOR_HOST set in the same breath as the emulator is started: the
    first call waits for it to listen, instead of spending its retries on a refused port
    (one attempt allowed here, so only the wait can make it succeed)."""
    import socket
    import threading
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    late = SheetsEmulator(port=port)
    late.add_spreadsheet(KEY, {"Data": DATA, "Rules": RULES})
    starter = threading.Timer(1.0, late.start)  # the emulator still loading its workbook
    starter.start()
    monkeypatch.setenv("KPIRULES_SHEETS_EMULATOR_HOST", f"127.0.0.1:{port}")
    try:
        c = GoogleSheetsConnector(KEY, retry=RetryPolicy(attempts=1, sleep=time.sleep))
        book = c.read()
    finally:
        starter.join()
        late.stop()
    assert c.calls == 1 and book.data.headers == DATA[0]


def test_an_emulator_host_without_a_port_fails_cleanly(monkeypatch):
    monkeypatch.setenv("KPIRULES_SHEETS_EMULATOR_HOST", "localhost")
    c = connector(retry={"attempts": 1})
    with pytest.raises(SourceError):
        c.read()


def test_a_polish_sheet_with_title_rows_and_text_numbers_is_read_as_is(emulator):
    # Issue 10: a tab pasted from an export, in a pl_PL spreadsheet. Title rows above the
    # header, typed date cells under "Data", numbers typed and as text ("1.234" is 1234
    # in a Polish sheet: its locale is the evidence), a "Suma" row at the bottom.
    from kpirules.table import load_table

    emulator.add_spreadsheet(KEY, {"Dane": [
        ["Raport kampanii"],
        ["Okres: październik 2026"],
        [],
        ["Data", "Kampania", "Wyświetlenia", "Koszt"],
        [dt.date(2026, 10, 1), "Jesień", "1.234", 123.45],
        [dt.date(2026, 10, 2), "Jesień", 987, "80,5 zł"],
        ["Suma", None, 2221, 203.95],
    ], "Reguły": RULES}, locale="pl_PL", time_zone="Europe/Warsaw")
    table = load_table(connector().read(data_tab="Dane", rules_tab="Reguły").data)
    assert table.date_column == "data" and table.raw.header_row == 4
    frame = table.frame(dt.date(2026, 10, 1), dt.date(2026, 10, 31), metrics=["wyświetlenia", "koszt"])
    assert frame.metrics == {"wyświetlenia": [1234.0, 987.0], "koszt": [123.45, 80.5]}
    assert table.warnings == ["read Dane: 2 title rows and 1 total row left out"]
