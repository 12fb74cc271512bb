"""The bounded retry policy on its own: attempts, waits, Retry-After, deadline, messages.

A fake clock advanced by the injected ``sleep`` stands in for time, so these tests check
the waits the policy *chooses* (and that every run ends) without ever sleeping. The same
policy runs against real HTTP faults in test_gsheets_connector.py.
"""

from __future__ import annotations

import email.utils

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpirules.errors import SourceError
from kpirules.retry import CONNECTION, STATUS, TIMEOUT, Failure, RetryExhausted, RetryPolicy, parse_retry_after, times


class Clock:
    """Monotonic time that only moves when the policy sleeps (or a call takes time)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


class Boom(Exception):
    def __init__(self, failure: Failure | None):
        super().__init__(failure)
        self.failure = failure


def classify(exc: BaseException) -> Failure | None:
    return exc.failure if isinstance(exc, Boom) else None


def policy(clock: Clock, **kw) -> RetryPolicy:
    kw.setdefault("random", lambda: 1.0)  # the top of the jitter range, so waits are exact
    return RetryPolicy(sleep=clock.sleep, clock=clock.clock, wall=lambda: 1_700_000_000.0, **kw)


def failing(failures: list[Failure | None], result: str = "ok", *, took: float = 0.0,
            clock: Clock | None = None):
    """A call that raises the given failures in turn, then returns ``result``."""
    calls: list[tuple[float, float]] = []

    def call(timeouts: tuple[float, float]) -> str:
        calls.append(timeouts)
        if clock is not None:
            clock.now += took
        if len(calls) <= len(failures):
            raise Boom(failures[len(calls) - 1])
        return result

    return call, calls


UNAVAILABLE = Failure(STATUS, status=503)


def test_succeeds_after_transient_failures_with_growing_capped_waits():
    clock = Clock()
    call, calls = failing([UNAVAILABLE] * 4)
    assert policy(clock, attempts=5, base=0.5, cap=3.0).run(call, classify) == "ok"
    assert len(calls) == 5
    assert clock.sleeps == [0.5, 1.0, 2.0, 3.0]  # 0.5 * 2**n, capped at 3


def test_full_jitter_draws_each_wait_between_zero_and_the_ceiling():
    clock = Clock()
    draws = iter([0.0, 0.5, 0.25])
    call, _ = failing([UNAVAILABLE] * 3)
    policy(clock, random=lambda: next(draws), base=1.0).run(call, classify)
    assert clock.sleeps == [0.0, 1.0, 1.0]  # 0 * 1, 0.5 * 2, 0.25 * 4


def test_gives_up_after_the_attempts_with_a_message_that_says_what_happened():
    clock = Clock()
    call, calls = failing([UNAVAILABLE] * 10, took=2.0, clock=clock)
    with pytest.raises(RetryExhausted) as info:
        policy(clock, attempts=5, base=0.1).run(call, classify)
    err = info.value
    assert isinstance(err, SourceError)  # the CLI maps it to exit status 3
    assert len(calls) == 5 and err.attempts == 5
    assert err.message == f"Google Sheets answered 503 five times in {err.elapsed:.1f} s"
    assert err.elapsed == pytest.approx(10.0 + 0.1 + 0.2 + 0.4 + 0.8)
    assert err.hint == "try again later"


def test_non_retryable_errors_pass_through_untouched_after_one_call():
    clock = Clock()
    call, calls = failing([None])  # classify says: not retryable (a 403, say)
    with pytest.raises(Boom):
        policy(clock).run(call, classify)
    assert len(calls) == 1 and clock.sleeps == []


def test_retry_after_seconds_is_the_least_wait():
    clock = Clock()
    call, _ = failing([Failure(STATUS, status=429, retry_after="7")])
    policy(clock, random=lambda: 0.0).run(call, classify)
    assert clock.sleeps == [7.0]


def test_retry_after_is_capped():
    clock = Clock()
    call, _ = failing([Failure(STATUS, status=429, retry_after="3600")])
    policy(clock, retry_after_cap=5.0, deadline=100).run(call, classify)
    assert clock.sleeps == [5.0]


def test_retry_after_never_shortens_the_backoff():
    clock = Clock()
    call, _ = failing([Failure(STATUS, status=503, retry_after="0")])
    policy(clock, base=2.0).run(call, classify)
    assert clock.sleeps == [2.0]


def test_retry_after_as_an_http_date():
    now = 1_700_000_000.0
    header = email.utils.formatdate(now + 12, usegmt=True)
    assert parse_retry_after(header, now=now) == pytest.approx(12.0)
    assert parse_retry_after(email.utils.formatdate(now - 60, usegmt=True), now=now) == 0.0
    assert parse_retry_after("  4.5 ", now=now) == 4.5
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after("", now=now) is None
    assert parse_retry_after(None, now=now) is None


def test_the_deadline_stops_retrying_before_it_would_be_passed():
    clock = Clock()
    call, calls = failing([UNAVAILABLE] * 10, took=4.0, clock=clock)
    with pytest.raises(RetryExhausted) as info:
        policy(clock, attempts=10, base=1.0, cap=8.0, deadline=20.0).run(call, classify)
    # calls at t=0 (4 s), wait 1; t=5 (4 s), wait 2; t=11 (4 s), wait 4 would end at 19;
    # t=19 (4 s) -> 23 s elapsed: the next wait would pass the deadline.
    assert len(calls) == 4
    assert "deadline" in info.value.message
    assert sum(clock.sleeps) + 4.0 * len(calls) <= 20.0 + 4.0


def test_a_retry_after_beyond_the_deadline_ends_the_call_at_once():
    clock = Clock()
    call, calls = failing([Failure(STATUS, status=429, retry_after="30")] * 3)
    with pytest.raises(RetryExhausted) as info:
        policy(clock, deadline=10.0, retry_after_cap=30.0).run(call, classify)
    assert len(calls) == 1 and clock.sleeps == []
    assert "quota" in info.value.hint


def test_every_attempt_has_a_connect_and_read_timeout_within_the_deadline():
    clock = Clock()
    call, calls = failing([Failure(TIMEOUT)] * 2, took=2.0, clock=clock)
    policy(clock, connect_timeout=3.0, read_timeout=6.0, deadline=8.0, base=0.5).run(call, classify)
    # t=0: full timeouts; t=2.5 still 5.5 s left; t=5.5: only 2.5 s of the deadline left,
    # so the read timeout (and the connect timeout under it) shrink to that.
    assert calls == [(3.0, 6.0), (3.0, 5.5), (2.5, 2.5)]


@pytest.mark.parametrize("failures, expected", [
    ([Failure(TIMEOUT)] * 2, "Google Sheets did not answer within 30 s, twice in"),
    ([Failure(CONNECTION, detail="connection reset")] * 3,
     "Google Sheets could not be reached (connection reset) three times in"),
    ([UNAVAILABLE, Failure(TIMEOUT), Failure(STATUS, status=500)],
     "Google Sheets failed three times in"),
])
def test_messages_name_the_kind_of_failure(failures, expected):
    clock = Clock()
    call, _ = failing(failures * 2)
    with pytest.raises(RetryExhausted) as info:
        policy(clock, attempts=len(failures), base=0.01).run(call, classify)
    assert info.value.message.startswith(expected)
    if failures[-1].status == 500 and failures[0] != failures[-1]:
        assert info.value.message.endswith("(last: answered 500)")


def test_one_attempt_means_no_retry():
    clock = Clock()
    call, calls = failing([UNAVAILABLE])
    with pytest.raises(RetryExhausted) as info:
        policy(clock, attempts=1).run(call, classify)
    assert len(calls) == 1 and clock.sleeps == []
    assert "answered 503 once" in info.value.message


@pytest.mark.parametrize("bad", [dict(attempts=0), dict(deadline=0), dict(read_timeout=-1)])
def test_nonsense_limits_are_refused(bad):
    with pytest.raises(ValueError):
        RetryPolicy(**bad)


def test_times_words():
    assert [times(n) for n in (1, 2, 5, 12)] == ["once", "twice", "five times", "12 times"]


failure_kinds = st.one_of(
    st.builds(Failure, st.just(STATUS), status=st.sampled_from([408, 429, 500, 502, 503, 504]),
              retry_after=st.one_of(st.none(), st.integers(0, 120).map(str))),
    st.just(Failure(TIMEOUT)), st.just(Failure(CONNECTION, detail="reset")),
)


@settings(max_examples=200, deadline=None)
@given(failures=st.lists(failure_kinds, max_size=12), attempts=st.integers(1, 8),
       deadline=st.floats(1, 120), took=st.floats(0, 10), jitter=st.floats(0, 1))
def test_every_run_ends_within_the_attempts_and_about_the_deadline(failures, attempts, deadline,
                                                                     took, jitter):
    clock = Clock()
    call, calls = failing(failures, took=took, clock=clock)
    p = policy(clock, attempts=attempts, deadline=deadline, random=lambda: jitter,
               read_timeout=10.0)
    start = clock.now
    try:
        assert p.run(call, classify) == "ok"
        assert len(calls) == len(failures) + 1
    except RetryExhausted as exc:
        assert exc.attempts == len(calls) <= attempts
    assert len(calls) <= attempts
    # Waits never push past the deadline; only the attempts themselves can overrun it.
    assert sum(clock.sleeps) < deadline
    assert clock.now - start <= deadline + took * len(calls)
