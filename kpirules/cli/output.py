"""What the commands print, without importing click.

``kpirules check`` in its common form runs without click (``kpirules.cli.fast``; click and
what it imports are a tenth of a short run), so what ``check`` prints goes through here in
both paths: ``echo`` writes as ``click.echo`` does for text (a newline, escape codes
stripped off a terminal, a flush), ``status_text`` colours as ``click.style`` does. The
other commands reach these through ``kpirules.cli.common``.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import sys
from typing import Any, Callable

from kpirules.exitcodes import Exit

# click.style's codes for the colours of STATUS_COLORS (tests/test_cli_fast.py compares).
_FG = {"green": 32, "yellow": 33, "red": 31, "bright_black": 90, "cyan": 36, "magenta": 35}
STATUS_COLORS = {"PASS": "green", "WARN": "yellow", "FAIL": "red", "NO_DATA": "bright_black",
                 "INCONCLUSIVE": "cyan", "ERROR": "magenta"}


def echo(message: str = "", *, err: bool = False) -> None:
    """``click.echo(message, err=err)`` for text: the line, without escape codes unless the
    stream is a terminal, flushed."""
    file = sys.stderr if err else sys.stdout
    if file is None:
        return
    message = terminal_text(message) + "\n"
    if "\033" in message and not _isatty(file):
        import re

        message = re.sub(r"\033\[[0-?]*[ -/]*[@-~]", "", message)  # click's strip_ansi
    file.write(message)
    file.flush()


# The only escape sequences kpirules itself prints: status_text's colours, bold and reset.
_OWN_CODES = r"\033\[(?:3[1-6]|90|1|22|0)m"


def terminal_text(message: str) -> str:
    """``message`` safe to print: every control character and bidi override in it shown as
    its escape (``kpirules.errors.shown_lines``), but for the newlines and tabs of its layout
    and the colours ``status_text`` adds. Everything printed goes through here (``echo``), so
    a value a renderer did not escape itself (a cell quoted in a message, a file name)
    cannot clear the screen, retitle the window or hide a FAIL line either."""
    from kpirules.errors import shown_lines

    if message.isascii() and message.isprintable():
        return message
    if "\033" not in message:
        return shown_lines(message)
    import re

    parts = re.split(f"({_OWN_CODES})", message)  # odd indexes: our own codes, kept
    return "".join(part if i % 2 else shown_lines(part) for i, part in enumerate(parts))


class _GoneReader(io.RawIOBase):
    """Standard output's descriptor, dropping what is written once its reader has gone."""

    def __init__(self, fd: int):
        super().__init__()
        self._fd, self.gone = fd, False

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def write(self, data: Any) -> int:
        if not self.gone:
            try:
                return os.write(self._fd, data)
            except BrokenPipeError:
                self.gone = True
        return len(data)


def outlive_closed_stdout() -> None:
    """``kpirules run ... | head``: once the reader of the output has gone, the rest of
    what a command prints is dropped and the command ends with its own exit status. The
    workbook is written and the alerts sent before the summary is printed; a closed pipe
    made that a BrokenPipeError reported as an internal error, exit 2, which said neither
    what the run found nor that it had done its work."""
    out = sys.stdout
    if out is None or _isatty(out):
        return
    try:
        fd = out.fileno()
    except (OSError, ValueError, AttributeError):
        return  # not a file (a test's capture): nothing to guard
    out.flush()
    sys.stdout = io.TextIOWrapper(io.BufferedWriter(_GoneReader(fd)), encoding=out.encoding,
                                  errors=out.errors, line_buffering=bool(out.line_buffering))


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except Exception:  # noqa: BLE001 - a closed or odd stream is no terminal
        return False


def use_color(stream: Any = None) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    stream = stream or sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)())


def status_text(status: str, color: bool, width: int = 7) -> str:
    """The status padded to ``width``, coloured (bold for FAIL and ERROR) when ``color``."""
    text = status.ljust(width)
    if not color:
        return text
    fg = _FG.get(STATUS_COLORS.get(status, ""))
    return (f"\033[{fg}m" if fg else "") + f"\033[{1 if status in ('FAIL', 'ERROR') else 22}m{text}\033[0m"


def echo_json(document: Any) -> None:
    """One JSON document on stdout: indented at a terminal, compact in a pipe (where json's
    C encoder, used only without indent, is several times faster on big reports)."""
    import json

    indent = 1 if sys.stdout.isatty() else None
    echo(json.dumps(document, ensure_ascii=False, indent=indent, default=str))


def parse_date(value: Any) -> dt.date | None:
    """``YYYY-MM-DD``, ``today`` or ``yesterday`` (``--as-of``); None when it is no date, or
    one outside ``kpirules.periods.AS_OF_RANGE``."""
    if isinstance(value, dt.date):
        date: dt.date | None = value
    else:
        text = str(value).strip().lower()
        if text in ("today", "yesterday"):
            return dt.date.today() - dt.timedelta(days=text == "yesterday")
        try:
            date = dt.date.fromisoformat(text)
        except ValueError:
            return None
    from kpirules.periods import judged

    return date if date is not None and judged(date) else None


def settings_used(config: str | None, verbose: int) -> None:
    """Under -v, say which settings file applies (or that none does)."""
    if verbose:
        from kpirules.source import find_settings_file

        found = config or find_settings_file()
        echo(f"settings: {found or 'none found (defaults)'}", err=True)


def source_error_exit(exc: Any, options: dict[str, Any]) -> None:
    """A source that cannot be read: its message (and hint), exit status 3."""
    message, hint = say_source_error(exc, options)
    json_error(options, "source", message, hint, Exit.SOURCE)
    sys.exit(int(Exit.SOURCE))


def say_source_error(exc: Any, options: dict[str, Any]) -> tuple[str, str | None]:
    """A source that cannot be read: its message (and hint) on stderr, and returned. A
    missing tab or column that a setting named says where it was set
    (``kpirules.source.blame_settings``); options given on the command line (``options``)
    are not blamed."""
    from kpirules.source import NAMING_SETTINGS, blame_settings, find_settings_file

    config = options.get("config") or find_settings_file()
    if config:
        exc = blame_settings(exc, [k for k in NAMING_SETTINGS if not options.get(k)], config)
    from kpirules.errors import without_passwords
    from kpirules.i18n import _

    # A message may quote the source, a database URL with its password.
    message, hint = without_passwords(exc.message), exc.hint and without_passwords(exc.hint)
    echo(f"{_('error')}: {message}", err=True)
    if hint:
        echo(_("hint: {hint}").format(hint=hint), err=True)
    return message, hint


def config_error(exc: Any, options: dict[str, Any] | None = None) -> None:
    """Print every problem of a ``ConfigError`` and exit 2 (spec/cli.md: invalid settings)."""
    from kpirules.i18n import _

    for problem in exc.problems:
        echo(f"{_('error')}: {problem.render()}", err=True)
    hint = _("fix the settings (docs/configuration.md lists every key)")
    echo(_("hint: {hint}").format(hint=hint), err=True)
    json_error(options or {}, "config", "; ".join(f"{p.location()}: {p.message}" for p in exc.problems), hint,
               Exit.ERROR, problems=[{**p.to_json(), "where": p.location()} for p in exc.problems])
    sys.exit(int(Exit.ERROR))


def json_error(options: dict[str, Any], category: str, message: str, hint: str | None, status: Exit,
               **more: Any) -> None:
    """Under ``--format json``, the error as the one JSON document stdout promises
    (spec/cli.md), shaped as ``kpirules serve`` answers one: a script that parses stdout
    gets an ``error`` object, not an empty output (the message is on stderr as well)."""
    if options.get("fmt") != "json":
        return
    error: dict[str, Any] = {"category": category, "message": message, "exit_status": int(status)}
    if hint:
        error["hint"] = hint
    echo_json({"error": {**error, **more}})


def reporting_input_errors(call: Callable[[], Any], options: dict[str, Any]) -> Any:
    """``call()``, with a source that cannot be read said and exit status 3, and settings
    that cannot be used (a bad kpirules.toml or Settings tab) said, every problem located,
    and exit status 2. ``options``: the command's, for ``source_error_exit``."""
    from kpirules.errors import SourceError

    try:
        return call()
    except SourceError as exc:
        source_error_exit(exc, options)
    except ValueError as exc:
        if not is_config_error(exc):
            raise
        config_error(exc, options)


def is_config_error(exc: BaseException) -> bool:
    """A ``kpirules.config.ConfigError``: only if settings were loaded (pydantic stays
    unimported on the plain path)."""
    config = sys.modules.get("kpirules.config")
    return config is not None and isinstance(exc, config.ConfigError)
