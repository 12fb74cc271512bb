"""Errors as structured records (in the manner of sqlglot): they can be collected, so
``validate`` shows every problem of a file at once, or raised as ``KpiError``.

Every problem a user can cause carries a category, a one-sentence message, where it is
(line/column in a rules file, or a sheet cell such as ``Rules!B7``), the source line with a
caret under the column, and a suggestion when we have one.
"""

from __future__ import annotations

import re
from typing import Iterable

from kpirules.dataclass_fast import dataclass, field, replace

# Categories fixed by spec/semantics.md; "data" and "source" are ours, for bad cells and
# for sources that cannot be read.
SYNTAX = "syntax"
UNKNOWN_NAME = "unknown-name"
UNKNOWN_FUNCTION = "unknown-function"
INVALID_RULE = "invalid-rule"
DATA = "data"
SOURCE = "source"
INTERNAL = "internal"  # a bug of ours, confined to the one rule it hit


_CARET_WINDOW = 160  # characters of a source line shown above a caret

# The password of a URL (``scheme://user:PASSWORD@host``), wherever a URL is quoted; up to
# the last ``@`` of the authority, as URL parsers read it.
_URL_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*:)[^\s/]+@")


def without_passwords(text: str) -> str:
    """``text`` with the password of every URL in it shown as ``***``: a database URL may
    carry one, and nothing kpirules prints, logs or writes may (messages, --debug
    tracebacks, -vv logs, reports)."""
    if "@" not in text:
        return text
    return _URL_PASSWORD.sub(r"\1***@", text)


# What a terminal acts on rather than prints: C0 controls (\r rewinds a line, BEL, ESC starts
# a sequence that clears the screen, sets the title or hides text), DEL, C1 controls (U+009B
# is a one-character ESC [) and the bidi embeddings, overrides and isolates (U+202A-U+202E,
# U+2066-U+2069) that reorder what follows them on screen. Text from the user's data (cells,
# rule names, column names, file names) may hold any of them; ``shown`` writes each as the
# escape a Python string would (``\x1b``, ``\u202e``), visible and harmless.
_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escaped(match: re.Match) -> str:
    return escape_char(ord(match[0]))


def shown(text: str) -> str:
    """``text`` as one line of terminal text: every control character (tab and newline too,
    which would break a table's line) and bidi override shown as its escape."""
    if text.isascii() and text.isprintable():  # nearly always: no copy
        return text
    return _ONE_LINE.sub(_escaped, text)


def shown_lines(text: str) -> str:
    """``text`` of several lines as terminal text: as ``shown``, but newlines and tabs kept
    (the layout of a block kpirules wrote, such as a caret under a tab-indented line). A
    search finds none in a thousand lines of ``check`` output at once: no copy then."""
    if _LINES.search(text) is None:
        return text
    return _LINES.sub(_escaped, text)


def escape_char(code: int) -> str:
    """``\\x1b`` for ESC, ``\\u202e`` for RIGHT-TO-LEFT OVERRIDE: a character shown as its escape."""
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


# Characters XML 1.0 cannot hold at all, not even escaped: most C0 controls, lone
# surrogates, U+FFFE/U+FFFF. An xlsx part (a cell, a chart title) or a JUnit report with one
# is a file no program opens.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def xml_text(text: str) -> str:
    """``text`` with each character XML cannot hold written as its escape (``\\x07``), as
    ``shown`` writes it: nothing lost, and the same text every time (History keys on it)."""
    if text.isascii() and text.isprintable():
        return text
    return _NOT_XML.sub(_escaped, text)


@dataclass(frozen=True)
class Problem:
    category: str
    message: str
    line: int | None = None
    column: int | None = None
    source_line: str | None = None  # the text of the offending line, for the caret
    suggestion: str | None = None
    file: str | None = None  # a path, or a sheet/tab name
    cell: str | None = None  # A1 reference such as "Rules!B7" when it came from a sheet
    width: int = 1  # how many characters the caret underlines

    def located(self, *, file: str | None = None, line_offset: int = 0, column_offset: int = 0,
                cell: str | None = None) -> Problem:
        """The same problem placed inside a bigger document (a rule read from line 7 of a
        file, after its ``name:`` prefix)."""
        return replace(
            self,
            file=file if file is not None else self.file,
            line=None if self.line is None else self.line + line_offset,
            column=None if self.column is None else self.column + (column_offset if self.line == 1 else 0),
            cell=cell if cell is not None else self.cell,
        )

    def caret(self) -> str:
        """The source line with a caret under the column (empty when unknown)."""
        if self.source_line is None or self.column is None:
            return ""
        line, column = self.source_line, self.column
        if len(line) > _CARET_WINDOW:
            # A very long line (a 1 MB rule) is shown around the column only.
            start = max(0, column - 1 - _CARET_WINDOW // 3)
            cut = line[start:start + _CARET_WINDOW]
            line = ("…" if start else "") + cut + ("…" if start + _CARET_WINDOW < len(self.source_line) else "")
            column = column - start + (1 if start else 0)
        # Shown with its control characters escaped, the caret moved by the width of each.
        before = shown_lines(line[: column - 1]).replace("\n", " ")
        pad = "".join(ch if ch == "\t" else " " for ch in before)
        line = shown_lines(line).replace("\n", " ")
        return f"    {line}\n    {pad}{'^' * max(1, min(self.width, _CARET_WINDOW))}"

    def location(self) -> str:
        where = self.cell or self.file or "<rule>"
        if self.cell:
            return where
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return where

    def render(self) -> str:
        """``FILE:LINE:COL: CATEGORY: message`` then the caret and the hint (cli.md); a
        message quoting a name with a newline in it (a cell's Alt+Enter) stays one line."""
        text = shown(f"{self.location()}: {self.category}: {self.message}")
        caret = self.caret()
        if caret:
            text += "\n" + caret
        if self.suggestion:
            text += "\n    " + _hint_label().format(hint=shown(self.suggestion))
        return text

    def one_line(self) -> str:
        """For a sheet cell: the message and the hint without the caret block."""
        text = self.message
        if self.suggestion:
            text += f" ({self.suggestion})"
        return text

    def to_json(self) -> dict:
        out = {"category": self.category, "message": self.message,
               "line": self.line, "column": self.column}
        if self.suggestion:
            out["suggestion"] = self.suggestion
        if self.cell:
            out["cell"] = self.cell
        return out


def _hint_label() -> str:
    """"hint: {hint}" in the current language. This module sits below everything (even
    kpirules.names, which kpirules.i18n uses), so it does not import i18n: a language other
    than English is only ever set through it, so when it is not loaded the answer is English."""
    import sys

    i18n = sys.modules.get("kpirules.i18n")
    return i18n._("hint: {hint}") if i18n is not None else "hint: {hint}"


class KpiError(Exception):
    """Raised for one or more problems; ``problems[0]`` is the first."""

    def __init__(self, problems: Problem | Iterable[Problem]):
        self.problems: list[Problem] = [problems] if isinstance(problems, Problem) else list(problems)
        super().__init__(self.problems[0].render() if self.problems else "kpirules error")

    @property
    def problem(self) -> Problem:
        return self.problems[0]

    @property
    def category(self) -> str:
        return self.problems[0].category


class SourceError(Exception):
    """A source could not be opened or read (missing file, missing tab, no access).
    ``hint`` tells the user what to do. The CLI maps it to exit status 3."""

    def __init__(self, message: str, hint: str | None = None):
        self.message = message
        self.hint = hint
        super().__init__(message if not hint else f"{message}\nhint: {hint}")


def did_you_mean(word: str, candidates: Iterable[str], *, cutoff: float = 0.6) -> str | None:
    """The closest candidate to ``word``, or None."""
    import difflib  # only on the error path

    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=cutoff)
    return matches[0] if matches else None


@dataclass
class ProblemLog:
    """Collects problems instead of raising, for ``validate`` and for data checks."""

    problems: list[Problem] = field(default_factory=list)

    def add(self, problem: Problem) -> None:
        self.problems.append(problem)

    def __bool__(self) -> bool:
        return bool(self.problems)

    def __iter__(self):
        return iter(self.problems)
