"""OAuth for the emulator: a token endpoint the real google-auth flows run against, and
the Bearer-token check in front of the Sheets calls.

* ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer``: a service account's RS256
  JWT, verified against the public key registered for its ``iss`` (signature, ``aud``,
  ``iat``/``exp``, ``scope``), as google-auth's ``service_account.Credentials`` sends it.
* ``grant_type=refresh_token``: an OAuth user's refresh token (``authorized_user`` JSON).

Error bodies are Google's (``{"error": "invalid_grant", "error_description": ...}``).
With ``required=False`` (the default, like Google's own emulators) any or no token is
accepted; a known token still identifies its account, for private spreadsheets.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass, field

from kpirules_emulator.sheets_errors import insufficient_scope, unauthenticated

GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SCOPE = "https://www.googleapis.com/auth/"
READ_SCOPES = {SCOPE + s for s in ("spreadsheets", "spreadsheets.readonly", "drive",
                                   "drive.readonly", "drive.file", "cloud-platform")}
WRITE_SCOPES = {SCOPE + s for s in ("spreadsheets", "drive", "drive.file",
                                    "cloud-platform")}
CLOCK_SKEW = 300  # seconds of iat/exp leeway, as Google allows some


class TokenError(Exception):
    def __init__(self, status: int, error: str, description: str):
        super().__init__(description)
        self.status, self.body = status, {"error": error, "error_description": description}


@dataclass
class Token:
    account: str
    scopes: set[str]
    expires: float


@dataclass
class RefreshGrant:
    client_id: str
    client_secret: str
    account: str
    scopes: set[str] = field(default_factory=set)


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class Auth:
    def __init__(self, required: bool = False, token_lifetime: int = 3599):
        self.required = required
        self.token_lifetime = token_lifetime
        self.keys: dict[str, object] = {}  # client_email -> RSA public key
        self.refresh: dict[str, RefreshGrant] = {}
        self.codes: dict[str, tuple[RefreshGrant, str]] = {}  # auth code -> (grant, refresh token)
        self.tokens: dict[str, Token] = {}
        self.token_uris: set[str] = {GOOGLE_TOKEN_URI}
        self._lock = threading.Lock()

    # --- registration ---
    def register_service_account(self, client_email: str, public_key_pem: str | bytes):
        from cryptography.hazmat.primitives.serialization import load_pem_public_key
        pem = public_key_pem.encode() if isinstance(public_key_pem, str) else public_key_pem
        self.keys[client_email] = load_pem_public_key(pem)

    def register_refresh_token(self, refresh_token: str, *, client_id: str,
                               client_secret: str, account: str, scopes=()) -> None:
        self.refresh[refresh_token] = RefreshGrant(client_id, client_secret, account,
                                                   set(scopes))

    def register_authorization_code(self, code: str, *, client_id: str, client_secret: str,
                                    account: str, refresh_token: str, scopes=()) -> None:
        """A code the consent screen would have given (installed-app login flow); it is
        exchanged once for an access token and ``refresh_token``."""
        self.codes[code] = (RefreshGrant(client_id, client_secret, account, set(scopes)),
                            refresh_token)

    def issue(self, account: str, scopes) -> str:
        token = "ya29.emulator-" + secrets.token_urlsafe(32)
        with self._lock:
            self.tokens[token] = Token(account, set(scopes),
                                       time.time() + self.token_lifetime)
        return token

    def expire_all(self) -> None:
        with self._lock:
            for tok in self.tokens.values():
                tok.expires = 0.0

    def reset(self) -> None:
        with self._lock:
            self.tokens.clear()

    # --- token endpoint ---
    def token_endpoint(self, form: dict[str, str], authorization: str | None = None) -> dict:
        # Clients may authenticate with HTTP Basic instead of form fields
        # (client_secret_basic, what requests-oauthlib sends); Google accepts both.
        if authorization and authorization.lower().startswith("basic ") and \
                "client_id" not in form:
            from urllib.parse import unquote
            user, _, password = base64.b64decode(authorization[6:].strip()).decode().partition(":")
            form = {**form, "client_id": unquote(user), "client_secret": unquote(password)}
        grant = form.get("grant_type", "")
        if grant == JWT_GRANT:
            account, scopes = self._verify_assertion(form.get("assertion", ""))
            token = self.issue(account, scopes)
            return {"access_token": token, "expires_in": self.token_lifetime,
                    "token_type": "Bearer"}
        if grant == "refresh_token":
            client = form.get("client_id", "")
            known = [g for g in self.refresh.values() if g.client_id == client]
            if not known:
                raise TokenError(401, "invalid_client", "The OAuth client was not found.")
            if all(g.client_secret != form.get("client_secret") for g in known):
                raise TokenError(401, "invalid_client", "Unauthorized")
            grant_ = self.refresh.get(form.get("refresh_token", ""))
            if grant_ is None or grant_.client_id != client:
                raise TokenError(400, "invalid_grant", "Token has been expired or revoked.")
            asked = set(form.get("scope", "").split()) if form.get("scope") else set()
            scopes = asked or grant_.scopes or {SCOPE + "spreadsheets"}
            token = self.issue(grant_.account, scopes)
            return {"access_token": token, "expires_in": self.token_lifetime,
                    "scope": " ".join(sorted(scopes)), "token_type": "Bearer"}
        if grant == "authorization_code" and form.get("code") in self.codes:
            grant_, refresh_token = self.codes[form["code"]]
            if (form.get("client_id"), form.get("client_secret")) != \
                    (grant_.client_id, grant_.client_secret):
                raise TokenError(401, "invalid_client", "Unauthorized")
            del self.codes[form["code"]]  # single use, as Google's
            self.refresh[refresh_token] = grant_
            scopes = grant_.scopes or {SCOPE + "spreadsheets"}
            return {"access_token": self.issue(grant_.account, scopes),
                    "expires_in": self.token_lifetime, "refresh_token": refresh_token,
                    "scope": " ".join(sorted(scopes)), "token_type": "Bearer"}
        if grant == "authorization_code":
            raise TokenError(400, "invalid_grant", "Malformed auth code.")
        raise TokenError(400, "unsupported_grant_type", f"Invalid grant_type: {grant}")

    def _verify_assertion(self, assertion: str) -> tuple[str, set[str]]:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        try:
            head_b64, body_b64, sig_b64 = assertion.split(".")
            header = json.loads(_b64decode(head_b64))
            claims = json.loads(_b64decode(body_b64))
            signature = _b64decode(sig_b64)
        except (ValueError, json.JSONDecodeError):
            raise TokenError(400, "invalid_grant", "Invalid JWT: malformed.") from None
        if header.get("alg") != "RS256":
            raise TokenError(400, "invalid_grant", "Invalid JWT Signature.")
        key = self.keys.get(claims.get("iss", ""))
        if key is None:
            raise TokenError(400, "invalid_grant", "Invalid grant: account not found")
        try:
            key.verify(signature, f"{head_b64}.{body_b64}".encode(), padding.PKCS1v15(),
                       hashes.SHA256())
        except InvalidSignature:
            raise TokenError(400, "invalid_grant", "Invalid JWT Signature.") from None
        if claims.get("aud") not in self.token_uris:
            raise TokenError(400, "invalid_grant", "Invalid JWT: Failed audience check.")
        now = time.time()
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, (int, float)) or not isinstance(exp, (int, float)) or \
                exp - iat > 3600 or exp < now - CLOCK_SKEW or iat > now + CLOCK_SKEW:
            raise TokenError(400, "invalid_grant",
                             "Invalid JWT: Token must be a short-lived token (60 minutes) "
                             "and in a reasonable timeframe. Check your iat and exp values "
                             "in the JWT claim.")
        scopes = set(str(claims.get("scope") or "").split())
        if not scopes:
            raise TokenError(400, "invalid_scope",
                             "Invalid OAuth scope or ID token audience provided.")
        return claims.get("sub") or claims["iss"], scopes

    # --- API calls ---
    def caller(self, authorization: str | None, method: str, write: bool) -> str | None:
        """The account behind a call, or None (anonymous). Raises 401/403 only when
        authentication is required."""
        token = None
        if authorization and authorization.lower().startswith("bearer "):
            token = authorization[7:].strip()
        info = self.tokens.get(token) if token else None
        valid = info is not None and info.expires > time.time()
        if not self.required:
            return info.account if valid else None
        if token is None:
            raise unauthenticated(method, missing=True)
        if not valid:
            raise unauthenticated(method, missing=False)
        allowed = WRITE_SCOPES if write else READ_SCOPES
        if not info.scopes & allowed:
            raise insufficient_scope(method)
        return info.account


def new_service_account(token_uri: str, client_email: str, project_id: str = "kpirules-emulator"
                        ) -> tuple[dict, str]:
    """A fresh RSA key as a service-account JSON (``token_uri`` pointing at the
    emulator) and its public key PEM to register."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    info = {"type": "service_account", "project_id": project_id,
            "private_key_id": secrets.token_hex(20), "private_key": private_pem,
            "client_email": client_email, "client_id": str(secrets.randbelow(10 ** 21)),
            "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": token_uri,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "universe_domain": "googleapis.com"}
    return info, public_pem


__all__ = ["Auth", "TokenError", "new_service_account"]
