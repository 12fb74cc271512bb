"""A toy plugin installed as pip would leave it, for the plugin tests of every group."""

from __future__ import annotations

from pathlib import Path


def install_toy_plugin(site: Path, module: str, source: str, group: str, entry: str) -> None:
    """``module``'s source in ``site`` and a dist-info declaring ``entry`` (``name =
    module:OBJECT``) in the entry-point ``group``."""
    (site / f"{module}.py").write_text(source, encoding="utf-8")
    info = site / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module.replace('_', '-')}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{group}]\n{entry}\n")
