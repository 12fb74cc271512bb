"""What kpirules writes into a sheet besides its headers, in the sheet's language: the
History tab's Numbers, the Settings tab's example comment and the descriptions of the
engine columns' protected ranges (``init`` has no --lang: a settings file's ``language``,
else the workbook's Settings tab's, else a Google Sheet's locale, else English), and
``init``'s own refusals. Real workbooks; the Sheets emulator over HTTP for Google Sheets."""

from __future__ import annotations

import datetime as dt

import openpyxl
from click.testing import CliRunner
from test_i18n_errors import polish_settings
from test_init import KEY, assert_set_up
from test_run_common import AS_OF
from test_run_sheets import emulator  # noqa: F401 (a fixture)
from test_run_xlsx import make_workbook, tab_rows

from kpirules.cli.main import cli
from kpirules.i18n import speaking
from kpirules.results import Detail, GuardCheck, Period, RuleResult, Status, Term
from kpirules.writeback.history import numbers


def test_a_polish_runs_history_numbers_are_polish_settings(tmp_path):
    book = make_workbook(tmp_path / "kpis.xlsx")
    result = CliRunner().invoke(cli, ["run", str(book), "--as-of", AS_OF.isoformat(), "--config", polish_settings(tmp_path)])
    assert result.exit_code in (1, 2), result.output
    rows = tab_rows(book, "History")
    said = {r[0]: r[rows[0].index("Liczby")] for r in rows[1:]}
    assert said["conversion"] == "signups 301; visits 14\u00a0700 (21 wierszy, 7 dni)"
    assert said["daily_visits"] == "visits 2\u00a0100 (3 wiersze, 1 dzień)"
    english = make_workbook(tmp_path / "en.xlsx")
    assert CliRunner().invoke(cli, ["run", str(english), "--as-of", AS_OF.isoformat()]).exit_code in (1, 2)
    rows = tab_rows(english, "History")
    assert {r[0]: r[rows[0].index("Numbers")] for r in rows[1:]}["conversion"] == (
        "signups 301; visits 14,700 (21 rows, 7 days)")


def test_history_numbers_of_a_change_a_pace_a_guard_and_an_interval_in_both_languages():
    week = Period(dt.date(2026, 11, 16), dt.date(2026, 11, 22))
    before = Period(dt.date(2025, 11, 17), dt.date(2025, 11, 23))
    signups = Term("signups", "sum", "signups", 1234.0, 7, 7, 7)
    detail = Detail(expression="change(signups)", value=0.1, terms=(signups,), period=week, rows=1234, days=7,
                    previous=Detail(expression="signups", value=1100.0, terms=(Term("signups", "sum", "signups",
                                                                                     1100.0, 7, 7, 7),),
                                    period=before),
                    baseline="the same week last year", pace=(5, 7))
    result = RuleResult(name="r", rule="", status=Status.PASS, value=0.1, period=week, unit="%",
                        detail=detail, interval=(0.018, 0.026), confidence=0.95,
                        guards=(GuardCheck("visits", 1000.0, 1500.0, week), GuardCheck("visits", 1000.0, 900.0, before)))
    assert numbers(result) == (
        "signups 1,234 (1,234 rows, 7 days); last year 2025-11-17..23: signups 1,100; pace: 5 of 7 days; "
        "at least 1,000 visits: 1,500; at least 1,000 visits in 2025-11-17..23: 900; 95% interval 1.80%-2.60%")
    with speaking("pl"):
        from dataclasses import replace

        said = numbers(replace(result, detail=replace(detail, baseline="ten sam tydzień rok wcześniej")))
        previous = numbers(replace(result, detail=replace(detail, baseline="poprzedni tydzień")))
    assert said == (
        "signups 1\u00a0234 (1\u00a0234 wiersze, 7 dni); rok wcześniej 17–23.11.2025: signups 1\u00a0100; "
        "tempo: 5 z 7 dni; co najmniej 1\u00a0000 visits: 1\u00a0500; "
        "co najmniej 1\u00a0000 visits w okresie 17–23.11.2025: 900; przedział ufności 95%: 1,80%–2,60%")
    assert "; poprzednio 17–23.11.2025: signups 1\u00a0100;" in previous


def test_init_writes_the_settings_comment_in_the_language_of_the_settings_file(tmp_path):
    pl, en = tmp_path / "pl.xlsx", tmp_path / "en.xlsx"
    assert CliRunner().invoke(cli, ["init", str(pl), "--config", polish_settings(tmp_path)]).exit_code == 0
    assert CliRunner().invoke(cli, ["init", str(en)]).exit_code == 0
    comment = tab_rows(pl, "Settings")[1][0]
    assert comment.startswith("# Ustawienia dla kpirules run. Wiersze, których klucz zaczyna się od #, są pomijane")
    assert tab_rows(en, "Settings")[1][0].startswith("# Settings for kpirules run. Rows whose key starts with #")
    assert tab_rows(pl, "Settings")[2:] == tab_rows(en, "Settings")[2:]  # setting names stay as written
    assert tab_rows(pl, "History")[0][0] == "Reguła" and tab_rows(en, "History")[0][0] == "Rule"
    # Every note on a header the engine writes is Polish too; English stays as it was.
    book = openpyxl.load_workbook(pl)
    rules = book["Rules"]
    notes = {c.value: c.comment.text for c in rules[1] if c.comment is not None}
    assert notes["Stan"].startswith("Wypełnia kpirules run: PASS, WARN, FAIL, NO_DATA (brak wierszy")
    assert notes["Enabled"] == "yes albo no: reguła ustawiona na no jest pomijana (jej Stan pokazuje OFF)."
    assert book["History"]["H1"].value == "Liczby"
    assert book["History"]["H1"].comment.text == "Liczby, z których wyszła wartość: każdy agregat, wiersze i dni."
    alerts = {c.value: c.comment.text for c in book["Alerts"][1] if c.comment is not None}
    assert alerts["Powiadomiono"].startswith("Dostarczenie przez każdy kanał: do wysłania, wysłano albo NIE WYSŁANO")
    described = [r[4] for r in tab_rows(pl, "Rules")[1:] if r[1]]
    assert described[0] == "Wczoraj są dane signups: eksport albo synchronizacja działa."
    assert [r[4] for r in tab_rows(en, "Rules")[1:] if r[1]][0] == (
        "Yesterday has signups data: the export or sync is working.")
    english = openpyxl.load_workbook(en)
    assert english["History"]["H1"].comment.text == "The numbers the value came from: each aggregate, rows and days."
    again = CliRunner().invoke(cli, ["init", str(pl), "--config", polish_settings(tmp_path)])
    assert again.exit_code == 0 and "wszystko jest już przygotowane; nie ma nic do zrobienia" in again.output
    # The comment is a comment in either language: a run reads no setting from it.
    head = tab_rows(pl, "Rules")[0]
    assert head == ["Name", "Rule", "Enabled", "Owner", "Description", "Stan", "Wartość", "Próg docelowy", "Okres",
                    "Sprawdzono", "Komunikat"]
    ran = CliRunner().invoke(cli, ["run", str(pl), "--as-of", AS_OF.isoformat(), "--config", polish_settings(tmp_path)])
    assert "Ustawienia" not in ran.output and "nieznane ustawienie" not in ran.output, ran.output
    rules = tab_rows(pl, "Rules")
    assert rules[0] == head  # the run found its Polish columns: none added
    assert all(r[5] for r in rules[1:] if r[1])  # and wrote every rule's Stan


def test_init_speaks_the_language_of_the_workbooks_settings_tab(tmp_path):
    book = make_workbook(tmp_path / "kpis.xlsx")
    wb = openpyxl.load_workbook(book)
    for name in ("History", "Alerts", "Settings"):
        if name in wb.sheetnames:
            del wb[name]
    settings = wb.create_sheet("Settings")
    settings.append(["Key", "Value"])
    settings.append(["language", "pl"])
    wb.save(book)
    result = CliRunner().invoke(cli, ["init", str(book)])
    assert result.exit_code == 0, result.output
    assert "History: utworzona" in result.output, result.output
    assert tab_rows(book, "History")[0][0] == "Reguła" and tab_rows(book, "Alerts")[0][0] == "Czas"
    assert tab_rows(book, "Settings") == [["Key", "Value"], ["language", "pl"]]  # kept as it was


def test_a_polish_sheets_protected_columns_are_described_in_polish_and_not_protected_twice(emulator, tmp_path):  # noqa: F811
    # A pl_PL Google Sheet, no language setting anywhere: init speaks the sheet's locale.
    emulator.add_spreadsheet(KEY, {"Data": [["Date", "Campaign", "Visits", "Signups"],
                                            ["2026-11-01", "search", 1000, 30]]}, locale="pl_PL")
    result = CliRunner().invoke(cli, ["init", KEY])
    assert result.exit_code == 0, result.output
    assert "Rules: utworzona" in result.output
    protected = emulator.protected_ranges(KEY, "Rules")
    assert sorted(p["description"] for p in protected) == sorted(
        f"kpirules: wypełnia silnik ({h})" for h in ("Stan", "Wartość", "Próg docelowy", "Okres", "Sprawdzono",
                                                     "Komunikat"))
    assert_set_up(emulator)
    # init again in English: the columns are protected already, in Polish words.
    english = tmp_path / "kpirules.toml"
    english.write_text('language = "en"\n')
    assert CliRunner().invoke(cli, ["init", KEY, "--config", str(english)]).exit_code == 0
    assert_set_up(emulator)
    assert emulator.protected_ranges(KEY, "Rules") == protected


def test_an_english_init_protects_in_english_and_a_polish_init_adds_nothing(emulator, tmp_path):  # noqa: F811
    emulator.add_spreadsheet(KEY, {"Data": [["Date", "Visits"], ["2026-11-01", 10]]})
    assert CliRunner().invoke(cli, ["init", KEY]).exit_code == 0
    protected = emulator.protected_ranges(KEY, "Rules")
    assert "kpirules: written by the engine (Status)" in {p["description"] for p in protected}
    assert CliRunner().invoke(cli, ["init", KEY, "--config", polish_settings(tmp_path)]).exit_code == 0
    assert emulator.protected_ranges(KEY, "Rules") == protected
    assert_set_up(emulator, status_col=5)


def test_addon_without_a_service_url_is_refused_in_the_language_of_the_settings(tmp_path):
    pl = CliRunner().invoke(cli, ["init", str(tmp_path / "k.xlsx"), "--addon", str(tmp_path / "a"),
                                  "--config", polish_settings(tmp_path)], env={"KPIRULES_SERVICE_URL": ""})
    assert pl.exit_code == 2
    assert ("błąd: --addon wymaga --service-url URL: adresu, pod którym działa `kpirules serve` (docs/serve.md)"
            in pl.output)
    en = CliRunner().invoke(cli, ["init", str(tmp_path / "k.xlsx"), "--addon", str(tmp_path / "a")],
                            env={"KPIRULES_SERVICE_URL": ""})
    assert en.exit_code == 2
    assert "error: --addon needs --service-url URL: where `kpirules serve` runs (docs/serve.md)" in en.output
    assert not (tmp_path / "k.xlsx").exists()  # refused before anything was written
