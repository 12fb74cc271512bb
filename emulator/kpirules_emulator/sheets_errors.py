"""Google's error bodies: ``{"error": {"code", "message", "status", "details"?}}``.

One exception type, :class:`ApiError`, carries everything a handler needs to answer the
way sheets.googleapis.com does; the canned constructors hold the exact texts recorded
from the real service (see tests/cassettes)."""

from __future__ import annotations

from typing import Any

STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                404: "NOT_FOUND", 409: "ABORTED", 429: "RESOURCE_EXHAUSTED",
                500: "INTERNAL", 501: "UNIMPLEMENTED", 503: "UNAVAILABLE",
                504: "DEADLINE_EXCEEDED"}

DEFAULT_MESSAGES = {
    429: "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per "
         "minute per user' of service 'sheets.googleapis.com' for consumer "
         "'project_number:000000000000'.",
    500: "Internal error encountered.",
    503: "The service is currently unavailable.",
    504: "The service is currently unavailable.",
}


class ApiError(Exception):
    def __init__(self, code: int, message: str, *, status: str | None = None,
                 details: list[dict] | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or STATUS_NAMES.get(code, "UNKNOWN")
        self.details = details
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message,
                               "status": self.status}
        if self.details:
            err["details"] = self.details
        return {"error": err}


def bad_request(message: str, violations: list[tuple[str, str]] | None = None) -> ApiError:
    """400 INVALID_ARGUMENT; ``violations`` become a google.rpc.BadRequest detail."""
    details = None
    if violations:
        fv = []
        for field, description in violations:
            item = {"field": field, "description": description} if field else \
                {"description": description}
            fv.append(item)
        details = [{"@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": fv}]
    return ApiError(400, message, details=details)


def not_found() -> ApiError:
    return ApiError(404, "Requested entity was not found.")


def permission_denied() -> ApiError:
    return ApiError(403, "The caller does not have permission")


def unable_to_parse(text: str) -> ApiError:
    return bad_request(f"Unable to parse range: {text}")


def error_for_status(code: int, message: str | None = None) -> ApiError:
    """An injected fault's body: what Google sends for that status."""
    details = None
    if code == 429:
        details = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "RATE_LIMIT_EXCEEDED", "domain": "googleapis.com",
                    "metadata": {"service": "sheets.googleapis.com",
                                 "quota_metric": "sheets.googleapis.com/read_requests",
                                 "quota_limit": "ReadRequestsPerMinutePerUser"}}]
    return ApiError(code, message or DEFAULT_MESSAGES.get(code, "Request failed."),
                    details=details)


def unauthenticated(method: str, *, missing: bool) -> ApiError:
    """401 as Google sends it for a missing or a bad/expired Bearer token."""
    if missing:
        message = ("Request is missing required authentication credential. Expected OAuth 2 "
                   "access token, login cookie or other valid authentication credential. "
                   "See https://developers.google.com/identity/sign-in/web/devconsole-project.")
        reason = "CREDENTIALS_MISSING"
    else:
        message = ("Request had invalid authentication credentials. Expected OAuth 2 access "
                   "token, login cookie or other valid authentication credential. See "
                   "https://developers.google.com/identity/sign-in/web/devconsole-project.")
        reason = "ACCESS_TOKEN_TYPE_UNSUPPORTED"
    details = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason,
                "domain": "googleapis.com",
                "metadata": {"service": "sheets.googleapis.com", "method": method}}]
    headers = {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'
               + ("" if missing else ', error="invalid_token"')}
    return ApiError(401, message, details=details, headers=headers)


def insufficient_scope(method: str) -> ApiError:
    details = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT", "domain": "googleapis.com",
                "metadata": {"service": "sheets.googleapis.com", "method": method}}]
    return ApiError(403, "Request had insufficient authentication scopes.", details=details,
                    headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/",'
                             ' error="insufficient_scope"'})
