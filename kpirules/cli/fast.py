"""``kpirules check`` in its common form, without click.

Importing click (with the ``inspect``, ``uuid`` and ``platform`` it loads) is about a tenth
of a short ``check`` (issue 14). A command line that is ``check SOURCE`` with only these
options, each given once with a valid value, runs here: ``--rules``, ``--as-of``,
``--format``, ``--lang``, ``--config``, ``--data-tab``, ``--rules-tab``, ``--connector``,
``-q``/``--quiet``. Anything else (help, a typo, a bad value, ``-v``, credentials, a
``--table``/``--data`` or their environment variables, ``--debug``, shell completion, a
terminal whose encoding click would correct) goes to click, which prints what it always
printed; so does every other command. The work and its output are the click command's own
(``kpirules.cli.check_run``), with the same error handling as click's path: a source that
cannot be read exits 3, bad settings 2, a bug one line and 2, Ctrl-C "Aborted!" and 1.
"""

from __future__ import annotations

import os
import sys
from typing import Any

# check's options that the fast path takes: command-line name -> parameter.
_VALUE_OPTIONS = {"--rules": "rules_file", "--as-of": "as_of", "--format": "fmt", "--lang": "lang",
                  "--config": "config", "--data-tab": "data_tab", "--rules-tab": "rules_tab",
                  "--connector": "connector"}
_FLAGS = {"-q": "quiet", "--quiet": "quiet"}
_CHOICES = {"fmt": ("table", "json"), "lang": ("en", "pl")}
# Read by click's path only: check's options with an envvar=, --debug, shell completion.
_CLICK_ENVIRONMENT = ("KPIRULES_CREDENTIALS", "KPIRULES_TABLE", "KPIRULES_DATA", "KPIRULES_DEBUG",
                      "_KPIRULES_COMPLETE")


def run_fast(argv: list[str]) -> None:
    """Run ``argv`` (without the program name) and exit, if it is check's common form;
    return (having done nothing) otherwise."""
    params = parse_check(argv) if _plain_environment() else None
    if params is None:
        return
    import gc

    # A process that checks once and exits: the cyclic collector would only rescan the
    # rows, rules and results, which are garbage at exit (a check leaves a few cyclic
    # objects a rule: exceptions kept with their frames), ~8% of a short run.
    gc.disable()
    try:
        _run(params)
    except SystemExit as done:
        _exit_now(done)


def _run(params: dict[str, Any]) -> None:
    """check with click's path's error handling (source_errors, LazyGroup, click's main)."""
    from kpirules.cli.check_run import run
    from kpirules.cli.main import internal_error
    from kpirules.cli.output import echo, reporting_input_errors

    try:
        reporting_input_errors(lambda: run(**params, verbose=0, options={}), params)
    except (KeyboardInterrupt, EOFError):
        echo("", err=True)  # as click: a blank line closes the terminal's ^C, then "Aborted!"
        i18n = sys.modules.get("kpirules.i18n")  # loaded when a language was asked for
        echo("Aborted!" if i18n is None else i18n.click_gettext("Aborted!"), err=True)
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001 - a bug: one line, never a traceback
        internal_error(exc)
    sys.exit(0)  # run exits with the report's status; this is never reached


def _exit_now(done: SystemExit) -> None:
    """Exit with ``done``'s status once what was printed is out, without the interpreter's
    clean-up: freeing every cell, rule and result one by one and a last full garbage
    collection were ~10% of a short run, for memory the system takes back at once. Exit
    handlers still run first: the DuckDB backend removes the UTF-8 copy it made of a file
    in another encoding with one (else every check of such a file left a copy of the data
    in the temporary folder). If the output cannot be flushed (a closed pipe), the
    interpreter's own exit reports it, as it always did."""
    import atexit

    atexit._run_exitfuncs()
    code = done.code
    if code is not None and not isinstance(code, int):
        raise done
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:  # noqa: BLE001 - the normal exit says what went wrong
        raise done from None
    os._exit(code or 0)


def parse_check(argv: list[str]) -> dict[str, Any] | None:
    """The parameters of ``check`` as click would give them, or None when the line is not
    check's common form (or click would refuse it: then click says why)."""
    if not argv or argv[0] != "check":
        return None
    params: dict[str, Any] = {"source": None, "rules_file": None, "as_of": None, "fmt": "table", "lang": None,
                              "config": None, "quiet": False, "data_tab": None, "rules_tab": None,
                              "connector": None}
    given: set[str] = set()
    rest = iter(argv[1:])
    for token in rest:
        value: str | bool | None
        if token.startswith("-") and token != "-":
            name, equals, value = token.partition("=")
            if name in _FLAGS and not equals:
                key, value = _FLAGS[name], True
            elif name in _VALUE_OPTIONS:
                key = _VALUE_OPTIONS[name]
                if not equals:
                    value = next(rest, None)
                    if value is None or value.startswith("-"):
                        return None
            else:
                return None
        elif params["source"] is None:
            key, value = "source", token
        else:
            return None  # a second argument: click's error
        if key in given:
            return None
        given.add(key)
        params[key] = value
    if params["source"] is None or not _valid(params):
        return None
    return params


def _valid(params: dict[str, Any]) -> bool:
    """Whether click would take these values (click.Choice, DATE, click.Path); converts
    ``as_of`` to a date."""
    from kpirules.cli.output import parse_date

    for key, choices in _CHOICES.items():
        if params[key] is not None and params[key] not in choices:
            return False
    if params["as_of"] is not None:
        params["as_of"] = parse_date(params["as_of"])
        if params["as_of"] is None:
            return False
    # --rules: click.Path(dir_okay=False); --config: the same, and it must exist.
    for key, must_exist in (("rules_file", False), ("config", True)):
        path = params[key]
        if path is None:
            continue
        if not os.path.exists(path):
            if must_exist:
                return False
        elif os.path.isdir(path) or not os.access(path, os.R_OK):
            return False
    return True


def _plain_environment() -> bool:
    """No environment that click's path reads, a POSIX system, and standard streams that
    click would write to as they are (it rewraps one whose encoding is ASCII)."""
    if os.name != "posix" or any(os.environ.get(name) for name in _CLICK_ENVIRONMENT):
        return False
    import codecs

    for stream in (sys.stdout, sys.stderr):
        encoding = getattr(stream, "encoding", None)
        if stream is None or not encoding or codecs.lookup(encoding).name == "ascii":
            return False
    return True
