"""Where the engine writes in a tab: its own columns, found by header, never by position.

The ``Rules`` tab belongs to the user except for the engine's columns (Status, Value,
Target, Period, Checked, Message). They are found by header, case-insensitively, wherever
the user moved them; a missing one is added to the right of everything the user has (also
of cells written without a header, so nothing of theirs is overwritten). No other cell of
the tab is ever in a plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from kpirules.i18n import N_, _, header, header_columns, header_keys
from kpirules.names import normalise
from kpirules.writeback.plan import HEADER, PLAIN, Out, StatusColours, Style, TabPlan, status_style

if TYPE_CHECKING:  # pragma: no cover
    from kpirules.config import Settings
    from kpirules.connectors.base import RawTable
    from kpirules.writeback.summary import RuleSummary

ENGINE_COLUMNS = ("Status", "Value", "Target", "Period", "Checked", "Message")
ENGINE_KEYS = frozenset(k for c in ENGINE_COLUMNS for k in header_keys(c))  # English and Polish
ENGINE_NOTES = {
    "Status": N_("Written by kpirules run: PASS, WARN, FAIL, NO_DATA (no rows or a missing number "
                 "in the period), INCONCLUSIVE (data, but too few to judge: `with at least` or "
                 "`with ... confidence`), ERROR (the rule could not be evaluated), OFF (disabled). For a rule "
                 "with `by`, the worst status of its segments. Do not edit: it is overwritten."),
    "Value": N_("Written by kpirules run: the value the rule computed for its period (the left-hand "
                "side); for a rule with `by`, the lowest to the highest segment value."),
    "Target": N_("Written by kpirules run: the threshold as the rule states it, and its warn level."),
    "Period": N_("Written by kpirules run: the dates the rule looked at (only complete periods)."),
    "Checked": N_("Written by kpirules run: when the rule was last evaluated."),
    "Message": N_("Written by kpirules run: what happened, in words, with the numbers, on one line; "
                  "for a rule with `by`, which segments fail; for a broken rule, the error (the rule "
                  "and a caret under the spot are in the cell's note)."),
}
PROTECTION_NOTE = N_("kpirules: written by the engine")  # + " (Status)": one protected range a column
SET_UP_ROWS = 500  # how far below the header the Status colours reach (init's dropdown too)
WIDTHS = {"Status": 10, "Value": 15, "Target": 22, "Period": 18, "Checked": 17, "Message": 70}


@dataclass
class Columns:
    """Engine columns of one tab: label -> 0-based column, and which of them are new."""

    at: dict[str, int]
    added: tuple[str, ...]

    def __getitem__(self, label: str) -> int:
        return self.at[label]

    @property
    def width(self) -> int:
        return max(self.at.values(), default=-1) + 1


def used_width(raw: RawTable | None) -> int:
    """Columns in use: the last non-empty header or cell in any row, plus one."""
    if raw is None:
        return 0
    width = 0
    for row in [raw.headers, *raw.rows]:
        for i in range(len(row) - 1, -1, -1):
            if row[i] not in (None, ""):
                width = max(width, i + 1)
                break
    return width


def locate(raw: RawTable | None, labels: Sequence[str]) -> Columns:
    """Find ``labels`` among the headers (normalised, so ``STATUS`` and ``status `` count);
    missing ones get the next free columns to the right, in ``labels`` order."""
    at = header_columns(raw.headers if raw else [], labels)  # in either language
    added = [label for label in labels if label not in at]
    free = used_width(raw) if added else 0  # a scan of every row: only when needed
    for offset, label in enumerate(added):
        at[label] = free + offset
    return Columns(at=at, added=tuple(added))


def header_cells(tab: TabPlan, cols: Columns, notes: dict[str, str], widths: dict[str, float],
                 *, only_added: bool = True) -> None:
    """Header cells (bold, with the explaining note) for the columns the engine adds."""
    for label in (cols.added if only_added else tuple(cols.at)):
        col = cols[label]
        note = notes.get(label)
        tab.set(tab.header_row, col, Out(header(label), HEADER, note=None if note is None else _(note)))
        if label in widths:
            tab.widths[col] = widths[label]


def number_out(value: float | None, unit: str | None, *, base: Style = PLAIN) -> Out:
    """A number cell formatted the way its threshold was written (``0.00%`` for ``2%``)."""
    from dataclasses import replace

    if value is None:
        return Out(None, base)
    if unit == "%":
        fmt = "0.00%"
    elif float(value).is_integer():
        fmt = "#,##0"
    elif abs(value) >= 1:
        fmt = "#,##0.00"
    else:
        fmt = "0.0000"  # small ratios written without a %: keep four places, not sixteen
    return Out(float(value), replace(base, number_format=fmt, align="right"))


def rules_tab_plan(raw: RawTable, summaries: list[RuleSummary], checked: str) -> TabPlan:
    """The engine's cells of the Rules tab: one line per rule, found by the rule's row.

    Rows that no longer hold a rule get their engine cells cleared, so a deleted rule does
    not keep showing yesterday's FAIL."""
    tab = TabPlan(title=raw.sheet or "Rules", header_row=raw.header_row)
    cols = locate(raw, ENGINE_COLUMNS)
    header_cells(tab, cols, ENGINE_NOTES, WIDTHS)
    written: set[int] = set()
    for s in summaries:
        index = s.entry.row_index
        if index is None:
            continue
        row = raw.header_row + 1 + index
        written.add(index)
        for label, out in _rule_cells(s, checked).items():
            tab.set(row, cols[label], out)
    stale = 0
    for index, cells in enumerate(raw.rows):
        if index in written:
            continue
        present = [c for label, c in cols.at.items() if label not in cols.added
                   and c < len(cells) and cells[c] not in (None, "")]
        for col in present:
            tab.set(raw.header_row + 1 + index, col, Out(None))
        stale += bool(present)
    if "Status" in cols.added:
        # A tab no init has set up (init adds these columns): give it what init gives, once,
        # so that statuses others write (the add-on) are coloured too.
        set_up(tab, {label: cols[label] for label in cols.added}, sheets=True, formatting=None)
    tab.counts = {"rules": len(written), "cleared rows": stale, "new columns": len(cols.added)}
    return tab


def one_line(text: str | None) -> tuple[str | None, str]:
    """A message as a cell shows it in every spreadsheet program: its first line (no
    wrapping, so no row grows tall or spills over the next one in Excel or LibreOffice,
    which keep row heights), and the whole text as the cell's note when there is more
    (an error's rule and caret). The note is "" otherwise, which clears yesterday's."""
    if not text:
        return None, ""
    first, _, rest = text.partition("\n")
    return first, text if rest.strip() else ""


def _rule_cells(s: RuleSummary, checked: str) -> dict[str, Out]:
    message, detail = one_line(s.message)
    if isinstance(s.value, str):
        value = Out(s.value, Style(align="right"))
    else:
        value = number_out(s.value, s.unit)
    disabled = s.status == "OFF"
    return {
        "Status": Out(s.status, status_style(s.status)),
        "Value": value,
        # Centred: a left-aligned target reads as one word with the right-aligned value.
        "Target": Out(s.target or None, Style(align="center")),
        "Period": Out(s.period or None),
        "Checked": Out(None if disabled else checked),
        "Message": Out(message, PLAIN, note=detail),
    }


def cell_text(value: Any) -> str:
    """A cell read back as key text (History keys): dates as ISO, floats without ``.0``."""
    if type(value) is str:  # most cells: first, and without the import (History is long)
        return value.strip()
    import datetime as dt

    if value is None:
        return ""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.date().isoformat() if isinstance(value, dt.datetime) else value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def set_up(tab: TabPlan, engine: dict[str, int], *, sheets: bool, formatting: dict | None) -> None:
    """Frozen header, Status colours and (Google Sheets) protected engine columns, each
    only when the tab does not have it yet."""
    formatting = formatting or {}
    if not tab.create and formatting.get("frozen_rows", 0) < tab.header_row:
        tab.freeze_existing = True
    status = engine["Status"]
    coloured = any(
        any(r.get("startColumnIndex") == status for r in rule.get("ranges", ())) and
        [v.get("userEnteredValue") for v in ((rule.get("booleanRule") or {}).get("condition") or {}).get("values", ())]
        == ["PASS"] for rule in formatting.get("conditional_formats", ()))
    if not coloured:
        tab.status_colours = StatusColours(status, tab.header_row + 1, tab.header_row + SET_UP_ROWS)
    if sheets:
        present = {p.get("description") for p in formatting.get("protected_ranges", ())}
        for label, col in engine.items():
            description = protection_description(label)
            if not present & protection_descriptions(label):  # set up before, in either language
                tab.protected[col] = description


def protection_description(label: str, lang: str | None = None) -> str:
    """The description of the protected range over engine column ``label``, in ``lang``
    (None: the current language): ``kpirules: written by the engine (Status)``."""
    from kpirules.i18n import HEADERS_PL, language, speaker

    lang = lang or language()
    return f"{speaker(lang)(PROTECTION_NOTE)} ({HEADERS_PL.get(label, label) if lang == 'pl' else label})"


def protection_descriptions(label: str) -> set[str]:
    """Its description in every language: a column protected by an English ``init`` is not
    protected a second time by a Polish one, nor the reverse."""
    from kpirules.i18n import LANGUAGES

    return {protection_description(label, lang) for lang in LANGUAGES}


# ------------------------------------------------------------------ whose tabs these are

def refuse_foreign(raw: RawTable | None, title: str, labels: Sequence[str]) -> None:
    """A History or Alerts tab of someone else's (it has headers, but not the first two of
    ``labels``, in English or Polish): ``SourceError``, nothing written. ``init`` and
    ``run`` would otherwise add their columns and rows to it."""
    if raw is not None and any(h not in (None, "") for h in raw.headers) \
            and not header_columns(raw.headers, labels[:2]):
        from kpirules.errors import SourceError
        from kpirules.i18n import _

        raise SourceError(_("the {tab} tab exists but is not kpirules' (headers: {headers})").format(
            tab=raw.sheet or title, headers=", ".join(str(h) for h in raw.headers if h)),
            hint=_("rename that tab so that kpirules can create its own {tab} tab").format(tab=title))


WRITTEN_TABS = ("history_tab", "alerts_tab")  # a run appends rows there and rewrites them


def check_tab_names(settings: Settings, path: str | None = None, *, tab: Any = None,
                    tab_name: str = "Settings") -> None:
    """Raise ``ConfigError`` when ``settings`` (as ``load_settings(path, tab=tab)`` made
    them) name History or Alerts as a tab that holds something else (the data, the rules,
    each other, the settings, the Dashboard, the lease): a run would append its rows there
    and rewrite them, and the tab whole (the History lost, the Rules tab broken). ``run``
    and ``init`` ask before writing anything; the settings alone cannot tell (a Settings
    tab may rename what the file leaves to its default). Each problem is located where the
    History or Alerts key was set (the file first: it wins), else where the other key was."""
    from kpirules.config import Settings, find_settings_file
    from kpirules.config_base import CONFIG, DASHBOARD_TAB, LEASE_TAB, ConfigError
    from kpirules.config_sources import file_layer, tab_layer
    from kpirules.errors import Problem
    from kpirules.i18n import _

    path = path if path is not None else find_settings_file()
    layers = [file_layer(path)] if path else []
    if tab is not None:
        layers.append(tab_layer(tab, tab_name))
    taken = {settings.data_tab.strip().casefold(): "data_tab", settings.rules_tab.strip().casefold(): "rules_tab"}
    fixed = {t.casefold(): t for t in (tab_name, DASHBOARD_TAB, LEASE_TAB)}
    problems = []
    for key in WRITTEN_TABS:
        name = getattr(settings, key).strip().casefold()
        other = taken.setdefault(name, key)
        if other == key and name not in fixed:
            continue
        where = next((layer for layer in layers if key in layer.data), None)
        if where is None and other != key:  # a default that another setting's value meets
            key, other = other, key
            where = next((layer for layer in layers if key in layer.data), None)
        what = (_("the {other} tab (`{setting}`)").format(other=getattr(settings, other), setting=other)
                if other != key else _("kpirules' own {tab} tab").format(tab=fixed[name]))
        problems.append(Problem(
            CONFIG, _("`{key}`: {name} is already {what}; a run would write into it and lose what it holds").format(
                key=key, name=repr(getattr(settings, key)), what=what),
            suggestion=_("give `{key}` a tab of its own (the default is {default})").format(
                key=key, default=repr(Settings.model_fields[key].default)),
            **(where.locate((key,), True) if where is not None else {})))
    if problems:
        raise ConfigError(problems)
