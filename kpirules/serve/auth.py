"""Who may call the service: a Google ID token, or the service's static bearer token.

* **Google ID token** (what the add-on sends: ``ScriptApp.getIdentityToken()``): its
  signature is checked with google-auth against Google's certificates, its audience must be
  one of ``audiences`` (the add-on's OAuth client ID), its issuer Google, its e-mail
  verified, and the e-mail must be allowed: listed itself, or an account of an allowed
  Google Workspace domain (the ``hd`` claim).
* **Static token** (``KPIRULES_SERVE_TOKEN``), for self-hosting and tests: compared in
  constant time.

Anything else is ``AuthError`` (401). Its message says what is missing, never what was sent.
"""

from __future__ import annotations

import hmac
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from kpirules.i18n import N_

GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
GOOGLE_ISSUERS = ("accounts.google.com", "https://accounts.google.com")
CERTS_TTL = 300.0  # seconds: Google rotates keys daily and publishes them well ahead


class AuthError(Exception):
    """401: no usable credentials in the request. The message is English, marked for the
    catalog: the service says it in the request's language (kpirules.serve.app)."""


@dataclass(frozen=True)
class Principal:
    kind: str  # "token" or "id-token"
    email: str | None = None


@dataclass(frozen=True)
class AuthConfig:
    static_token: str | None = None
    audiences: tuple[str, ...] = ()
    allowed_emails: frozenset[str] = frozenset()
    allowed_domains: frozenset[str] = frozenset()
    certs_url: str = GOOGLE_CERTS_URL

    @classmethod
    def from_allow(cls, allow: list[str] | tuple[str, ...], **kwargs: Any) -> AuthConfig:
        """``allow`` items are e-mails (``ana@example.com``) or domains (``example.com``)."""
        items = [a.lower() for a in listed(allow)]
        return cls(allowed_emails=frozenset(a for a in items if "@" in a),
                   allowed_domains=frozenset(a.lstrip("@") for a in items if "@" not in a), **kwargs)

    @property
    def id_tokens(self) -> bool:
        return bool(self.audiences)

    def problems(self) -> list[str]:
        """Why this configuration would let nobody in, or everyone."""
        out = []
        if not self.static_token and not self.id_tokens:
            out.append("no way to authenticate: set KPIRULES_SERVE_TOKEN, or --audience for Google ID tokens")
        if self.id_tokens and not (self.allowed_emails or self.allowed_domains):
            out.append("--audience is set but nobody is allowed: add --allow DOMAIN or --allow E-MAIL")
        return out


def listed(entries: list[str] | tuple[str, ...]) -> list[str]:
    """Repeated options, each possibly comma-separated (``--audience "a, b"``), as items
    without the spaces around them: an audience kept as " b" would never match a token's."""
    return [item.strip() for entry in entries for item in entry.split(",") if item.strip()]


@dataclass
class _CachingRequest:
    """google-auth's HTTP transport, remembering the certificates' response for a while:
    without it every request would fetch Google's certificates again."""

    ttl: float = CERTS_TTL
    _cache: dict[str, tuple[float, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _inner: Any = None

    def __call__(self, url: str, method: str = "GET", body: Any = None, headers: Any = None,
                 timeout: float | None = None, **kwargs: Any) -> Any:
        if method == "GET":
            with self._lock:
                hit = self._cache.get(url)
            if hit is not None and time.monotonic() - hit[0] < self.ttl:
                return hit[1]
        if self._inner is None:
            from google.auth.transport.requests import Request

            self._inner = Request()
        response = self._inner(url, method=method, body=body, headers=headers, timeout=timeout or 10, **kwargs)
        if method == "GET" and response.status == 200:
            with self._lock:
                self._cache[url] = (time.monotonic(), response)
        return response


class Authenticator:
    def __init__(self, config: AuthConfig):
        self.config = config
        self._request = _CachingRequest()

    def __call__(self, authorization: str | None) -> Principal:
        scheme, _, token = (authorization or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise AuthError(N_("missing credentials: send 'Authorization: Bearer <token>'"))
        static = self.config.static_token
        if static and hmac.compare_digest(token.encode(), static.encode()):
            return Principal("token")
        if self.config.id_tokens and token.count(".") == 2:
            return self._id_token(token)
        raise AuthError(N_("the bearer token is not valid for this service"))

    def _id_token(self, token: str) -> Principal:
        from google.auth import exceptions
        from google.oauth2 import id_token

        try:
            claims = id_token.verify_token(token, self._request,  # type: ignore[arg-type]
                                           audience=list(self.config.audiences),
                                           certs_url=self.config.certs_url, clock_skew_in_seconds=30)
        except (ValueError, exceptions.GoogleAuthError):
            # The reason (expired, wrong audience, bad signature) stays out of the answer
            # and the logs: it would help only someone trying tokens.
            raise AuthError(N_("the ID token is not valid for this service")) from None
        if claims.get("iss") not in GOOGLE_ISSUERS:
            raise AuthError(N_("the ID token was not issued by Google"))
        email = str(claims.get("email") or "").lower()
        if not email or claims.get("email_verified") not in (True, "true"):
            raise AuthError(N_("the ID token has no verified e-mail (the add-on needs the userinfo.email scope)"))
        # A domain is its Workspace's accounts (the ``hd`` claim), never the e-mail's suffix:
        # anyone can make a consumer Google account for an address at someone else's domain.
        domain = str(claims.get("hd") or "").lower()
        if email not in self.config.allowed_emails and not (domain and domain in self.config.allowed_domains):
            raise AuthError(N_("this account is not allowed to use this service"))
        return Principal("id-token", email)
