"""Structure the code keeps as it grows: the import layers of pyproject.toml (no cycles,
nothing importing upwards) and no product module over 500 lines. (ruff and mypy run in
.ci/run, each timed on its own.)"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 500


def installed_layout(dest: Path) -> Path:
    """The package as the wheel lays it out (grammar/ and connectors/ inside kpirules), so
    that the import graph sees kpirules.connectors and kpirules.grammar where they run."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "kpirules", dest / "kpirules", ignore=ignore)
    shutil.copytree(ROOT / "connectors", dest / "kpirules" / "connectors", ignore=ignore)
    shutil.copytree(ROOT / "grammar", dest / "kpirules" / "grammar", ignore=ignore)
    return dest


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    pytest.importorskip("importlinter")
    # Run from the copy, not the checkout, whose kpirules/ would shadow it.
    return subprocess.run([sys.executable, "-c", "import sys; from importlinter.cli import "
                           "lint_imports_command; sys.exit(lint_imports_command())",
                           str(ROOT / "pyproject.toml"), "--no-cache"],
                          cwd=tree, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(tree)})


def test_imports_follow_the_layers_of_pyproject(tmp_path):
    proc = lint_imports(installed_layout(tmp_path / "site"))
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout


def test_an_upward_import_breaks_the_contract(tmp_path):
    """The contracts are not vacuous: a connector importing the module that opens sources
    (a cycle through kpirules.source) is reported with its line, and so is a module
    importing its own package's facade."""
    tree = installed_layout(tmp_path / "site")
    base = tree / "kpirules" / "connectors" / "base.py"
    base.write_text(base.read_text(encoding="utf-8") + "\nfrom kpirules.source import read_source\n",
                    encoding="utf-8")
    email = tree / "kpirules" / "notify" / "email.py"
    email.write_text(email.read_text(encoding="utf-8") + "\nfrom kpirules.notify import Alert\n",
                     encoding="utf-8")
    proc = lint_imports(tree)
    assert proc.returncode != 0
    assert "kpirules.connectors is not allowed to import kpirules.source" in proc.stdout
    # ...and a package's module importing its own package's facade.
    assert "kpirules.notify.email is not allowed to import kpirules.notify" in proc.stdout


def test_no_product_module_is_over_500_lines():
    modules = [*(ROOT / "kpirules").rglob("*.py"), *(ROOT / "connectors").rglob("*.py")]
    long = {str(p.relative_to(ROOT)): n for p in modules
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"split these by concern (docs/architecture.md): {long}"
