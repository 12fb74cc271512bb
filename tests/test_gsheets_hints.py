"""Every hint the Google Sheets connector gives names only settings, options and commands
that exist: a `setting` in backticks is a field of the settings model, a --option is an
option of some kpirules command, `kpirules ...` (or `run`) is a command. Read from the source (the
hints are built in many branches, several only reachable with Google itself), so that a
renamed setting cannot leave a hint pointing at nothing."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import click
import pytest

ROOT = Path(__file__).resolve().parent.parent
# The Sheets connector and what it raises through: its HTTP, errors, writes, reads, the
# retry policy it runs every call under, and the credentials it resolves.
MODULES = [*sorted((ROOT / "connectors").glob("gsheets*.py")), ROOT / "kpirules" / "retry.py",
           ROOT / "kpirules" / "gauth.py"]


def _strings(node: ast.AST) -> list[str]:
    out = []
    for n in ast.walk(node):
        if isinstance(n, ast.Constant) and isinstance(n.value, str):
            out.append(n.value)
    return out


def hint_texts(path: Path) -> list[str]:
    """The text of every hint in ``path``: ``hint=`` arguments, values given to a name
    ``hint``, module constants and functions whose name says hint (HOW_TO_AUTHENTICATE,
    share_hint...), and the hint argument of a RetryExhausted."""
    tree = ast.parse(path.read_text())
    texts: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg == "hint":
                    texts += _strings(kw.value)
            if getattr(node.func, "id", None) == "RetryExhausted" and len(node.args) > 1:
                texts += _strings(node.args[1])
        elif isinstance(node, ast.Assign):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            if any(n == "hint" or n.startswith("HOW_TO") for n in names):
                texts += _strings(node.value)
        elif isinstance(node, ast.FunctionDef) and node.name.endswith("_hint"):
            for ret in ast.walk(node):
                if isinstance(ret, ast.Return) and ret.value is not None:
                    texts += _strings(ret.value)
    return texts


def cli_names() -> tuple[set[str], set[str]]:
    """(every command path, "kpirules auth login"; every --option of any command)."""
    from kpirules.cli.main import cli

    commands, options = set(), set()

    def walk(cmd: click.Command, path: str, ctx: click.Context) -> None:
        commands.add(path)
        for param in cmd.params:
            options.update(o for o in (*param.opts, *param.secondary_opts) if o.startswith("--"))
        if isinstance(cmd, click.Group):  # the commands load lazily: ask the group for them
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                if sub is not None:
                    walk(sub, f"{path} {name}", click.Context(sub, parent=ctx, info_name=name))

    walk(cli, "kpirules", click.Context(cli, info_name="kpirules"))
    return commands, options


def test_every_sheets_hint_names_settings_options_and_commands_that_exist():
    from kpirules.config import Settings

    settings = set(Settings.model_fields)
    commands, options = cli_names()
    texts = [t for m in MODULES for t in hint_texts(m)]
    named_settings, bad = set(), []
    for text in texts:
        for word in re.findall(r"`([^`]+)`", text):
            if word.startswith("kpirules"):
                command = " ".join(w for w in word.split() if not w.startswith("-") and w.isidentifier()
                                   or w == "kpirules")
                if command not in commands:
                    bad.append(f"command `{word}` in {text!r}")
            elif f"kpirules {word}" in commands:  # "Editor for `run`": a command by its name
                continue
            elif re.fullmatch(r"[a-z][a-z_]*", word):
                named_settings.add(word)
                if word not in settings:
                    bad.append(f"setting `{word}` in {text!r}")
        for option in re.findall(r"(?<![\w-])--[a-z][a-z-]*", text):
            if option not in options:
                bad.append(f"option {option} in {text!r}")
    assert not bad, bad
    # Not vacuous: the hints were found, the read timeout's names its setting.
    assert len(texts) > 20 and "timeout" in named_settings


def test_a_read_timeout_grows_with_the_cells_asked_for(sheets_emulator, monkeypatch):
    """The `timeout` setting is the patience of a small read; a page of many cells gets
    more (gsheets_read.read_timeout: one more second per 20,000 cells). Real gspread
    against the emulator; the (connect, read) timeouts each call was given are recorded
    on the way to gspread's client (its own set_timeout still applies them), since a
    wall-clock race against the emulator's speed would say more about the machine."""
    import datetime as dt

    from gspread.http_client import HTTPClient

    from kpirules.connectors.gsheets import GoogleSheetsConnector
    from kpirules.errors import SourceError
    from kpirules.retry import RetryPolicy

    given: list[float] = []
    original = HTTPClient.set_timeout

    def recorded(self, timeout):
        given.append(timeout[1])
        return original(self, timeout)

    monkeypatch.setattr(HTTPClient, "set_timeout", recorded)
    monkeypatch.setenv("KPIRULES_SHEETS_EMULATOR_HOST", sheets_emulator.host)
    headers = ["date", *[f"c{i}" for i in range(7)]]
    rows = [[dt.date(2026, 1, 1) + dt.timedelta(days=i % 300), *range(7)] for i in range(9_000)]
    sheets_emulator.add_spreadsheet("timeouts", {"Data": [headers, *rows], "Rules": [["Name", "Rule"]]})

    conn = GoogleSheetsConnector("timeouts", timeout=1.5)
    assert len(conn.read(extra_tabs=()).data.rows) == 9_000
    # The head: the setting as it is; the page below it (sheet rows 1,001-9,001 x 8
    # columns = 64,008 cells): 3.2 s more.
    assert given == [1.5, 1.5 + 8_001 * 8 / 20_000]

    given.clear()
    sheets_emulator.inject("spreadsheets.get", delay=2.0)  # a small call slower than 1 s
    with pytest.raises(SourceError) as caught:
        GoogleSheetsConnector("timeouts", timeout=1.0, retry=RetryPolicy(attempts=1)).read(extra_tabs=())
    assert "did not answer within 1 s" in caught.value.message and "`timeout`" in (caught.value.hint or "")
    assert given == [1.0]
