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
    # The Sheets emulator the tests run against is its own distribution, installed beside.
    assert "./emulator" in tests and (ROOT / "emulator" / "pyproject.toml").is_file()


def test_the_try_it_step_installs_and_starts_the_emulator_as_shipped():
    text = (ROOT / "README.md").read_text()
    step = text[text.index("**Try it without a Google account**"):text.index("## Running every morning")]
    assert "pip install ./emulator" in step
    assert "python -m kpirules_emulator --port 8085 --workbook examples/marketing.xlsx" in step
    assert "KPIRULES_SHEETS_EMULATOR_HOST=127.0.0.1:8085 kpirules check marketing" in step
    assert (ROOT / "emulator" / "kpirules_emulator" / "__main__.py").is_file()


def test_ci_runs_the_readme_test_command():
    """.ci/run runs the README's test command in its parts (install, then pytest), each
    on a line of its own and in the README's order, so that it can time each part."""
    _, tests = readme_commands()
    parts = tests.split("&& ")[2:]  # after creating and activating the venv
    ci = (ROOT / ".ci" / "run").read_text()
    lines = [line.strip() for line in ci.splitlines()]
    found = []
    for part in (p.strip() for p in parts):
        where = [i for i, line in enumerate(lines) if line.endswith(part)
                 and not line.startswith("#")]
        assert where, f"{part!r} not run by .ci/run"
        found.append(where[0])
    assert found == sorted(found), "the README's parts run out of order in .ci/run"


def test_the_main_command_names_a_bundled_workbook_and_a_real_command():
    main, _ = readme_commands()
    assert (ROOT / "examples" / "marketing.xlsx").is_file()
    out = subprocess.run([sys.executable, "-m", "kpirules", "run", "--help"], capture_output=True,
                         text=True, cwd=ROOT)
    assert out.returncode == 0 and "--dry-run" in out.stdout


def test_the_main_command_leaves_a_fresh_clone_clean(tmp_path):
    """Issue 18: the README's main command used to modify the tracked example workbook
    (a second run then found no news) and leave a lock file behind. It runs on a copy now;
    run twice, it says the same, and `git status` stays clean."""
    if subprocess.run(["git", "rev-parse", "--git-dir"], cwd=ROOT, capture_output=True).returncode:
        import pytest

        pytest.skip("not a git checkout")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, capture_output=True)
    main, _ = readme_commands()
    command = main.split("&& ")[-1]  # after creating and activating the venv and installing
    assert command.startswith("kpirules run examples/marketing.xlsx")
    import os
    import shlex

    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    outputs = []
    for _ in range(2):
        done = subprocess.run([sys.executable, "-m", "kpirules", *shlex.split(command)[1:]], cwd=clone,
                              env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 1, done.stdout + done.stderr  # some rules fail: the point of the example
        outputs.append(done.stdout.splitlines()[-1])
    assert outputs[0] == outputs[1] and outputs[0].endswith("10 alerts"), outputs
    status = subprocess.run(["git", "status", "--porcelain", "--ignored=no"], cwd=clone, capture_output=True,
                            text=True, check=True).stdout
    assert status == "", status
    assert not (clone / "examples" / ".marketing.xlsx.lock").exists()
    assert (clone / "runs" / "marketing.xlsx").is_file()
