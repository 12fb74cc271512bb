"""Replay recorded real Google Sheets API traffic (gspread's cassettes, MIT; see
tests/cassettes/README.txt) against the emulator and compare every answer: status and
JSON body, exactly.

Each cassette records a gspread test run: Drive creates a spreadsheet, Sheets calls
follow, Drive deletes it. The Drive create becomes ``add_spreadsheet`` with the recorded
id and title; Sheets requests are sent as recorded (same method, path, query, body).
Google picks random ids for added sheets, so ids the emulator picked are mapped back to
the recorded ones before comparing.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import requests

from kpirules_emulator.sheets import SheetsEmulator

HERE = Path(__file__).parent / "cassettes"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "reference" / "gspread-cassettes"
CASSETTES = sorted(p.name for p in HERE.glob("*.json"))


def _map_ids(obj, mapping: dict[int, int]):
    """Replace sheetId values through ``mapping`` anywhere in a JSON value."""
    if isinstance(obj, dict):
        return {k: mapping.get(v, v) if k == "sheetId" and isinstance(v, int)
                else _map_ids(v, mapping) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_map_ids(x, mapping) for x in obj]
    return obj


def replay(cassette: Path, emu: SheetsEmulator) -> list[dict]:
    """Send the recorded Sheets requests; return one comparison per request."""
    interactions = json.loads(cassette.read_text(encoding="utf-8"))["interactions"]
    created = {json.loads(i["response"]["body"]["string"])["id"] for i in interactions
               if i["request"]["method"] == "POST" and "/drive/v3/files" in i["request"]["uri"]}
    to_emulator: dict[int, int] = {}
    to_recorded: dict[int, int] = {}
    session = requests.Session()
    results = []
    for n, it in enumerate(interactions):
        req, resp = it["request"], it["response"]
        url = urlsplit(req["uri"])
        if url.hostname == "www.googleapis.com":  # Drive: create/delete the spreadsheet
            if req["method"] == "POST" and url.path == "/drive/v3/files":
                info = json.loads(resp["body"]["string"])
                emu.add_spreadsheet(info["id"], {"Sheet1": []}, title=info["name"])
            elif req["method"] == "DELETE":
                emu.remove_spreadsheet(url.path.rsplit("/", 1)[1])
            continue
        key = unquote(url.path.split("/")[3].split(":")[0])
        if resp["status"]["code"] == 403 and key not in created and key not in emu.keys():
            # Recorded against a spreadsheet the test account could not open.
            emu.add_spreadsheet(key, {"Sheet1": []}, shared_with=[])
        body = req["body"]
        if body:
            body = json.dumps(_map_ids(json.loads(body), to_emulator)).encode()
        answer = session.request(req["method"], emu.url + url.path +
                                 (f"?{url.query}" if url.query else ""), data=body,
                                 headers={"Content-Type": "application/json"} if body else {})
        expected = json.loads(resp["body"]["string"]) if resp["body"]["string"] else None
        actual = answer.json() if answer.content else None
        for exp, got in zip((expected or {}).get("replies", []),
                            (actual or {}).get("replies", []) if isinstance(actual, dict)
                            else []):
            if "addSheet" in exp and "addSheet" in got:
                recorded = exp["addSheet"]["properties"]["sheetId"]
                mine = got["addSheet"]["properties"]["sheetId"]
                to_emulator[recorded], to_recorded[mine] = mine, recorded
        results.append({"n": n, "request": f"{req['method']} {unquote(req['uri'])}",
                        "expected": (resp["status"]["code"], expected),
                        "actual": (answer.status_code, _map_ids(actual, to_recorded))})
    return results


@pytest.mark.parametrize("name", CASSETTES)
def test_recorded_traffic_is_answered_identically(name):
    with SheetsEmulator() as emu:
        results = replay(HERE / name, emu)
    assert results, "no Sheets interactions in the cassette"
    for result in results:
        assert result["actual"] == result["expected"], result["request"]


def test_the_replay_notices_a_difference():
    """A replay against a tampered recording fails: the comparison has teeth."""
    source = json.loads((HERE / "WorksheetTest.test_get_all_values.json").read_text())
    for it in source["interactions"]:
        if it["request"]["method"] == "GET" and unquote(it["request"]["uri"]).endswith(
                "'Sheet1'"):
            it["response"]["body"]["string"] = it["response"]["body"]["string"].replace(
                '"b2"', '"B2"')
    tampered = HERE.parent / ".tampered-cassette.json"
    try:
        tampered.write_text(json.dumps(source))
        with SheetsEmulator() as emu:
            results = replay(tampered, emu)
    finally:
        tampered.unlink()
    assert sum(r["actual"] != r["expected"] for r in results) == 2  # one per session


def test_vendored_cassettes_are_the_recorded_files():
    sums = dict(line.split()[::-1] for line in
                (HERE / "SHA256SUMS").read_text().splitlines() if line.strip())
    assert set(CASSETTES) <= set(sums)
    for name in CASSETTES:
        assert hashlib.sha256((HERE / name).read_bytes()).hexdigest() == sums[name], name
    if SHARED.exists():
        for name in CASSETTES:
            assert (SHARED / name).read_bytes() == (HERE / name).read_bytes(), name
