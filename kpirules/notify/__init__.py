"""Alert notifications: Slack incoming webhooks, a generic signed JSON webhook, and SMTP.

    from kpirules.notify import Alert, dispatch
    deliveries = dispatch(alerts, settings)   # never raises for a failed delivery

Channels and their secrets are configured in ``kpirules.config.Settings.notifications``
(docs/configuration.md). Each kind of channel is one module declaring its
``kpirules.config_channels.ChannelKind`` (``slack``, ``webhook``, ``email`` here; a plugin's
elsewhere), found through the ``kpirules.channels`` entry-point group. Submodules load on first use so ``import kpirules.notify`` does not
pull in ``requests``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_LAZY = {
    "Alert": "kpirules.notify.alert",
    "KINDS": "kpirules.notify.alert",
    "render_text": "kpirules.notify.alert",
    "Delivery": "kpirules.notify.dispatch",
    "dispatch": "kpirules.notify.dispatch",
    "slack_payload": "kpirules.notify.slack",
    "webhook_body": "kpirules.notify.webhook",
    "signature": "kpirules.notify.webhook",
    "verify": "kpirules.notify.webhook",
    "SIGNATURE_HEADER": "kpirules.notify.webhook",
    "email_message": "kpirules.notify.email",
}

__all__ = list(_LAZY)

if TYPE_CHECKING:  # pragma: no cover
    from kpirules.notify.alert import KINDS, Alert, render_text
    from kpirules.notify.dispatch import Delivery, dispatch
    from kpirules.notify.email import email_message
    from kpirules.notify.slack import slack_payload
    from kpirules.notify.webhook import SIGNATURE_HEADER, signature, verify, webhook_body


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kpirules.notify' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
