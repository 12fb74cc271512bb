"""One run per Google Sheet at a time: a lease taken by a write that fails when it is held.

Sheets has no locks, so two runs that overlap (a cron overlap, a second scheduler, a button
click while the morning run works) would both write History rows and both send alerts. The
lease is a hidden tab, ``kpirules-lease``, added by the run's *first* write, in the same
``batchUpdate`` as its results. Google refuses an ``addSheet`` whose title already exists,
and refuses the whole batch with it (a batchUpdate is all or nothing): so the run that does
not get the lease has changed nothing, sends nothing, and exits 7 ("another run holds this
sheet since 07:00:12"). The run that holds it deletes the tab in its last write.

A run that crashed leaves its lease behind; it expires after ``LEASE_SECONDS``. Taking over
an expired lease deletes that tab *by its sheetId* and adds a new one (a new sheetId) in one
batch: of two runs taking over at once, the second one's delete finds no such sheet, so its
batch fails whole and it, too, exits 7.

The tab holds the run id, which is also how a run finds out whether an ambiguous write
(a timeout, a 500, a dropped connection) was applied: the lease tab with its own run id is
there exactly when the first write landed, and gone exactly when the last one did.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kpirules.errors import SourceError

if TYPE_CHECKING:  # pragma: no cover
    from kpirules.connectors.base import RawTable

LEASE_TAB = "kpirules-lease"
LEASE_SECONDS = 15 * 60  # longer than any run (reads, retries, deliveries) takes
_FIRST_ID, _LAST_ID = 1_800_000_000, 2_147_000_000


class LeaseHeld(Exception):
    """Another run holds the sheet (or the workbook's lock): exit 7, nothing changed."""

    def __init__(self, since: str | None, what: str = "sheet"):
        self.since = since
        when = f" since {since}" if since else ""
        super().__init__(f"another run holds this {what}{when}; this run changed nothing and sent nothing")


@dataclass(frozen=True)
class Lease:
    run_id: str
    sheet_id: int
    since: dt.datetime  # UTC
    since_text: str  # as the holder saw its clock ("07:00:12")

    def expired(self, now_utc: dt.datetime) -> bool:
        return (now_utc - self.since).total_seconds() > LEASE_SECONDS


def new_run_id() -> str:
    return secrets.token_hex(8)


def new_sheet_id() -> int:
    return _FIRST_ID + secrets.randbelow(_LAST_ID - _FIRST_ID)


def utc(now: dt.datetime) -> dt.datetime:
    return now.astimezone(dt.timezone.utc) if now.tzinfo else now.replace(tzinfo=dt.timezone.utc)


def since_text(now: dt.datetime) -> str:
    return now.strftime("%H:%M:%S")


def take_requests(run_id: str, sheet_id: int, now: dt.datetime, *, stale: Lease | None = None) -> list[dict]:
    """Requests that take the lease (first in a batch), replacing ``stale`` if given."""
    out: list[dict] = []
    if stale is not None:
        out.append({"deleteSheet": {"sheetId": stale.sheet_id}})
    out.append({"addSheet": {"properties": {
        "sheetId": sheet_id, "title": LEASE_TAB, "hidden": True,
        "gridProperties": {"rowCount": 4, "columnCount": 2}}}})
    rows = [("run", run_id), ("since", utc(now).isoformat(timespec="seconds")),
            ("since_local", since_text(now)),
            ("note", "kpirules run holds this sheet while it writes; removed when it ends")]
    out.append({"updateCells": {
        "start": {"sheetId": sheet_id, "rowIndex": 0, "columnIndex": 0},
        "rows": [{"values": [{"userEnteredValue": {"stringValue": k}},
                             {"userEnteredValue": {"stringValue": v}}]} for k, v in rows],
        "fields": "userEnteredValue"}})
    return out


def release_requests(sheet_id: int) -> list[dict]:
    return [{"deleteSheet": {"sheetId": sheet_id}}]


def read_lease(raw: RawTable | None, sheet_ids: dict[str, int]) -> Lease | None:
    """The lease as read from its tab (None: no lease tab)."""
    if raw is None:
        return None
    values: dict[str, str] = {}
    for row in [raw.headers, *raw.rows]:
        if len(row) >= 2 and row[0] not in (None, ""):
            values[str(row[0])] = "" if row[1] is None else str(row[1])
    sid = next((i for t, i in sheet_ids.items() if t.casefold() == LEASE_TAB.casefold()), None)
    try:
        since = dt.datetime.fromisoformat(values.get("since", ""))
    except ValueError:
        since = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)  # unreadable: treat as stale
    if since.tzinfo is None:
        since = since.replace(tzinfo=dt.timezone.utc)
    return Lease(run_id=values.get("run", ""), sheet_id=-1 if sid is None else sid, since=since,
                 since_text=values.get("since_local") or since.strftime("%H:%M:%S UTC"))


def lease_refused(exc: Exception) -> bool:
    """Whether a refused batch was refused for the lease: its tab (or sheetId) exists
    already, or the stale one to replace is gone (someone else took it over)."""
    message = getattr(exc, "api_message", "") or ""
    if "already exists" in message and (LEASE_TAB in message or "Sheet with id" in message):
        return True
    return "deleteSheet" in message or "No sheet with id" in message


def probe(conn: Any) -> Lease | None:
    """One small read: the lease tab as it is now."""
    raw = conn.read_tab(LEASE_TAB)
    return read_lease(raw, conn.sheet_ids)


def source_error_when_unknown(exc: SourceError) -> SourceError:
    return SourceError(f"{exc.message}; and reading the sheet back to find out whether it was "
                       "applied failed too", hint="look at the sheet; the next run repairs History")
