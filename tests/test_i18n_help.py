"""``kpirules COMMAND --help --lang pl``: the whole help page in Polish (click's headings from
click's catalog; every command's and option's help and the command list from ours), for every
command, also those that take no ``--lang``; English help exactly as click renders it."""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys

import click
import pytest
from test_i18n_click import ROOT, kpirules, read

from kpirules import i18n
from kpirules.cli.main import COMMANDS, cli

ROOT_CONTEXT = {"info_name": "kpirules", "help_option_names": ["-h", "--help"]}


def command_tree() -> dict[tuple[str, ...], click.Command]:
    """Every command line's command: (), ("check",), ("auth", "login")..."""
    found: dict[tuple[str, ...], click.Command] = {(): cli}
    ctx = click.Context(cli, **ROOT_CONTEXT)

    def walk(path: tuple[str, ...], command: click.Command) -> None:
        found[path] = command
        if isinstance(command, click.Group) and path:
            for name in command.list_commands(ctx):
                walk((*path, name), command.commands[name])

    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None
        walk((name,), command)
    return found


COMMAND_LINES = list(command_tree())


def help_texts(command: click.Command) -> list[str]:
    """What ``--help`` shows of ``command`` in words: its help and its options' help."""
    texts = [inspect.cleandoc(command.help)] if command.help else []
    return texts + [p.help for p in command.params if getattr(p, "help", None)]  # type: ignore[attr-defined]


def test_every_help_text_has_a_polish_entry():
    """Each paragraph of every command's help, of every option's help and of the command list
    (``kpirules --help``) has a Polish translation, other than its English; the help click
    gives its own options (``--version``) is in click's catalog."""
    ours, clicks = read("kpirules"), read("click")
    texts = [help_ for _, help_ in COMMANDS.values()]
    for command in command_tree().values():
        texts += help_texts(command)
    missing = []
    for text in texts:
        for message in i18n.help_messages(text):
            entry = ours.get(message) or clicks.get(message)
            if entry is None or not entry.string or entry.string == message:
                missing.append(message)
    assert missing == [], "help without Polish: add it to kpirules/locale/pl/LC_MESSAGES/kpirules.po"
    assert len(texts) > 100


# What the Polish keeps as written: options, commands and files, setting and variable names,
# statuses, metavars and placeholders (SOURCE, FILE...), example command lines.
KEPT = re.compile(r"--[a-z][a-z-]*|`[^`]+`|\$?\b[A-Z][A-Z0-9_-]{2,}\b|\b[\w.-]+\.(?:kpi|xlsx|csv|toml|md|json|html)\b"
                  r"|\b[a-z]+_[a-z_]+\b|^ +kpirules .*$", re.MULTILINE)


def test_polish_help_keeps_names_as_they_are():
    ours = read("kpirules")
    changed = []
    for command in command_tree().values():
        for text in help_texts(command):
            for message in i18n.help_messages(text):
                entry = ours.get(message)
                if entry is None:
                    continue  # click's own (--version): its catalog's test checks it
                lost = sorted(set(KEPT.findall(message)) - set(KEPT.findall(entry.string)))
                if lost:
                    changed.append((message[:40], lost))
    assert changed == []


@pytest.mark.parametrize("line", COMMAND_LINES, ids=lambda line: " ".join(line) or "kpirules")
def test_help_in_polish_for_every_command(line):
    """A real process: no option's or command's English help is left on the page."""
    status, out, err = kpirules(*line, "--help", "--lang", "pl")
    assert (status, err) == (0, "")
    assert out.startswith(f"Użycie: {' '.join(('kpirules', *line))} ") and "\nOpcje:\n" in out
    page = " ".join(out.split())
    command = command_tree()[line]
    english = [text for text in help_texts(command) for message in i18n.help_messages(text)
               if " ".join(message.split()) in page]
    assert english == []
    assert "Pokaż tę pomoc i zakończ." in page


def test_a_polish_help_page_in_full():
    status, out, _ = kpirules("run", "--help", "--lang", "pl")  # run takes no --lang of its own
    assert status == 0
    page = " ".join(out.split())
    assert "Oblicz reguły SOURCE i zapisz wyniki z powrotem w nim." in page
    assert "--dry-run Wypisz każdą komórkę i każdy wiersz, które zostałyby zapisane" in page
    assert "--no-notify Zapisz wiersze w karcie Alerts, ale nie wysyłaj powiadomień." in page
    assert "--format [text|json] text dla ludzi, json dla skryptów. [domyślnie: text]" in page
    # \b paragraphs keep their lines: the exit statuses, the examples as they are typed
    assert "\n  Kod wyjścia (docs/running.md): 0 wszystko w porządku" in out
    assert "\n  Przykłady:\n    kpirules run examples/marketing.xlsx --as-of 2026-11-26\n" in out
    # --lang before --help, and --lang=pl, as anywhere on the line
    assert kpirules("run", "--lang=pl", "-h")[1] == out


def test_the_command_list_in_polish():
    for line in (["--help", "--lang", "pl"], ["--lang", "pl", "--help"], ["--lang=pl", "-h"]):
        status, out, err = kpirules(*line)
        assert (status, err) == (0, "")
        assert "\nPolecenia:\n" in out and "Commands:" not in out
        assert "  check       Oblicz reguły na danych ze źródła i wypisz wyniki.\n" in out
        assert "  --debug     Pokaż pełny ślad stosu (traceback) błędu wewnętrznego.\n" in out
        assert "  --version   Pokaż wersję i zakończ.\n" in out
    status, out, _ = kpirules("auth", "--help", "--lang", "pl")
    assert status == 0 and "  logout  Usuń zapisany token logowania.\n" in out


def test_the_version_line_in_the_language_asked():
    from kpirules._version import __version__

    assert kpirules("--lang", "pl", "--version")[:2] == (0, f"kpirules, wersja {__version__}\n")
    assert kpirules("--version")[:2] == (0, f"kpirules, version {__version__}\n")


def test_lang_on_a_command_without_it_is_still_refused_outside_help():
    """Only help takes --lang everywhere: run has no --lang (its language is the sheet's)."""
    status, out, err = kpirules("run", "x.xlsx", "--lang", "pl")
    assert (status, out) == (2, "")
    assert err.splitlines()[-1] == "Błąd: Nie ma opcji '--lang'."


# In a process of its own: a command's help option is built once, in the language of the
# first command line that parses it (this process's other tests speak Polish).
ENGLISH_PROBE = """
import json, click
from click.testing import CliRunner
from test_i18n_help import COMMAND_LINES, ROOT_CONTEXT, command_tree
from kpirules.cli.main import cli
pages = []
for line in COMMAND_LINES:
    result = CliRunner().invoke(cli, [*line, "--help"], env={"NO_COLOR": "1"}, prog_name="kpirules")
    ctx = click.Context(cli, terminal_width=80, **ROOT_CONTEXT)  # click's own; CliRunner's width
    for depth, name in enumerate(line, 1):
        ctx = click.Context(command_tree()[line[:depth]], info_name=name, parent=ctx)
    pages.append([" ".join(line), result.exit_code, result.output, ctx.get_help() + "\\n"])
print(json.dumps(pages))
"""


def test_english_help_is_click_s_own():
    """Without --lang, every help page is exactly what click renders for the command."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KPIRULES", "_KPIRULES", "LANG", "LC_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "tests"), env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, "-c", ENGLISH_PROBE], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    pages = json.loads(proc.stdout)
    assert len(pages) == len(COMMAND_LINES)
    for line, status, shown, clicks in pages:
        assert (line, status) == (line, 0)
        assert shown == clicks, line
        assert shown.startswith("Usage: kpirules") and "Show this message and exit." in shown
