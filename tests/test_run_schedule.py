"""The scheduling recipes in examples/ run as written: the GitHub Actions step, the systemd
service's command and the crontab line, each executed by a real shell against a workbook,
with the exit statuses a scheduler acts on."""

from __future__ import annotations

import configparser
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_run_common import AS_OF, RULES
from test_run_xlsx import make_workbook

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
FAIL_ONLY = [r for r in RULES if r["Name"] != "typo"]  # FAILs and WARNs, no ERROR


def shell(script: str, cwd: Path, **env) -> subprocess.CompletedProcess:
    """``script`` in bash with kpirules on PATH and today pinned to the test's as-of date
    (the recipes take the default as-of date)."""
    bindir = str(Path(sys.executable).parent)
    wrapper = cwd / "bin"
    wrapper.mkdir(exist_ok=True)
    exe = shutil.which("kpirules", path=bindir + os.pathsep + os.environ.get("PATH", ""))
    assert exe, "kpirules is not installed"
    (wrapper / "kpirules").write_text(
        f'#!/bin/sh\nexec "{sys.executable}" -m kpirules "$@" --as-of {AS_OF.isoformat()}\n')
    (wrapper / "kpirules").chmod(0o755)
    full = dict(os.environ, PATH=f"{wrapper}{os.pathsep}{os.environ['PATH']}", **env)
    return subprocess.run(["bash", "-c", script], cwd=cwd, env=full, capture_output=True, text=True, timeout=120)


@pytest.fixture
def books(tmp_path):
    return {"fail": make_workbook(tmp_path / "fail.xlsx", rules=FAIL_ONLY),
            "error": make_workbook(tmp_path / "error.xlsx"),
            "missing": tmp_path / "missing.xlsx"}


def test_github_actions_workflow_is_scheduled_and_fails_only_on_errors(books, tmp_path):
    doc = yaml.safe_load((EXAMPLES / "github-actions" / "kpirules.yml").read_text())
    triggers = doc.get("on", doc.get(True))  # YAML 1.1 reads a bare `on` as true
    (cron,) = [s["cron"] for s in triggers["schedule"]]
    assert len(cron.split()) == 5
    assert doc["concurrency"]["cancel-in-progress"] is False
    steps = doc["jobs"]["run"]["steps"]
    (step,) = [s for s in steps if "kpirules run" in s.get("run", "")]
    assert step["env"]["KPIRULES_SOURCE"] == "${{ secrets.KPIRULES_SHEET }}"
    statuses = {kind: shell(step["run"], tmp_path, KPIRULES_SOURCE=str(path)).returncode
                for kind, path in books.items()}
    assert statuses == {"fail": 0, "error": 2, "missing": 3}


def test_systemd_units(books, tmp_path):
    service = configparser.ConfigParser(strict=False, interpolation=None)
    service.optionxform = str
    service.read(EXAMPLES / "systemd" / "kpirules.service")
    timer = configparser.ConfigParser(strict=False, interpolation=None)
    timer.optionxform = str
    timer.read(EXAMPLES / "systemd" / "kpirules.timer")
    assert service["Service"]["Type"] == "oneshot"
    assert service["Service"]["SuccessExitStatus"] == "1 7"  # a FAIL; another run held the sheet
    assert timer["Timer"]["Persistent"] == "true" and timer["Timer"]["OnCalendar"]
    assert timer["Install"]["WantedBy"] == "timers.target"
    argv = shlex.split(service["Service"]["ExecStart"])
    assert argv[0].endswith("/kpirules") and argv[1:] == ["run", "${KPIRULES_SOURCE}"]
    success = {0} | {int(x) for x in service["Service"]["SuccessExitStatus"].split()}
    command = shlex.join(["kpirules", *argv[1:]]).replace("'${KPIRULES_SOURCE}'", '"$KPIRULES_SOURCE"')
    outcome = {kind: shell(command, tmp_path, KPIRULES_SOURCE=str(path)).returncode in success
               for kind, path in books.items()}
    assert outcome == {"fail": True, "error": False, "missing": False}


def test_crontab_line(books, tmp_path):
    text = (EXAMPLES / "cron.md").read_text()
    (line,) = re.findall(r"```cron\n(.+?)\n```", text, re.S)
    fields = line.split(None, 5)
    assert len(fields) == 6 and fields[4] == "1-5"
    # Where the recipe installed kpirules, this test's kpirules (pinned to the as-of date) runs.
    command = fields[5].replace("cd /srv/kpis", f"cd {shlex.quote(str(tmp_path))}").replace(
        "~/.kpirules/bin/kpirules", "kpirules")
    results = {}
    for kind, path in books.items():
        (tmp_path / "kpirules.env").write_text(f"KPIRULES_SOURCE={path}\n")
        log = tmp_path / "kpirules.log"
        log.unlink(missing_ok=True)
        results[kind] = shell(command, tmp_path).returncode
        if kind == "fail":
            lines = log.read_text().splitlines()
            assert sum(line.split(" ")[0] in ("PASS", "WARN", "FAIL", "OFF") for line in lines) == len(FAIL_ONLY)
            # The switched-off rule is counted apart, as every command counts it (issue 18).
            assert lines[-1].startswith(f"{len(FAIL_ONLY) - 1} rules (1 disabled) as of {AS_OF.isoformat()}")
    # cron mails only when the line fails: never for a FAIL, always for an ERROR or a bad source.
    assert results["fail"] == 0 and results["error"] != 0 and results["missing"] != 0
