"""What the Docker image does, without Docker (images cannot be built here): the wheel,
installed in a fresh virtual environment, serving as a non-root user on the port given in
PORT, outside the checkout; and the add-on's files travel in it for `init --addon`."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pytest
from serve_support import call

ROOT = Path(__file__).resolve().parent.parent
NOBODY = 65534

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed():
    """A venv with the wheel installed, its dependencies from this environment (.pth), in a
    folder any user may read (pytest's own temporary folders are root's only)."""
    import sysconfig

    base = Path(tempfile.mkdtemp(prefix="kpirules-wheel-", dir="/tmp"))
    try:
        out = base / "wheel"
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
                       check=True, timeout=600, env=clean_env())
        (wheel,) = out.glob("kpirules-*.whl")
        names = zipfile.ZipFile(wheel).namelist()
        assert {"kpirules/addon/Code.gs", "kpirules/addon/Messages.gs", "kpirules/addon/Sidebar.html",
                "kpirules/addon/appsscript.json", "kpirules/serve/app.py",
                "kpirules/locale/pl/LC_MESSAGES/click.mo"} <= set(names)
        assert not any(n.startswith("kpirules/addon/tests") for n in names)
        venv = base / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        site = subprocess.run([str(venv / "bin" / "python"), "-c",
                               "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              capture_output=True, text=True, check=True).stdout.strip()
        deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
        Path(site, "test-deps.pth").write_text("\n".join(sorted(deps)) + "\n")
        # --ignore-installed: the .pth above may already hold an installed kpirules (CI installs
        # the checkout), which must not stand in for the wheel under test.
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "--ignore-installed",
                        str(wheel)],
                       check=True, timeout=300, env=clean_env())
        for path in [base, *base.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o755 if path.is_dir() else path.stat().st_mode | 0o644)
        yield venv
    finally:
        shutil.rmtree(base, ignore_errors=True)


def clean_env(**extra) -> dict[str, str]:
    """No PYTHONPATH: the checkout must not be what runs."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "KPIRULES_SERVE_TOKEN")}
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root to become another user")
def test_the_installed_wheel_serves_as_a_non_root_user_on_port(installed):
    port = free_port()
    env = clean_env(PORT=str(port), KPIRULES_SERVE_TOKEN="wheel-token", HOME="/tmp")
    process = subprocess.Popen(
        ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
         str(installed / "bin" / "kpirules"), "serve", "--host", "127.0.0.1"],
        cwd="/", env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                status, health = call(url, "/healthz", token=None)
                break
            except OSError:
                assert process.poll() is None, process.stderr.read()
                assert time.monotonic() < deadline, "the service did not start"
                time.sleep(0.2)
        assert status == 200 and health["status"] == "ok"
        uid = next(line for line in Path(f"/proc/{process.pid}/status").read_text().splitlines()
                   if line.startswith("Uid:")).split()[1:]
        assert set(uid) == {str(NOBODY)}  # real, effective, saved and fs uid: not root
        body = {"rules": [["Name", "Rule"], ["daily", "count(visits) >= 1 daily"]],
                "data": [["Date", "Visits"], ["2026-11-25", 3]], "as_of": "2026-11-26"}
        status, doc = call(url, "/v1/evaluate", body, token="wheel-token")
        assert status == 200 and [r["status"] for r in doc["results"]] == ["PASS"]
        assert call(url, "/v1/evaluate", body, token="wrong")[0] == 401
    finally:
        process.terminate()
        out, err = process.communicate(timeout=30)
    # SIGTERM (Cloud Run's stop) is a graceful shutdown; uvicorn then re-raises the signal.
    assert process.returncode in (0, -15), err
    assert "Application shutdown complete" in err
    assert f"listening on http://127.0.0.1:{port}" in err
    assert "wheel-token" not in out + err and "visits" not in out + err
    # The wheel's kpirules ran, not the checkout's.
    origin = subprocess.run([str(installed / "bin" / "python"), "-c", "import kpirules; print(kpirules.__file__)"],
                            capture_output=True, text=True, env=clean_env(), cwd="/").stdout
    assert str(installed) in origin


def test_the_installed_wheel_writes_the_add_on(installed, tmp_path):
    folder = tmp_path / "addon"
    from kpirules.serve.addon_files import write_addon  # noqa: F401 (same code, checked below from the wheel)

    script = (f"from kpirules.serve.addon_files import write_addon, addon_source; "
              f"print(addon_source()); write_addon({str(folder)!r}, 'https://k.example.run.app')")
    done = subprocess.run([str(installed / "bin" / "python"), "-c", script], capture_output=True, text=True,
                          env=clean_env(), cwd="/")
    assert done.returncode == 0, done.stderr
    assert str(installed) in done.stdout
    assert json.loads((folder / "appsscript.json").read_text())["urlFetchWhitelist"] == ["https://k.example.run.app/"]
