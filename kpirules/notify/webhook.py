"""The generic JSON webhook channel: one POST per alert, body = ``alert.to_json`` (schema
version 1, docs/configuration.md), optionally signed so the receiver can tell it came from
us, with the outbox's delivery key as its ``Idempotency-Key`` header."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Literal

from pydantic import Field, SecretStr, field_validator

from kpirules.config_channels import ChannelKind, ChannelSettings, http_url
from kpirules.notify.alert import Alert, delivery_key, to_json

if TYPE_CHECKING:  # pragma: no cover
    from kpirules.notify.transport import Outcome, Request, Sending

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


class WebhookChannel(ChannelSettings):
    """Any HTTP endpoint taking the JSON documented in docs/configuration.md."""

    type: Literal["webhook"]
    url: SecretStr
    headers: dict[str, SecretStr] = Field(default_factory=dict)
    secret: SecretStr | None = None  # HMAC-SHA256 key for the X-Kpirules-Signature header

    check_url = field_validator("url")(http_url)

    def secret_texts(self) -> list[str]:
        out = [self.url.get_secret_value(), *(v.get_secret_value() for v in self.headers.values())]
        return out + ([self.secret.get_secret_value()] if self.secret else [])


def send(channel: WebhookChannel, alerts: list[Alert], sending: Sending) -> Iterator[tuple[Alert, Outcome]]:
    url = sending.resolve(channel.url)
    headers = {k: sending.resolve(v) for k, v in channel.headers.items()}
    key = sending.resolve(channel.secret) if channel.secret else None

    def request(alert: Alert) -> Request:
        body = webhook_body(alert)
        request_headers = {"Content-Type": "application/json; charset=utf-8", **headers}
        if alert.key:
            request_headers["Idempotency-Key"] = delivery_key(alert.key, channel.name)
        if key:
            request_headers[SIGNATURE_HEADER] = signature(body, key)
        return body, request_headers, None

    yield from sending.post_each(url, alerts, request, [*headers.values(), *([key] if key else [])])


CHANNEL = ChannelKind(WebhookChannel, send, frozenset({"idempotency-key"}))
