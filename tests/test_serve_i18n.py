"""`kpirules serve`'s own errors (a body that is not JSON, a missing or mistyped field, an
unknown path, a refused token...) in the request's language, over real HTTP: the body's
``locale`` (the add-on sends the sheet's), else ``Accept-Language``, else English.
Categories, exit statuses, field names and JSON keys stay as they are."""

from __future__ import annotations

import pytest
from serve_support import TOKEN, Served, call

from kpirules.serve.app import request_language

RULES = [["Name", "Rule"], ["conv", "signups / visits >= 2% weekly"]]
DATA = [["Date", "Visits", "Signups"], ["2026-11-20", 100, 3]]
POLISH = {"Accept-Language": "pl-PL,pl;q=0.9,en;q=0.8"}


@pytest.fixture(scope="module")
def service():
    from kpirules.serve.app import ServeConfig
    from kpirules.serve.auth import AuthConfig

    served = Served(ServeConfig(auth=AuthConfig(static_token=TOKEN), max_body=4096))
    yield served
    served.stop()


# case: (path, body or raw bytes, status, English message, Polish message)
CASES = {
    "not JSON": ("/v1/evaluate", b"{not json", 400, "the request body is not valid JSON",
                 "treść żądania nie jest poprawnym JSON-em"),
    "not an object": ("/v1/evaluate", [1, 2], 400, "the request body must be a JSON object",
                      "treść żądania musi być obiektem JSON"),
    "unknown field": ("/v1/evaluate", {"rules": RULES, "data": DATA, "rulez": 1}, 400, "unknown field 'rulez'",
                      "nieznane pole 'rulez'"),
    "missing field": ("/v1/evaluate", {"rules": RULES}, 400,
                      "'data' is required: the Data tab's values, row by row (the header row first)",
                      "pole 'data' jest wymagane: wartości karty Data, wiersz po wierszu (najpierw wiersz nagłówków)"),
    "wrong type": ("/v1/evaluate", {"rules": RULES, "data": "x"}, 400, "'data' must be a list of rows, each a list of cells",
                   "'data' musi być listą wierszy, a każdy wiersz listą komórek"),
    "a cell that is no cell": ("/v1/evaluate", {"rules": RULES, "data": [["Date", {"x": 1}]]}, 400,
                               "data[0][1] is a dict; cells are text, numbers, booleans or null",
                               "data[0][1] ma typ dict; komórka to tekst, liczba, wartość logiczna albo null"),
    "bad date": ("/v1/evaluate", {"rules": RULES, "data": DATA, "as_of": "26/11/2026"}, 400,
                 "'as_of' is not a date: '26/11/2026'", "'as_of' nie jest datą: '26/11/2026'"),
    "bad time zone": ("/v1/evaluate", {"rules": RULES, "data": DATA, "time_zone": "Mars/Olympus"}, 400,
                      "unknown time zone 'Mars/Olympus'", "nieznana strefa czasowa 'Mars/Olympus'"),
    "bad validate list": ("/v1/validate", {"rules": []}, 400,
                          "'rules' must be a list of 1 to 2000 objects {\"name\": ..., \"rule\": ...}",
                          "'rules' musi być listą od 1 do 2000 obiektów {\"name\": ..., \"rule\": ...}"),
    "not a sheet": ("/v1/check", {"spreadsheet": "../../etc/passwd"}, 400,
                    "'spreadsheet' is not a Google Sheets URL or key",
                    "'spreadsheet' nie jest adresem ani kluczem arkusza Google"),
    "too large": ("/v1/evaluate", b"[" + b"0," * 4000 + b"0]", 413, "the request body is larger than 4,096 bytes",
                  "treść żądania jest większa niż 4\u00a0096 bajtów"),
    "unknown path": ("/v1/nothing", {}, 404, "no such path: /v1/nothing", "nie ma ścieżki /v1/nothing"),
}


def test_an_unknown_path_lists_the_paths(service):
    status, doc = ask(service, "/v2/evaluate", {}, POLISH)
    assert status == 404 and doc["error"]["hint"] == "ścieżki: /healthz, /v1/evaluate, /v1/validate, /v1/check, /v1/run"


def ask(service, path, body, headers=None, token=TOKEN):
    raw = body if isinstance(body, bytes) else None
    return call(service.url, path, None if raw is not None else body, raw=raw, headers=headers, token=token)


@pytest.mark.parametrize("case", list(CASES))
def test_request_errors_in_english_and_in_polish(service, case):
    path, body, status, english, polish = CASES[case]
    got, doc = ask(service, path, body)
    assert (got, doc["error"]["message"]) == (status, english)
    category, exit_status = doc["error"]["category"], doc["error"]["exit_status"]
    got, doc = ask(service, path, body, POLISH)
    assert (got, doc["error"]["message"]) == (status, polish)
    assert (doc["error"]["category"], doc["error"]["exit_status"]) == (category, exit_status) and exit_status == 2


def test_the_bodys_locale_chooses_over_accept_language(service):
    body = {"rules": RULES, "data": DATA, "as_of": "jutro", "locale": "pl_PL"}
    status, doc = ask(service, "/v1/evaluate", body, {"Accept-Language": "en-US"})
    assert status == 400 and doc["error"]["message"] == "'as_of' nie jest datą: 'jutro'"
    assert doc["error"]["hint"] == "zapisz ją jako RRRR-MM-DD, np. 2026-11-26"
    status, doc = ask(service, "/v1/evaluate", dict(body, locale="en_US"), POLISH)
    assert doc["error"]["message"] == "'as_of' is not a date: 'jutro'"
    # Polish once, English at once after: each request its own language, the threads reused.
    for _ in range(3):
        assert ask(service, "/v1/evaluate", {"rules": RULES}, POLISH)[1]["error"]["message"].startswith("pole 'data'")
        assert ask(service, "/v1/evaluate", {"rules": RULES})[1]["error"]["message"].startswith("'data' is required")


def test_a_refused_token_and_a_wrong_method_in_polish(service):
    status, doc = ask(service, "/v1/evaluate", {}, POLISH, token="wrong")
    assert status == 401 and doc["error"]["category"] == "auth"
    assert doc["error"]["message"] == "token (Bearer) nie jest ważny dla tej usługi"
    assert doc["error"]["hint"] == "dodatek wysyła token ID Google; skrypty wysyłają token usługi"
    status, doc = ask(service, "/v1/evaluate", {}, token=None)
    assert doc["error"]["message"] == "missing credentials: send 'Authorization: Bearer <token>'"
    status, doc = call(service.url, "/v1/evaluate", method="GET", headers=POLISH)
    assert status == 405 and doc["error"] == {"category": "usage", "message": "/v1/evaluate nie przyjmuje żądań GET",
                                              "hint": "wyślij żądanie POST", "exit_status": 2}


def test_the_results_follow_the_sheet_not_the_request(service):
    """The request's language says what is wrong with the request; the results follow the
    sheet (its language setting, else its locale), as for the command line."""
    data = [DATA[0]] + [[f"2026-11-{d}", 100, 3] for d in range(16, 23)]
    body = {"rules": RULES, "data": data, "as_of": "2026-11-26"}
    status, doc = ask(service, "/v1/evaluate", body, POLISH)
    assert status == 200 and doc["results"][0]["message"].startswith("3.00% meets target >= 2%")
    status, doc = ask(service, "/v1/evaluate", dict(body, locale="pl_PL"))
    assert status == 200 and doc["results"][0]["message"].startswith("3,00% spełnia cel >= 2%")


@pytest.mark.parametrize("header, body, lang", [
    (None, None, "en"), ("pl", None, "pl"), ("pl-PL,pl;q=0.9,en-US;q=0.8", None, "pl"),
    ("en-US,en;q=0.9,pl;q=0.8", None, "en"), ("de-DE,pl;q=0.5", None, "pl"), ("de, fr", None, "en"),
    ("pl;q=0, en", None, "en"), ("*", None, "en"), ("en;q=0.2, pl;q=0.7", None, "pl"),
    ("pl", {"locale": "en_GB"}, "en"), (None, {"locale": "pl_PL"}, "pl"), ("pl", {"locale": ""}, "pl"),
    ("pl", [1], "pl"), ("pl;q=abc", None, "en"),
])
def test_request_language(header, body, lang):
    assert request_language(header, body) == lang
