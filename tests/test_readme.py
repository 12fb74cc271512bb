"""The README's promise: two commands set everything up, and CI runs the second one."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    block = re.search(r"## Two commands.*?```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert block, "README lost its 'Two commands' block"
    return [line for line in block.group(1).splitlines() if line and not line.startswith("#")]


def test_readme_has_exactly_two_commands():
    main, tests = readme_commands()
    assert "pip install ." in main and "kpirules run examples/marketing.xlsx" in main
    assert 'pip install ".[test]"' in tests and "pytest" in tests


def test_ci_runs_the_readme_test_command():
    _, tests = readme_commands()
    test_part = tests.split("&& ", 3)[-1]  # after creating and activating the venv
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_part in ci, f"{test_part!r} not in .ci/run"


def test_the_main_command_names_a_bundled_workbook_and_a_real_command():
    main, _ = readme_commands()
    assert (ROOT / "examples" / "marketing.xlsx").is_file()
    out = subprocess.run([sys.executable, "-m", "kpirules", "run", "--help"], capture_output=True,
                         text=True, cwd=ROOT)
    assert out.returncode == 0 and "--dry-run" in out.stdout
