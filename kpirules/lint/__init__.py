"""``kpirules lint``: is this a KPI worth having? (docs/lint.md)

Checks grounded in what makes a KPI good: it leads to a decision, the team understands it,
it cannot be dressed up, and it ties straight to a business goal. ``checks`` holds the
checks that read only rules, ``volume`` those that read data, ``vocabulary`` the team-
extendable list of activity metrics, ``findings`` what a finding is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from kpirules.lint.checks import Item
from kpirules.lint.findings import CODES, DATA_CHECKS, RULE_CHECKS, Finding
from kpirules.lint.vocabulary import Vocabulary, VocabularyError, load_vocabulary

__all__ = ["CODES", "Finding", "Item", "RuleSet", "Vocabulary", "VocabularyError", "lint",
           "load_vocabulary"]

_NOQA = re.compile(r"#\s*noqa\b(?::\s*(?P<codes>[A-Za-z0-9_,\s]+))?", re.IGNORECASE)


@dataclass
class RuleSet:
    """The rules of one file or Rules tab the user asked to lint."""

    path: str
    entries: list[Any]  # RuleEntry
    rules_table: Any = None  # the Rules tab's RawTable, when the rules came from a workbook


@dataclass
class LintResult:
    findings: list[Finding] = field(default_factory=list)
    problems: list[Any] = field(default_factory=list)  # rules that do not parse (Problem)
    linted: int = 0
    disabled: int = 0  # rules switched off: not linted, counted as every command counts them


def _items(ruleset: RuleSet) -> list[Item]:
    from kpirules.names import normalise

    columns = sheet = None
    header_row = 1
    if ruleset.rules_table is not None:
        raw = ruleset.rules_table
        columns = {}
        for i, h in enumerate(raw.headers):
            if h not in (None, ""):
                columns.setdefault(normalise(h), i)
        sheet, header_row = raw.sheet or "Rules", raw.header_row
    from kpirules.rulesfile import enabled

    return [Item(e, ruleset.path, columns, sheet, header_row) for e in ruleset.entries
            if e.rule is not None and e.problem is None and enabled(e)]


def _suppressed(item: Item, code: str) -> bool:
    """``# noqa`` or ``# noqa: KPI001`` at the end of the rule's line in a .kpi file."""
    line = getattr(item.entry, "source_line", None) or ""
    m = _NOQA.search(line)
    if not m:
        return False
    codes = m.group("codes")
    return not codes or code.upper() in {c.strip().upper() for c in re.split(r"[,\s]+", codes) if c.strip()}


def lint(rulesets: Iterable[RuleSet], *, vocabulary: Vocabulary | None = None, table: Any = None,
         ignore: Iterable[str] = (), min_volume: int | None = None) -> LintResult:
    """Every finding for the rules of ``rulesets``; ``table`` (a DataTable) enables the
    checks that read data. Rules that do not parse come back as ``problems``."""
    from kpirules.lint import checks

    vocabulary = vocabulary or load_vocabulary()
    ignore = {c.upper() for c in ignore}
    result = LintResult()
    items: list[Item] = []
    from kpirules.rulesfile import enabled

    for rs in rulesets:
        result.problems.extend(e.problem for e in rs.entries if e.problem is not None and enabled(e))
        result.disabled += sum(1 for e in rs.entries if not enabled(e))
        items.extend(_items(rs))
    result.linted = len(items)
    headers = set(table.names()) if table is not None else None
    found: list[Finding] = []
    found += checks.vanity(items, vocabulary, headers)
    if table is not None:
        from kpirules.lint import volume

        recent = volume.Recent(table)
        usable = [i for i in items if all(c.name in headers for c in i.rule.columns())]
        found += volume.small_denominators(usable, recent, min_volume)
        found += volume.window_mismatch(usable, recent)
        from kpirules.lint import baselines

        # KPI002 already asks for a guard where the volume is short on the median.
        found += baselines.unguarded_ratios(
            usable, recent, skip={id(f.item) for f in found if f.code == "KPI002"})
        found += baselines.seasonal_changes(usable, recent)
        for data_check in DATA_CHECKS:  # any check registered with @data_check
            found += data_check(usable, recent)
    from kpirules.lint import baselines

    found += baselines.change_of_ratio(
        items, volume.Recent(table) if table is not None else None)
    # A rule the data already showed at the wrong scale needs no second KPI003 from the
    # comparison with other rules.
    found += checks.window_scale(items, skip={id(f.item) for f in found if f.code == "KPI003"})
    for rule_check in RULE_CHECKS:  # KPI004..KPI007 and any check registered like them
        found += rule_check(items)
    order = {id(i): n for n, i in enumerate(items)}
    kept = [f for f in found if f.code not in ignore and not _suppressed(f.item, f.code)]
    # Findings in rule order, a rule's findings by code: the order people read a file in.
    result.findings = sorted(kept, key=lambda f: (order[id(f.item)], f.code))
    return result
