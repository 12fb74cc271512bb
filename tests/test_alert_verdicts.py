"""Alerting that understands completeness: alerts compare verdicts (PASS, WARN, FAIL); a
NO_DATA because a period is not complete yet (late data) and an INCONCLUSIVE change no
verdict; a late period's first verdict alerts once it is complete; `data_late` and
`data_recovered` once per change of state, with exit 6 while the data are late.

Until the engine marks late periods itself (``RuleResult.incomplete``, ``Report.late``),
the run-level tests wrap the real engine and mark them the way it will."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from test_outbox import Endpoint
from test_run_common import RULES, data_rows
from test_run_xlsx import make_workbook, run, tab_rows

from kpirules.results import Period, Report, RuleResult, Status
from kpirules.writeback.alerts import data_records, detect
from kpirules.writeback.history import History, HistoryRow

W1 = Period(dt.date(2026, 11, 9), dt.date(2026, 11, 15))
W2 = Period(dt.date(2026, 11, 16), dt.date(2026, 11, 22))
W3 = Period(dt.date(2026, 11, 23), dt.date(2026, 11, 29))


def res(status, period, value=0.02, incomplete=False):
    return RuleResult(name="conv", rule="signups / visits >= 2% weekly", status=status, value=value,
                      threshold=0.02, unit="%", period=period, incomplete=incomplete)


def history(*rows):
    h = History(raw=None, title="History")
    for i, (period, status, value) in enumerate(rows):
        key = ("conv", "", period.start.isoformat(), period.end.isoformat())
        h.rows[key] = HistoryRow(row=2 + i, key=key, status=status, checked="2026-11-01 07:00",
                                 user_cells=False, value=value)
    return h


def test_late_data_is_not_a_change_of_verdict():
    h = history((W1, "PASS", 0.03))
    assert detect(h, [res(Status.NO_DATA, W2, None, incomplete=True)]) == []
    # The late run wrote W2 as NO_DATA; complete now and passing: nothing to say.
    h = history((W1, "PASS", 0.03), (W2, "NO_DATA", None))
    assert detect(h, [res(Status.PASS, W2, 0.025)]) == []


def test_a_late_fail_alerts_once_its_period_completes_also_when_restated():
    h = history((W1, "PASS", 0.03), (W2, "NO_DATA", None))
    (alert,) = detect(h, [res(Status.FAIL, W2, 0.015)])
    assert (alert.previous, alert.status, alert.previous_value) == ("PASS", "FAIL", 0.03)
    # Re-evaluated by restatement while the current period is W3 (also FAIL): one alert,
    # for W2's first verdict; W3 compares with it.
    alerts = detect(h, [res(Status.FAIL, W3, 0.014)], restated=[res(Status.FAIL, W2, 0.015)])
    assert [(a.result.period, a.previous, a.status) for a in alerts] == [(W2, "PASS", "FAIL")]
    # A restatement that changes an earlier *verdict* is marked in History, not alerted.
    h = history((W1, "PASS", 0.03), (W2, "PASS", 0.025))
    assert detect(h, [res(Status.PASS, W3, 0.03)], restated=[res(Status.FAIL, W2, 0.015)]) == []


def test_inconclusive_is_its_own_kind_and_not_a_verdict():
    h = history((W1, "FAIL", 0.01))
    (alert,) = detect(h, [res(Status.INCONCLUSIVE, W2, 0.03)])
    assert alert.status == "INCONCLUSIVE" and alert.previous == "FAIL"
    # FAIL -> INCONCLUSIVE -> FAIL: the verdict never changed.
    h = history((W1, "FAIL", 0.01), (W2, "INCONCLUSIVE", 0.03))
    assert detect(h, [res(Status.FAIL, W3, 0.012)]) == []


def test_data_late_and_recovered_once_per_change_of_state():
    from kpirules.connectors.base import RawTable

    end = dt.date(2026, 11, 20)
    (late,) = data_records({"visits": end}, {}, None)
    assert (late.event, late.status, late.result.segment) == ("data_late", "LATE", {"metric": "visits"})
    alerts = RawTable(headers=["Time", "Rule", "Segment", "From", "To"],
                      rows=[["2026-11-26 07:00", "(data)", "metric=visits", None, "LATE"]], sheet="Alerts")
    assert data_records({"visits": end}, {}, alerts) == []  # still late: said already
    (back,) = data_records({}, {"visits": (dt.date(2026, 1, 1), dt.date(2026, 11, 25))}, alerts)
    assert (back.event, back.status, back.previous) == ("data_recovered", "ON_TIME", "LATE")
    assert "2026-11-25" in back.result.message
    # A Polish sheet's Alerts tab (its headers as a Polish run writes them): the same
    polish = RawTable(headers=["Czas", "Reguła", "Grupa", "Z", "Na"], rows=alerts.rows, sheet="Alerts")
    assert data_records({"visits": end}, {}, polish) == []
    assert [r.event for r in data_records({}, {"visits": (end, end)}, polish)] == ["data_recovered"]


# --------------------------------------------------------------------------- a real run

CLEAN = [r for r in RULES if r["Name"] in ("conversion", "by_campaign", "daily_visits")]


@pytest.fixture
def late_days(monkeypatch):
    """As-of dates on which the engine (wrapped) finds the latest day incomplete."""
    import kpirules.engine as engine

    real = engine.evaluate
    days: set[dt.date] = set()

    def evaluate(entries, table, as_of, *args, **kwargs):
        report = real(entries, table, as_of, *args, **kwargs)
        if as_of not in days:
            return report
        last = as_of - dt.timedelta(days=1)
        for r in report.results:
            if r.period is not None and r.period.end == last and r.status is not Status.ERROR:
                r.status, r.value, r.incomplete = Status.NO_DATA, None, True
        return Report(as_of=report.as_of, results=report.results, data_problems=report.data_problems,
                      late={"visits": last - dt.timedelta(days=1)})

    monkeypatch.setattr(engine, "evaluate", evaluate)
    return days


def config(tmp_path, url):
    path = tmp_path / "kpirules.toml"
    path.write_text(f'[[notifications]]\nname = "bi"\ntype = "webhook"\nurl = "{url}"\n'
                    'on = ["fail", "warn", "no_data", "recovery", "data_late", "data_recovered"]\n')
    return str(path)


def test_pass_late_pass_sends_nothing_and_a_late_fail_alerts_when_complete(tmp_path, late_days):
    def low_on_the_26th(day, campaign, visits, signups):
        return (300, signups) if day == dt.date(2026, 11, 26) else (visits, signups)

    book = make_workbook(tmp_path / "k.xlsx", rules=CLEAN, rows=data_rows(end=dt.date(2026, 11, 28),
                                                                          change=low_on_the_26th))
    hook = Endpoint()
    hook.status = 200
    settings = config(tmp_path, hook.url)

    def sent():
        return [(b["rule"], b["kind"], b["period"]["end"] if b["period"] else None) for _, b in hook.taken()]

    try:
        # 11-25: daily_visits passes (and the weekly rules alert as usual).
        assert run(book, "--as-of", "2026-11-26", "--config", settings).exit_code == 1
        assert ("daily_visits", "fail", "2026-11-25") not in sent()
        before = len(sent())
        # 11-26 is late: no verdict alert, one data_late alert, exit 6.
        late_days.add(dt.date(2026, 11, 27))
        late = run(book, "--as-of", "2026-11-27", "--config", settings)
        assert late.exit_code == 6, late.output
        assert sent()[before:] == [("(data)", "data_late", None)]
        again = run(book, "--as-of", "2026-11-27", "--config", settings)
        assert again.exit_code == 6 and len(sent()) == before + 1  # said once
        # The data arrive: 11-26 failed (300 visits). Its first verdict alerts, once; and
        # the data are back.
        late_days.clear()
        done = run(book, "--as-of", "2026-11-27", "--config", settings)
        assert done.exit_code == 1, done.output
        new = sent()[before + 1:]
        assert sorted(new) == [("(data)", "data_recovered", None), ("daily_visits", "fail", "2026-11-26")]
        body = [b for _, b in hook.taken() if b["rule"] == "daily_visits"][-1]
        assert "fell to 900 from 2,100, below the threshold 1000" in body["text"]
        assert run(book, "--as-of", "2026-11-27", "--config", settings).exit_code == 1
        assert len(sent()) == before + 3
        # 11-27 passes again, but first it is late: PASS -> late -> PASS... -> recovery
        # comes only once 11-27 is complete, and a late 11-28 after a PASS says nothing.
        late_days.add(dt.date(2026, 11, 29))
        assert run(book, "--as-of", "2026-11-28", "--config", settings).exit_code == 1
        recovered = [s for s in sent()[before + 3:] if s[0] == "daily_visits"]
        assert recovered == [("daily_visits", "recovery", "2026-11-27")]
        n = len(sent())
        assert run(book, "--as-of", "2026-11-29", "--config", settings).exit_code == 6
        assert [s for s in sent()[n:] if s[0] == "daily_visits"] == []  # PASS -> late: nothing
        late_days.clear()
        assert run(book, "--as-of", "2026-11-29", "--config", settings).exit_code == 1
        assert [s for s in sent()[n:] if s[0] == "daily_visits"] == []  # late -> PASS: nothing
        rows = tab_rows(book, "Alerts")
        head = rows[0]
        assert sum(1 for r in rows[1:] if r[head.index("To")] == "LATE") == 2
        assert json.dumps(sent())  # every body was JSON with the documented keys
    finally:
        hook.close()


def test_with_the_engines_own_late_data_a_late_week_alerts_nothing_but_data_late(tmp_path):
    # No wrapping: the engine finds the data end itself (complete periods, late_after).
    book = make_workbook(tmp_path / "k.xlsx", rules=CLEAN)  # data through 2026-11-25
    hook = Endpoint()
    hook.status = 200
    settings = config(tmp_path, hook.url)
    try:
        assert run(book, "--as-of", "2026-11-26", "--config", settings).exit_code == 1
        before = [(b["rule"], b["kind"]) for _, b in hook.taken()]
        late = run(book, "--as-of", "2026-11-30", "--config", settings)  # 11-26..29 missing
        assert late.exit_code == 6, late.output
        new = [(b["rule"], b["kind"]) for _, b in hook.taken()][len(before):]
        assert sorted(new) == [("(data)", "data_late"), ("(data)", "data_late")]  # signups, visits
        assert "daily_visits" not in {r for r, _ in new}  # NO_DATA for a late day: no verdict
        assert run(book, "--as-of", "2026-11-30", "--config", settings).exit_code == 6
        assert len(hook.taken()) == len(before) + 2  # said once
    finally:
        hook.close()
