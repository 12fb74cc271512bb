"""The generic JSON webhook: one POST per alert, body = ``alert.to_json`` (schema version 1,
docs/configuration.md), optionally signed so the receiver can tell it came from us."""

from __future__ import annotations

import hashlib
import hmac
import json

from kpirules.notify.alert import Alert, to_json

SIGNATURE_HEADER = "X-Kpirules-Signature"


def webhook_body(alert: Alert) -> bytes:
    """The exact bytes sent (and signed): compact, keys in schema order, UTF-8."""
    return json.dumps(to_json(alert), ensure_ascii=False, separators=(",", ":")).encode()


def signature(body: bytes, secret: str) -> str:
    """``sha256=<hex HMAC-SHA256 of the body>``; receivers compare with hmac.compare_digest."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str, header: str | None) -> bool:
    """For receivers written in Python (and our tests)."""
    return bool(header) and hmac.compare_digest(signature(body, secret), header)
