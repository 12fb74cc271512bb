"""One run per Google Sheet at a time: a lease taken by a write that fails when it is held.

Sheets has no locks, so two runs that overlap (a cron overlap, a second scheduler, a button
click while the morning run works) would both write History rows and both send alerts. The
lease is a hidden tab, ``kpirules-lease``, read with everything else in the run's one read.
It says which run holds the sheet (or held it last) and since when; its *sheetId* changes
with every run that takes it.

* Held by another run (and not expired): exit 7 at once, nothing written or sent.
* Otherwise the run's first write, in the same ``batchUpdate`` as its results, deletes the
  lease tab *by the sheetId it read* and adds a new one (a new sheetId) marked as held by
  this run. A batchUpdate is all or nothing, and the delete fails when another run has
  replaced the tab since this run read it (the add fails when the tab was created
  meanwhile): so a run that raced another, or read before another wrote, has changed
  nothing, sends nothing, and exits 7 ("another run holds this sheet since 07:00:12").
* The run's last write (the delivery states) marks the lease free. A run that has nothing
  to send has no last write: its first write replaces the tab already marked free.

A run that crashed leaves its lease held; it expires after ``LEASE_SECONDS`` and the next
run takes it over the same way. The tab holds the run id, which is also how a run finds out
whether an ambiguous write (a timeout, a 500, a dropped connection) was applied: the first
write landed exactly when the lease names this run, the last one when it is also free.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kpirules.config_base import LEASE_TAB

if TYPE_CHECKING:  # pragma: no cover
    from kpirules.connectors.base import RawTable

LEASE_SECONDS = 15 * 60  # longer than any run (reads, retries, deliveries) takes
_FIRST_ID, _LAST_ID = 1_800_000_000, 2_147_000_000


class LeaseHeld(Exception):
    """Another run holds the sheet (or the workbook's lock): exit 7, nothing changed."""

    def __init__(self, since: str | None, what: str = "sheet"):
        from kpirules.i18n import _

        self.since = since
        # Whole sentences, one per case: the language chosen when it is raised says them.
        if what == "workbook":
            text = (_("another run holds this workbook since {since}; this run changed nothing and sent nothing")
                    if since else _("another run holds this workbook; this run changed nothing and sent nothing"))
        else:
            text = (_("another run holds this sheet since {since}; this run changed nothing and sent nothing")
                    if since else _("another run holds this sheet; this run changed nothing and sent nothing"))
        super().__init__(text.format(since=since))


@dataclass(frozen=True)
class Lease:
    run_id: str
    sheet_id: int
    since: dt.datetime  # UTC
    since_text: str  # as the holder saw its clock ("07:00:12")
    held: bool = True

    def blocks(self, now_utc: dt.datetime) -> bool:
        """Held by a run that may still be working. A lease taken later than a lease's
        length from now (a clock far ahead, or an edited tab: "since 2099") is no run's:
        it would otherwise hold the sheet, every run exiting 7, until that date has passed."""
        return self.held and -LEASE_SECONDS <= (now_utc - self.since).total_seconds() <= LEASE_SECONDS


def new_run_id() -> str:
    return secrets.token_hex(8)


def new_sheet_id() -> int:
    return _FIRST_ID + secrets.randbelow(_LAST_ID - _FIRST_ID)


def utc(now: dt.datetime) -> dt.datetime:
    return now.astimezone(dt.timezone.utc) if now.tzinfo else now.replace(tzinfo=dt.timezone.utc)


def since_text(now: dt.datetime) -> str:
    return now.strftime("%H:%M:%S")


def _rows(run_id: str, state: str, now: dt.datetime) -> list[dict]:
    rows = [("run", run_id), ("state", state), ("since", utc(now).isoformat(timespec="seconds")),
            ("since_local", since_text(now)),
            ("note", "kpirules run: which run holds this sheet (held) or held it last (free). "
                     "Do not edit; hidden on purpose.")]
    return [{"values": [{"userEnteredValue": {"stringValue": k}},
                        {"userEnteredValue": {"stringValue": v}}]} for k, v in rows]


def take_requests(run_id: str, sheet_id: int, now: dt.datetime, *, read: Lease | None,
                  free: bool = False) -> list[dict]:
    """Requests that take the lease (first in a batch), replacing the tab as ``read``;
    ``free``: and give it back in the same write (a run with nothing to send has no last
    write: replacing the tab still refuses a run that raced this one)."""
    out: list[dict] = []
    if read is not None:
        out.append({"deleteSheet": {"sheetId": read.sheet_id}})
    out.append({"addSheet": {"properties": {
        "sheetId": sheet_id, "title": LEASE_TAB, "hidden": True,
        "gridProperties": {"rowCount": 6, "columnCount": 2}}}})
    out.append({"updateCells": {
        "start": {"sheetId": sheet_id, "rowIndex": 0, "columnIndex": 0},
        "rows": _rows(run_id, "free" if free else "held", now), "fields": "userEnteredValue"}})
    return out


def release_requests(run_id: str, sheet_id: int, now: dt.datetime) -> list[dict]:
    return [{"updateCells": {
        "start": {"sheetId": sheet_id, "rowIndex": 0, "columnIndex": 0},
        "rows": _rows(run_id, "free", now), "fields": "userEnteredValue"}}]


def read_lease(raw: RawTable | None, sheet_ids: dict[str, int]) -> Lease | None:
    """The lease as read from its tab (None: no lease tab)."""
    if raw is None:
        return None
    values: dict[str, str] = {}
    for row in [raw.headers, *raw.rows]:
        if len(row) >= 2 and row[0] not in (None, ""):
            values[str(row[0])] = "" if row[1] is None else str(row[1])
    sid = next((i for t, i in sheet_ids.items() if t.casefold() == LEASE_TAB.casefold()), -1)
    try:
        since = dt.datetime.fromisoformat(values.get("since", ""))
    except ValueError:
        since = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)  # unreadable: treat as stale
    if since.tzinfo is None:
        since = since.replace(tzinfo=dt.timezone.utc)
    return Lease(run_id=values.get("run", ""), sheet_id=sid, since=since,
                 since_text=values.get("since_local") or since.strftime("%H:%M:%S UTC"),
                 held=values.get("state", "held") != "free")


def lease_refused(exc: Exception) -> bool:
    """Whether a refused batch was refused for the lease: the tab read is gone (replaced
    by another run) or a lease tab appeared since the read."""
    message = getattr(exc, "api_message", "") or ""
    return ("No sheet with id" in message or
            ("already exists" in message and (LEASE_TAB in message or "Sheet with id" in message)))


def probe(conn: Any) -> Lease | None:
    """One small read: the lease tab as it is now."""
    raw = conn.read_tab(LEASE_TAB)
    return read_lease(raw, conn.sheet_ids)
