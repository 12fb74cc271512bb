"""click's own messages under ``--lang pl``: ``Usage:``, ``Error: Invalid value for ...``,
``No such option``, ``Missing argument``... come from click's catalog beside ours
(kpirules/locale/pl/LC_MESSAGES/click.po), with click's exit status 2 (spec/cli.md: the
command was used wrongly). Real processes, as users run them; and the catalogs' placeholders
checked against their English."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from kpirules import i18n

ROOT = Path(__file__).resolve().parent.parent
LC = ROOT / "kpirules" / "locale" / "pl" / "LC_MESSAGES"
# click's progress bar's "d" (days): kpirules shows no progress bar, and Polish writes "d" too.
# A click.Path's name ("File 'x' is a directory.") is translated once, when the command is
# defined, whatever language a later command line asks for: it stays English, and the Polish
# messages about paths do without it.
NOT_SHOWN = {"d", "file", "directory", "path"}


def read(domain: str):
    from babel.messages.pofile import read_po

    with open(LC / f"{domain}.po", "rb") as fh:
        return read_po(fh, locale="pl")


def test_the_click_catalog_covers_every_message_of_the_installed_click():
    cat = read("click")
    marked = i18n.source_messages(os.path.dirname(click.__file__))
    assert len(marked) > 50
    missing = []
    for key, where in marked.items():
        if key in NOT_SHOWN:
            continue
        entry = cat.get(key[0] if isinstance(key, tuple) else key)
        forms = () if entry is None else entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if not forms or not all(forms) or (isinstance(key, tuple) and len(forms) != 3):
            missing.append((key, where))
    assert missing == [], "click messages without Polish (kpirules/locale/pl/LC_MESSAGES/click.po)"


def test_every_compiled_catalog_is_its_po_file():
    from babel.messages.mofile import read_mo

    for domain in i18n.DOMAINS:
        with open(LC / f"{domain}.mo", "rb") as fh:
            compiled = read_mo(fh)

        def entries(cat):
            return {tuple(m.id) if isinstance(m.id, (list, tuple)) else m.id:
                    tuple(m.string) if isinstance(m.string, (list, tuple)) else m.string for m in cat if m.id}

        assert entries(compiled) == entries(read(domain)), f"run `python -m kpirules.i18n` after editing {domain}.po"


PLACEHOLDER = re.compile(r"\{([A-Za-z_]\w*)[^{}]*\}|%\((\w+)\)s")


def placeholders(text: str) -> set[str]:
    return {brace or percent for brace, percent in PLACEHOLDER.findall(text)}


@pytest.mark.parametrize("domain", i18n.DOMAINS)
def test_translations_use_only_the_placeholders_of_their_english(domain):
    """A translation may leave a placeholder out (Polish says "segmenty" where English fills
    in the noun), never name one the code does not pass: that would be a KeyError when shown."""
    wrong = []
    for message in read(domain):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, (list, tuple)) else (message.id,)
        english = set().union(*(placeholders(i) for i in ids))
        forms = message.string if isinstance(message.string, (list, tuple)) else (message.string,)
        wrong += [(ids[0], form) for form in forms if not placeholders(form) <= english]
    assert wrong == []


def kpirules(*args: str, cwd: Path = ROOT) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KPIRULES", "_KPIRULES", "LANG", "LC_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env["NO_COLOR"] = "1"
    proc = subprocess.run([sys.executable, "-m", "kpirules", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


USAGE_ERRORS = {
    # case: (arguments, English's last line, Polish's last line)
    "bad choice": (["check", "x.csv", "--format", "yaml"],
                   "Error: Invalid value for '--format': 'yaml' is not one of 'table', 'json'.",
                   "Błąd: Niepoprawna wartość '--format': 'yaml' nie jest żadną z wartości 'table', 'json'."),
    "unknown option": (["check", "x.csv", "--nope"], "Error: No such option '--nope'.",
                       "Błąd: Nie ma opcji '--nope'."),
    "unknown option, a guess": (["check", "x.csv", "--quite"],
                                "Error: No such option '--quite'. Did you mean '--quiet'?",
                                "Błąd: Nie ma opcji '--quite'. Czy chodziło o '--quiet'?"),
    "missing argument": (["check"], "Error: Missing argument 'SOURCE'.", "Błąd: Brak argumentu 'SOURCE'."),
    "option without its value": (["check", "x.csv", "--rules"], "Error: Option '--rules' requires an argument.",
                                 "Błąd: Opcja '--rules' wymaga wartości."),
    "extra argument": (["check", "x.csv", "y.csv"], "Error: Got unexpected extra argument (y.csv)",
                       "Błąd: Nieoczekiwany dodatkowy argument (y.csv)"),
    "a folder for a file": (["check", "x.csv", "--rules", "docs"],
                            "Error: Invalid value for '--rules': File 'docs' is a directory.",
                            "Błąd: Niepoprawna wartość '--rules': 'docs' jest katalogiem, a nie plikiem."),
    "bad date (ours)": (["check", "x.csv", "--as-of", "26/11/2026"],
                        "Error: Invalid value for '--as-of': '26/11/2026' is not a date; write it as YYYY-MM-DD, "
                        "e.g. 2026-11-26",
                        "Błąd: Niepoprawna wartość '--as-of': '26/11/2026' nie jest datą; zapisz ją jako RRRR-MM-DD, "
                        "np. 2026-11-26"),
    "unknown command (ours)": (["chek", "x.csv"],
                               "Error: No such command 'chek'. Did you mean 'check'? Commands: check, run, validate, "
                               "test, lint, explain, report, init, auth, completion, serve.",
                               "Błąd: Nie ma polecenia 'chek'. Czy chodziło o 'check'? Polecenia: check, run, "
                               "validate, test, lint, explain, report, init, auth, completion, serve."),
    "unknown lint code (ours)": (["lint", "docs/index.md", "--ignore", "KPI999"],
                                 "Error: Invalid value for --ignore: unknown code 'KPI999'; codes: KPI001, KPI002, "
                                 "KPI003, KPI004, KPI005, KPI006, KPI007, KPI008, KPI009, KPI010",
                                 "Błąd: Niepoprawna wartość --ignore: nieznany kod 'KPI999'; kody: KPI001, KPI002, "
                                 "KPI003, KPI004, KPI005, KPI006, KPI007, KPI008, KPI009, KPI010"),
}


@pytest.mark.parametrize("case", list(USAGE_ERRORS))
def test_usage_errors_in_both_languages_exit_2(case):
    args, english, polish = USAGE_ERRORS[case]
    command = "kpirules" if args[0] == "chek" else f"kpirules {args[0]}"
    status, out, err = kpirules(*args)
    assert (status, out) == (2, "")
    usage = err.startswith("Usage: ")  # click shows it for most, not for an option without its value
    assert usage == (case != "option without its value")
    assert not usage or f"Try '{command} --help' for help." in err
    assert err.rstrip("\n").splitlines()[-1] == english
    # --lang pl, also where click meets the error before it reads --lang
    status, out, err = kpirules(args[0], "--lang", "pl", *args[1:])
    assert (status, out) == (2, ""), err
    assert err.startswith("Użycie: ") == usage
    assert not usage or f"Pomoc: '{command} --help'." in err
    assert err.rstrip("\n").splitlines()[-1] == polish
    assert "Traceback" not in err


def test_an_unknown_language_is_said_in_english():
    status, _, err = kpirules("check", "x.csv", "--lang", "de")
    assert status == 2
    assert err.splitlines()[-1] == "Error: Invalid value for '--lang': 'de' is not one of 'en', 'pl'."


def test_the_commands_own_messages_and_help_headings_follow_lang():
    status, out, _ = kpirules("check", "--help", "--lang", "pl")
    assert status == 0
    assert out.startswith("Użycie: kpirules check [OPTIONS] SOURCE") and "\nOpcje:\n" in out
    assert "Pokaż tę pomoc i zakończ." in out
    status, out, _ = kpirules("check", "--help")
    assert out.startswith("Usage: kpirules check") and "Show this message and exit." in out


def test_in_one_process_the_language_follows_each_command_line():
    """click builds some words when a command is defined (a Path's "File"): the Polish does
    not use them, so a command loaded in English and then run in Polish says all in Polish."""
    runner = CliRunner()
    from kpirules.cli.main import cli

    english = runner.invoke(cli, ["check", "x.csv", "--rules", "docs"])
    assert english.exit_code == 2 and "Error: Invalid value for '--rules': File 'docs' is a directory." in english.output
    polish = runner.invoke(cli, ["check", "x.csv", "--rules", "docs", "--lang", "pl"])
    assert polish.exit_code == 2
    assert "Błąd: Niepoprawna wartość '--rules': 'docs' jest katalogiem, a nie plikiem." in polish.output
    i18n.set_language("en")
    again = runner.invoke(cli, ["check", "x.csv", "--nope"])
    assert "Error: No such option '--nope'." in again.output
