"""``kpirules check`` in its common form runs without click (kpirules.cli.fast); every
other command line goes through click. Both paths must print the same bytes and exit with
the same status: each case below runs as a real process twice, once as users run it and
once forced through click (KPIRULES_DEBUG=0 is a line the fast path leaves to click)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from kpirules.cli.fast import parse_check
from kpirules.cli.output import STATUS_COLORS, status_text

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "data.csv").write_text("date,channel,visits,signups\n" + "".join(
        f"2026-11-{d:02d},{ch},1000,{'x' if (d, ch) == (12, 'web') else s}\n"
        for d in range(9, 26) for ch, s in (("web", 25), ("mail", 12))), encoding="utf-8")
    (tmp_path / "rules.kpi").write_text(
        "conversion: signups / visits >= 1.5% weekly warn at 2%\n"
        "by_channel: signups / visits >= 2% weekly by channel\n"
        "broken: sum(nope) >= 1 weekly\n", encoding="utf-8")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "kpirules.toml").write_text('date_colum = "date"\n', encoding="utf-8")
    return tmp_path


def _run(args: list[str], cwd: Path, *, through_click: bool) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KPIRULES", "_KPIRULES"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env["NO_COLOR"] = "1"
    if through_click:
        env["KPIRULES_DEBUG"] = "0"
    proc = subprocess.run([sys.executable, "-m", "kpirules", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


CASES = {
    "table": ["check", "data.csv", "--rules", "rules.kpi", "--as-of", "2026-11-26"],
    "json": ["check", "data.csv", "--rules=rules.kpi", "--format", "json", "--as-of=2026-11-26"],
    "quiet, options first": ["check", "-q", "--as-of", "2026-11-26", "--rules", "rules.kpi", "data.csv"],
    "polish": ["check", "data.csv", "--rules", "rules.kpi", "--as-of", "2026-11-26", "--lang", "pl"],
    "missing source": ["check", "nope.csv", "--rules", "rules.kpi"],
    "missing tab": ["check", "data.csv", "--data-tab", "Daily"],
    "bad settings": ["check", "data.csv", "--rules", "rules.kpi", "--config", "bad/kpirules.toml"],
    "bad date (click)": ["check", "data.csv", "--as-of", "26/11/2026"],
    "rules is a folder (click)": ["check", "data.csv", "--rules", "bad"],
    "help (click)": ["check", "--help"],
    # The same in Polish: the fast path leaves usage errors to click, which says them in Polish.
    "missing source, Polish": ["check", "nope.csv", "--rules", "rules.kpi", "--lang", "pl"],
    "bad date, Polish (click)": ["check", "data.csv", "--as-of", "26/11/2026", "--lang", "pl"],
    "bad format, Polish (click)": ["check", "data.csv", "--lang", "pl", "--format", "yaml"],
    "unknown option, Polish (click)": ["check", "data.csv", "--lang=pl", "--nope"],
    "rules is a folder, Polish (click)": ["check", "data.csv", "--rules", "bad", "--lang", "pl"],
}


@pytest.mark.parametrize("case", list(CASES))
def test_both_paths_print_the_same_and_exit_alike(files, case):
    fast = _run(CASES[case], files, through_click=False)
    slow = _run(CASES[case], files, through_click=True)
    assert fast == slow
    assert "Traceback" not in fast[2]
    if case in ("table", "json"):
        assert fast[0] == 2 and "broken" in fast[1]  # an ERROR result: exit 2, others still run
    if case == "missing source":
        assert fast[0] == 3 and fast[2].startswith("error: ")
    if case == "missing source, Polish":
        assert fast[0] == 3 and fast[2].startswith("błąd: ")
    if "Polish (click)" in case:
        assert fast[0] == 2 and fast[2].startswith("Użycie: kpirules check") and "\nBłąd: " in fast[2]


@pytest.mark.parametrize("argv", [
    ["check", "d.csv"],
    ["check", "d.csv", "--rules", "r.kpi", "--as-of", "today", "--format", "json", "-q"],
    ["check", "--format=table", "d.csv", "--lang", "pl", "--data-tab", "Data", "--rules-tab", "R",
     "--connector", "csv"],
])
def test_the_common_form_is_taken(argv):
    params = parse_check(argv)
    assert params is not None and params["source"] == "d.csv"


@pytest.mark.parametrize("argv", [
    [], ["run", "d.csv"], ["--debug", "check", "d.csv"], ["check"], ["check", "--help"],
    ["check", "d.csv", "-h"], ["check", "d.csv", "-v"], ["check", "d.csv", "--credentials", "k.json"],
    ["check", "d.csv", "--table", "t"], ["check", "d.csv", "--data", "duckdb:///x"],
    ["check", "d.csv", "e.csv"], ["check", "d.csv", "--rules", "a", "--rules", "b"],
    ["check", "d.csv", "--format", "yaml"], ["check", "d.csv", "--lang", "de"],
    ["check", "d.csv", "--as-of", "tomorrow"], ["check", "d.csv", "--rules"],
    ["check", "d.csv", "--rules", "--quiet"], ["check", "d.csv", "--config", "no-such.toml"],
    ["check", "d.csv", "--", "-x"], ["check", "d.csv", "-qv"], ["check", "d.csv", "--quiet=1"],
])
def test_anything_else_is_left_to_click(argv):
    assert parse_check(argv) is None


@pytest.mark.parametrize("status", [*STATUS_COLORS, "OTHER"])
def test_status_colours_are_clicks(status):
    assert status_text(status, True, 9) == click.style(
        status.ljust(9), fg=STATUS_COLORS.get(status), bold=status in ("FAIL", "ERROR"))
    assert status_text(status, False) == status.ljust(7)
