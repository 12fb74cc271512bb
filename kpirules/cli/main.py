"""The ``kpirules`` command line's entry point: the table of commands, exit statuses, and
``main``, which runs ``check``'s common form without click (``kpirules.cli.fast``) and every
other command line through the click group (``kpirules.cli.group``, as ``cli`` here)."""

from __future__ import annotations

import sys
from typing import Any

# name -> (module, one-line help). The module defines ``command``, a click.Command. The help's
# Polish is in the catalog, read when ``kpirules --help --lang pl`` lists the commands.
COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("kpirules.cli.check", "Evaluate rules against a source and print the results."),
    "run": ("kpirules.cli.run", "Evaluate and write results, history and alerts back into the source."),
    "validate": ("kpirules.cli.validate", "Check rule files for errors without reading data."),
    "test": ("kpirules.cli.test", "Run rule unit tests (YAML) with fixed data and as-of dates."),
    "lint": ("kpirules.cli.lint", "Find KPIs that measure activity instead of outcomes, and other smells."),
    "explain": ("kpirules.cli.explain", "Show how one rule's result came about, number by number."),
    "report": ("kpirules.cli.report", "Write a self-contained HTML report: scorecard, trend charts, alerts."),
    "init": ("kpirules.cli.init", "Set a workbook or Google Sheet up with Rules, History and Alerts tabs."),
    "auth": ("kpirules.cli.auth", "Log in to Google for Sheets access (OAuth user login)."),
    "completion": ("kpirules.cli.completion", "Print the shell completion script (bash, zsh or fish)."),
    "serve": ("kpirules.cli.serve", "Serve the engine over HTTP for the Google Sheets add-on."),
}

# Exit statuses (spec/cli.md): 0 all good, 1 some FAIL, 2 some ERROR or usage error;
# ours beyond that: 3 a source could not be read or written, 4 lint findings under --strict.
from kpirules.exitcodes import Exit  # noqa: E402  (one table for every command)

EXIT_OK, EXIT_FAIL, EXIT_ERROR, EXIT_SOURCE, EXIT_LINT = (
    int(Exit.OK), int(Exit.FAIL), int(Exit.ERROR), int(Exit.SOURCE), int(Exit.LINT))


def debug_enabled() -> bool:
    """``kpirules --debug ...`` (or KPIRULES_DEBUG=1): tracebacks instead of one line."""
    import os

    if os.environ.get("KPIRULES_DEBUG", "").strip() not in ("", "0"):
        return True
    click = sys.modules.get("click")  # no click, no --debug: the fast path took the line
    ctx = click.get_current_context(silent=True) if click is not None else None
    return bool(ctx is not None and ctx.find_root().params.get("debug"))


def internal_error(exc: BaseException, what: str | None = None) -> None:
    """One line on stderr for a bug (the traceback only with --debug); exit status 2, never
    1, which a scheduler reads as "some KPI fails"."""
    from kpirules.cli.output import echo

    if debug_enabled():
        import traceback

        from kpirules.errors import without_passwords

        # Messages in a traceback may quote a database URL, with its password.
        echo(without_passwords("".join(traceback.format_exception(exc))).rstrip("\n"), err=True)
    from kpirules.i18n import _

    # Where people report a crash: README.md, "Reporting a problem". In the language the
    # command was speaking when it stopped (``what`` is said in it by the caller).
    echo(f"{_('error')}: " + _("internal error ({kind}): {what}; please report it: run again with --debug and "
                               "send the output to the kpirules maintainers (README.md, 'Reporting a problem')").format(
        kind=type(exc).__name__, what=what or _("kpirules stopped")), err=True)
    sys.exit(EXIT_ERROR)


def main() -> None:
    from kpirules.cli.fast import run_fast
    from kpirules.cli.output import outlive_closed_stdout

    outlive_closed_stdout()
    run_fast(sys.argv[1:])  # exits when it ran the command line; returns when click must
    from kpirules.cli.group import cli

    try:
        cli(prog_name="kpirules")
    except SystemExit as done:
        if sys.argv[1:2] == ["run"]:
            _run_exit(done)
        raise


def _run_exit(done: SystemExit) -> None:
    """``run`` ends as check's fast path does (``fast._exit_now``): the interpreter's
    clean-up would free History's rows, the workbook's and every result one by one (~10% of
    a run on a year-old History), for memory the system takes back at once. The workbook
    is written and synced, alerts sent, by then; exit handlers still run (a temporary file
    to remove), then whatever is printed goes out."""
    from kpirules.cli.fast import _exit_now

    _exit_now(done)


def __getattr__(name: str) -> Any:
    # ``cli`` (the click group) and ``LazyGroup`` load click: only when asked for.
    if name in ("cli", "LazyGroup"):
        from kpirules.cli import group

        value = getattr(group, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":
    main()
