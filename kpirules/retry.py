"""A bounded retry policy for calls to remote services (Google Sheets, the token endpoint).

Why our own and not gspread's ``BackOffHTTPClient``: that one retries forever, so a Sheets
outage turns a cron job into a process that never ends. Here every call ends, one way or
the other, within a fixed number of attempts *and* an overall deadline:

* retried: HTTP 408, 429 and 5xx answers, connection errors and timeouts (the caller's
  ``classify`` says which failure is which, so this module knows nothing about HTTP
  libraries and imports nothing heavy);
* waits: exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff
  and Jitter"): ``random() * min(cap, base * 2**n)``, so many clients hitting the same quota
  spread out instead of retrying in lock step;
* ``Retry-After`` (seconds or an HTTP date) is honoured as the least wait, capped, because
  the server knows better than our backoff when its quota window reopens;
* every attempt gets a (connect, read) timeout, the read part shrunk to what is left of the
  deadline, so no attempt can outlive the deadline by more than the connect timeout.

``sleep``, ``clock``, ``wall`` and ``random`` are injectable so that tests run the real
policy against a real server in milliseconds, and count attempts instead of timing them.
"""

from __future__ import annotations

import email.utils
import logging
import random as _random
import time
from dataclasses import dataclass, field
from typing import Callable, TypeVar

from kpirules.errors import SourceError

log = logging.getLogger("kpirules.retry")

T = TypeVar("T")

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})

# Failure kinds, as ``classify`` reports them.
STATUS = "status"  # the server answered with a retryable HTTP status
TIMEOUT = "timeout"  # no answer within the read timeout
CONNECTION = "connection"  # refused, reset, dropped before a full answer


@dataclass(frozen=True)
class Failure:
    """One failed attempt that may be retried."""

    kind: str
    status: int | None = None
    retry_after: str | None = None  # the raw Retry-After header, if any
    detail: str = ""  # short and secret-free ("connection reset"), for messages

    def describe(self) -> str:
        if self.kind == STATUS:
            return f"answered {self.status}"
        if self.kind == TIMEOUT:
            return "did not answer in time"
        return f"could not be reached ({self.detail or 'connection error'})"


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date
    (RFC 9110 10.2.3). ``now`` is wall-clock time (epoch seconds). None when absent or
    unreadable; never negative."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:  # RFC dates are GMT; a naive one came without a zone
        import datetime as dt

        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, when.timestamp() - now)


_WORDS = {1: "once", 2: "twice", 3: "three times", 4: "four times", 5: "five times",
          6: "six times", 7: "seven times", 8: "eight times", 9: "nine times", 10: "ten times"}


def times(n: int) -> str:
    return _WORDS.get(n, f"{n} times")


class RetryExhausted(SourceError):
    """Every attempt failed (or the deadline came first). A ``SourceError``, so the CLI
    exits 3 with the message and the hint."""

    def __init__(self, message: str, hint: str | None, *, attempts: int, elapsed: float,
                 failures: list[Failure]):
        super().__init__(message, hint)
        self.attempts = attempts
        self.elapsed = elapsed
        self.failures = failures

    @property
    def last(self) -> Failure:
        return self.failures[-1]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry. The defaults suit the Sheets API: its per-minute
    quota resets within a minute, and a minute is as long as a scheduled job should hang."""

    attempts: int = 5  # tries in all, the first one included
    base: float = 0.5  # seconds: the first backoff is at most this much
    cap: float = 8.0  # no single backoff longer than this
    deadline: float = 60.0  # seconds for the whole call, all attempts and waits
    retry_after_cap: float = 30.0  # a Retry-After longer than this is cut down to it
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    min_read_timeout: float = 0.05  # the last attempt still gets a chance to answer
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)
    clock: Callable[[], float] = field(default=time.monotonic, compare=False, repr=False)
    wall: Callable[[], float] = field(default=time.time, compare=False, repr=False)
    random: Callable[[], float] = field(default=_random.random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.deadline <= 0 or self.connect_timeout <= 0 or self.read_timeout <= 0:
            raise ValueError("deadline and timeouts must be positive")

    def backoff(self, retry: int) -> float:
        """The wait before retry number ``retry`` (1 for the first retry): full jitter."""
        ceiling = min(self.cap, self.base * (2 ** (retry - 1)))
        return self.random() * ceiling

    def timeouts(self, remaining: float) -> tuple[float, float]:
        """(connect, read) for an attempt with ``remaining`` seconds of the deadline left."""
        read = max(self.min_read_timeout, min(self.read_timeout, remaining))
        return (min(self.connect_timeout, read), read)

    def wait_for(self, failure: Failure, retry: int) -> float:
        delay = self.backoff(retry)
        asked = parse_retry_after(failure.retry_after, now=self.wall())
        if asked is not None:
            delay = max(delay, min(asked, self.retry_after_cap))
        return delay

    def run(self, call: Callable[[tuple[float, float]], T],
            classify: Callable[[BaseException], Failure | None], *,
            what: str = "Google Sheets") -> T:
        """``call(timeouts)`` until it returns, at most ``attempts`` times and within
        ``deadline``. An exception ``classify`` maps to None is not retryable and is
        raised as it is; when retries run out, ``RetryExhausted`` is raised."""
        start = self.clock()
        failures: list[Failure] = []
        while True:
            remaining = self.deadline - (self.clock() - start)
            try:
                return call(self.timeouts(remaining))
            except BaseException as exc:  # noqa: BLE001 - classify decides, others re-raised
                failure = classify(exc)
                if failure is None:
                    raise
                failures.append(failure)
                elapsed = self.clock() - start
                if len(failures) >= self.attempts:
                    raise self._exhausted(what, failures, elapsed, by_deadline=False) from exc
                delay = self.wait_for(failure, len(failures))
                if elapsed + delay >= self.deadline:
                    raise self._exhausted(what, failures, elapsed, by_deadline=True) from exc
                log.warning("%s %s; retrying in %.1f s (attempt %d of %d)", what,
                            failure.describe(), delay, len(failures) + 1, self.attempts)
                self.sleep(delay)

    def _exhausted(self, what: str, failures: list[Failure], elapsed: float, *,
                   by_deadline: bool) -> RetryExhausted:
        n = len(failures)
        last = failures[-1]
        same = all(f.kind == last.kind and f.status == last.status for f in failures)
        span = f"in {elapsed:.1f} s"
        if same and last.kind == STATUS:
            message = f"{what} answered {last.status} {times(n)} {span}"
        elif same and last.kind == TIMEOUT:
            message = f"{what} did not answer within {self.read_timeout:g} s, {times(n)} {span}"
        elif same:
            detail = last.detail or "connection error"
            message = f"{what} could not be reached ({detail}) {times(n)} {span}"
        else:
            message = f"{what} failed {times(n)} {span} (last: {last.describe()})"
        if by_deadline:
            message += f", stopping before the {self.deadline:g} s deadline"
        hint = "try again later"
        if last.kind == STATUS and last.status == 429:
            hint = ("the Sheets API quota was used up (per minute, per user and project); "
                    "try again in a minute, or run less often")
        elif last.kind == TIMEOUT:
            hint = ("try again later, or set a longer `timeout` (seconds for a small read) in "
                    "kpirules.toml or the Settings tab")
        elif last.kind == CONNECTION:
            hint = "check the network connection (and any proxy settings), then try again"
        return RetryExhausted(message, hint, attempts=n, elapsed=elapsed, failures=failures)
