"""The built wheel works outside the checkout: grammar and connectors travel inside it
under the kpirules namespace, and nothing is installed as a bare top-level package."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
                   check=True, timeout=600)
    (path,) = out.glob("kpirules-*.whl")
    return path


def test_wheel_layout(wheel: Path):
    names = zipfile.ZipFile(wheel).namelist()
    assert "kpirules/grammar/kpi.lark" in names
    assert "kpirules/connectors/base.py" in names
    assert "kpirules/connectors/xlsx_file.py" in names
    top_level = {n.split("/")[0] for n in names if not n.startswith("kpirules-")}
    assert top_level == {"kpirules"}, top_level  # never a bare `connectors` or `grammar`
    # Product code only: the Sheets emulator is its own distribution (emulator/).
    assert not [n for n in names if n.startswith("kpirules/testing/") or "emulator" in n.split("/")[-1]]
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "[kpirules.connectors]" in text and "kpirules.connectors.csv_file:CsvConnector" in text


def test_installed_wheel_checks_an_example_outside_the_checkout(wheel: Path, tmp_path: Path):
    import sysconfig

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    # The dependencies (lark, click, openpyxl...) come from this test environment through a
    # .pth file, so no network is needed; a .pth entry goes after the venv's own
    # site-packages, so kpirules itself is only ever the copy installed from the wheel.
    site = subprocess.run([str(bin_dir / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(site, "test-deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "-q", "--no-deps",
                    "--force-reinstall", str(wheel)], check=True, timeout=300)
    work = tmp_path / "elsewhere"
    work.mkdir()
    data = work / "data.csv"
    data.write_text("date,visits,signups\n" + "".join(
        f"2026-11-{d:02d},1000,{20 + d}\n" for d in range(1, 26)), encoding="utf-8")
    rules = work / "rules.kpi"
    rules.write_text("conversion: signups / visits >= 2% weekly\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    proc = subprocess.run([str(bin_dir / "kpirules"), "check", str(data), "--rules", str(rules),
                           "--as-of", "2026-11-26", "--format", "json"],
                          cwd=work, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert '"status": "PASS"' in proc.stdout
    where = subprocess.run([str(bin_dir / "python"), "-c", "import kpirules.connectors, kpirules.grammar;"
                            "print(kpirules.connectors.__file__)"],
                           cwd=work, capture_output=True, text=True, check=True)
    assert str(venv) in where.stdout and str(ROOT) not in where.stdout
