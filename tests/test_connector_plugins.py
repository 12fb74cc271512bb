"""Third-party connectors arrive through the ``kpirules.connectors`` entry-point group: a
real (tiny) distribution is put on the path of a real ``kpirules`` process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from plugin_support import install_toy_plugin

PLUGIN = textwrap.dedent('''
    """A connector for `demo://N` sources: N days of made-up visits and signups."""
    import datetime as dt

    from kpirules.connectors.base import RawTable, Workbook


    class DemoConnector:
        name = "demo"

        def __init__(self, source, **options):
            self.days = int(source.split("://", 1)[1])

        @classmethod
        def matches(cls, source):
            return source.startswith("demo://")

        def read(self, *, data_tab="Data", rules_tab="Rules", extra_tabs=()):
            start = dt.date(2026, 11, 1)
            rows = [[start + dt.timedelta(days=i), 1000, 25] for i in range(self.days)]
            return Workbook(data=RawTable(["date", "visits", "signups"], rows, sheet="demo"),
                            rules=RawTable(["Name", "Rule"], [["conv", "signups / visits >= 2% weekly"]]))
''')


@pytest.fixture
def plugin_path(tmp_path: Path) -> Path:
    install_toy_plugin(tmp_path, "kpi_demo_plugin", PLUGIN, "kpirules.connectors", "demo = kpi_demo_plugin:DemoConnector")
    return tmp_path


def kpirules(*args: str, path: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if path is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(path), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "kpirules", *args], capture_output=True, text=True,
                          env=env, timeout=60)


def test_a_plugin_connector_is_found_through_its_entry_point(plugin_path):
    proc = kpirules("check", "demo://25", "--as-of", "2026-11-26", "--format", "json", path=plugin_path)
    assert proc.returncode == 0, proc.stderr
    (result,) = json.loads(proc.stdout)["results"]
    assert (result["name"], result["status"], result["value"]) == ("conv", "PASS", 0.025)


def test_without_the_plugin_the_source_is_not_understood():
    proc = kpirules("check", "demo://25")
    assert proc.returncode == 3
    assert "cannot tell what kind of source 'demo://25' is" in proc.stderr


def test_connectors_can_be_named_and_unknown_names_get_a_suggestion(plugin_path, tmp_path):
    from kpirules.connectors import available

    assert {"csv", "xlsx", "gsheets"} <= set(available())
    proc = kpirules("check", "demo://25", "--connector", "dmeo", path=plugin_path)
    assert proc.returncode == 3 and "did you mean 'demo'?" in proc.stderr
