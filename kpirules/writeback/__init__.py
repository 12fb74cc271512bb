"""Writing results back: what ``kpirules run`` and ``kpirules init`` put into a workbook or
Google Sheet, and how.

    from kpirules.writeback import run, init
    outcome = run("kpis.xlsx", as_of=date(2026, 11, 26))   # RunOutcome; outcome.exit_status
    plan = init("kpis.xlsx")                                # WritePlan carried out

Deciding (no I/O): ``summary`` (one Rules-tab line per rule), ``layout`` (engine columns by
header), ``history`` (keyed upserts, restatement), ``alerts`` (status changes), ``scaffold``
(``init``'s tabs), all into a ``plan.WritePlan``. Carrying a plan out: ``xlsx`` (atomic file
replace, under ``lock``) and ``sheets`` (one batchUpdate). ``runner`` ties them together.
"""

from __future__ import annotations

from typing import Any

__all__ = ["run", "init"]


def __getattr__(name: str) -> Any:
    # Lazily: importing the package must not pull in openpyxl or the engine.
    if name == "run":
        from kpirules.writeback.runner import run

        return run
    if name == "init":
        from kpirules.writeback.scaffold import init

        return init
    raise AttributeError(f"module 'kpirules.writeback' has no attribute {name!r}")
