"""Shared data for the `kpirules run` tests (xlsx and Sheets emulator), and unit tests of the
pieces that decide what a run writes: summaries, History keys, alert transitions, the
batchUpdate builder. The other test_run_* modules import the builders from here."""

from __future__ import annotations

import datetime as dt

import pytest

from kpirules.results import Period, RuleResult, Status

AS_OF = dt.date(2026, 11, 26)  # a Thursday: weekly rules look at 2026-11-16..22
WEEK = Period(dt.date(2026, 11, 16), dt.date(2026, 11, 22))
INJECT = '=IMPORTXML("http://evil.example/x","//a")'  # a campaign name from the data
HYPER = '=HYPERLINK("http://evil.example","click me")'  # a rule name typed as text
# campaign -> (visits, signups) per day
CAMPAIGNS = {"search_brand": (1000, 30), "social_prospect": (1000, 12), INJECT: (100, 1)}
USER_COLUMNS = ["Name", "Rule", "Owner", "Description", "Enabled"]
RULES = [
    {"Name": "conversion", "Rule": "signups / visits >= 2% weekly warn at 2.5%", "Owner": "Growth",
     "Description": "Visitors who sign up", "Enabled": "yes"},
    {"Name": "by_campaign", "Rule": "signups / visits >= 1.5% weekly by campaign", "Owner": "Growth",
     "Description": "Each campaign converts", "Enabled": "yes"},
    {"Name": "typo", "Rule": "signup / visits >= 2% weekly", "Owner": "Ops", "Description": "A misspelt column",
     "Enabled": "yes"},
    {"Name": "daily_visits", "Rule": "visits >= 1000 daily", "Owner": "Ops", "Description": "Traffic arrives",
     "Enabled": "yes"},
    {"Name": "switched_off", "Rule": "visits >= 1 weekly", "Owner": "Ops", "Description": "Not now",
     "Enabled": "no"},
    {"Name": HYPER, "Rule": "signups >= 1M weekly", "Owner": "Ops", "Description": "A hostile name",
     "Enabled": "yes"},
]
EXPECTED = {"conversion": "WARN", "by_campaign": "FAIL", "typo": "ERROR", "daily_visits": "PASS",
            "switched_off": "OFF", HYPER: "FAIL"}
ENGINE = ["Status", "Value", "Target", "Period", "Checked", "Message"]


def data_rows(start=dt.date(2026, 9, 28), end=dt.date(2026, 11, 25), change=None) -> list[list]:
    """Daily rows per campaign, dates as ISO text. ``change(day, campaign, visits, signups)``
    may return other (visits, signups) to model late or different data."""
    rows = []
    day = start
    while day <= end:
        for campaign, (visits, signups) in CAMPAIGNS.items():
            if change is not None:
                visits, signups = change(day, campaign, visits, signups)
            rows.append([day.isoformat(), campaign, visits, signups])
        day += dt.timedelta(days=1)
    return rows


DATA_HEADERS = ["Date", "Campaign", "Visits", "Signups"]


def recovered(day, campaign, visits, signups):
    """social_prospect converts at 2% from now on (a ``data_rows`` change)."""
    return (visits, 20) if campaign == "social_prospect" else (visits, signups)


def rules_grid(columns=USER_COLUMNS, rules=RULES) -> list[list]:
    return [list(columns)] + [[r.get(c) for c in columns] for r in rules]


def by_header(rows: list[list]) -> dict[str, dict[str, object]]:
    """Rules-tab rows keyed by rule name, each a header -> value dict (found by header)."""
    headers = [str(h).strip().lower() if h is not None else "" for h in rows[0]]
    out = {}
    for row in rows[1:]:
        cells = dict(zip(headers, list(row) + [None] * (len(headers) - len(row))))
        if cells.get("name"):
            out[cells["name"]] = cells
    return out


def history_keys(rows: list[list]) -> list[tuple]:
    headers = [str(h).strip().lower() if h is not None else "" for h in rows[0]]
    i = {h: headers.index(h) for h in ("rule", "segment", "period start", "period end")}

    def get(row, h):
        v = row[i[h]] if i[h] < len(row) else None
        if isinstance(v, dt.datetime):  # History's periods are date cells (openpyxl: datetime)
            v = v.date()
        return "" if v is None else str(v)

    return [(get(r, "rule"), get(r, "segment"), get(r, "period start"), get(r, "period end"))
            for r in rows[1:] if any(v not in (None, "") for v in r)]


# ------------------------------------------------------------------------ unit tests

def result(name="r", status=Status.FAIL, value=0.012, segment=None, period=WEEK, **kw) -> RuleResult:
    return RuleResult(name=name, rule="signups / visits >= 1.5% weekly by campaign", status=status, value=value,
                      threshold=0.015, unit="%", period=period, segment=segment, message=f"{name} msg", **kw)


def entry(text="signups / visits >= 1.5% weekly by campaign", name="r"):
    from kpirules.rulesfile import parse_rules_file

    return parse_rules_file(f"{name}: {text}")[0]


def test_segment_summary_names_the_failing_segments_worst_status_first():
    from kpirules.writeback.summary import summarise

    results = [result(segment={"campaign": c}, status=s, value=v) for c, s, v in [
        ("display", Status.PASS, 0.02), ("search_brand", Status.FAIL, 0.0145), ("search_generic", Status.PASS, 0.03),
        ("social_prospect", Status.FAIL, 0.0132), ("social_retarget", Status.PASS, 0.016), ("video", Status.PASS, 0.05)]]
    s = summarise(entry(), results)
    assert s.status == "FAIL"
    assert s.message == "2 of 6 campaigns below 1.5%: search_brand 1.45%, social_prospect 1.32%"
    assert s.value == "1.32% \u2013 5.00%"
    assert s.target == ">= 1.5%"


def test_segment_summary_mentions_warn_and_no_data_segments():
    from kpirules.writeback.summary import summarise

    e = entry("signups / visits >= 1.5% weekly warn at 2% by channel")
    results = [result(segment={"channel": "email"}, status=Status.WARN, value=0.017),
               result(segment={"channel": "search"}, status=Status.NO_DATA, value=None)]
    s = summarise(e, results)
    assert s.status == "WARN"
    assert s.message == ("1 of 2 channels below the warn level 2%: email 1.70%; "
                         "no data for 1 of 2 channels: search")


def test_error_text_has_the_rule_and_a_caret_under_the_spot():
    from kpirules.errors import Problem
    from kpirules.writeback.summary import error_text

    p = Problem("unknown-name", "unknown column `signup`", line=1, column=1, width=6,
                source_line="signup / visits >= 2% weekly", suggestion="did you mean `signups`?")
    assert error_text(p) == ("unknown column `signup` (did you mean `signups`?)\n"
                             "signup / visits >= 2% weekly\n^^^^^^")


@pytest.mark.parametrize("previous,now,news", [
    (None, Status.PASS, False), (None, Status.FAIL, True), (None, Status.NO_DATA, True),
    ("PASS", Status.PASS, False), ("PASS", Status.WARN, True), ("WARN", Status.FAIL, True),
    ("FAIL", Status.FAIL, False), ("FAIL", Status.PASS, True), ("NO_DATA", Status.PASS, True),
    ("FAIL", Status.ERROR, False), ("FAIL", Status.NO_DATA, True),
])
def test_alert_transitions(previous, now, news):
    from kpirules.writeback.alerts import is_change

    assert is_change(previous, now) is news


def _history(rows):
    from kpirules.connectors.base import RawTable
    from kpirules.writeback.history import HISTORY_COLUMNS, read_history

    return read_history(RawTable(headers=list(HISTORY_COLUMNS), rows=rows, sheet="History"), "History")


def test_last_status_prefers_the_same_period_then_the_latest_earlier_one():
    history = _history([
        ["r", "", "2026-11-02", "2026-11-08", "FAIL", None, None, None, "2026-11-10 07:00", None],
        ["r", "", "2026-11-09", "2026-11-15", "PASS", None, None, None, "2026-11-17 07:00", None],
        ["r", "", "2026-11-23", "2026-11-29", "WARN", None, None, None, "2026-12-01 07:00", None],  # later
    ])
    assert history.last_status("r", "", "2026-11-16", "2026-11-22") == "PASS"
    assert history.last_status("r", "", "2026-11-09", "2026-11-15") == "PASS"
    assert history.last_status("r", "x", "2026-11-16", "2026-11-22") is None


def test_history_plan_updates_marks_restated_and_heals_duplicates():
    from kpirules.writeback.history import history_plan

    history = _history([
        ["r", "", "2026-11-16", "2026-11-22", "FAIL", 0.01, 0.015, None, "2026-11-24 07:00", None],
        ["r", "", "2026-11-16", "2026-11-22", "FAIL", 0.01, 0.015, None, "2026-11-24 07:00", None],  # race
    ])
    tab = history_plan(history, [result(status=Status.PASS, value=0.02)], [], "2026-11-26 07:00")
    assert tab.counts["updated"] == 1 and tab.counts["new"] == 0 and tab.counts["restated"] == 1
    assert tab.cells[(2, 9)].value == "was FAIL"
    assert tab.cells[(2, 4)].value == "PASS"
    assert tab.deletes == [3]
    assert tab.appends == []


def test_history_plan_refuses_a_tab_that_is_not_ours():
    from kpirules.connectors.base import RawTable
    from kpirules.errors import SourceError
    from kpirules.writeback.history import read_history

    with pytest.raises(SourceError, match="not a kpirules history"):
        read_history(RawTable(headers=["Date", "Event"], rows=[["2026-01-01", "launch"]], sheet="History"), "History")


def test_engine_columns_are_found_by_header_and_added_right_of_everything_used():
    from kpirules.connectors.base import RawTable
    from kpirules.writeback.layout import ENGINE_COLUMNS, locate

    raw = RawTable(headers=["MESSAGE ", "Name", "Rule", None], rows=[["x", "a", "b", None, "scribble"]])
    cols = locate(raw, ENGINE_COLUMNS)
    assert cols["Message"] == 0
    assert cols.added == ("Status", "Value", "Target", "Period", "Checked")
    assert cols["Status"] == 5  # after the unlabelled cell in column E, not over it


def test_batch_update_writes_text_as_string_values_and_orders_requests():
    from kpirules.writeback.plan import Out, TabPlan, WritePlan
    from kpirules.writeback.sheets import FIRST_NEW_SHEET_ID, build_requests

    rules = TabPlan(title="Rules")
    rules.set(2, 5, Out(INJECT))
    rules.set(2, 6, Out(0.5))
    rules.widths[5] = 10
    hist = TabPlan(title="History", create=True, freeze_header=True)
    hist.set(1, 0, Out("Rule", note="n"))
    hist.append({0: Out(HYPER), 2: Out(1.0)})
    hist.deletes = [4, 9]
    requests = build_requests(WritePlan(tabs=[rules, hist]), {"Rules": 7, "Data": 0})
    kinds = [next(iter(r)) for r in requests]
    assert kinds == ["addSheet", "appendDimension", "updateDimensionProperties", "updateCells", "updateCells",
                     "appendCells", "deleteDimension", "deleteDimension"]
    assert requests[0]["addSheet"]["properties"]["sheetId"] == FIRST_NEW_SHEET_ID
    cells = requests[3]["updateCells"]["rows"][0]["values"]
    assert cells[0]["userEnteredValue"] == {"stringValue": INJECT}
    assert cells[1]["userEnteredValue"] == {"numberValue": 0.5}
    appended = requests[5]["appendCells"]
    assert appended["sheetId"] == FIRST_NEW_SHEET_ID
    assert appended["rows"][0]["values"][0]["userEnteredValue"] == {"stringValue": HYPER}
    assert appended["rows"][0]["values"][1] == {}
    assert [r["deleteDimension"]["range"]["startIndex"] for r in requests[6:]] == [8, 3]
    assert "formulaValue" not in repr(requests)
