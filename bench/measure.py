"""Measuring helpers for run.py: child processes timed with their own peak memory, and the
agreement check between a tool's results and kpirules'."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median

BENCH = Path(__file__).resolve().parent
REL_TOL = 1e-9


@dataclass
class Run:
    returncode: int
    seconds: float
    max_rss_mb: float
    stdout: str
    stderr: str
    cpu_seconds: float = 0.0  # user + system CPU time of the child: less moved by load than wall time


def run_child(cmd: list[str], *, env: dict | None = None, cwd: str | None = None) -> Run:
    """Run ``cmd`` to completion; wall time from fork to reap, and *this* child's peak RSS.

    os.wait4 gives the rusage of the one child reaped (RUSAGE_CHILDREN would give the
    largest child so far, which would smear peaks across tools). Output goes to temporary
    files, not pipes, so a large JSON document cannot block the child while we wait."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                env=env, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)  # so Popen does not wait again
        out.seek(0)
        err.seek(0)
        return Run(proc.returncode, seconds, usage.ru_maxrss / 1024,
                   out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"),
                   usage.ru_utime + usage.ru_stime)


def runs_in_turn(commands: list[tuple[str, list[str], dict | None]], repeat: int) -> dict[str, list[Run]] | None:
    """Each (name, command, env) run ``repeat`` times, the commands in turn, so that a change
    in the machine's load falls on all of them alike; None (having said which) when one of
    them exits with anything but 0 or 1 (a FAIL result is a normal end)."""
    runs: dict[str, list[Run]] = {name: [] for name, _, _ in commands}
    for _ in range(repeat):
        for name, cmd, env in commands:
            run = run_child(cmd, env=env)
            if run.returncode not in (0, 1):
                print(f"{name} failed ({run.returncode}): {run.stderr[-2000:]}", file=sys.stderr)
                return None
            runs[name].append(run)
    return runs


@dataclass
class Timing:
    """Repeated runs of one command: median wall time, max of the peaks."""

    times: list[float] = field(default_factory=list)
    peaks: list[float] = field(default_factory=list)
    first: Run | None = None

    @property
    def median(self) -> float:
        return median(self.times)


def time_child(cmd: list[str], repeat: int, budget: float, **kwargs) -> Timing:
    """Up to ``repeat`` runs, fewer once ``budget`` seconds are spent; stops at a failure
    (exit status other than 0/1: 1 only means some rule FAILed)."""
    timing = Timing()
    while True:
        run = run_child(cmd, **kwargs)
        timing.first = timing.first or run
        timing.times.append(run.seconds)
        timing.peaks.append(run.max_rss_mb)
        if run.returncode not in (0, 1) or len(timing.times) >= repeat or sum(timing.times) >= budget:
            return timing


def time_in_turn(commands: dict[str, list[str]], repeat: int, budget: float,
                 envs: dict[str, dict] | None = None) -> dict[str, Timing]:
    """Each command run once in turn, ``repeat`` rounds (fewer once a command has spent
    ``budget`` seconds; at least one); a command that fails (exit status other than 0/1)
    is not run again. Running in turn rather than one after the other makes a change in the
    machine's load fall on every command alike, so their ratio holds."""
    timings = {name: Timing() for name in commands}
    for _ in range(repeat):
        for name, cmd in commands.items():
            timing = timings[name]
            if timing.first is not None and (timing.first.returncode not in (0, 1)
                                             or sum(timing.times) >= budget):
                continue
            run = run_child(cmd, env=(envs or {}).get(name))
            timing.first = timing.first or run
            timing.times.append(run.seconds)
            timing.peaks.append(run.max_rss_mb)
    return timings


def checkout_env(checkout: str) -> dict:
    """The environment that makes ``kpirules`` run from another checkout (``--before``):
    that checkout first on PYTHONPATH instead of this one, its .pyc files written."""
    import compileall

    before = os.path.abspath(checkout)
    compileall.compile_dir(before, quiet=2, workers=1)
    return dict(os.environ, PYTHONPATH=os.pathsep.join(
        [before] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                    if p and os.path.abspath(p) != str(BENCH.parent)]))


def compile_bytecode() -> None:
    """Write kpirules' (and the baselines') .pyc files, as pip does when it installs a wheel.

    With PYTHONDONTWRITEBYTECODE set (as in some dev shells) nothing ever writes them and
    every run compiles kpirules from source, about 20 ms that no installed copy pays.
    Python still reads .pyc files in that mode, and re-checks them against the source."""
    import compileall
    import importlib.util

    spec = importlib.util.find_spec("kpirules")
    dirs = list(spec.submodule_search_locations or []) if spec else []
    connectors = importlib.util.find_spec("kpirules.connectors")
    dirs += list(connectors.submodule_search_locations or []) if connectors else []
    for folder in [*dirs, str(BENCH)]:
        compileall.compile_dir(folder, quiet=2, workers=1)


def kpirules_cli() -> str:
    """The `kpirules` console script of the Python running the benchmark.

    Not the first one on PATH: with pyenv that is a shell shim that re-resolves the version
    on every call (about 50 ms here), which the baselines, started as sys.executable, would
    not pay."""
    beside = Path(sys.executable).parent / "kpirules"
    return str(beside) if beside.exists() else (shutil.which("kpirules") or "kpirules")


def baseline_cli(tool: str, csv: Path, rules: Path, as_of: str) -> list[str]:
    """A baseline as its own Python process, start-up and imports included."""
    code = (f"import sys; sys.path.insert(0, {str(BENCH)!r}); "
            "from baselines.cli import main; main()")
    return [sys.executable, "-c", code, tool, str(csv), str(rules), as_of]


def duckdb_read_cli(csv: Path) -> list[str]:
    """DuckDB reading the CSV and nothing else: the floor the issue's L goal refers to."""
    code = ("import sys, duckdb; duckdb.sql(\"SELECT count(*), sum(visits) FROM "
            "read_csv('\" + sys.argv[1] + \"', header = true)\").fetchall()")
    return [sys.executable, "-c", code, str(csv)]


def normalise_cli(document: dict) -> list[dict]:
    """``kpirules check --format json`` results in the form the baselines print."""
    out = []
    for r in document["results"]:
        period = r.get("period")
        out.append({"name": r["name"], "status": r["status"], "value": r["value"],
                    "period": [period["start"], period["end"]] if period else None,
                    "segment": r.get("segment")})
    return out


def disagreements(reference: list[dict], other: list[dict], limit: int = 5) -> list[str]:
    """The first differences between kpirules' results and a tool's: same results in the
    same order (rule order, segments sorted), status equal, value within 1e-9 relative."""
    problems = []
    if len(reference) != len(other):
        problems.append(f"{len(reference)} results from kpirules, {len(other)} from the tool")
    for i, (a, b) in enumerate(zip(reference, other)):
        where = f"#{i} {a['name']}" + (f" {a['segment']}" if a["segment"] else "")
        if (a["name"], a["segment"]) != (b["name"], b["segment"]):
            problems.append(f"{where}: the tool has {b['name']} {b['segment']} here")
            break  # everything after a misalignment would differ too
        if a["status"] != b["status"]:
            problems.append(f"{where}: status {a['status']} vs {b['status']} "
                            f"(values {a['value']!r} vs {b['value']!r})")
        elif not _close(a["value"], b["value"]):
            problems.append(f"{where}: value {a['value']!r} vs {b['value']!r}")
        elif a["period"] != b["period"]:
            problems.append(f"{where}: period {a['period']} vs {b['period']}")
        if len(problems) >= limit:
            break
    return problems


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= REL_TOL * max(abs(a), abs(b)) or a == b
