"""Docs as tests: every command block of README.md, docs/ and examples/ works as written.

The convention (docs/README of the convention: docs/architecture.md, "Docs as tests"): a
command block is a fenced block whose language is ``sh`` or ``console``, and the line before
it is an HTML comment that GitHub does not render:

    <!-- runnable -->                      executed by this test, exactly as written, in a
                                           fresh temporary copy of examples/
    <!-- runnable: exit 1 -->              ...and its last command must exit with status 1
    <!-- illustrative: needs Google -->    not executed (it needs Google, a warehouse,
                                           Docker or the network); every ``kpirules ...``
                                           command in it is parsed by the CLI instead

In a ``console`` block, lines starting with ``$ `` are commands and the lines under them the
output they print; each output line shown must be printed, in that order (``...`` skips).
Code blocks of other languages (toml, yaml, json, python) are not commands. An indented
code block holding a command is an error: it cannot be marked, so it is not checked.

docs/spec/ is the shared specification, vendored as it is, and is left out.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import click
import pytest

ROOT = Path(__file__).resolve().parent.parent
COMMAND_LANGUAGES = {"sh", "console", "shell", "bash", "cron"}
MARKER = re.compile(r"<!--\s*(runnable|illustrative)\s*(?::\s*(.*?))?\s*-->")
COMMANDISH = re.compile(r"^\s*(\$ |kpirules\b|python3? |pip |cp |KPIRULES_\w+=)")


def doc_files() -> list[Path]:
    files = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
             *sorted((ROOT / "examples").rglob("*.md"))]
    return [f for f in files if f.is_file()]


@dataclass
class Block:
    file: Path
    line: int  # of the opening fence
    language: str
    text: str
    kind: str | None  # runnable | illustrative | None (unmarked)
    note: str

    @property
    def id(self) -> str:
        return f"{self.file.relative_to(ROOT)}:{self.line}"

    def commands(self) -> list[tuple[str, list[str]]]:
        """(command, output lines shown under it). For ``sh`` blocks, each logical line
        (continuations joined) is a command and no output is shown."""
        lines = self.text.splitlines()
        if self.language != "console":
            joined, out = "", []
            for line in lines:
                joined += line[:-1] + " " if line.endswith("\\") else line
                if not line.endswith("\\"):
                    if joined.strip() and not joined.lstrip().startswith("#"):
                        out.append((joined, []))
                    joined = ""
            return out
        commands: list[tuple[str, list[str]]] = []
        for line in lines:
            if line.startswith("$ "):
                commands.append((line[2:], []))
            elif commands:
                commands[-1][1].append(line)
        return commands


def blocks(path: Path) -> list[Block]:
    found = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^(```+)\s*([\w-]*)", lines[i])
        if not m:
            i += 1
            continue
        fence, language, start = m.group(1), m.group(2).lower(), i
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith(fence))
        before = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        marker = MARKER.search(before)
        found.append(Block(path, start + 1, language, "\n".join(lines[start + 1:end]),
                           marker.group(1) if marker else None, (marker.group(2) or "") if marker else ""))
        i = end + 1
    return found


def indented_commands(path: Path) -> list[str]:
    """Commands in indented code blocks (4 spaces after a blank line), which cannot be marked."""
    out, previous_blank, inside = [], True, False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith("```"):
            inside = not inside
        code = not inside and line.startswith("    ") and (previous_blank or out and out[-1][0] == number - 1)
        if code and COMMANDISH.match(line[4:]):
            out.append((number, line))
        previous_blank = not line.strip() or (code and bool(out) and out[-1][0] == number)
    return [f"{path.relative_to(ROOT)}:{n}: {text.strip()}" for n, text in out]


ALL = [b for f in doc_files() for b in blocks(f) if b.language in COMMAND_LANGUAGES]
RUNNABLE = [b for b in ALL if b.kind == "runnable"]
ILLUSTRATIVE = [b for b in ALL if b.kind == "illustrative"]


def test_every_command_block_is_marked():
    unmarked = [b.id for b in ALL if b.kind is None]
    assert not unmarked, f"mark these with <!-- runnable --> or <!-- illustrative: why -->: {unmarked}"
    assert all(b.note for b in ILLUSTRATIVE), "say why a block is illustrative (needs Google, ...)"
    assert len(RUNNABLE) >= 5 and ILLUSTRATIVE


def test_no_command_hides_in_an_indented_block():
    hidden = [c for f in doc_files() for c in indented_commands(f)]
    assert not hidden, f"use a marked fenced block for: {hidden}"


# ------------------------------------------------------------------------- runnable blocks

@pytest.fixture()
def sandbox(tmp_path):
    """A fresh copy of examples/ and a ``kpirules`` on PATH that runs this checkout."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    bin_dir = tmp_path / ".bin"
    bin_dir.mkdir()
    for name, run in (("kpirules", "-m kpirules "), ("python", ""), ("python3", "")):
        shim = bin_dir / name  # scripts, not symlinks: a symlinked venv python is not the venv
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" {run}"$@"\n')
        shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KPIRULES_")}
    env.update(PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", PYTHONPATH=str(ROOT),
               NO_COLOR="1", COLUMNS="100", KPIRULES_CONFIG_DIR=str(tmp_path / ".config"))
    return tmp_path, env


def _expected_exit(block: Block) -> set[int]:
    m = re.search(r"exit (\d+)", block.note)
    return {int(m.group(1))} if m else {0}


@pytest.mark.parametrize("block", RUNNABLE, ids=lambda b: b.id)
def test_runnable_block(block, sandbox):
    cwd, env = sandbox
    tracked = {p: p.read_bytes() for p in (ROOT / "examples").rglob("*") if p.is_file()}
    commands = block.commands()
    assert commands, f"{block.id}: a runnable block without commands"
    for n, (command, shown) in enumerate(commands):
        done = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=300)
        printed = (done.stdout + done.stderr).splitlines()
        last = n == len(commands) - 1
        allowed = _expected_exit(block) if last else {0, 1} | _expected_exit(block)
        assert done.returncode in allowed, f"{block.id}: `{command}` exited {done.returncode}:\n" + "\n".join(printed)
        _assert_shown(block, command, shown, printed)
    # Tracked files never change: the block ran in a copy.
    assert all(p.read_bytes() == data for p, data in tracked.items())


def _assert_shown(block: Block, command: str, shown: list[str], printed: list[str]) -> None:
    """Each line shown under the command is printed, in order (``...`` skips any lines)."""
    at = 0
    actual = [line.rstrip() for line in printed]
    for line in (s.rstrip() for s in shown):
        if not line.strip() or line.strip() == "...":
            continue
        try:
            at = actual.index(line, at) + 1
        except ValueError:
            pytest.fail(f"{block.id}: `{command}` does not print\n{line}\nIt printed:\n" + "\n".join(actual))


# ------------------------------------------------------------------------- illustrative blocks

def kpirules_invocations(text: str) -> list[list[str]]:
    """The argument lists of every ``kpirules ...`` command in a line of shell."""
    out = []
    for part in re.split(r"&&|\|\||;|\||\$\(|`", text):
        try:
            words = shlex.split(part, comments=True)
        except ValueError:
            words = part.split()
        while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):  # VAR=value kpirules ...
            words = words[1:]
        if words and words[0] == "exec":
            words = words[1:]
        # Redirections and a trailing `&` end the command's own arguments.
        cut = next((i for i, w in enumerate(words) if re.match(r"^(\d?>>?|<|&>|&$|\d>&\d)", w)), len(words))
        words = words[:cut]
        if words and os.path.basename(words[0]) == "kpirules":  # also /opt/kpirules/bin/kpirules
            out.append(words[1:])
        elif words[:3] in (["python", "-m", "kpirules"], ["python3", "-m", "kpirules"]):
            out.append(words[3:])
    return out


def parse_cli(args: list[str]) -> None:
    """Parse ``args`` as the CLI would, without running anything: the command and its
    options must exist and required arguments be there (values are not converted: the
    files an example names need not exist here)."""
    from kpirules.cli.main import cli

    command: click.Command = cli
    ctx = click.Context(cli, info_name="kpirules")
    rest = list(args)
    while True:
        opts, rest, _ = command.make_parser(ctx).parse_args(args=rest)
        if not isinstance(command, click.Group):
            if rest and not any(isinstance(p, click.Argument) and p.nargs == -1 for p in command.params):
                raise click.UsageError(f"unexpected extra arguments: {' '.join(rest)}", ctx=ctx)
            for param in command.params:
                if isinstance(param, click.Argument) and param.required and opts.get(param.name) in (None, ()):
                    raise click.MissingParameter(ctx=ctx, param=param)
            return
        if not rest:
            return  # `kpirules auth`: the group's help
        name, command, rest = command.resolve_command(ctx, rest)
        ctx = click.Context(command, info_name=name, parent=ctx)


def invocations_in_docs() -> list[tuple[str, list[str]]]:
    found = []
    for b in ILLUSTRATIVE:
        for command, _ in b.commands():
            found += [(b.id, args) for args in kpirules_invocations(command)]
    return found


@pytest.mark.parametrize("where,args", invocations_in_docs(), ids=lambda v: v if isinstance(v, str) else " ".join(v))
def test_illustrative_commands_parse(where, args):
    try:
        parse_cli(args)
    except click.ClickException as exc:
        pytest.fail(f"{where}: kpirules {' '.join(args)}: {exc.format_message()}")


def test_the_parser_rejects_what_does_not_exist():
    with pytest.raises(click.UsageError):
        parse_cli(["chek", "x.csv"])
    with pytest.raises(click.NoSuchOption):
        parse_cli(["check", "x.csv", "--as-f", "2026-11-26"])
    with pytest.raises(click.UsageError):
        parse_cli(["auth", "logon"])
    parse_cli(["auth", "status", "--check"])
    with pytest.raises(click.UsageError):
        parse_cli(["check", "a.csv", "b.csv"])
    assert kpirules_invocations('X=1 kpirules check a --as-of 2026-11-26 && echo done # kpirules nope') == [
        ["check", "a", "--as-of", "2026-11-26"]]
    assert kpirules_invocations("0 7 * * *  cd /srv && ~/.k/bin/kpirules run x >> k.log 2>&1; [ $? -le 1 ]") == [
        ["run", "x"]]


# ------------------------------------------------------------------------- recipes

RECIPES = [ROOT / "examples" / "github-actions" / "kpirules.yml", ROOT / "examples" / "cron.md",
           *sorted((ROOT / "examples" / "systemd").glob("kpirules.*"))]
PIN = re.compile(r"kpirules @ git\+https://github\.com/OWNER/kpirules@([0-9a-f]{40})")


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)


def _commit_exists(sha: str, path: str | None = None) -> bool:
    if _git("rev-parse", "--git-dir").returncode != 0:
        pytest.skip("not a git checkout")
    if _git("rev-parse", "--is-shallow-repository").stdout.strip() == "true":
        pytest.skip("a shallow clone does not hold the pinned commit")
    return _git("cat-file", "-e", f"{sha}:{path}" if path else f"{sha}^{{commit}}").returncode == 0


def test_recipes_install_kpirules_from_one_pinned_commit_that_exists():
    pins = {}
    for recipe in RECIPES:
        text = recipe.read_text(encoding="utf-8")
        assert "pip install kpirules" not in text, f"{recipe.name}: no index serves kpirules"
        if recipe.suffix in (".yml", ".md", ".service"):
            found = PIN.findall(text)
            assert found, f"{recipe.name} does not say how kpirules is installed"
            pins[recipe.name] = set(found)
    assert len(set().union(*pins.values())) == 1, f"recipes pin different commits: {pins}"
    sha = next(iter(set().union(*pins.values())))
    assert _commit_exists(sha, "pyproject.toml"), f"{sha} is not a commit of this repository"
    from packaging.requirements import Requirement

    requirement = Requirement(f"kpirules @ git+https://github.com/OWNER/kpirules@{sha}")
    assert requirement.name == "kpirules" and requirement.url.endswith(sha)


def test_recipes_kpirules_commands_parse():
    workflow = (ROOT / "examples" / "github-actions" / "kpirules.yml").read_text(encoding="utf-8")
    service = (ROOT / "examples" / "systemd" / "kpirules.service").read_text(encoding="utf-8")
    import yaml

    steps = [step.get("run", "") for job in yaml.safe_load(workflow)["jobs"].values() for step in job["steps"]]
    lines = [line for step in steps for line in step.splitlines()]
    lines += [line.partition("=")[2].replace("${KPIRULES_SOURCE}", "SOURCE")
              for line in service.splitlines() if line.startswith("ExecStart=")]
    invocations = [args for line in lines for args in kpirules_invocations(line)]
    assert len(invocations) >= 2
    for args in invocations:
        parse_cli(args)


def test_the_pre_commit_rev_names_a_commit_with_the_hooks():
    import yaml

    hook_ids = {h["id"] for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    for doc in (ROOT / "docs" / "testing.md", ROOT / ".pre-commit-hooks.yaml"):
        text = doc.read_text(encoding="utf-8")
        revs = re.findall(r"rev:\s*([^\s#]+)", text)
        assert revs, f"{doc.name} has no pre-commit rev"
        for rev in revs:
            assert _commit_exists(rev, ".pre-commit-hooks.yaml"), f"{doc.name}: rev {rev} does not exist"
            published = {h["id"] for h in yaml.safe_load(_git("show", f"{rev}:.pre-commit-hooks.yaml").stdout)}
            used = set(re.findall(r"- id: ([\w-]+)", text.partition("rev:")[2]))
            assert used <= published | hook_ids and used & published, (doc.name, used, published)
