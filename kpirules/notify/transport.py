"""One HTTP POST with bounded retries, and error texts that never show the URL's path or
query (a Slack webhook URL *is* its token) nor any header value."""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import urlsplit

from kpirules.i18n import N_, _, ngettext

if TYPE_CHECKING:  # pragma: no cover
    from pydantic import SecretStr

    from kpirules.notify.alert import Alert

log = logging.getLogger("kpirules.notify")

# A server may ask for a long pause (Retry-After: 3600); a scheduled run should not hang
# on it, so waits are capped and the delivery is reported as failed if it still refuses.
RETRY_AFTER_MAX = 60.0
_RETRY_STATUS = {408, 425, 429}
NO_ANSWER = N_("no answer from {target} within {seconds} s")


@dataclass
class Outcome:
    ok: bool
    attempts: int
    error: str | None = None
    status: int | None = None
    # The endpoint itself looks unusable (unreachable, gone, unauthorised): later alerts
    # for the same channel in this run are not tried, instead of waiting on each.
    channel_down: bool = False
    # Failed, but the receiver may have taken it (no answer in time, a 500/502/504, a
    # connection dropped after sending): a resend may be a repeat.
    maybe_delivered: bool = False


def where(url: str) -> str:
    """``https://hooks.slack.com/services/T0/B0/xyz?k=1`` -> ``https://hooks.slack.com``."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "the configured URL"
    return f"{parts.scheme}://{host}{port}"


def url_secrets(url: str) -> list[str]:
    """The parts of a URL that may carry a token, for scrubbing."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return [url]
    out = [url, parts.query, parts.password or ""]
    if len(parts.path) > 1:
        out.append(parts.path)
        out.extend(seg for seg in parts.path.split("/") if len(seg) >= 6)
    return [s for s in out if s]


def scrub(text: str, secrets: list[str]) -> str:
    """Defence in depth: whatever produced ``text``, no secret survives it."""
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), capped."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    return max(0.0, min(seconds, RETRY_AFTER_MAX))


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception inside it (causes, contexts, reasons, arguments): a
    requests error wraps urllib3's, which wraps the OS's."""
    seen = set()
    stack = [exc]
    while stack:
        e = stack.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        stack.extend(x for x in (e.__cause__, e.__context__, getattr(e, "reason", None)) if isinstance(x, BaseException))
        stack.extend(a for a in getattr(e, "args", ()) if isinstance(a, BaseException))


def _reason(exc: BaseException) -> str:
    """The OS-level reason inside a requests/urllib3 exception chain ("Connection refused"),
    without the exception texts themselves, which quote the request's URL."""
    return next((e.strerror for e in _chain(exc) if isinstance(e, OSError) and e.strerror), type(exc).__name__)


def _never_connected(exc: BaseException) -> bool:
    """Whether a requests ConnectionError failed before anything was sent (refused, no
    route, a name that does not resolve), not a connection dropped after sending."""
    from urllib3.exceptions import NewConnectionError

    return any(isinstance(e, NewConnectionError) for e in _chain(exc))


def post(session: Any, url: str, body: bytes, headers: dict[str, str], *, timeout: float,
         max_attempts: int, backoff: float, sleep: Callable[[float], None],
         check: Callable[[Any], str | None] | None = None, repeat_safe: bool = True) -> Outcome:
    """POST ``body`` until a 2xx answer, up to ``max_attempts`` times.

    Retries 408/425/429, 5xx, connection errors and timeouts, waiting ``backoff * 2**n``
    seconds or what Retry-After asks. Other 4xx answers are final. ``check`` may reject a
    2xx answer (returns an error text). Never raises for a failed request.

    ``repeat_safe`` (the channel's messages carry a key a receiver drops repeats by): when
    False, an attempt the receiver may have taken (no answer in time, a 500/502/504, a
    connection dropped after sending) is not retried: the outcome says it may have
    arrived, and the outbox sends it again on the next run, saying so."""
    import requests

    target = where(url)
    secrets = url_secrets(url) + list(headers.values())
    attempt, error, status, maybe = 0, None, None, False
    while attempt < max_attempts:
        attempt += 1
        wait = None
        try:
            response = session.post(url, data=body, headers=headers, timeout=timeout, allow_redirects=False)
        except requests.ConnectTimeout:  # before connecting: nothing was sent
            error, retry, down, maybe = _(NO_ANSWER).format(target=target, seconds=f"{timeout:g}"), True, True, False
        except requests.Timeout:  # sent, no answer in time
            error, retry, down, maybe = _(NO_ANSWER).format(target=target, seconds=f"{timeout:g}"), True, True, True
        except requests.ConnectionError as exc:
            error = _("could not connect to {target} ({reason})").format(target=target, reason=_reason(exc))
            retry, down, maybe = True, True, not _never_connected(exc)
        except requests.RequestException as exc:  # invalid URL, bad header...: retrying cannot help
            error = _("could not send to {target} ({reason})").format(target=target, reason=type(exc).__name__)
            retry, down, maybe = False, True, False
        else:
            status = response.status_code
            if 200 <= status < 300:
                problem = check(response) if check else None
                if problem is None:
                    return Outcome(True, attempt, status=status)
                said = _("{target} answered {status} but {problem}").format(target=target, status=status,
                                                                             problem=problem)
                return Outcome(False, attempt, scrub(said, secrets), status)
            snippet = " ".join((response.text or "").split())[:120]
            error = _("{target} answered HTTP {status}").format(target=target, status=status) + (
                f": {snippet}" if snippet else "")
            retry = status in _RETRY_STATUS or status >= 500
            down = status in (401, 403, 404, 410) or retry
            # 408/425/429/503 say the request was not carried out; another 5xx may have been.
            maybe = status >= 500 and status != 503
            wait = retry_after(response.headers.get("Retry-After"))
        error = scrub(error, secrets)
        log.info("notification to %s failed (attempt %d of %d): %s", target, attempt, max_attempts, error)
        if not retry or (maybe and not repeat_safe):
            break
        if attempt < max_attempts:
            sleep(wait if wait is not None else backoff * 2 ** (attempt - 1))
    return Outcome(False, attempt, after_attempts(str(error), attempt), status, channel_down=down,
                   maybe_delivered=maybe)


def after_attempts(error: str, attempts: int) -> str:
    """``error``, saying how many attempts it took when more than one."""
    if attempts <= 1:
        return error
    return error + " " + ngettext("(after {n} attempt)", "(after {n} attempts)", attempts).format(n=attempts)


# A request for one alert: the body, the headers, and a check of a 2xx answer (or None).
Request = tuple[bytes, dict[str, str], "Callable[[Any], str | None] | None"]


@dataclass
class Sending:
    """What a channel's ``send`` (kpirules.config_channels.ChannelKind) is given: the
    environment its ``${VAR}`` secrets resolve in, the retry policy, and one HTTP session
    shared by every channel of a dispatch (opened on first use, closed by the dispatch)."""

    env: Mapping[str, str]
    timeout: float = 10
    max_attempts: int = 3
    backoff: float = 0.5
    sleep: Callable[[float], None] = time.sleep
    user_agent: str = "kpirules"
    # The channel being sent to declares ``idempotency-key`` (config_channels): a send
    # whose answer was lost may be repeated at once. Set per channel by ``for_channel``.
    repeat_safe: bool = True
    _session: Any = field(default=None, repr=False)
    _shared: Sending | None = field(default=None, repr=False)  # whose session is used

    def resolve(self, value: SecretStr | str) -> str:
        """A setting with its ``${VAR}`` references replaced; raises MissingEnv."""
        from kpirules.config_channels import resolve_env

        text = value if isinstance(value, str) else value.get_secret_value()
        return resolve_env(text, self.env)

    @property
    def retry(self) -> dict[str, Any]:
        return {"timeout": self.timeout, "max_attempts": self.max_attempts, "backoff": self.backoff,
                "sleep": self.sleep}

    def for_channel(self, capabilities: frozenset[str]) -> Sending:
        """This sending as a channel of a kind with ``capabilities`` sees it (the same
        session and policy)."""
        from dataclasses import replace

        from kpirules.config_channels import IDEMPOTENCY_KEY

        return replace(self, repeat_safe=IDEMPOTENCY_KEY in capabilities, _session=None,
                       _shared=self._shared or self)

    @property
    def session(self) -> Any:
        if self._shared is not None:
            return self._shared.session
        if self._session is None:
            import requests

            self._session = requests.Session()
            self._session.headers["User-Agent"] = self.user_agent
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def post_each(self, url: str, alerts: list[Alert], request: Callable[[Alert], Request],
                  secrets: Sequence[str] = ()) -> Iterator[tuple[Alert, Outcome]]:
        """One POST per alert to ``url``; once the endpoint looks down, the alerts left are
        not tried. ``secrets`` (with the URL's own) never appear in an error text."""
        hidden = url_secrets(url) + list(secrets)
        down: Outcome | None = None
        for alert in alerts:
            if down is not None:
                yield alert, Outcome(False, 0, _("not tried: the channel failed earlier in this run ({error})").format(
                    error=down.error))
                continue
            body, headers, check = request(alert)
            outcome = post(self.session, url, body, headers, check=check, repeat_safe=self.repeat_safe,
                           **self.retry)
            if outcome.error:
                outcome.error = scrub(outcome.error, hidden)
            yield alert, outcome
            if not outcome.ok and outcome.channel_down:
                down = outcome
