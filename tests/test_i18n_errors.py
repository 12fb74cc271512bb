"""The errors of a run in Polish: a marketer running kpirules on a Polish sheet or workbook
(``language = "pl"``, a ``pl_PL`` Google Sheet; ``run`` has no ``--lang``) reads each refusal whole in
Polish, not an English sentence inside a Polish line. Real workbooks, real locks, the Sheets
emulator over HTTP; the English of the same errors is asserted by the modules' own tests."""

from __future__ import annotations

import zipfile

import openpyxl
import pytest
from click.testing import CliRunner
from test_run_common import AS_OF
from test_run_xlsx import make_workbook, with_foreign_history

from kpirules.cli.main import cli
from kpirules.i18n import speaking


def run(*args):
    return CliRunner().invoke(cli, ["run", *map(str, args)])


def polish_settings(tmp_path):
    config = tmp_path / "kpirules.toml"
    config.write_text('language = "pl"\n')
    return str(config)


# ------------------------------------------------------------------ a workbook's run


def test_a_workbook_held_by_another_run_is_said_in_polish(tmp_path):
    from kpirules.writeback.lock import file_lock

    book = make_workbook(tmp_path / "kpis.xlsx")
    before = book.read_bytes()
    with file_lock(str(book), since="07:00:12"):
        result = run(book, "--as-of", AS_OF.isoformat(), "--config", polish_settings(tmp_path))
    assert result.exit_code == 7, result.output
    assert ("błąd: inne uruchomienie zajmuje ten skoroszyt od 07:00:12; to uruchomienie niczego nie zmieniło "
            "i niczego nie wysłało") in result.output
    assert book.read_bytes() == before


def test_a_lock_held_too_long_is_said_in_polish(tmp_path):
    from kpirules.errors import SourceError
    from kpirules.writeback.lock import file_lock

    book = make_workbook(tmp_path / "kpis.xlsx")
    with file_lock(str(book)), speaking("pl"), pytest.raises(SourceError) as refused:
        with file_lock(str(book), timeout=0.1):
            pass
    assert refused.value.message == "inne uruchomienie kpirules trzyma .kpis.xlsx.lock od ponad 0 s"
    assert refused.value.hint == ("poczekaj, aż się skończy; jeśli żadne nie działa, sprawdź, który proces "
                                  "trzyma ten plik")


def test_a_csv_file_has_nowhere_to_write_in_polish(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("date,visits\n2026-11-01,3\n")
    result = run(data, "--config", polish_settings(tmp_path))
    assert result.exit_code == 3, result.output
    assert ("błąd: `kpirules run` zapisuje wyniki z powrotem w skoroszycie albo arkuszu; plik CSV nie ma kart "
            "Rules, History ani Alerts") in result.output
    assert "wskazówka: użyj `kpirules check SOURCE --rules FILE.kpi` albo trzymaj dane" in result.output


def test_a_history_tab_of_someone_else_is_refused_in_polish(tmp_path):
    book = with_foreign_history(make_workbook(tmp_path / "kpis.xlsx"))
    before = book.read_bytes()
    result = run(book, "--as-of", AS_OF.isoformat(), "--config", polish_settings(tmp_path))
    assert result.exit_code == 3, result.output
    assert "błąd: karta History istnieje, ale nie jest historią kpirules" in result.output
    assert ("wskazówka: zmień nazwę tej karty albo ustaw w kpirules.toml history_tab na inną nazwę"
            in result.output)
    assert book.read_bytes() == before


def test_a_dashboard_tab_of_someone_else_is_left_alone_saying_so_in_polish(tmp_path, caplog):
    book = make_workbook(tmp_path / "kpis.xlsx")
    wb = openpyxl.load_workbook(book)
    wb.create_sheet("Dashboard").append(["Chart", "Owner"])
    wb.save(book)
    with caplog.at_level("WARNING", logger="kpirules"):
        result = run(book, "--as-of", AS_OF.isoformat(), "--config", polish_settings(tmp_path))
    assert result.exit_code == 2, result.output  # one rule has an ERROR
    assert ("karta Dashboard nie jest tą, którą prowadzi kpirules (jej pierwszy nagłówek to nie Rule ani Reguła): "
            "pozostawiono ją bez zmian") in caplog.text
    assert [r[0] for r in openpyxl.load_workbook(book)["Dashboard"].iter_rows(values_only=True)] == ["Chart"]


def test_a_crash_of_a_polish_run_is_said_in_polish(tmp_path, monkeypatch):
    import kpirules.writeback.runner as runner

    def boom(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(runner, "evaluate_and_plan", boom)
    book = make_workbook(tmp_path / "kpis.xlsx")
    result = run(book, "--as-of", AS_OF.isoformat(), "--config", polish_settings(tmp_path))
    assert result.exit_code == 2, result.output
    assert ("błąd: błąd wewnętrzny (RuntimeError): kpirules run się zatrzymał; po tym nic nie zostało zapisane; "
            "zgłoś to, proszę: uruchom ponownie z --debug") in result.output
    english = run(book, "--as-of", AS_OF.isoformat())
    assert ("error: internal error (RuntimeError): kpirules run stopped; nothing was written after it; please "
            "report it: run again with --debug and send the output to the kpirules maintainers (README.md, "
            "'Reporting a problem')") in english.output


def test_a_workbook_whose_parts_would_be_lost_is_refused_in_polish(tmp_path):
    book = make_workbook(tmp_path / "kpis.xlsx")
    with zipfile.ZipFile(book, "a") as zf:  # an embedded object, which openpyxl drops on save
        zf.writestr("xl/embeddings/oleObject1.bin", b"\0" * 16)
    before = book.read_bytes()
    result = run(book, "--as-of", AS_OF.isoformat(), "--config", polish_settings(tmp_path))
    assert result.exit_code == 3, result.output
    assert ("błąd: kpis.xlsx zawiera elementy (obiekty osadzone), których biblioteka xlsx używana przez "
            "kpirules nie potrafi zachować") in result.output
    assert "`kpirules check`, które niczego nie zapisuje" in result.output
    assert book.read_bytes() == before
    english = run(book, "--as-of", AS_OF.isoformat())
    assert ("error: kpis.xlsx holds embedded objects, which the xlsx library kpirules uses cannot keep: "
            "writing results into it would lose them, so nothing was written") in english.output


def test_a_dry_run_and_owed_alerts_are_said_in_polish(tmp_path):
    from test_outbox import CLEAN, Endpoint

    book = make_workbook(tmp_path / "kpis.xlsx", rules=CLEAN)
    endpoint = Endpoint()  # answers 500 until told otherwise
    config = tmp_path / "kpirules.toml"
    config.write_text(f'language = "pl"\n[[notifications]]\nname = "bi"\ntype = "webhook"\nurl = "{endpoint.url}"\n'
                      'on = ["fail", "warn", "no_data", "recovery"]\n')
    try:
        dry = run(book, "--as-of", AS_OF.isoformat(), "--config", config, "--dry-run")
        assert dry.exit_code in (0, 1), dry.output  # 5 says the results were written: a dry run writes nothing
        assert "próbne uruchomienie: niczego nie zapisano ani nie wysłano. Zostałoby zapisane:" in dry.output
        assert "\n  History: nowa karta; " in dry.output and "\n  Alerts: nowa karta; 3 nowe\n" in dry.output
        assert "    zablokuj wiersz nagłówków\n" in dry.output
        first = run(book, "--as-of", AS_OF.isoformat(), "--config", config)
        assert first.exit_code == 5, first.output
        assert "błąd: powiadomienie webhook 'bi': WARN conversion: NIE doręczono: " in first.output
        assert "ostrzeżenie: 3 alerty nadal czekają na wysłanie: wyśle je następne uruchomienie" in first.output
        endpoint.status = 200
        second = run(book, "--as-of", AS_OF.isoformat(), "--config", config)
        assert second.exit_code in (0, 1), second.output
        assert "doręczono 3 zaległe alerty z wcześniejszych uruchomień (zgłoszone " in second.output
    finally:
        endpoint.close()


def test_out_refuses_what_it_cannot_copy_in_polish(tmp_path):
    from kpirules.cli.run import copy_workbook
    from kpirules.errors import SourceError

    data = tmp_path / "d.csv"
    data.write_text("date,visits\n")
    with speaking("pl"), pytest.raises(SourceError) as refused:
        copy_workbook(str(data), str(tmp_path / "copy.xlsx"))
    assert refused.value.message == f"--out kopiuje skoroszyt .xlsx; {data} nim nie jest"
    assert refused.value.hint == "arkusz Google skopiuj w Arkuszach Google i uruchom na kopii"


# ------------------------------------------------------------------ a Google Sheet's run

POLISH_KEY = "1PolishErrors0123456789abcdefghijklmnopqrst"


@pytest.fixture
def polish_sheet(sheets_emulator, monkeypatch):
    from test_run_common import DATA_HEADERS, data_rows

    monkeypatch.setenv("KPIRULES_SHEETS_EMULATOR_HOST", sheets_emulator.host)

    def make(extra=None):
        rules = [["Name", "Rule"], ["conversion", "signups / visits >= 2% weekly warn at 2.5%"]]
        return sheets_emulator.add_spreadsheet(POLISH_KEY, {"Data": [DATA_HEADERS] + data_rows(), "Rules": rules,
                                                            **(extra or {})},
                                               locale="pl_PL", time_zone="Europe/Warsaw")
    return make


def test_a_sheet_held_by_another_run_is_said_in_the_sheets_polish(sheets_emulator, polish_sheet):
    import datetime as dt

    since = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    key = polish_sheet({"kpirules-lease": [["run", "0123abcd"], ["since", since], ["since_local", "07:00:12"]]})
    before = sheets_emulator.snapshot(key)
    result = run(key, "--as-of", AS_OF.isoformat())
    assert result.exit_code == 7, result.output
    assert ("błąd: inne uruchomienie zajmuje ten arkusz od 07:00:12; to uruchomienie niczego nie zmieniło "
            "i niczego nie wysłało") in result.output
    assert sheets_emulator.snapshot(key) == before


def test_a_write_read_back_as_not_written_is_said_in_polish(sheets_emulator, polish_sheet):
    key = polish_sheet()
    before = sheets_emulator.snapshot(key)
    sheets_emulator.inject("spreadsheets.batchUpdate", status=500)  # not applied, answered 500
    result = run(key, "--as-of", AS_OF.isoformat(), "--no-notify")
    assert result.exit_code == 3, result.output
    assert ("błąd: Arkusze Google odpowiedziały 500 na zapis; odczyt kontrolny: wyniki NIE zostały zapisane"
            in result.output)
    assert "wskazówka: niczego nie zapisano ani nie wysłano; następne uruchomienie je zapisze" in result.output
    assert sheets_emulator.snapshot(key) == before


# ------------------------------------------------------------------ tables and warehouses


def test_an_unknown_table_backend_is_said_in_polish(tmp_path, monkeypatch):
    data = tmp_path / "d.csv"
    data.write_text("date,visits\n2026-11-01,3\n")
    (tmp_path / "r.kpi").write_text("a: visits >= 1 weekly\n")
    monkeypatch.setenv("KPIRULES_BACKEND", "turbo")
    result = CliRunner().invoke(cli, ["check", str(data), "--rules", str(tmp_path / "r.kpi"), "--lang", "pl"])
    assert result.exit_code == 3, result.output
    assert "błąd: nieznany silnik tabel 'turbo'" in result.output
    assert "wskazówka: ustaw KPIRULES_BACKEND na jedną z wartości: " in result.output


def test_data_that_is_no_database_is_said_in_polish(tmp_path):
    book = make_workbook(tmp_path / "kpis.xlsx")
    other = make_workbook(tmp_path / "other.xlsx")
    result = CliRunner().invoke(cli, ["check", str(book), "--data", str(other), "--lang", "pl"])
    assert result.exit_code == 3, result.output
    assert ("błąd: --data przyjmuje adres URL bazy danych; źródła xlsx trzymają dane we własnej karcie Data"
            in result.output)
    assert "wskazówka: podaj postgresql://, bigquery://, snowflake://, spark: albo duckdb:///" in result.output


@pytest.fixture
def duck_file(tmp_path):
    duckdb = pytest.importorskip("duckdb")
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE undated (day VARCHAR, visits DOUBLE)")
        con.execute("CREATE TABLE wordy (date DATE, visits VARCHAR)")
        con.execute("INSERT INTO wordy VALUES (DATE '2026-11-20', 'many')")
    return path


def test_a_warehouse_table_without_its_date_column_leaves_a_polish_run_not_checked(tmp_path, duck_file):
    book = make_workbook(tmp_path / "kpis.xlsx")
    config = tmp_path / "kpirules.toml"
    config.write_text(f'language = "pl"\ndata = "duckdb:///{duck_file}"\ntable = "undated"\n')
    result = run(book, "--as-of", AS_OF.isoformat(), "--config", config)
    assert result.exit_code == 3, result.output
    assert "błąd: tabela undated nie ma kolumny `date` (kolumny: day, visits)" in result.output
    assert "wskazówka: wskaż kolumnę daty ustawieniem date_column" in result.output


def test_a_metric_column_of_text_in_a_warehouse_is_said_in_polish(tmp_path, duck_file):
    rules = tmp_path / "r.kpi"
    # A rule on the table's one day, complete (a period still waiting for data is NO_DATA
    # before its cells are judged, on a warehouse as on a sheet).
    rules.write_text("a: sum(visits) >= 1 daily\n")
    result = CliRunner().invoke(cli, ["check", f"duckdb:///{duck_file}", "--table", "wordy", "--rules", str(rules),
                                      "--as-of", "2026-11-21", "--lang", "pl"])
    assert "kolumna `visits` tabeli wordy ma typ varchar, a nie typ liczbowy" in result.output, result.output
    english = CliRunner().invoke(cli, ["check", f"duckdb:///{duck_file}", "--table", "wordy", "--rules", str(rules),
                                       "--as-of", "2026-11-21"])
    assert "column `visits` of wordy is varchar, not a number" in english.output, english.output


def test_a_write_whose_answer_was_lost_is_said_in_polish(sheets_emulator, polish_sheet):
    key = polish_sheet()
    sheets_emulator.inject("spreadsheets.batchUpdate", drop=True)  # not applied, the connection dropped
    result = run(key, "--as-of", AS_OF.isoformat(), "--no-notify")
    assert result.exit_code == 3, result.output
    assert ("błąd: odpowiedź na zapis przepadła (połączenie zamknięte bez odpowiedzi); odczyt kontrolny: "
            "wyniki NIE zostały zapisane") in result.output


# ------------------------------------------------------------------ the add-on's files


def test_init_prints_the_add_on_steps_in_polish(sheets_emulator, monkeypatch, tmp_path):
    monkeypatch.setenv("KPIRULES_SHEETS_EMULATOR_HOST", sheets_emulator.host)
    sheets_emulator.add_spreadsheet("mysheet", {"Data": [["Date", "Visits"], ["2026-11-01", 3]]}, locale="pl_PL")
    folder = tmp_path / "kpi-addon"
    result = CliRunner().invoke(cli, ["init", "mysheet", "--addon", str(folder), "--config", polish_settings(tmp_path),
                                      "--service-url", "https://kpirules-abc-ew.a.run.app"])
    assert result.exit_code == 0, result.output
    assert "Rules: utworzona (1 przykładowa reguła)\nHistory: utworzona (10 nowych kolumn)\n" in result.output
    assert "przygotowano mysheet. Dalej: popraw reguły w karcie Rules, potem `kpirules run mysheet`." in result.output
    assert f"zapisano {folder / 'Code.gs'}" in result.output
    assert "Aby dodać dodatek do arkusza (clasp to wiersz poleceń Google Apps Script):" in result.output
    assert "npm install -g @google/clasp        # raz; wymaga Node.js" in result.output
    assert "Wczytaj arkusz ponownie: pojawi się menu Reguły KPI. Raz użyj Reguły KPI > Przygotuj ten arkusz." in (
        result.output)
    assert "clasp create --type sheets --title \"KPI rules\" --parentId mysheet" in result.output


def test_a_service_url_that_is_no_https_url_is_refused_in_polish():
    from kpirules.errors import SourceError
    from kpirules.serve.addon_files import check_service_url

    with speaking("pl"), pytest.raises(SourceError) as refused:
        check_service_url("http://x.org")
    assert refused.value.message == "'http://x.org' nie jest adresem https usługi kpirules"
    assert refused.value.hint.startswith("podaj adres URL wypisany przez `gcloud run deploy`")
    with speaking("pl"), pytest.raises(SourceError) as refused:
        check_service_url("https://kpirules.example/run")
    assert refused.value.message == "'https://kpirules.example/run' zawiera ścieżkę: podaj główny adres URL usługi"


def test_init_says_a_workbook_is_already_set_up_in_polish(tmp_path):
    book = make_workbook(tmp_path / "kpis.xlsx")
    config = polish_settings(tmp_path)
    first = CliRunner().invoke(cli, ["init", str(book), "--config", config])
    assert first.exit_code == 0, first.output
    assert f"przygotowano {book}. Dalej: popraw reguły w karcie Rules, potem `kpirules run {book}`." in first.output
    again = CliRunner().invoke(cli, ["init", str(book), "--config", config])
    assert again.exit_code == 0, again.output
    assert again.output == f"{book}: wszystko jest już przygotowane; nie ma nic do zrobienia.\n"


def test_late_data_alerts_and_disabled_rules_are_said_in_polish(tmp_path):
    import datetime as dt

    book = make_workbook(tmp_path / "kpis.xlsx")
    config = polish_settings(tmp_path)
    assert run(book, "--as-of", AS_OF.isoformat(), "--config", config).exit_code == 2
    later = run(book, "--as-of", (AS_OF + dt.timedelta(days=7)).isoformat(), "--config", config)
    assert later.exit_code in (2, 6), later.output
    assert ("alert: dane kolumny visits kończą się 25.11.2026, później niż pozwala late_after (data_late)"
            in later.output)
    assert later.output.splitlines()[-1].startswith("5 reguł (1 wyłączona) na dzień 03.12.2026: ")
    assert "; zapisano historię: 6 nowych / 15 zaktualizowanych (0 przeliczonych), 2 zmiany stanu" in later.output
