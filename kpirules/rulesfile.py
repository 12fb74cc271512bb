"""Where rules come from: ``.kpi`` files (spec/cli.md) and a workbook's ``Rules`` tab.

Both give a list of ``RuleEntry``: the rule's name and text, its parsed ``Rule`` or the
``Problem`` that stopped it, and where it was written (file line, or sheet cell). A broken
rule is an entry with a problem, never an exception: the other rules still run.
"""

from __future__ import annotations

import re
from typing import Any

from kpirules.ast import Rule
from kpirules.bulk import gc_paused
from kpirules.connectors.base import RawTable, a1
from kpirules.dataclass_fast import dataclass, field
from kpirules.errors import INVALID_RULE, KpiError, Problem
from kpirules.i18n import _
from kpirules.names import normalise


@dataclass
class RuleEntry:
    name: str
    text: str
    rule: Rule | None = None
    problem: Problem | None = None
    line: int | None = None  # 1-based line in a .kpi file
    cell: str | None = None  # "Rules!B7" when read from a sheet
    name_cell: str | None = None  # "Rules!A7": where the name was (or should be) written
    unnamed: bool = False  # the Name cell was blank; ``name`` is then "row 7", for messages
    row_index: int | None = None  # 0-based index into the Rules tab's data rows
    meta: dict[str, Any] = field(default_factory=dict)  # other Rules-tab columns: owner, enabled...
    file: str | None = None
    column_offset: int = 0  # where the rule text starts in its file line
    source_line: str | None = None  # the whole file line, for carets

    @property
    def ok(self) -> bool:
        return self.rule is not None and self.problem is None

    def locate(self, problem: Problem) -> Problem:
        """A problem found in the rule text, placed where the rule was written."""
        from kpirules.dataclass_fast import replace

        placed = problem.located(file=self.file, line_offset=(self.line or 1) - 1,
                                 column_offset=self.column_offset, cell=self.cell)
        return replace(placed, source_line=self.source_line or placed.source_line)


def enabled(entry: RuleEntry) -> bool:
    """Whether the rule is switched on (a Rules tab's Enabled column; .kpi rules always are)."""
    return entry.meta.get("enabled", True) is not False


def count_text(entries: list[RuleEntry]) -> str:
    """"13 rules (1 disabled)": how every command counts a rules list, so they agree.
    Disabled rules are not counted as rules; they are named in brackets."""
    on = sum(1 for e in entries if enabled(e))
    return count_text_of(on, len(entries) - on)


def count_text_of(on: int, off: int) -> str:
    """``count_text`` from the two counts, in the language of the run."""
    from kpirules.i18n import ngettext

    text = ngettext("{n} rule", "{n} rules", on).format(n=on)
    # English says "disabled" whatever the number; Polish agrees it with the number.
    return text + (" " + ngettext("({n} disabled)", "({n} disabled)", off).format(n=off) if off else "")


def check_names(entries: list[RuleEntry]) -> list[RuleEntry]:
    """The one rule about rule names, for .kpi files and Rules tabs alike: every rule has a
    name (History, alerts and ``explain`` key on it) and no two share one (compared without
    case and surrounding spaces). A rule that breaks it becomes an entry with a problem,
    placed at its name: the second of two, not the first, so the first keeps its History."""
    first: dict[str, RuleEntry] = {}
    for e in entries:
        if e.unnamed or not e.name.strip():
            if e.problem is None:  # one problem per rule: a syntax error is told first
                no_column = e.cell is not None and e.name_cell is None
                _name_problem(e, _("this rule has no name (the tab has no Name column)") if no_column else
                              _("this rule has no name"),
                              _("add a Name column and give each rule a short name") if no_column else
                              _("write a short name (e.g. `signup_rate`); History and alerts are kept under it"))
            continue
        key = e.name.strip().casefold()
        other = first.setdefault(key, e)
        if other is not e and e.problem is None:
            message = (_("the name `{name}` is already used by the rule in row {row}") if other.cell else
                       _("the name `{name}` is already used by the rule on line {line}"))
            _name_problem(e, message.format(name=e.name, row=_row(other), line=other.line),
                          _("give every rule its own name"))
    return entries


def _row(entry: RuleEntry) -> str:
    m = re.search(r"(\d+)$", entry.name_cell or entry.cell or "")
    return m.group(1) if m else "?"


def _name_problem(entry: RuleEntry, message: str, suggestion: str) -> None:
    if entry.cell is not None:
        entry.problem = Problem(INVALID_RULE, message, cell=entry.name_cell or entry.cell,
                                suggestion=suggestion)
    else:
        raw = entry.source_line or ""
        width = max(len(raw.partition(":")[0].rstrip()), 1)
        entry.problem = Problem(INVALID_RULE, message, line=entry.line, column=1, source_line=raw,
                                file=entry.file, width=width, suggestion=suggestion)
    entry.rule = None


def _parse(entry: RuleEntry) -> RuleEntry:
    from kpirules.parser import parse_rule

    try:
        entry.rule = parse_rule(entry.text)
    except KpiError as exc:
        entry.problem = entry.locate(exc.problem)
    return entry


def parse_rules_file(text: str, file: str | None = None) -> list[RuleEntry]:
    """Parse a ``.kpi`` file: ``name: rule`` a line, ``#`` comments, blank lines ignored.

    Columns in problems count from the start of the file's line (after the name), so an
    editor jumps to the right character."""
    # A byte-order mark (Windows editors save UTF-8 with one) is not part of the first
    # rule's name.
    text = text.removeprefix("\ufeff")
    with gc_paused():
        return _parse_lines(text, file)


_LINE_ENDS = re.compile(r"\r\n|\r|\n")


def _parse_lines(text: str, file: str | None) -> list[RuleEntry]:
    entries: list[RuleEntry] = []
    # Lines end where an editor ends them: str.splitlines also breaks at a form feed, U+2028
    # and other separators (pasted from a web page into a comment), which shifted every
    # later line number and made a bogus rule of the rest of that comment.
    for number, raw in enumerate(_LINE_ENDS.split(text), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        name, sep, rule_text = raw.partition(":")
        if not sep:
            entries.append(RuleEntry(
                name=stripped, text="", line=number,
                problem=Problem("syntax", _("a rule line needs a name, a colon and the rule"),
                                line=number, column=1, source_line=raw, file=file,
                                width=len(raw.rstrip()) or 1,
                                suggestion=_("write it as `{example}`").format(example=f"my_rule: {stripped}")),
            ))
            continue
        name = name.strip()
        # Drop a trailing comment; '#' cannot occur inside a rule outside quotes.
        body = _strip_comment(rule_text)
        lead = len(body) - len(body.lstrip())
        body = body.strip()
        entries.append(_parse(RuleEntry(name=name, text=body, line=number, file=file, source_line=raw,
                                        column_offset=len(raw) - len(rule_text) + lead)))
    check_names(entries)
    return entries


def read_rules_file(path: str) -> list[RuleEntry]:
    """``parse_rules_file`` on a file (``-`` for standard input); a file that cannot be
    read is a ``SourceError``, never a traceback."""
    import sys

    from kpirules.errors import SourceError

    try:
        text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
    except FileNotFoundError:
        raise SourceError(_("no such rules file: {path}").format(path=path)) from None
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, exc) from None
    except OSError as exc:
        raise SourceError(_("cannot read {path}: {reason}").format(path=path, reason=exc.strerror)) from None
    return parse_rules_file(text, file=path)


def _not_utf8(path: str, exc: UnicodeDecodeError):
    """The error for a rules file that is not UTF-8: where its first bad byte is (a
    Windows-1250 `ł` in a rule saved by Notepad), or that it is a workbook or UTF-16."""
    from kpirules.errors import SourceError

    data = exc.object if isinstance(exc.object, bytes) else b""
    if path != "-":  # the text reader decodes in chunks: the error's offset is the chunk's
        try:
            with open(path, "rb") as fh:
                data = fh.read()
            data.decode("utf-8")
        except UnicodeDecodeError as whole:
            exc = whole
        except OSError:
            pass
    if data.startswith(b"PK\x03\x04"):  # a zip: an .xlsx workbook
        return SourceError(_("{path} is a workbook, not a rules file").format(path=path),
                           hint=_("give it as the source to use its Rules tab (kpirules check {path}), or "
                                  "write the rules in a .kpi text file").format(path=path))
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return SourceError(_("{path} is UTF-16 text, not UTF-8").format(path=path),
                           hint=_("save the rules file as UTF-8"))
    start = exc.start
    line = data.count(b"\n", 0, start) + 1
    column = len(data[data.rfind(b"\n", 0, start) + 1:start].decode("utf-8", "replace")) + 1
    return SourceError(_("{path}:{line}:{column}: not UTF-8 text (byte 0x{byte:02X})").format(
        path=path, line=line, column=column, byte=data[start] if start < len(data) else 0),
        hint=_("save the rules file as UTF-8 (in Notepad: Save as, Encoding: UTF-8)"))


def _strip_comment(text: str) -> str:
    if "#" not in text:  # most rules: no character to look at one by one
        return text
    quote = None
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'`":
            quote = ch
        elif ch == "#":
            return text[:i]
    return text


# Columns of the Rules tab the engine reads; everything else the user keeps is ``meta``,
# except the columns the engine itself writes (``kpirules run``).
ENGINE_COLUMNS = frozenset({"status", "value", "target", "period", "checked", "message"})
NAME_HEADERS = ("name", "rule_name", "kpi", "nazwa")
RULE_HEADERS = ("rule", "condition", "kpi_rule", "reguła", "regula")


def rules_from_table(raw: RawTable, *, engine_columns: frozenset[str] = ENGINE_COLUMNS) -> list[RuleEntry]:
    """The rules of a ``Rules`` tab, found by header (never by position).

    Rows with an empty rule are skipped; rows whose ``Enabled`` column says no/false/0 are
    kept but marked ``meta["enabled"] = False`` so callers can skip them and still know the
    row. ``engine_columns`` (normalised headers the engine writes: status, value...) are not
    copied into ``meta``."""
    headers = [normalise(h) if h is not None else "" for h in raw.headers]
    name_col = next((headers.index(h) for h in NAME_HEADERS if h in headers), None)
    rule_col = next((headers.index(h) for h in RULE_HEADERS if h in headers), None)
    if rule_col is None:
        from kpirules.errors import SourceError

        raise SourceError(
            _("the {tab} tab has no `Rule` column (headers: {headers})").format(
                tab=raw.sheet or "Rules", headers=", ".join(str(h) for h in raw.headers if h) or _("none")),
            hint=_("put the headers `Name` and `Rule` in its first row"),
        )
    with gc_paused():
        return _parse_rows(raw, headers, name_col, rule_col, engine_columns)


def _parse_rows(raw: RawTable, headers: list[str], name_col: int | None, rule_col: int,
                engine_columns: frozenset[str]) -> list[RuleEntry]:
    entries: list[RuleEntry] = []
    for index, row in enumerate(raw.rows):
        cells = list(row) + [None] * (len(headers) - len(row))
        text = cells[rule_col]
        if text is None or str(text).strip() == "":
            continue
        unread = _unread_cell(text)
        text = _cell_text(text)
        name = cells[name_col] if name_col is not None else None
        sheet_row = raw.header_row + 1 + index
        blank = name is None or str(name).strip() == ""
        # A blank name shows as its row, so that messages can point at it; it is an error
        # all the same (check_names): History must not be keyed on a row number.
        name = f"row {sheet_row}" if blank else _cell_text(name)
        cell = a1(raw.sheet, sheet_row, rule_col)
        entry = RuleEntry(name=name, text=text, cell=cell, row_index=index,
                          name_cell=a1(raw.sheet, sheet_row, name_col) if name_col is not None else None)
        if unread is None:
            entry = _parse(entry)
        else:
            entry.problem = Problem(INVALID_RULE, unread[0].format(value=text, formula=text), cell=cell,
                                    suggestion=unread[1])
        entry.meta = {
            h: v for h, v in zip(headers, cells)
            if h and h not in engine_columns and headers.index(h) not in (name_col, rule_col)
        }
        if "enabled" in entry.meta:
            entry.meta["enabled"] = _truthy(entry.meta["enabled"])
        entry.unnamed = blank
        entries.append(entry)
    return check_names(entries)


def _cell_text(value: Any) -> str:
    """A Name or Rule cell as text: a number typed as 1 is `1` whichever reader read it
    (calamine gives 1.0, openpyxl 1, Google Sheets 1), so History keys on one name."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _unread_cell(value: Any) -> tuple[str, str] | None:
    """(message, hint) for a rule cell whose text is not the rule: an error cell (#REF! from
    a formula that builds the rule) or a formula saved without its value. Such a cell is
    reported, never read as a rule nor skipped as an empty one."""
    from kpirules.connectors.base import CellError, UnsavedFormula

    if isinstance(value, UnsavedFormula):
        return (_("the rule is the formula {formula}, saved without its value"),
                _("open the file in Excel or LibreOffice and save it, so that the formulas' values are "
                  "stored with them"))
    if isinstance(value, CellError):
        return (_("the rule cell holds the error {value}"), _("fix the formula that writes the rule"))
    return None


def _truthy(value: Any) -> bool:
    if value is None or value == "":
        return True  # an empty Enabled cell does not switch a rule off
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):  # a number cell reads as a float: 0.0 is "0", off
        return value != 0
    return str(value).strip().lower() not in {"no", "false", "0", "n", "off", "nie", "disabled"}
