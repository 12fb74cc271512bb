"""``kpirules check ... | head`` and ``kpirules run ... | head``: the reader of the output
goes away early. The command still does all its work and ends with its own exit status,
not a BrokenPipeError reported as an internal error (exit 2). Real processes, real pipes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _with_reader_gone(args: list[str]) -> subprocess.CompletedProcess:
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write to stdout now fails with EPIPE
    try:
        return subprocess.run([sys.executable, "-m", "kpirules", *args], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write_end)


def _status(args: list[str]) -> int:
    return subprocess.run([sys.executable, "-m", "kpirules", *args], capture_output=True,
                          timeout=120).returncode


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_check_with_its_reader_gone_exits_with_its_own_status(fmt):
    args = ["check", str(EXAMPLES / "marketing.xlsx"), "--as-of", "2026-11-26", "--format", fmt]
    done = _with_reader_gone(args)
    assert "internal error" not in done.stderr and "BrokenPipe" not in done.stderr
    assert done.returncode == _status(args)  # the example has an ERROR rule: 2 here is its own


def test_run_with_its_reader_gone_writes_the_workbook_and_exits_with_its_own_status(tmp_path):
    gone, seen = tmp_path / "gone.xlsx", tmp_path / "seen.xlsx"
    shutil.copy(EXAMPLES / "marketing.xlsx", gone)
    shutil.copy(EXAMPLES / "marketing.xlsx", seen)
    common = ["--as-of", "2026-11-26", "--no-notify"]
    done = _with_reader_gone(["run", str(gone), *common])
    assert "internal error" not in done.stderr and "BrokenPipe" not in done.stderr
    assert done.returncode == _status(["run", str(seen), *common]) != 2

    def history(path: Path) -> list[tuple]:
        rows = openpyxl.load_workbook(path)["History"].iter_rows(values_only=True)
        return [row[1:] for row in rows]  # column A is when the row was written

    assert history(gone) == history(seen) and len(history(gone)) > 1
