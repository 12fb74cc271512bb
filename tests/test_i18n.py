"""Polish: the catalog covers every message, plurals are right, numbers and dates are written
the Polish way, and the commands speak it (``--lang``, the setting, a Google Sheet's locale)
while JSON keys and statuses stay English."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kpirules import i18n
from kpirules.cli.main import cli

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "kpirules" / "locale" / "pl" / "LC_MESSAGES" / "kpirules.po"
MO = PO.with_suffix(".mo")
NBSP = "\u00a0"


def catalog():
    from babel.messages.pofile import read_po

    with open(PO, "rb") as fh:
        return read_po(fh, locale="pl")


# Words Polish writes as English does (the messages call a segment "segment" too).
SAME_IN_POLISH = {"Segment"}


def test_every_message_has_a_polish_translation_that_differs_from_the_english():
    cat = catalog()
    missing, same = [], []
    for key, where in i18n.source_messages().items():
        entry = cat.get(key[0] if isinstance(key, tuple) else key)
        if entry is None or not entry.string or (isinstance(key, tuple) and len(entry.string) != 3):
            missing.append((key, where))
            continue
        english = set(key) if isinstance(key, tuple) else {key}
        forms = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if any(not f or (f in english and f not in SAME_IN_POLISH) for f in forms):
            same.append((key, where))
    assert missing == [], "messages without a Polish translation (kpirules/locale/pl/.../kpirules.po)"
    assert same == [], "Polish translations identical to the English"
    assert len(i18n.source_messages()) > 60
    # The headers written into sheets: a Polish header for each, never the English one.
    assert all(pl and (pl != en or pl in SAME_IN_POLISH) for en, pl in i18n.HEADERS_PL.items())


def test_no_message_is_in_the_catalog_twice():
    # Merged branches may each add the same message: the compiled catalog keeps one of the
    # two translations, silently.
    import collections
    import re

    keys = re.findall(r'^(?:msgctxt "(.*)"\n)?msgid "(.+)"$', PO.read_text(encoding="utf-8"), re.M)
    assert [k for k, n in collections.Counter(keys).items() if n > 1] == []


def test_the_compiled_catalog_is_the_po_file():
    from babel.messages.mofile import read_mo

    with open(MO, "rb") as fh:
        compiled = read_mo(fh)
    po = catalog()
    def entries(cat):
        return {tuple(m.id) if isinstance(m.id, (list, tuple)) else m.id:
                tuple(m.string) if isinstance(m.string, (list, tuple)) else m.string for m in cat if m.id}

    expected, got = entries(po), entries(compiled)
    assert got == expected, "run `python -m kpirules.i18n` after editing the .po file"


@pytest.mark.parametrize("n, text", [(1, "1 wiersz"), (2, "2 wiersze"), (5, "5 wierszy"), (12, "12 wierszy"),
                                     (22, "22 wiersze"), (25, "25 wierszy"), (104, "104 wiersze")])
def test_polish_plural_forms(n, text):
    i18n.set_language("pl")
    got = i18n.ngettext("{n} row on {days}", "{n} rows on {days}", n).format(n=n, days="7 dni")
    assert got == f"{text} (7 dni)"
    assert i18n.ngettext("{n} day", "{n} days", n).format(n=n).endswith("dzień" if n == 1 else "dni")


def test_numbers_and_dates_the_polish_way():
    from kpirules.format import format_threshold, format_value, period_text
    from kpirules.results import Period

    assert (format_value(0.0224, "%"), format_value(1399.0), format_value(1234.5)) == ("2.24%", "1,399", "1,234.50")
    i18n.set_language("pl")
    assert format_value(0.0224, "%") == "2,24%"
    assert format_value(1399.0) == f"1{NBSP}399"
    assert format_value(1234.5) == f"1{NBSP}234,50"
    assert format_value(-0.15, "%") == "-15,00%" and format_threshold(120000.0, "k") == "120k"
    assert i18n.date_text(dt.date(2026, 11, 26)) == "26.11.2026"
    assert period_text(Period(dt.date(2026, 11, 16), dt.date(2026, 11, 22))) == "16\u201322.11.2026"
    assert period_text(Period(dt.date(2026, 10, 29), dt.date(2026, 11, 25))) == "29.10\u201325.11.2026"
    i18n.set_language("en")
    assert period_text(Period(dt.date(2026, 11, 16), dt.date(2026, 11, 22))) == "2026-11-16..22"


def check(*args):
    return CliRunner().invoke(cli, ["check", *args])


def test_check_speaks_polish_with_lang_pl():
    result = check(str(ROOT / "examples" / "polish.xlsx"), "--as-of", "2026-11-26", "--lang", "pl")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "6,41% spełnia cel >= 5% (505 zapisy_newsletter / 7\u00a0876 kliknięcia, 16\u201322.11.2026)" in out
    assert "nie poziom ostrzeżenia 10" in out and "93 wiersze (31 dni)" in out
    assert "6 reguł, 7 wyników na dzień 26.11.2026: 6 PASS, 1 WARN" in out
    english = check(str(ROOT / "examples" / "polish.xlsx"), "--as-of", "2026-11-26")
    assert "6.41% meets target >= 5%" in english.output  # no setting, no Sheet locale: English


def test_json_keys_and_statuses_stay_english():
    result = check(str(ROOT / "examples" / "polish.xlsx"), "--as-of", "2026-11-26", "--lang", "pl",
                   "--format", "json")
    doc = json.loads(result.output)
    first = doc["results"][0]
    assert set(first) >= {"name", "rule", "status", "value", "threshold", "period", "message"}
    assert first["status"] == "PASS" and first["period"] == {"start": "2026-11-16", "end": "2026-11-22"}
    assert isinstance(first["value"], float) and "spełnia cel" in first["message"]


def test_explain_speaks_polish():
    result = CliRunner().invoke(cli, ["explain", str(ROOT / "examples" / "polish.xlsx"), "Konwersja zapisów",
                                      "--as-of", "2026-11-26", "--lang", "pl"])
    assert result.exit_code == 0, result.output
    out = result.output
    for text in ("  okres      16.11.2026 .. 22.11.2026 (weekly, na dzień 26.11.2026)",
                 "  policzono  21 wierszy (7 dni)", "suma z 21 niepustych komórek",
                 "= 505 / 7\u00a0876 = 6,41%", "  cel        >= 5%: PASS", "ostatnich 8 okresów, od najstarszego"):
        assert text in out, text
    segments = CliRunner().invoke(cli, ["explain", str(ROOT / "examples" / "polish.xlsx"), "CTR reklam",
                                        "--as-of", "2026-11-26", "--lang", "pl"])
    assert "2 segmenty, od najgorszego:" in segments.output


def test_the_language_setting_and_a_polish_sheet_locale_choose_polish(tmp_path, monkeypatch, sheet_from_rows,
                                                                        sheets_emulator):
    (tmp_path / "kpirules.toml").write_text('language = "pl"\ndate_column = "Data"\n')
    monkeypatch.chdir(tmp_path)
    result = check(str(ROOT / "examples" / "polish.xlsx"), "--as-of", "2026-11-26")
    assert "na dzień 26.11.2026" in result.output
    (tmp_path / "kpirules.toml").unlink()
    monkeypatch.setenv("KPIRULES_SHEETS_EMULATOR_HOST", sheets_emulator.host)
    rows = [["date", "visits", "signups"]] + [[f"2026-11-{d:02d}", 1000, 30] for d in range(16, 23)]
    key = sheet_from_rows(rows, locale="pl_PL", tabs={"Rules": [["Name", "Rule"], ["conv", "signups / visits >= 2% weekly"]]})
    on_sheet = check(key, "--as-of", "2026-11-26")
    assert "3,00% spełnia cel >= 2%" in on_sheet.output, on_sheet.output
    assert "3.00% meets" in check(key, "--as-of", "2026-11-26", "--lang", "en").output


def test_the_report_speaks_polish(tmp_path):
    out = tmp_path / "r.html"
    result = CliRunner().invoke(cli, ["report", str(ROOT / "examples" / "polish.xlsx"), "--as-of", "2026-11-26",
                                      "--lang", "pl", "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert '<html lang="pl">' in text and "Podsumowanie" in text and "Brak historii" in text
    assert "Na dzień 26.11.2026" in text and "spełnia cel" in text
    assert 'data-period="2026-11-16..2026-11-22"' in text  # machine-readable attributes stay ISO


def test_lint_speaks_polish(tmp_path):
    rules = tmp_path / "rules.kpi"
    rules.write_text("a: visits >= 1000 weekly\nb: visits >= 1000 weekly\nc: signups / visits = 2% weekly\n")
    result = CliRunner().invoke(cli, ["lint", str(rules), "--lang", "pl"])
    out = result.output
    assert "KPI004 `b`: mówi dokładnie to samo co `a` (wiersz 1)" in out
    assert "    poprawka: usuń `b` i zostaw `a`" in out
    assert "sprawdzono 3 reguły: 4 uwagi" in out
    english = CliRunner().invoke(cli, ["lint", str(rules)]).output
    assert "3 rules linted: 4 findings" in english and "rewrite: delete `b` and keep `a`" in english


def test_a_polish_sheet_gets_polish_headers_and_a_later_run_finds_them(sheets_emulator, monkeypatch):
    from test_run_common import AS_OF, DATA_HEADERS, data_rows, history_keys

    monkeypatch.setenv("KPIRULES_SHEETS_EMULATOR_HOST", sheets_emulator.host)
    rules = [["Name", "Rule"], ["conversion", "signups / visits >= 2% weekly warn at 2.5%"],
             ["by_campaign", "signups / visits >= 1.5% weekly by campaign"]]
    key = sheets_emulator.add_spreadsheet("1PolishSheet0123456789abcdefghijklmnopqrstu",
                                          {"Data": [DATA_HEADERS] + data_rows(), "Rules": rules},
                                          locale="pl_PL", time_zone="Europe/Warsaw")

    def run():
        result = CliRunner().invoke(cli, ["run", key, "--as-of", AS_OF.isoformat(), "--no-notify"])
        assert result.exit_code == 1, result.output

    run()
    headers = sheets_emulator.values(key, "Rules")[0]
    assert headers == ["Name", "Rule", "Stan", "Wartość", "Próg docelowy", "Okres", "Sprawdzono", "Komunikat"]
    message = sheets_emulator.values(key, "Rules")[1][7]
    # Numbers the Polish way; the rule's own literals (2.5%) stay as the rule writes them.
    assert message == ("2,05% spełnia cel >= 2%, ale nie poziom ostrzeżenia 2.5% "
                       "(301 signups / 14\u00a0700 visits, 16\u201322.11.2026)"), message
    history = sheets_emulator.values(key, "History")
    assert history[0][:4] == ["Reguła", "Segment", "Początek okresu", "Koniec okresu"]
    assert sheets_emulator.values(key, "Dashboard")[0][:3] == ["Reguła", "Segment", "Tendencja"]
    run()  # found by their Polish headers: no second set of columns, no duplicate History rows
    assert sheets_emulator.values(key, "Rules")[0] == headers
    keys = history_keys([["rule", "segment", "period start", "period end"]] + sheets_emulator.values(key, "History")[1:])
    assert len(keys) == len(set(keys)) and len(sheets_emulator.values(key, "History")[0]) == 10


def test_english_headers_are_found_when_the_language_changes(tmp_path):
    import shutil

    import openpyxl

    book = tmp_path / "kpis.xlsx"
    shutil.copy(ROOT / "tests" / "data" / "history-0.1.0.xlsx", book)  # English headers
    wb = openpyxl.load_workbook(book)
    wb["Settings"].append(["language", "pl"])
    wb.save(book)
    result = CliRunner().invoke(cli, ["run", str(book), "--as-of", "2026-11-26", "--no-notify"])
    assert result.exit_code == 1, result.output
    wb = openpyxl.load_workbook(book)
    assert [c.value for c in wb["History"][1]] == ["Rule", "Segment", "Period start", "Period end", "Status", "Value",
                                                  "Threshold", "Numbers", "Checked at", "Restated"]
    rules = [c.value for c in wb["Rules"][1]]
    assert rules == ["Name", "Rule", "Status", "Value", "Target", "Period", "Checked", "Message"]
    assert wb["Rules"]["H3"].value == "1 z 2 segmentów poniżej 1.5%: social_prospect 1,20%"


def test_a_polish_history_of_an_earlier_release_keeps_its_grupa_column(tmp_path):
    # Earlier releases named History's segment column "Grupa" in Polish; it is still the
    # segment column: no second one is added and no segment's row is written twice.
    import openpyxl
    from test_run_xlsx import make_workbook, tab_rows

    book = make_workbook(tmp_path / "kpis.xlsx")
    config = tmp_path / "kpirules.toml"
    config.write_text('language = "pl"\n')

    def run(day: str) -> None:
        result = CliRunner().invoke(cli, ["run", str(book), "--as-of", day, "--config", str(config), "--no-notify"])
        assert result.exit_code in (1, 2), result.output

    run("2026-11-26")
    wb = openpyxl.load_workbook(book)
    assert wb["History"]["B1"].value == "Segment"
    wb["History"]["B1"].value = "Grupa"
    wb.save(book)
    before = tab_rows(book, "History")
    run("2026-11-26")
    after = tab_rows(book, "History")
    assert after[0] == before[0] and after[0][1] == "Grupa"
    assert len(after) == len(before) and any(r[1] for r in after[1:])  # segments upserted in place


def test_alert_emails_and_slack_speak_polish():
    from test_notify_trend import alert

    from kpirules.notify.email import email_message
    from kpirules.notify.slack import slack_payload

    i18n.set_language("pl")
    msg = email_message([alert()], sender="kpi@example.com", to=["anna@example.com"])
    text = msg.get_body(preferencelist=("plain",)).get_content()
    # No previous value: no direction, the value and the threshold it misses (docs/running.md).
    assert "conversion (signups / visits >= 2% weekly) — wartość 1.83%, poniżej progu 2% za 16\u201322.11.2026" \
           " (wcześniej PASS)" in text
    import dataclasses

    fell = dataclasses.replace(alert(), previous_value=0.021, previous_value_text="2.10%")
    text = email_message([fell], sender="kpi@example.com", to=["anna@example.com"]).get_body(
        preferencelist=("plain",)).get_content()
    assert "spadł do 1.83% z 2.10%, poniżej progu 2% za 16\u201322.11.2026 (wcześniej PASS)" in text
    assert "Trend (5 okresów, od najstarszego): ██▇ ▁ \u2198 spadek z 2,84% do 1,83%" in text
    assert "Wysłane przez kpirules." in text
    html = msg.get_body(preferencelist=("html",)).get_content()
    assert 'alt="Trend conversion, od najstarszego: 3,01% PASS' in html
    section = slack_payload(alert())["blocks"][0]["text"]["text"]
    assert "spadek z 2,84% do 1,83%" in section


def test_run_prints_its_summary_in_the_sheets_language(tmp_path):
    import shutil

    import openpyxl

    book = tmp_path / "kpis.xlsx"
    shutil.copy(ROOT / "tests" / "data" / "history-0.1.0.xlsx", book)
    wb = openpyxl.load_workbook(book)
    wb["Settings"].append(["language", "pl"])
    wb.save(book)
    result = CliRunner().invoke(cli, ["run", str(book), "--as-of", "2026-11-26", "--no-notify"])
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("3 reguły na dzień 26.11.2026: 1 PASS, 1 WARN, 1 FAIL; zapisano historię: "), last
    assert last.endswith("0 zmian stanu")


def test_parse_errors_speak_polish(tmp_path):
    rules = tmp_path / "rules.kpi"
    rules.write_text("conv: signups / visits >= weekly\nx: signups / visits >= 2% weekly warn at 1%\n")
    result = CliRunner().invoke(cli, ["validate", str(rules), "--lang", "pl"])
    assert result.exit_code == 1
    out = result.output
    # The location, the category and the rule's own words stay as they are.
    assert f"{rules}:1:27: syntax: oczekiwano progu po `>=`, np. `>= 2%`" in out
    assert "invalid-rule: `warn at 1%` musi być ostrzejsze niż próg 2%: wyższe dla reguły `>=`" in out
    assert "    wskazówka: reguła `>= 2%` ostrzega" in out
    assert "2 reguły w 1 pliku: 2 błędy" in out
    english = CliRunner().invoke(cli, ["validate", str(rules)]).output
    assert "syntax: expected a threshold after `>=`, e.g. `>= 2%`" in english
    assert "2 rules in 1 file: 2 problems" in english


def test_a_rule_that_does_not_parse_in_a_polish_sheet_is_said_in_polish(tmp_path):
    """The language setting applies before the rules are parsed (kpirules.engine.prepare)."""
    (tmp_path / "kpirules.toml").write_text('language = "pl"\n')
    rules = tmp_path / "rules.kpi"
    rules.write_text("conv: zapisy_newsletter / kliknięcia >= 2% fortnightly\n")
    result = CliRunner().invoke(cli, ["check", str(ROOT / "examples" / "polish.xlsx"), "--rules", str(rules),
                                      "--as-of", "2026-11-26", "--config", str(tmp_path / "kpirules.toml")])
    assert result.exit_code == 2, result.output
    assert "nieznane okno `fortnightly`" in result.output and "czy chodziło o `over last 2 weeks`?" in result.output


def test_the_language_setting_applies_to_its_own_file_and_lang_wins(tmp_path):
    config = tmp_path / "kpirules.toml"
    config.write_text('language = "pl"\nrestate_periods = "many"\n')
    result = CliRunner().invoke(cli, ["check", str(ROOT / "examples" / "polish.xlsx"), "--config", str(config)])
    assert result.exit_code == 2 and "wskazówka: popraw ustawienia" in result.output  # said in the file's language
    config.write_text('language = "pl"\ndata_tab = "Dane"\n')
    result = CliRunner().invoke(cli, ["check", str(ROOT / "examples" / "polish.xlsx"), "--config", str(config)])
    assert result.exit_code == 3
    assert "nie ma karty o nazwie 'Dane'" in result.output and "`data_tab = Dane` z " in result.output
    assert "popraw tam `data_tab` albo nadpisz je opcją --data-tab" in result.output
    english = CliRunner().invoke(cli, ["check", str(ROOT / "examples" / "polish.xlsx"), "--config", str(config),
                                       "--lang", "en"])
    assert "has no tab named 'Dane'" in english.output and "`data_tab = Dane` from " in english.output
    rules = tmp_path / "rules.kpi"
    rules.write_text("conv: zapisy_newsletter / kliknięcia >= weekly\n")
    config.write_text('language = "pl"\n')
    english = CliRunner().invoke(cli, ["check", str(ROOT / "examples" / "polish.xlsx"), "--rules", str(rules),
                                       "--config", str(config), "--as-of", "2026-11-26", "--lang", "en"])
    assert "expected a threshold after `>=`" in english.output and "as of 2026-11-26" in english.output


def test_config_errors_speak_polish(tmp_path):
    config = tmp_path / "kpirules.toml"
    config.write_text('languag = "pl"\ntimeout = -1\n')
    result = CliRunner().invoke(cli, ["check", str(ROOT / "examples" / "polish.xlsx"), "--config", str(config),
                                      "--lang", "pl"])
    assert result.exit_code == 2
    out = result.output
    assert f"błąd: {config}:1: config: nieznane ustawienie `languag`" in out  # the key stays as written
    assert "wskazówka: czy chodziło o `language`?" in out
    assert f"{config}:2: config: `timeout`: wartość powinna być większa niż 0" in out
    assert "wskazówka: popraw ustawienia (docs/configuration.md wymienia wszystkie klucze)" in out
    english = CliRunner().invoke(cli, ["check", str(ROOT / "examples" / "polish.xlsx"), "--config", str(config)])
    assert "unknown setting `languag`" in english.output and "Input should be greater than 0" in english.output


def test_source_errors_speak_polish(tmp_path):
    missing = tmp_path / "nie-ma.csv"
    result = CliRunner().invoke(cli, ["check", str(missing), "--lang", "pl"])
    assert result.exit_code == 3
    assert f"błąd: nie ma takiego pliku: {missing}" in result.output
    tab = CliRunner().invoke(cli, ["check", str(ROOT / "examples" / "polish.xlsx"), "--data-tab", "Dane2",
                                   "--lang", "pl"])
    assert tab.exit_code == 3
    assert "nie ma karty o nazwie 'Dane2'" in tab.output and "--data-tab" in tab.output
    empty = tmp_path / "empty.csv"
    empty.write_text("date,visits\n")
    (tmp_path / "r.kpi").write_text("a: visits >= 1 weekly\n")
    said = CliRunner().invoke(cli, ["check", str(empty), "--rules", str(tmp_path / "r.kpi"), "--lang", "pl"])
    assert said.exit_code == 3
    assert "błąd: karta empty.csv: brak danych, nic pod wierszem nagłówków" in said.output
    assert "wskazówka: wyeksportuj albo wklej do niej dane" in said.output
    english = CliRunner().invoke(cli, ["check", str(missing)])
    assert f"error: no such file: {missing}" in english.output


def test_data_problems_and_late_data_speak_polish(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("date,visits\n" + "".join(f"2026-11-{d:02d},{'dużo' if d == 11 else 100}\n"
                                              for d in range(9, 21)), encoding="utf-8")
    rules = tmp_path / "rules.kpi"
    rules.write_text("week: visits >= 10 weekly\nlast_week: visits >= 10 weekly\n")
    result = check(str(data), "--rules", str(rules), "--as-of", "2026-11-17", "--lang", "pl")
    out = result.output
    assert "zawiera 'dużo', a nie liczbę" in out, out  # the cell's own text, quoted as it is
    assert "dane do 16.11.2026" in out
    late = check(str(data), "--rules", str(rules), "--as-of", "2026-11-24", "--lang", "pl")
    assert "brak danych za 16\u201322.11.2026: visits: dane są tylko do 20.11.2026" in late.output, late.output
    assert "ostrzeżenie: visits: dane kończą się 20.11.2026" in late.output


def test_the_second_part_of_the_language_speaks_polish():
    """Pace, a guard that is not met and a confidence interval, in Polish with Polish numbers."""
    result = check(str(ROOT / "examples" / "marketing.xlsx"), "--as-of", "2026-11-26", "--lang", "pl")
    out = result.output
    assert "w tym tempie 290,1k z 300k: 241,8k w 25 z 30 dni (01–25.11.2026)" in out
    assert f"visits: za mało, by ocenić (2{NBSP}101 z wymaganych 2{NBSP}500) (16–22.11.2026)" in out
    assert "0,73% (przedział ufności 95%: 0,6%–0,9%) nie spełnia celu >= 1.2%" in out
    assert "(przedział ufności 95%: 1,1%–1,7%): za mało pewne, by ocenić względem >= 1.2%" in out
    english = check(str(ROOT / "examples" / "marketing.xlsx"), "--as-of", "2026-11-26").output
    assert "on pace for 290.1k of 300k: 241.8k in 25 of 30 days" in english
    assert "(95% interval 0.6%-0.9%) misses >= 1.2%" in english


def test_baselines_and_their_changes_speak_polish():
    """`vs previous`, `vs last year`, `vs average of last 4` in words, with Polish numbers
    (a change in percentage points too: ``+0,14pp``)."""
    import itertools

    from kpirules import ast
    from kpirules.format import baseline_words

    result = check(str(ROOT / "examples" / "marketing.xlsx"), "--as-of", "2026-11-26", "--lang", "pl")
    out = result.output
    assert "+0,14pp wobec: średnia z ostatnich 4 tygodni (2,44%) spełnia cel >= -0.3pp " \
           "(signups / visits 2,59% w okresie 16–22.11.2026)" in out
    assert "wobec 274\u00a0724,15 w okresie 01–31.10.2025, ten sam miesiąc rok wcześniej)" in out
    english = check(str(ROOT / "examples" / "marketing.xlsx"), "--as-of", "2026-11-26").output
    assert "+0.14pp vs the average of the last 4 weeks (2.44%) meets target >= -0.3pp" in english
    i18n.set_language("pl")
    said = {(unit, kind, n): baseline_words(ast.Baseline(kind, n), ast.Window(unit))
            for unit, kind, n in itertools.product(("day", "week", "month", "quarter", "year"),
                                                   ("previous", "last_year", "average"), (1, 4))}
    assert said[("week", "previous", 1)] == "poprzedni tydzień"
    assert said[("month", "last_year", 1)] == "ten sam miesiąc rok wcześniej"
    assert said[("quarter", "average", 4)] == "średnia z ostatnich 4 kwartałów"
    assert not any("the " in words for words in said.values())
    to_date = baseline_words(ast.Baseline("previous"), ast.Window("month", to_date=True))
    assert to_date == "te same dni poprzedniego miesiąca"
