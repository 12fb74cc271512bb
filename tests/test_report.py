"""``kpirules report``: the HTML file read back, and opened in a real headless Chromium.

The workbook is the example's, with a History written by real ``kpirules run``s at two
as-of dates; the expected points per chart are counted from that History tab with openpyxl,
independently of the report's own reading.
"""

from __future__ import annotations

import datetime as dt
import html.parser
import re
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from kpirules.cli.main import cli

ROOT = Path(__file__).resolve().parent.parent
AS_OF = dt.date(2026, 11, 26)


@pytest.fixture(scope="module")
def workbook(tmp_path_factory) -> Path:
    from kpirules.writeback.runner import run

    path = tmp_path_factory.mktemp("report") / "marketing.xlsx"
    shutil.copy(ROOT / "examples" / "marketing.xlsx", path)
    for day in (dt.date(2026, 11, 12), AS_OF):
        run(str(path), as_of=day, notify=False)
    return path


@pytest.fixture(scope="module")
def report(workbook, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("out") / "report.html"
    result = CliRunner().invoke(cli, ["report", str(workbook), "--as-of", AS_OF.isoformat(), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def history_periods(path: Path) -> dict[tuple[str, str], set[tuple[str, str]]]:
    """(rule, segment) -> its distinct periods in the History tab, before AS_OF."""
    ws = openpyxl.load_workbook(path, read_only=True)["History"]
    rows = ws.iter_rows(values_only=True)
    headers = [str(h) for h in next(rows)]
    at = {h: headers.index(h) for h in ("Rule", "Segment", "Period start", "Period end")}
    out: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for row in rows:
        if not row[at["Rule"]]:
            continue
        start, end = (str(row[at[h]])[:10] for h in ("Period start", "Period end"))
        if end < AS_OF.isoformat():
            out.setdefault((row[at["Rule"]], row[at["Segment"]] or ""), set()).add((start, end))
    return out


class Charts(html.parser.HTMLParser):
    """Charts (svg.chart) by (rule, segment) with their points' attributes and titles."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.sections: list[str] = []
        self.svgs: list[dict[str, str]] = []
        self._chart: tuple[str, str] | None = None
        self._point: dict[str, str] | None = None
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "section" and "data-rule" in a:
            self.sections.append(a["data-rule"])
        if tag == "svg":
            self.svgs.append(a)
            if "chart" in a.get("class", "").split():
                self._chart = (a["data-rule"], a.get("data-segment", ""))
                self.charts[self._chart] = []
        if tag == "g" and "point" in a.get("class", "").split() and self._chart:
            self._point = dict(a, title="")
            self.charts[self._chart].append(self._point)
        if tag == "title" and self._point is not None:
            self._in_title = True

    def handle_endtag(self, tag):
        if tag == "svg":
            self._chart = None
        if tag == "g":
            self._point = None
        if tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._in_title and self._point is not None:
            self._point["title"] += data


def charts_of(text: str) -> Charts:
    parser = Charts()
    parser.feed(text)
    return parser


def assert_one_point_per_period(charts: Charts, workbook: Path) -> None:
    expected = history_periods(workbook)
    wb = openpyxl.load_workbook(workbook, read_only=True)
    rules = [r[0] for r in wb["Rules"].iter_rows(min_row=2, values_only=True) if r[0]]
    enabled = [r[0] for r in wb["Rules"].iter_rows(min_row=2, values_only=True) if r[0] and r[4] is not False]
    assert set(charts.sections) == set(enabled) and len(rules) > len(enabled)
    assert {rule for rule, _ in charts.charts} == set(enabled), "every enabled rule has a chart"
    assert set(charts.charts) == set(expected)
    for key, points in charts.charts.items():
        periods = [p["data-period"] for p in points]
        want = sorted(f"{s}..{e}" if s != e else s for s, e in expected[key])
        assert periods == want, key  # one point per History period, oldest first
        for p in points:
            assert p["data-status"] in p["title"] and p["data-recorded"] == "yes"


def test_every_rule_has_a_chart_with_one_point_per_history_period(report, workbook):
    charts = charts_of(report.read_text(encoding="utf-8"))
    assert_one_point_per_period(charts, workbook)
    segmented = [k for k in charts.charts if k[1]]
    assert segmented, "the example's `by channel` rule is drawn as small multiples"


def test_the_report_is_self_contained_and_accessible(report):
    text = report.read_text(encoding="utf-8")
    assert "<script" not in text
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", text), "no network load"
    assert "default-src 'none'" in text  # and the browser would refuse one anyway
    assert "@media print" in text and "size: A4" in text
    charts = charts_of(text)
    for a in charts.svgs:
        assert a.get("role") == "img" and a.get("aria-label"), a
    # Status never by colour alone: the legend names every status next to its shape.
    for status in ("PASS", "WARN", "FAIL", "INCONCLUSIVE", "NO_DATA", "ERROR"):
        assert f">{status}</text>" in text
    # The scorecard counts results by status, INCONCLUSIVE included.
    assert re.search(r'<div class="card INCONCLUSIVE"[^>]*><b>\d+</b>INCONCLUSIVE', text)
    point = next(iter(charts.charts.values()))[0]
    assert re.search(r"\d{4}-\d{2}-\d{2}.*: (PASS|WARN|FAIL|NO_DATA) \(.+\), ", point["title"])
    assert "Alerts timeline" in text and "What changed since the previous period" in text


def test_a_source_without_history_is_evaluated_at_recent_periods_and_says_so(tmp_path):
    out = tmp_path / "r.html"
    result = CliRunner().invoke(cli, ["report", str(ROOT / "examples" / "marketing.xlsx"), "--as-of",
                                      AS_OF.isoformat(), "--periods", "5", "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "No History yet" in text
    charts = charts_of(text)
    weekly = charts.charts[("visit_to_signup", "")]
    assert [p["data-period"] for p in weekly] == [
        "2026-10-19..2026-10-25", "2026-10-26..2026-11-01", "2026-11-02..2026-11-08",
        "2026-11-09..2026-11-15", "2026-11-16..2026-11-22"]
    assert all(p["data-recorded"] == "no" and "not in History" in p["title"] for p in weekly)


def test_values_near_the_float_limit_in_history_are_drawn_not_a_crash(workbook, tmp_path):
    """History is a tab anyone can edit: values of +-1e308 overflowed the chart's scale (an
    internal error, no report)."""
    path = tmp_path / "huge.xlsx"
    shutil.copy(workbook, path)
    book = openpyxl.load_workbook(path)
    history = book["History"]
    rows = [r for r in range(2, history.max_row + 1) if history.cell(r, 1).value == "visit_to_signup"]
    history.cell(rows[0], 6).value, history.cell(rows[-1], 6).value = 1e308, -1.7e308
    book.save(path)
    out = tmp_path / "r.html"
    result = CliRunner().invoke(cli, ["report", str(path), "--as-of", AS_OF.isoformat(), "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert len(charts_of(text).charts[("visit_to_signup", "")]) == len(rows)  # every period, drawn
    assert not re.search(r'(cy|y|points)="[^"]*(nan|inf)', text)  # at the plot's edge, not off any scale


def test_an_out_file_that_cannot_be_written_is_a_usage_error_not_an_internal_one(tmp_path):
    out = tmp_path / "no-such-folder" / "r.html"
    result = CliRunner().invoke(cli, ["report", str(ROOT / "examples" / "marketing.xlsx"), "--as-of",
                                      AS_OF.isoformat(), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "--out" in result.output and "No such file or directory" in result.output
    assert "internal error" not in result.output and not out.parent.exists()


def test_an_out_that_is_a_pipe_gets_the_report_and_stays_a_pipe(tmp_path):
    """`--out /dev/stdout` or a named pipe: the report is written into it, never replaced by
    a file (which, run as root, would replace /dev/stdout itself)."""
    import os
    import stat
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    result = CliRunner().invoke(cli, ["report", str(ROOT / "examples" / "marketing.xlsx"), "--as-of",
                                      AS_OF.isoformat(), "--out", str(fifo), "-q"])
    if reader.is_alive():  # the report went elsewhere: open the pipe so the reader ends
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    reader.join(timeout=30)
    assert result.exit_code == 0, result.output
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert got and got[0].startswith(b"<!DOCTYPE html>")


def test_an_unreadable_source_is_exit_3_with_a_message(tmp_path):
    result = CliRunner().invoke(cli, ["report", str(tmp_path / "missing.xlsx"), "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 3
    assert "error:" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "r.html").exists()


# --- in a real browser ----------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium; .ci/run installs it)")


def chromium(tmp_path: Path, page: Path, *args: str) -> subprocess.CompletedProcess:
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--no-first-run", "--disable-extensions",
               f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
               *args, page.as_uri()]
    return subprocess.run(command, check=False, capture_output=True, text=True, timeout=180)


def console_lines(stderr: str) -> list[str]:
    """What the page wrote to the console (Chromium logs it as INFO:CONSOLE lines). The
    report has no script, so any such line is a failure: a blocked load, a parse error."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


@needs_chromium
def test_the_console_check_catches_a_blocked_network_load(report, tmp_path):
    # The harness's own check: the same report with an outside image must log a CSP error.
    broken = tmp_path / "broken.html"
    broken.write_text(report.read_text(encoding="utf-8").replace(
        "<body>", '<body><img src="https://example.com/pixel.png" alt="">', 1), encoding="utf-8")
    done = chromium(tmp_path, broken, "--dump-dom")
    assert any("Content Security Policy" in line for line in console_lines(done.stderr)), done.stderr[-2000:]


@needs_chromium
def test_chromium_renders_every_chart_without_console_errors(report, workbook, tmp_path):
    dom = chromium(tmp_path, report, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert console_lines(dom.stderr) == []
    # The DOM as Chromium built it: the SVG parsed into elements, one point per period.
    assert_one_point_per_period(charts_of(dom.stdout), workbook)
    shot = tmp_path / "report.png"
    done = chromium(tmp_path, report, f"--screenshot={shot}", "--window-size=1000,1600",
                    "--hide-scrollbars")
    assert done.returncode == 0 and console_lines(done.stderr) == []
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1000, 1600)


def test_what_changed_since_the_last_run_is_what_run_would_alert(workbook, tmp_path):
    from kpirules.report.model import gather
    from kpirules.writeback.runner import run

    book = tmp_path / "kpis.xlsx"
    shutil.copy(workbook, book)  # History as the run of 2026-11-26 left it
    later = dt.date(2026, 12, 10)
    data = gather(str(book), as_of=later)
    would = run(str(book), as_of=later, dry_run=True).alerts
    expected = {(a.result.name, a.previous or "", a.status) for a in would}
    assert expected and {(c.rule, c.before, c.after) for c in data.since_last_run} == expected
    run(str(book), as_of=later, notify=False)
    assert gather(str(book), as_of=later).since_last_run == []  # the run recorded them


def test_the_report_after_the_run_says_nothing_changed_since(report):
    assert "Nothing: every status is the one History recorded at the last run" in report.read_text(encoding="utf-8")


def test_a_report_from_a_google_sheet_is_one_read_and_a_page(workbook, tmp_path, monkeypatch):
    from kpirules_emulator.sheets import SheetsEmulator

    with SheetsEmulator() as emu:
        monkeypatch.setenv("KPIRULES_SHEETS_EMULATOR_HOST", emu.host)
        key = emu.add_spreadsheet_from_xlsx(workbook, "1ReportSheet0123456789abcdefghijklmnopqrstuv")
        out = tmp_path / "r.html"
        result = CliRunner().invoke(cli, ["report", key, "--as-of", AS_OF.isoformat(), "--out", str(out)])
        assert result.exit_code == 0, result.output
        calls = emu.requests()
        # One read of the tabs (the Data tab's first 1,000 rows), then the 3,344 rows below
        # them in one page of the rules' columns (docs/running.md, "What a run costs").
        assert [e["api"] for e in calls] == ["spreadsheets.get"] * 2
        assert calls[1]["query"]["ranges"] == ["'Data'!A1001:L4345", "'Data'!N1001:O4345"]
    assert_one_point_per_period(charts_of(out.read_text(encoding="utf-8")), workbook)


@needs_chromium
def test_the_report_prints_on_a4_pages(report, tmp_path):
    pdf = tmp_path / "report.pdf"
    done = chromium(tmp_path, report, f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
    assert done.returncode == 0 and console_lines(done.stderr) == []
    data = pdf.read_bytes()
    boxes = {tuple(round(float(v)) for v in box.split()) for box in re.findall(rb"/MediaBox\s*\[([^\]]*)\]", data)}
    assert boxes == {(0, 0, 595, 842)}  # A4 in points, from the report's @page rule
    assert len(re.findall(rb"/Type\s*/Page\b", data)) >= 2
