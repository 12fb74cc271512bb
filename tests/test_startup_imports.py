"""What `kpirules check` imports on a small UTF-8 CSV with no settings file: only what it
uses (issue 14: start-up is most of a short run). A later addition that imports Lark, a
settings model, translations, a warehouse or Google client on this path fails here; make it
lazy (imported where it is used) instead. No time is measured or asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Top-level packages the check of a CSV must not load: each is used by another path only
# (xlsx, Google Sheets, warehouses, settings files, locale-aware numbers, error messages).
NOT_ON_THIS_PATH = {
    "lark",  # parsing runs on the shipped tables; Lark only explains a syntax error
    "pydantic", "pydantic_core",  # settings are validated only when there is a settings file
    "sqlglot", "duckdb",  # the SQL path
    "gspread", "google", "requests", "urllib3",  # Google Sheets
    "python_calamine", "openpyxl",  # xlsx
    "charset_normalizer", "chardet",  # non-UTF-8 text only
    "babel",  # locale-aware formats
    "numpy", "pandas",
    "tomllib",  # no pyproject.toml or kpirules.toml to read
    "click",  # check's common form runs without it (kpirules.cli.fast)
    "dataclasses", "inspect",  # kpirules.dataclass_fast: fields are built only when asked for
}
NOT_LOADED_MODULES = {
    "kpirules.config",  # the pydantic settings model
    "kpirules.parse_errors",  # only when a rule does not parse
    "kpirules.explain",
    "kpirules.lint",
    "kpirules.plugins",  # entry points are read only for a name that is not a built-in
    "importlib.metadata",
    "kpirules.cli.group", "kpirules.cli.check", "kpirules.cli.common",  # click's path
}

PROBE = """
import json, os, sys
from kpirules.cli.main import main
# check's fast path leaves with os._exit (no interpreter clean-up): made a SystemExit here,
# so that the modules it loaded can be listed after it.
def _exit(code):
    raise SystemExit(code)
os._exit = _exit
sys.argv = ["kpirules", "check", "data.csv", "--rules", "rules.kpi", "--as-of", "2026-11-26",
            "--format", "json"]
try:
    main()
except SystemExit as exc:
    code = exc.code
import kpirules.i18n
loaded = sorted(sys.modules)
with open("modules.json", "w") as fh:
    json.dump({"exit": code, "modules": loaded, "catalog": repr(kpirules.i18n._catalog)}, fh)
"""


def _check_imports(tmp_path: Path) -> dict:
    (tmp_path / "data.csv").write_text(
        "date,channel,visits,signups\n" + "".join(
            f"2026-11-{day:02d},{channel},{100 + day},{day % 7}\n"
            for day in range(1, 26) for channel in ("web", "email")), encoding="utf-8")
    (tmp_path / "rules.kpi").write_text(
        "conversion: signups / visits >= 2% weekly warn at 3%\n"
        "visits: sum(visits) >= 10 monthly by channel\n"
        "growth: change(visits) >= -10% weekly where channel = 'web'\n", encoding="utf-8")
    # Someone else's pyproject.toml: no [tool.kpirules], so it is not parsed (no tomllib).
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "kpirules-data"\n[tool.black]\n'
                                             'line-length = 100\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KPIRULES", "LANG", "LC_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, "-c", PROBE], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    result = json.loads((tmp_path / "modules.json").read_text())
    # A real check ran: results printed, an honest exit status (no ERROR, no source error).
    assert result["exit"] in (0, 1, 6), proc.stdout + proc.stderr
    assert '"results"' in proc.stdout
    return result


def test_check_on_a_small_csv_imports_only_what_it_uses(tmp_path):
    result = _check_imports(tmp_path)
    assert result["catalog"] == "None"  # English: no translation catalog is read
    modules = set(result["modules"])
    top_level = {name.split(".")[0] for name in modules}
    assert not top_level & NOT_ON_THIS_PATH, sorted(top_level & NOT_ON_THIS_PATH)
    assert not modules & NOT_LOADED_MODULES, sorted(modules & NOT_LOADED_MODULES)
    # The rules were parsed (on the shipped tables), and translations were not loaded.
    assert "kpirules.parse_tables" in modules
    assert not any(name.startswith(("kpirules.locale", "kpirules.sql", "kpirules.writeback",
                                    "kpirules.notify", "kpirules.report", "kpirules.serve"))
                   for name in modules), sorted(modules)


@pytest.mark.parametrize("table", [
    "[tool.kpirules]\ndata_tab = 'Daily'\n", "[ tool . kpirules ]\ndata_tab = 'Daily'\n",
    "[tool.\"kpirules\"]\ndata_tab = 'Daily'\n", "[tool]\nkpirules = {data_tab = 'Daily'}\n",
    "tool.kpirules.data_tab = 'Daily'\n", "[tool.black]\n\n[tool.kpirules.notify]\n",
])
def test_settings_in_a_pyproject_are_still_found(tmp_path, monkeypatch, table):
    """The pyproject.toml shortcut above skips only files that cannot hold [tool.kpirules]."""
    from kpirules.config_base import find_settings_file

    (tmp_path / "pyproject.toml").write_text(table + '\n[project]\nname = "x"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert find_settings_file() == "pyproject.toml"
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "kpirules"\n[tool.ruff]\n', encoding="utf-8")
    assert find_settings_file() is None
