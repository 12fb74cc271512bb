"""pyproject.toml lists every package explicitly (the grammar/ and connectors/ folders are
mapped into the kpirules namespace, which automatic discovery cannot do): a package added
to the tree but not to the list would be missing from the wheel, so check the list."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_in_the_tree_is_in_the_wheel_list():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    mapped = config["package-dir"]
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "kpirules").rglob("__init__.py")}
    found |= {name for name, folder in mapped.items() if (ROOT / folder / "__init__.py").is_file()}
    assert found == listed, f"missing from pyproject: {found - listed}; listed but absent: {listed - found}"


def test_the_emulator_is_a_distribution_of_its_own():
    """The Sheets emulator is for tests and trying kpirules out: no product module imports
    it, so the kpirules wheel must not carry it; its own pyproject ships it."""
    listed = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    assert not any("emulator" in name or name.endswith(".testing") for name in listed), listed
    assert not (ROOT / "kpirules" / "testing").exists()
    emulator = tomllib.loads((ROOT / "emulator" / "pyproject.toml").read_text())
    assert emulator["project"]["name"] == "kpirules-emulator"
    assert emulator["tool"]["setuptools"]["packages"] == ["kpirules_emulator"]
    assert (ROOT / "emulator" / "kpirules_emulator" / "sheets_v4_discovery.json").is_file()
    product = [p for p in (ROOT / "kpirules").rglob("*.py")] + list((ROOT / "connectors").rglob("*.py"))
    importers = [str(p.relative_to(ROOT)) for p in product
                 if re.search(r"^\s*(from|import) kpirules_emulator\b", p.read_text(), re.M)]
    assert not importers, f"product code must not import the emulator: {importers}"


def test_connectors_are_registered_as_entry_points():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    eps = config["project"]["entry-points"]["kpirules.connectors"]
    assert set(eps) == {"csv", "xlsx", "gsheets", "postgresql", "bigquery", "snowflake", "spark", "duckdb"}
    for target in eps.values():
        module, _, attr = target.partition(":")
        assert (ROOT / "connectors" / (module.rsplit(".", 1)[-1] + ".py")).is_file()
