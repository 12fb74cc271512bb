"""One run per Google Sheet at a time, and honest write outcomes: the real connector (gspread
over HTTP) against the Sheets emulator on 127.0.0.1, with its fault injection, and a real
webhook receiver."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from click.testing import CliRunner
from test_run_common import AS_OF, RULES, history_keys
from test_run_notify import Receiver
from test_run_sheets import KEY, apis, emulator, make_sheet, rules_tab  # noqa: F401 (a fixture)

from kpirules.cli.main import cli

# No ERROR among these rules, so the exit statuses 1, 5 and 7 show.
CLEAN = [r for r in RULES if r["Name"] in ("conversion", "by_campaign", "daily_visits")]


def settings_file(tmp_path, url):
    path = tmp_path / "kpirules.toml"
    path.write_text(f"""
[[notifications]]
name = "bi"
type = "webhook"
url = "{url}"
on = ["fail", "warn", "no_data", "recovery", "data_late"]
""")
    return str(path)


@pytest.fixture
def hook():
    receiver = Receiver(200)
    yield receiver
    receiver.close()


def lease_state(emu):
    """"held" / "free" from the hidden lease tab, None when there is none."""
    titles = [s["properties"]["title"] for s in emu.spreadsheet(KEY)["sheets"]]
    if "kpirules-lease" not in titles:
        return None
    return dict((r + [None, None])[:2] for r in emu.values(KEY, "kpirules-lease")).get("state")


def alerts_rows(emu):
    try:
        return emu.values(KEY, "Alerts")
    except Exception:  # noqa: BLE001 - no Alerts tab yet
        return []


@pytest.mark.parametrize("runs", [2, 4, 8])
def test_concurrent_runs_one_writes_and_alerts_the_others_change_nothing(emulator, hook, tmp_path, runs):
    from kpirules.writeback.lease import LeaseHeld
    from kpirules.writeback.runner import run

    make_sheet(emulator, rules=rules_tab(rules=CLEAN))
    config = settings_file(tmp_path, hook.url)
    start = threading.Barrier(runs)
    outcomes: list = [None] * runs

    def one(i):
        start.wait()
        try:
            # A pause between taking the lease and sending: the runs overlap for sure.
            outcomes[i] = run(KEY, as_of=AS_OF, config=config, after_lease=lambda: time.sleep(1.0))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            outcomes[i] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(runs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    winners = [o for o in outcomes if not isinstance(o, Exception)]
    losers = [o for o in outcomes if isinstance(o, Exception)]
    assert all(isinstance(o, LeaseHeld) for o in losers), losers
    assert all("another run holds this sheet" in str(o) for o in losers)
    # Every run that overlapped the winner changed nothing. (On a loaded machine a thread
    # may only start reading once the winner is done: that is a later run, not a
    # concurrent one; it finds the lease free and nothing new to say.)
    (winner,) = [o for o in winners if o.lease is None or o.lease.held]
    later = [o for o in winners if o is not winner]
    assert all(o.lease is not None and not o.lease.held and o.alerts == [] for o in later)
    assert len(losers) >= 1
    sent = [(b["rule"], str(b["segment"])) for b in hook.bodies]
    assert len(sent) == len(set(sent)) == len(winner.alerts) > 0  # one set of alerts
    rows = alerts_rows(emulator)
    assert len(rows) - 1 == len(winner.alerts)  # one set of Alerts rows
    keys = history_keys(emulator.values(KEY, "History"))
    assert len(keys) == len(set(keys))
    assert lease_state(emulator) == "free"  # released by the winner's last write


def test_a_held_lease_exits_7_naming_since_when_and_changes_nothing(emulator):
    since = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    make_sheet(emulator, extra={"kpirules-lease": [["run", "0123abcd"], ["since", since],
                                                   ["since_local", "07:00:12"]]})
    before = emulator.snapshot(KEY)
    result = CliRunner().invoke(cli, ["run", KEY, "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 7, result.output
    assert "another run holds this sheet since 07:00:12" in result.output
    assert emulator.snapshot(KEY) == before


def test_an_expired_lease_is_taken_over(emulator):
    make_sheet(emulator, extra={"kpirules-lease": [["run", "crashed"], ["since", "2026-01-01T07:00:00+00:00"],
                                                   ["since_local", "07:00:00"]]})
    result = CliRunner().invoke(cli, ["run", KEY, "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 2, result.output
    titles = [s["properties"]["title"] for s in emulator.spreadsheet(KEY)["sheets"]]
    assert "History" in titles and lease_state(emulator) == "free"


@pytest.mark.parametrize("ahead,held", [(dt.timedelta(days=3), False), (dt.timedelta(minutes=2), True)])
def test_a_lease_from_the_future_holds_only_as_long_as_a_lease_can(emulator, ahead, held):
    # A lease taken "in the future" (a crashed run on a machine whose clock is days ahead,
    # or a hand-edited tab) held the sheet until that date: every run exited 7, "changed
    # nothing", which a scheduler ignores. A clock a little ahead still holds the sheet.
    since = (dt.datetime.now(dt.UTC) + ahead).isoformat(timespec="seconds")
    make_sheet(emulator, extra={"kpirules-lease": [["run", "skewed"], ["state", "held"], ["since", since],
                                                   ["since_local", "07:00:12"]]})
    result = CliRunner().invoke(cli, ["run", KEY, "--as-of", AS_OF.isoformat()])
    if held:
        assert result.exit_code == 7, result.output
    else:
        assert result.exit_code == 2, result.output  # the rules' own ERROR: the run went through
        assert lease_state(emulator) == "free"


def test_a_run_costs_one_read_and_two_writes_a_check_one_read(emulator, hook, tmp_path):
    make_sheet(emulator, rules=rules_tab(rules=CLEAN))
    config = settings_file(tmp_path, hook.url)
    assert CliRunner().invoke(cli, ["run", KEY, "--as-of", AS_OF.isoformat(), "--config", config]).exit_code == 1
    emulator.reset_requests()
    later = (AS_OF + dt.timedelta(days=7)).isoformat()  # new alerts, sent and recorded
    result = CliRunner().invoke(cli, ["run", KEY, "--as-of", later, "--config", config])
    assert result.exit_code in (0, 1, 6), result.output  # a week later the data are late
    assert apis(emulator) == ["spreadsheets.get", "spreadsheets.batchUpdate", "spreadsheets.batchUpdate"]
    assert "webhook bi: sent" in str(emulator.values(KEY, "Alerts")[-1])
    emulator.reset_requests()
    assert CliRunner().invoke(cli, ["check", KEY, "--as-of", later]).exit_code in (0, 1, 6)
    assert apis(emulator) == ["spreadsheets.get"]


HTML_502 = b"<html><head><title>502 Bad Gateway</title></head><body>Bad Gateway</body></html>"
AMBIGUOUS = {
    "reply after the read timeout": dict(delay=0.6),
    "500 after applying": dict(status=500, apply=True),
    "dropped after applying": dict(drop=True, apply=True),
    "truncated JSON after applying": dict(truncate=True, apply=True),
    "HTML 502 after applying": dict(status=502, raw=HTML_502, apply=True),
    "500, not applied": dict(status=500),
    "dropped, not applied": dict(drop=True),
    "HTML 502, not applied": dict(status=502, raw=HTML_502),
}


@pytest.mark.parametrize("fault", list(AMBIGUOUS))
def test_an_ambiguous_answer_to_the_write_is_read_back_and_reported_as_it_is(emulator, fault):
    from kpirules.errors import SourceError
    from kpirules.writeback.runner import run

    make_sheet(emulator)
    before = emulator.snapshot(KEY)
    emulator.inject("spreadsheets.batchUpdate", **AMBIGUOUS[fault])
    try:
        outcome = run(KEY, as_of=AS_OF, timeout=0.4)
        reported = "written"
        assert outcome.written
    except SourceError as exc:
        reported = "not written"
        assert "NOT written" in exc.message
    time.sleep(0.5)  # anything still under way at the emulator has landed
    titles = [s["properties"]["title"] for s in emulator.spreadsheet(KEY)["sheets"]]
    on_sheet = "written" if "History" in titles else "not written"
    assert reported == on_sheet, fault
    fault_args = AMBIGUOUS[fault]
    assert on_sheet == ("written" if fault_args.get("apply") or fault_args.get("delay") else "not written")
    if on_sheet == "not written":
        assert emulator.snapshot(KEY) == before
    assert lease_state(emulator) in (None, "free")
    # Never a blind retry: the write that may have landed went out once.
    assert apis(emulator).count("spreadsheets.batchUpdate") <= 2


def test_reads_cut_off_or_answered_with_html_are_retried(emulator):
    from kpirules.writeback.runner import run

    make_sheet(emulator)
    emulator.inject("spreadsheets.get", truncate=True)
    emulator.inject("spreadsheets.get", status=502, raw=HTML_502)
    outcome = run(KEY, as_of=AS_OF)
    assert outcome.written
    assert apis(emulator)[:3] == ["spreadsheets.get"] * 3


@pytest.mark.parametrize("fault", ["500 after applying", "500, not applied", "dropped after applying",
                                   "reply after the read timeout"])
def test_an_ambiguous_answer_to_the_last_write_is_read_back_too(emulator, hook, tmp_path, fault):
    from kpirules.writeback.runner import run

    make_sheet(emulator, rules=rules_tab(rules=CLEAN))
    config = settings_file(tmp_path, hook.url)
    outcome = run(KEY, as_of=AS_OF, config=config, timeout=0.4,
                  after_lease=lambda: emulator.inject("spreadsheets.batchUpdate", **AMBIGUOUS[fault]))
    time.sleep(0.5)
    assert outcome.state_not_recorded is None and outcome.owed == 0
    rows = emulator.values(KEY, "Alerts")
    assert all("webhook bi: sent" in str(r) for r in rows[1:])  # the delivery states landed
    assert lease_state(emulator) == "free"
    writes = apis(emulator).count("spreadsheets.batchUpdate")
    assert writes == (3 if fault == "500, not applied" else 2)  # sent again only when read back as not applied


def test_concurrent_processes_one_writes_the_others_exit_7(emulator, tmp_path):
    import json
    import subprocess
    import sys
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    bodies = []

    class Slow(BaseHTTPRequestHandler):  # holds each delivery: the lease is held meanwhile
        def do_POST(self):
            bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            time.sleep(1.5)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        make_sheet(emulator, rules=rules_tab(rules=CLEAN))
        config = settings_file(tmp_path, f"http://127.0.0.1:{server.server_address[1]}/hook")
        cmd = [sys.executable, "-m", "kpirules", "run", KEY, "--as-of", AS_OF.isoformat(), "--config", config, "-q"]
        env = dict(__import__("os").environ, KPIRULES_SHEETS_EMULATOR_HOST=emulator.host)
        procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(4)]
        outputs = [p.communicate(timeout=120)[0].decode() for p in procs]
        codes = sorted(p.returncode for p in procs)
        assert codes.count(1) >= 1 and set(codes) <= {1, 7}, outputs
        for code, out in zip([p.returncode for p in procs], outputs):
            if code == 7:
                assert "another run holds this sheet" in out
        sent = [(b["rule"], str(b["segment"])) for b in bodies]
        assert len(sent) == len(set(sent)) > 0  # one set of alerts
        assert len(alerts_rows(emulator)) - 1 == len(sent)
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("first_run", [True, False])
def test_a_run_that_sends_nothing_writes_once_and_still_refuses_a_run_that_raced_it(emulator, monkeypatch,
                                                                                    first_run):
    """No channel: one write, the lease taken and given back in it. A run that read before
    that write (here: run B reads, then run A runs whole, then B writes) is refused whole,
    having changed nothing: on a sheet that has been run, B exits 7; on a bare sheet B's
    write was refused for the tabs A created, so B starts over from the tab list, a later
    run that reads what A wrote (no History row twice)."""
    from kpirules.writeback import sheets
    from kpirules.writeback.lease import LeaseHeld
    from kpirules.writeback.runner import run

    make_sheet(emulator, rules=rules_tab(rules=CLEAN))
    if not first_run:
        run(KEY, as_of=AS_OF)
    original = sheets.write_with_lease
    raced: list = []
    started: list = []

    def a_runs_first(*args, **kwargs):
        if not started:  # run B has read; run A runs whole before B's write
            started.append(True)
            emulator.reset_requests()
            raced.append(run(KEY, as_of=AS_OF))
            raced.append(apis(emulator))
            raced.append(emulator.snapshot(KEY))
            emulator.reset_requests()
        return original(*args, **kwargs)

    monkeypatch.setattr(sheets, "write_with_lease", a_runs_first)
    try:
        b = run(KEY, as_of=AS_OF)  # run B
    except LeaseHeld as exc:
        b = exc
    a, a_calls, after_a = raced
    assert a.written
    reads = [("spreadsheets.get", 400), ("spreadsheets.get", 200)] if first_run else [("spreadsheets.get", 200)]
    assert a_calls == ["spreadsheets.get"] * len(reads) + ["spreadsheets.batchUpdate"]  # A: one write
    assert lease_state(emulator) == "free"
    b_writes = [e["status"] for e in emulator.requests() if e["api"] == "spreadsheets.batchUpdate"]
    if first_run:
        assert b_writes == [400, 200] and b.written  # refused whole, then a run after A
        keys = history_keys(emulator.values(KEY, "History"))
        assert len(keys) == len(set(keys))
    else:
        assert isinstance(b, LeaseHeld) and "another run holds this sheet" in str(b)
        assert b_writes == [400]
        assert emulator.snapshot(KEY) == after_a  # B changed nothing
