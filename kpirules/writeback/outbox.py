"""The alert outbox: an alert is owed until each of its channels has taken it.

The delivery state lives with the alert, in its Alerts row: the ``Key`` column holds the
alert's stable key and ``Notified`` one state per channel (``webhook bi: sent; slack team:
FAILED: ... (after 3 attempts) (owed)``), in the run's language (``STATE_WORDS``: a Polish run
writes ``wysłano`` and ``NIE WYSŁANO ... (do wysłania)``) and read back in either. A run
writes a new alert's row as *owed* to every channel that covers it before sending anything,
sends, then records what each channel did.
Every run first delivers what earlier runs still owe (oldest first, at most
``MAX_OWED_PER_RUN``, saying when the alert was raised), as long as it is not older than the
``owed_for`` setting. So a channel that is down for a night loses nothing: the next run
delivers, once, with the same key.

At least once, and exactly once whenever a run is not killed between sending and recording:
each delivery carries a key that is stable per alert and channel (``delivery_key``: the
``Idempotency-Key`` header of webhooks, the SMTP Message-ID, the key in Slack's text), so a
receiver can drop the rare repeat. Rows without a key (alerts raised before the outbox, and
by ``--no-notify`` runs) are never owed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kpirules.notify.alert import delivery_key  # noqa: F401  (kept importable from here)

if TYPE_CHECKING:  # pragma: no cover
    from kpirules.connectors.base import RawTable
    from kpirules.notify.dispatch import Delivery

MAX_OWED_PER_RUN = 50  # a run after a long outage delivers in batches, never floods

# Every word of a Notified cell, per language: the one table of them. A run writes its
# language's; the next run reads back EITHER language's (a sheet holds English rows from
# before a switch to Polish, and the reverse), so an owed alert is found whoever wrote it.
# The channel type and name before the colon stay as configured.
STATE_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "owed": "owed",
        "owed_mark": "(owed)",
        # A channel without ``idempotency-key`` (config_channels): a failed try the receiver
        # may have taken, and the resend after it.
        "maybe_arrived": "(owed, may have arrived)",
        "sent": "sent",
        "possible_repeat": "possibly a repeat: an earlier try may have arrived",
        "failed": "FAILED",
        "no_reason": "no reason given",
        "no_notify": "not sent (--no-notify)",
        "expired": "not sent: owed for longer than owed_for ({owed_for})",
        "unconfigured": "not sent: the channel is no longer configured",
    },
    "pl": {
        "owed": "do wysłania",
        "owed_mark": "(do wysłania)",
        "maybe_arrived": "(do wysłania, mogło już dotrzeć)",
        "sent": "wysłano",
        "possible_repeat": "możliwe powtórzenie: wcześniejsza próba mogła już dotrzeć",
        "failed": "NIE WYSŁANO",
        "no_reason": "bez podanej przyczyny",
        "no_notify": "nie wysłano (--no-notify)",
        "expired": "nie wysłano: czekało dłużej, niż pozwala owed_for ({owed_for})",
        "unconfigured": "nie wysłano: tego kanału nie ma już w ustawieniach",
    },
}
NOT_NOTIFIED = STATE_WORDS["en"]["no_notify"]
OWED_MAYBE_ARRIVED = STATE_WORDS["en"]["maybe_arrived"]
POSSIBLE_REPEAT = STATE_WORDS["en"]["possible_repeat"]
# Read back in any language: what an owed state is or ends with.
_OWED = frozenset(w["owed"] for w in STATE_WORDS.values())
_OWED_ENDS = tuple(w[k] for w in STATE_WORDS.values() for k in ("owed_mark", "maybe_arrived"))
_MAYBE_ENDS = tuple(w["maybe_arrived"] for w in STATE_WORDS.values())
# Every owed state's text holds one of these (the quick skip of ``read_owed``).
OWED_MARKS = tuple(sorted(_OWED))
_STATE = re.compile(r"^(?P<type>[a-z][a-z0-9_]*) (?P<name>.+?): (?P<text>.*)$", re.S)


def state_words() -> dict[str, str]:
    """The state words of the current language (English for any other)."""
    from kpirules.i18n import language

    return STATE_WORDS.get(language(), STATE_WORDS["en"])


def may_be_owed(cell: Any) -> bool:
    """Whether a Notified cell may hold an owed state, in either language (a year of sent
    rows is passed over without parsing each one)."""
    text = str(cell or "")
    return any(mark in text for mark in OWED_MARKS)


def alert_key(alert_id: str, raised: str) -> str:
    """The alert's key: its rule, segment, period and status (``Alert.id``) and when it was
    raised, so the same change raised again another day is another alert."""
    return hashlib.sha256(f"{alert_id}|{raised}".encode()).hexdigest()[:16]


def identity(record: Any) -> str:
    """What an alert is about: rule, segment, period, new status (or data event)."""
    from kpirules.writeback.summary import segment_key

    r = record.result
    period = f"{r.period.start}..{r.period.end}" if r.period else ""
    return "|".join([r.name, segment_key(r.segment), period, record.status, record.event or ""])


@dataclass
class ChannelState:
    channel_type: str
    channel: str
    text: str  # "owed", "sent", "FAILED: ... (after 3 attempts) (owed)", "not sent: ..." (or in Polish)

    @property
    def owed(self) -> bool:
        return self.text in _OWED or self.text.endswith(_OWED_ENDS)

    @property
    def maybe_arrived(self) -> bool:
        """An earlier try may have reached a receiver that cannot drop a repeat."""
        return self.text.endswith(_MAYBE_ENDS)

    def render(self) -> str:
        return f"{self.channel_type} {self.channel}: {self.text}"


def owed(channel: Any) -> ChannelState:
    return ChannelState(channel.type, channel.name, state_words()["owed"])


def after(delivery: Delivery, before: ChannelState | None = None) -> ChannelState:
    """The state a delivery leaves: sent, or failed and still owed (never raises). On a
    channel whose messages carry no key to drop repeats by (no ``idempotency-key``), a
    failure the receiver may have taken says so, and so does the send after it: the
    receiver may have the alert twice. In the current language (``STATE_WORDS``)."""
    words = state_words()
    error = " ".join(str(delivery.error or "").replace(";", ",").split())
    repeat = before is not None and before.maybe_arrived
    if delivery.ok:
        notes = [n for n in (error, words["possible_repeat"] if repeat else "") if n]
        text = words["sent"] + (f" ({', '.join(notes)})" if notes else "")
    else:
        owed = words["maybe_arrived"] if delivery.maybe_delivered or repeat else words["owed_mark"]
        # The channel's error says how many attempts it took (notify.transport.after_attempts).
        text = f"{words['failed']}: {error or words['no_reason']} {owed}"
    return ChannelState(delivery.channel_type, delivery.channel, text)


def render(states: list[ChannelState]) -> str:
    return "; ".join(s.render() for s in states)


def parse(cell: Any) -> list[ChannelState]:
    """The states of a Notified cell (``render``'s inverse); unknown text gives none."""
    from kpirules.config_channels import channel_types

    out = []
    types = channel_types() if cell else []
    for part in str(cell or "").split("; "):
        m = _STATE.match(part.strip())
        if m and m.group("type") in types:
            out.append(ChannelState(m.group("type"), m.group("name"), m.group("text")))
    return out


def raised_at(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(text.strip(), "%Y-%m-%d %H:%M")
    except ValueError:
        return None


@dataclass
class OwedRow:
    """An Alerts row of an earlier run that still owes a delivery."""

    row: int  # 1-based sheet row
    key: str
    raised: str  # the Time cell
    cells: dict[str, Any]  # by Alerts column label
    states: list[ChannelState]


def read_owed(raw: RawTable | None, columns: tuple[str, ...]) -> list[OwedRow]:
    """Rows of the Alerts tab with a key and at least one channel still owed, oldest first."""
    from kpirules.i18n import header_columns
    from kpirules.writeback.layout import cell_text

    if raw is None or not raw.headers:
        return []
    col = header_columns(raw.headers, columns)  # a Polish tab's too: its owed alerts are found
    if "Key" not in col or "Notified" not in col:
        return []
    out = []
    for index, cells in enumerate(raw.rows):
        def get(label: str) -> Any:
            c = col.get(label)
            return cells[c] if c is not None and c < len(cells) else None

        key = cell_text(get("Key"))
        notified = get("Notified")
        if not key or not may_be_owed(notified):
            continue
        states = parse(notified)
        if any(s.owed for s in states):
            out.append(OwedRow(row=raw.header_row + 1 + index, key=key, raised=cell_text(get("Time")),
                               cells={label: get(label) for label in col}, states=states))
    out.sort(key=lambda o: (o.raised, o.row))
    return out


def last_row(raw: RawTable | None) -> int:
    """The last sheet row holding anything (where appended rows go after)."""
    if raw is None:
        return 0
    last = raw.header_row if any(h not in (None, "") for h in raw.headers) else raw.header_row - 1
    for index, cells in enumerate(raw.rows):
        if any(c not in (None, "") for c in cells):
            last = raw.header_row + 1 + index
    return last
