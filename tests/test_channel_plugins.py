"""A notification channel added as a plugin: one module and one entry point, found through
the ``kpirules.channels`` group exactly as the built-ins are. The toy channel appends each
alert as a JSON line to a file, so what it received can be read back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from plugin_support import install_toy_plugin
from test_run_common import AS_OF
from test_run_xlsx import make_workbook, tab_rows

from kpirules.config import ConfigError, Settings, load_settings
from kpirules.config_channels import ChannelKind, channel_kind, channel_types, register_channel
from kpirules.notify import dispatch
from kpirules.notify.alert import Alert
from kpirules.notify.transport import Outcome

ROOT = Path(__file__).resolve().parent.parent

# The whole plugin: its settings, its send, its declaration.
TOY_MODULE = '''
import json
from typing import Literal

from pydantic import Field

from kpirules.config_channels import ChannelKind, ChannelSettings
from kpirules.notify.transport import Outcome


class LogFileChannel(ChannelSettings):
    type: Literal["logfile"]
    path: str = Field(min_length=1)
    prefix: str = ""
    tags: list[str] = []

    def secret_texts(self):  # the path may carry a token: kept out of every message
        return [self.path]


def send(channel, alerts, sending):
    with open(sending.resolve(channel.path), "a", encoding="utf-8") as fh:
        for alert in alerts:
            fh.write(json.dumps({"channel": channel.name, "rule": alert.rule, "kind": alert.kind,
                                 "prefix": channel.prefix}) + "\\n")
            yield alert, Outcome(True, 1)


CHANNEL = ChannelKind(LogFileChannel, send)
'''


def _install_plugin(site: Path) -> None:
    install_toy_plugin(site, "kpirules_logfile", TOY_MODULE, "kpirules.channels", "logfile = kpirules_logfile:CHANNEL")


def _kpirules(args: list[str], cwd: Path, site: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KPIRULES", "LANG", "LC_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(ROOT), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "kpirules", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=180)


def test_an_installed_channel_plugin_receives_a_runs_alerts_and_its_settings_are_checked(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    _install_plugin(site)
    book = make_workbook(tmp_path / "kpis.xlsx")
    received = tmp_path / "received.jsonl"
    config = tmp_path / "kpirules.toml"
    config.write_text(textwrap.dedent(f"""\
        [[notifications]]
        name = "ops"
        type = "logfile"
        path = "{received.as_posix()}"
        prefix = "kpi"
        on = ["fail", "warn"]
        """))
    run = _kpirules(["run", str(book), "--as-of", AS_OF.isoformat(), "--config", str(config)], tmp_path, site)
    assert run.returncode == 2, run.stdout + run.stderr  # the workbook has a rule in ERROR
    lines = [json.loads(line) for line in received.read_text(encoding="utf-8").splitlines()]
    assert lines and {line["channel"] for line in lines} == {"ops"}
    assert {line["kind"] for line in lines} <= {"fail", "warn"} and "conversion" in {line["rule"] for line in lines}
    assert {line["prefix"] for line in lines} == {"kpi"}
    # The outbox records the plugin's deliveries like a built-in's.
    rows = tab_rows(book, "Alerts")
    notified = [r[rows[0].index("Notified")] for r in rows[1:]]
    assert notified.count("logfile ops: sent") == len(lines)

    # A misspelt setting of the plugin's channel: located, with the plugin's own fields.
    config.write_text(textwrap.dedent(f"""\
        [[notifications]]
        name = "ops"
        type = "logfile"
        pth = "{received.as_posix()}"
        """))
    bad = _kpirules(["run", str(book), "--as-of", AS_OF.isoformat(), "--config", str(config)], tmp_path, site)
    assert bad.returncode == 2
    assert "kpirules.toml:4" in bad.stderr + bad.stdout and "did you mean `path`?" in bad.stderr + bad.stdout
    assert "Traceback" not in bad.stderr


@pytest.fixture
def logfile_kind(tmp_path, monkeypatch):
    """The toy channel registered in this process, through the calls its entry point makes."""
    from kpirules import config_channels
    from kpirules.plugins import load

    (tmp_path / "kpirules_logfile.py").write_text(TOY_MODULE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield register_channel(load("kpirules_logfile:CHANNEL"))
    config_channels._KINDS.pop("logfile", None)
    sys.modules.pop("kpirules_logfile", None)


def _alert(rule: str = "conversion") -> Alert:
    return Alert(rule=rule, new_status="FAIL", previous_status="PASS", key="k1")


def test_a_registered_channel_is_validated_and_dispatched_by_its_type(tmp_path, logfile_kind):
    assert logfile_kind.type == "logfile" and "logfile" in channel_types()
    assert channel_kind("logfile") is logfile_kind
    out = tmp_path / "alerts.jsonl"
    settings = Settings.model_validate({"notifications": [
        {"name": "ops", "type": "logfile", "path": "${TOY_PATH}"}]})
    deliveries = dispatch([_alert()], settings, env={"TOY_PATH": str(out)})
    assert [(d.channel, d.channel_type, d.ok) for d in deliveries] == [("ops", "logfile", True)]
    assert json.loads(out.read_text())["rule"] == "conversion"

    # A plugin whose error quotes its secret: the secret never reaches the delivery report.
    import kpirules_logfile

    leaky = ChannelKind(kpirules_logfile.LogFileChannel,
                        lambda ch, alerts, s: ((a, Outcome(False, 1, f"cannot open {s.resolve(ch.path)}")) for a in alerts))
    register_channel(leaky)
    failed = dispatch([_alert()], settings, env={"TOY_PATH": "/srv/token-7f3a9c/alerts.jsonl"})
    assert not failed[0].ok and "token-7f3a9c" not in failed[0].error and "***" in failed[0].error
    register_channel(logfile_kind)

    # Its secret missing: not sent, said why, nothing raised.
    missing = dispatch([_alert()], settings, env={})
    assert not missing[0].ok and "TOY_PATH is not set" in missing[0].error

    path = tmp_path / "kpirules.toml"
    path.write_text('[[notifications]]\nname = "ops"\ntype = "logfile"\npath = ""\nprefx = "x"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(str(path))
    text = str(err.value)
    assert "kpirules.toml:5" in text and "did you mean `prefix`?" in text
    assert "kpirules.toml:4" in text and "path" in text


def test_a_plugins_list_setting_is_written_as_comma_text_in_the_settings_tab(logfile_kind):
    from kpirules.config import settings_from_tab

    settings = settings_from_tab([["notify.ops.type", "logfile"], ["notify.ops.path", "${KPIRULES_LOG}"],
                                  ["notify.ops.tags", "kpi, growth; weekly"],
                                  ["notify.ops.on", "fail, warn"]])
    channel = settings.channel("ops")
    assert channel.tags == ["kpi", "growth", "weekly"] and channel.on == ["fail", "warn"]


def test_a_declaration_is_checked_when_registered():
    from pydantic import ConfigDict

    from kpirules.config_channels import ChannelSettings

    class Loose(ChannelSettings):
        model_config = ConfigDict(extra="allow")
        type: str = "loose"

    with pytest.raises(TypeError):  # no Literal settings key
        register_channel(ChannelKind(Loose, lambda c, a, s: iter(())))


def test_the_built_in_channels_are_declared_in_the_entry_point_group():
    kinds = {name: channel_kind(name) for name in ("slack", "webhook", "email")}
    assert {name: kind.type for name, kind in kinds.items()} == {n: n for n in kinds}
    assert all("idempotency-key" in kind.capabilities for kind in kinds.values())
    assert "bundles" in kinds["email"].capabilities
    assert channel_kind("pigeon") is None
