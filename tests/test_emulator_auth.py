"""OAuth against the emulator with the real google-auth flows: service-account JWTs
(RS256, verified), refresh tokens, 401 without a token, 403 for private spreadsheets."""

from __future__ import annotations

import base64
import json
import time

import pytest
import requests
from google.auth import crypt, jwt
from google.auth.exceptions import RefreshError
from google.oauth2 import credentials as user_credentials
from google.oauth2 import service_account

from kpirules_emulator.sheets import SheetsEmulator, emulator_session, gspread_client_for, make_service_account
from kpirules_emulator.sheets_auth import new_service_account

SCOPES = ["https://www.googleapis.com/auth/spreadsheets"]
API = "https://sheets.googleapis.com/v4/spreadsheets"


@pytest.fixture
def secured():
    with SheetsEmulator(auth=True) as emu:
        emu.add_spreadsheet("kpis", {"Data": [["visits"], [120]]})
        yield emu


def test_service_account_file_flow(secured, tmp_path):
    path = tmp_path / "sa.json"
    info = make_service_account(secured, path=path)
    assert json.loads(path.read_text())["token_uri"] == secured.token_uri
    creds = service_account.Credentials.from_service_account_file(str(path), scopes=SCOPES)
    gc = gspread_client_for(secured.host, creds)
    assert gc.open_by_key("kpis").sheet1.get_all_values() == [["visits"], ["120"]]
    token_calls = secured.requests("oauth.token")
    assert [c["status"] for c in token_calls] == [200]
    assert token_calls[0]["body"]["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert creds.token.startswith("ya29.") and creds.service_account_email == \
        info["client_email"]


def test_expired_tokens_are_refreshed_by_the_client(secured):
    creds = service_account.Credentials.from_service_account_info(
        make_service_account(secured), scopes=SCOPES)
    gc = gspread_client_for(secured.host, creds)
    sheet = gc.open_by_key("kpis").sheet1
    secured.expire_tokens()
    assert sheet.acell("A2").value == "120"  # 401, refresh, retry: all inside google-auth
    assert [c["status"] for c in secured.requests("spreadsheets.values.get")] == [401, 200]
    assert len(secured.requests("oauth.token")) == 2


def test_a_jwt_signed_with_another_key_is_rejected(secured):
    info = make_service_account(secured)
    stranger, _ = new_service_account(secured.token_uri, "stranger@example.com")
    info["private_key"] = stranger["private_key"]  # right account, wrong key
    creds = service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
    with pytest.raises(RefreshError, match="Invalid JWT Signature"):
        gspread_client_for(secured.host, creds).open_by_key("kpis")


def test_jwt_claims_are_checked(secured):
    info = make_service_account(secured)
    signer = crypt.RSASigner.from_service_account_info(info)

    def assertion(**claims):
        now = int(time.time())
        payload = {"iss": info["client_email"], "aud": secured.token_uri, "iat": now,
                   "exp": now + 3600, "scope": SCOPES[0]}
        payload.update(claims)
        return jwt.encode(signer, {k: v for k, v in payload.items() if v is not None}).decode()

    def grant(jwt):
        return requests.post(secured.token_uri, data={
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": jwt})

    assert grant(assertion()).status_code == 200
    assert grant(assertion(aud="https://elsewhere/token")).json()["error_description"] == \
        "Invalid JWT: Failed audience check."
    late = grant(assertion(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600))
    assert late.json()["error"] == "invalid_grant" and "iat and exp" in \
        late.json()["error_description"]
    assert grant(assertion(scope=None)).json()["error"] == "invalid_scope"
    unknown = grant(assertion(iss="nobody@example.com"))
    assert unknown.status_code == 400 and unknown.json()["error"] == "invalid_grant"


def test_authorized_user_refresh_token_flow(secured):
    secured.register_refresh_token("1//refresh", client_id="cid.apps.googleusercontent.com",
                                   client_secret="shh", account="ann@example.com")
    creds = user_credentials.Credentials.from_authorized_user_info({
        "type": "authorized_user", "client_id": "cid.apps.googleusercontent.com",
        "client_secret": "shh", "refresh_token": "1//refresh",
        "token_uri": secured.token_uri}, scopes=SCOPES)
    assert gspread_client_for(secured.host, creds).open_by_key("kpis").title == "kpis"
    assert secured.requests("oauth.token")[0]["body"]["grant_type"] == "refresh_token"
    revoked = user_credentials.Credentials(
        None, refresh_token="1//other", token_uri=secured.token_uri,
        client_id="cid.apps.googleusercontent.com", client_secret="shh")
    with pytest.raises(RefreshError, match="expired or revoked"):
        gspread_client_for(secured.host, revoked).open_by_key("kpis")


def test_calls_without_a_valid_token_get_googles_401(secured):
    r = requests.get(f"{secured.url}/v4/spreadsheets/kpis")
    assert r.status_code == 401
    err = r.json()["error"]
    assert err["status"] == "UNAUTHENTICATED" and err["message"].startswith(
        "Request is missing required authentication credential.")
    assert err["details"][0]["reason"] == "CREDENTIALS_MISSING"
    r = requests.get(f"{secured.url}/v4/spreadsheets/kpis",
                     headers={"Authorization": "Bearer made-up"})
    assert r.status_code == 401 and "invalid authentication credentials" in \
        r.json()["error"]["message"]
    assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]


def test_read_only_scope_cannot_write(secured):
    token = secured.issue_token("ro@example.com",
                                ["https://www.googleapis.com/auth/spreadsheets.readonly"])
    headers = {"Authorization": f"Bearer {token}"}
    assert requests.get(f"{secured.url}/v4/spreadsheets/kpis", headers=headers).ok
    r = requests.post(f"{secured.url}/v4/spreadsheets/kpis/values/Data!A1:clear",
                      headers=headers)
    assert r.status_code == 403 and r.json()["error"]["message"] == \
        "Request had insufficient authentication scopes."


def test_private_spreadsheets_answer_403(sheets_emulator):
    sheets_emulator.add_spreadsheet("private", {"Data": [[1]]}, shared_with=["ann@example.com"],
                                    readers=["bob@example.com"])
    session = emulator_session(sheets_emulator.host)
    r = session.get(f"{API}/private")
    assert r.status_code == 403
    assert r.json() == {"error": {"code": 403, "message": "The caller does not have permission",
                                  "status": "PERMISSION_DENIED"}}
    ann = {"Authorization": "Bearer " + sheets_emulator.issue_token("ann@example.com")}
    bob = {"Authorization": "Bearer " + sheets_emulator.issue_token("bob@example.com")}
    assert session.get(f"{API}/private", headers=ann).ok
    assert session.get(f"{API}/private", headers=bob).ok
    assert session.post(f"{API}/private/values/Data!A1:clear", headers=bob).status_code == 403
    assert session.post(f"{API}/private/values/Data!A1:clear", headers=ann).ok
    with pytest.raises(PermissionError):  # how gspread reports a 403 on open
        gspread_client_for(sheets_emulator.host).open_by_key("private")


def test_by_default_any_or_no_token_is_accepted(sheets_emulator):
    sheets_emulator.add_spreadsheet("open", {"Data": [[1]]})
    for headers in ({}, {"Authorization": "Bearer anything"}):
        assert requests.get(f"{sheets_emulator.url}/v4/spreadsheets/open",
                            headers=headers).status_code == 200


def test_jwt_parts_are_base64url_json(secured):
    """The token request google-auth makes is a real signed JWT (not a stub)."""
    creds = service_account.Credentials.from_service_account_info(
        make_service_account(secured), scopes=SCOPES)
    gspread_client_for(secured.host, creds).open_by_key("kpis")
    jwt = secured.requests("oauth.token")[0]["body"]["assertion"]
    header = json.loads(base64.urlsafe_b64decode(jwt.split(".")[0] + "=="))
    assert header["alg"] == "RS256" and header["typ"] == "JWT"
