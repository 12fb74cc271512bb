"""Which Google credentials kpirules uses for Google Sheets, and the login token cache.

Everything goes through google-auth, with one scope only:
``https://www.googleapis.com/auth/spreadsheets`` (no Drive access is ever asked for).

Order of precedence (the first that applies wins; ``kpirules auth status`` shows which):

1. ``KPIRULES_SHEETS_EMULATOR_HOST=HOST:PORT`` set: no credentials at all. Every Sheets
   call goes over plain http to that emulator (``kpirules_emulator.sheets``) and no token is
   ever fetched, the way Google's own emulators (Firestore, Pub/Sub) work.
2. ``--credentials PATH`` (the ``credentials=`` argument): a key file. Usually a service
   account key; any file google-auth loads works (``external_account`` for workload
   identity federation, ``authorized_user``, ``impersonated_service_account``).
3. ``KPIRULES_CREDENTIALS=PATH``: the same, for kpirules only.
4. ``GOOGLE_APPLICATION_CREDENTIALS=PATH``: Application Default Credentials from that
   file (what google-github-actions/auth sets up for workload identity federation).
5. The OAuth user login saved by ``kpirules auth login``: ``token.json`` in the config
   directory (``$KPIRULES_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/kpirules`` or
   ``~/.config/kpirules``; ``%APPDATA%\\kpirules`` on Windows), mode 0600. Its access token
   is refreshed when expired and the refreshed one saved back.
6. The rest of Application Default Credentials: gcloud's
   ``application_default_credentials.json``, then the metadata server (Cloud Run, GCE,
   GKE workload identity).

Explicit beats ambient: a key file named for this run (2, 3) beats one set for every Google
tool (4), and a login made for kpirules (5) beats gcloud's or the machine's identity (6).

Secrets (private keys, access and refresh tokens, client secrets) are never logged or put in
messages; ``redact`` scrubs them from any text that might carry them (server answers,
exception strings) before it reaches the user.

google-auth, requests and google-auth-oauthlib are imported inside functions so that the
CLI starts fast and ``check`` on a CSV file never loads them.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kpirules.errors import SourceError

log = logging.getLogger("kpirules.gauth")

SCOPES = ("https://www.googleapis.com/auth/spreadsheets",)

EMULATOR_ENV = "KPIRULES_SHEETS_EMULATOR_HOST"
CREDENTIALS_ENV = "KPIRULES_CREDENTIALS"
ADC_ENV = "GOOGLE_APPLICATION_CREDENTIALS"
CLIENT_SECRETS_ENV = "KPIRULES_OAUTH_CLIENT_SECRETS"
CONFIG_DIR_ENV = "KPIRULES_CONFIG_DIR"
TOKEN_FILE = "token.json"

HOW_TO_AUTHENTICATE = (
    "give a service account key file with --credentials PATH (or set KPIRULES_CREDENTIALS "
    "or GOOGLE_APPLICATION_CREDENTIALS), or log in as yourself with `kpirules auth login`; "
    "on Cloud Run or GitHub Actions, attach a service account / workload identity so that "
    "Application Default Credentials find it"
)

_KINDS = {
    "service_account": "service account key file",
    "external_account": "workload identity federation (external_account)",
    "external_account_authorized_user": "workforce identity federation user",
    "authorized_user": "user credentials file (authorized_user)",
    "impersonated_service_account": "impersonated service account",
    "gdch_service_account": "GDC hosted service account",
}


@dataclass
class Resolved:
    """Credentials and where they came from, for messages that must not show secrets."""

    credentials: Any  # google.auth.credentials.Credentials
    kind: str  # "service account key file", "OAuth user login (kpirules auth login)", ...
    origin: str  # "--credentials", "KPIRULES_CREDENTIALS", "token cache", "metadata server", ...
    path: str | None = None
    account: str | None = None  # e-mail to share sheets with, when the credentials tell it
    cache_path: Path | None = None  # the token cache these came from, saved back on refresh
    emulator: str | None = None  # HOST:PORT when talking to the Sheets emulator
    _saved_token: str | None = field(default=None, repr=False)

    def describe(self) -> str:
        """What and where, e.g. ``service account key file /k.json (from KPIRULES_CREDENTIALS)``."""
        text = self.kind + (f" {self.path}" if self.path else "")
        if self.origin not in ("--credentials", "token cache", self.path) and \
                self.origin not in self.kind:
            text += f" (from {self.origin})"
        return text

    def who(self) -> str:
        """The account to name in "share the sheet with ..." hints."""
        account = self.account or _account_of(self.credentials)
        if account:
            return account
        if self.cache_path is not None or self.kind.startswith("user"):
            return "the Google account you logged in with"
        return "the account of these credentials (`kpirules auth status` shows it)"

    def share_hint(self) -> str:
        return f"share the sheet with {self.who()} (Editor for `run`, Viewer for `check`)"

    def persist(self) -> None:
        """Save a refreshed user token back to the cache, so the next run reuses it
        instead of refreshing again. A no-op for every other kind of credentials."""
        if self.cache_path is None:
            return
        token = getattr(self.credentials, "token", None)
        if token and token != self._saved_token:
            try:
                save_token(self.credentials, self.cache_path)
                self._saved_token = token
            except OSError as exc:  # a read-only home must not fail a run that worked
                log.warning("could not update the token cache %s: %s", self.cache_path,
                            exc.strerror or type(exc).__name__)

    def secrets(self) -> list[str]:
        return _secrets_of(self.credentials)


# --- where things live ------------------------------------------------------------------

def config_dir() -> Path:
    """kpirules' per-user configuration directory (not created here)."""
    explicit = os.environ.get(CONFIG_DIR_ENV)
    if explicit:
        return Path(explicit).expanduser()
    if sys.platform == "win32" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / "kpirules"
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "kpirules"


def token_path() -> Path:
    return config_dir() / TOKEN_FILE


def emulator_host() -> str | None:
    """HOST:PORT of the Sheets emulator when ``KPIRULES_SHEETS_EMULATOR_HOST`` is set."""
    host = os.environ.get(EMULATOR_ENV, "").strip()
    if not host:
        return None
    # Accept a pasted URL as well as the documented HOST:PORT.
    return re.sub(r"^https?://", "", host).rstrip("/")


# --- discovery --------------------------------------------------------------------------

class _NoHttpBodies(logging.Filter):
    """google-auth logs each token request and answer at DEBUG with the bodies attached
    (``httpRequest``/``httpResponse``: the signed JWT assertion, refresh and access
    tokens) whenever the application has configured the ``google`` logger. Those records
    never reach a handler from a kpirules process, whatever logging is turned on."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (hasattr(record, "httpRequest") or hasattr(record, "httpResponse"))


_GOOGLE_HTTP_LOGGERS = ("google.auth.transport.requests", "google.auth.transport._http_client",
                        "google.auth._helpers", "google.oauth2._client")
_NO_BODIES = _NoHttpBodies()


def guard_google_logs() -> None:
    """Install the filter above (idempotent; called whenever credentials are built)."""
    for name in _GOOGLE_HTTP_LOGGERS:
        logger = logging.getLogger(name)
        if _NO_BODIES not in logger.filters:
            logger.addFilter(_NO_BODIES)


def find_credentials(explicit: str | os.PathLike | None = None) -> Resolved:
    """The credentials to use, following the order in the module docstring.
    Raises ``SourceError`` saying how to provide credentials when none are found."""
    guard_google_logs()
    emulator = emulator_host()
    if emulator:
        from google.auth.credentials import AnonymousCredentials

        return Resolved(AnonymousCredentials(), kind="no credentials (Sheets emulator)",
                        origin=f"{EMULATOR_ENV}={emulator}", emulator=emulator)
    if explicit:
        return load_file(explicit, origin="--credentials")
    if os.environ.get(CREDENTIALS_ENV):
        return load_file(os.environ[CREDENTIALS_ENV], origin=CREDENTIALS_ENV)
    if os.environ.get(ADC_ENV):
        return _application_default(origin=ADC_ENV, path=os.environ[ADC_ENV])
    cached = load_cached_login()
    if cached is not None:
        return cached
    return _application_default(origin="Application Default Credentials", path=None)


def _read_key_file(path: Path, origin: str) -> dict:
    where = f"{path} (from {origin})" if origin != "--credentials" else str(path)
    if not path.is_file():
        raise SourceError(f"credentials file {where} does not exist", hint=HOW_TO_AUTHENTICATE)
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        # Say what is wrong without quoting the file: it holds a private key.
        raise SourceError(f"credentials file {where} is not a readable JSON key file "
                          f"({type(exc).__name__})", hint=HOW_TO_AUTHENTICATE) from None
    if not isinstance(info, dict) or "type" not in info:
        raise SourceError(f"credentials file {where} has no \"type\"; it is not a Google key file",
                          hint="download a service account key (IAM > Service accounts > Keys > "
                               "Add key > JSON), or use `kpirules auth login`")
    return info


def load_file(path: str | os.PathLike, *, origin: str) -> Resolved:
    """Credentials from a key file named by the user (``--credentials`` or an env var)."""
    path = Path(path).expanduser()
    info = _read_key_file(path, origin)
    kind = info.get("type")
    try:
        creds = _from_info(info, path)
    except SourceError:
        raise
    except Exception as exc:  # noqa: BLE001 - google-auth raises ValueError, KeyError...
        # Name the problem, never the content: the file holds a private key.
        raise SourceError(f"cannot use credentials file {path}: {type(exc).__name__} "
                          f"{redact(str(exc))[:200]}".rstrip(), hint=HOW_TO_AUTHENTICATE) from None
    return Resolved(creds, kind=_KINDS.get(str(kind), f"{kind} credentials file"), origin=origin,
                    path=str(path), account=_account_of(creds) or info.get("client_email"))


def _from_info(info: dict, path: Path) -> Any:
    """Credentials from a parsed key file, with the loader for its type. google-auth's
    generic ``load_credentials_from_file`` warns that it trusts any configuration; the
    user named this file, but a type-specific loader is still the safer way in."""
    kind = info.get("type")
    if kind == "service_account":
        from google.oauth2 import service_account

        return service_account.Credentials.from_service_account_info(info, scopes=list(SCOPES))
    if kind == "authorized_user":
        return _user_credentials(info, honour_token_uri=False)
    if kind == "external_account":
        source = info.get("credential_source") or {}
        module: Any
        if str(source.get("environment_id", "")).startswith("aws"):
            from google.auth import aws as module
        elif "executable" in source:
            from google.auth import pluggable as module
        else:  # a file or URL subject token: GitHub Actions, GitLab, Azure...
            from google.auth import identity_pool as module
        return module.Credentials.from_info(info, scopes=list(SCOPES))
    # Rarer types (impersonated_service_account, external_account_authorized_user...).
    import warnings

    import google.auth

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        creds, _ = google.auth.load_credentials_from_dict(info, scopes=list(SCOPES))
    return creds


def _application_default(*, origin: str, path: str | None) -> Resolved:
    import google.auth
    import google.auth.exceptions

    try:
        creds, _project = google.auth.default(scopes=list(SCOPES))
    except google.auth.exceptions.DefaultCredentialsError as exc:
        if path:  # GOOGLE_APPLICATION_CREDENTIALS names a file that does not work
            raise SourceError(f"cannot use {ADC_ENV}={path}: {redact(str(exc))}",
                              hint=HOW_TO_AUTHENTICATE) from None
        raise SourceError("no Google credentials found", hint=HOW_TO_AUTHENTICATE) from None
    kind = _kind_of(creds)
    if path is None:
        origin = ("metadata server" if kind.startswith("metadata")
                  else "Application Default Credentials (gcloud)")
    return Resolved(creds, kind=kind, origin=origin, path=path, account=_account_of(creds))


def _kind_of(creds: Any) -> str:
    module = type(creds).__module__
    if module.startswith("google.auth.compute_engine"):
        return "metadata server (Cloud Run, GCE, GKE)"
    if module == "google.oauth2.service_account":
        return _KINDS["service_account"]
    if module.startswith(("google.auth.identity_pool", "google.auth.aws", "google.auth.pluggable",
                          "google.auth.external_account")):
        return _KINDS["external_account"]
    if module == "google.auth.impersonated_credentials":
        return _KINDS["impersonated_service_account"]
    if module == "google.oauth2.credentials":
        return "user credentials (gcloud auth application-default login)"
    return type(creds).__name__


def _account_of(creds: Any) -> str | None:
    for attr in ("service_account_email", "signer_email", "account"):
        try:
            value = getattr(creds, attr, None)
        except Exception:  # noqa: BLE001 - some properties compute from config and may fail
            value = None
        if isinstance(value, str) and "@" in value:
            return value
    return None


# --- the user login and its cache -------------------------------------------------------

def _user_credentials(info: dict, *, honour_token_uri: bool) -> Any:
    from google.oauth2.credentials import Credentials

    try:
        creds = Credentials.from_authorized_user_info(info, scopes=list(SCOPES))
    except ValueError as exc:
        raise SourceError(f"the user credentials are incomplete ({redact(str(exc))})",
                          hint="run `kpirules auth login` again") from None
    # google-auth always points user credentials at Google's token endpoint. Our own cache
    # records the endpoint it was issued by (to_json writes token_uri), and we honour it so
    # that a login made against the Sheets emulator refreshes there, not at Google.
    if honour_token_uri and info.get("token_uri"):
        creds = creds.with_token_uri(info["token_uri"])
    return creds


def load_cached_login(path: Path | None = None) -> Resolved | None:
    """The login saved by ``kpirules auth login``, or None when there is none."""
    path = path or token_path()
    if not path.is_file():
        return None
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(info, dict):
            raise ValueError("not an object")
    except (OSError, UnicodeDecodeError, ValueError):
        raise SourceError(f"the saved login {path} is unreadable",
                          hint="run `kpirules auth login` again (or `kpirules auth logout`)") from None
    creds = _user_credentials(info, honour_token_uri=True)
    return Resolved(creds, kind="OAuth user login (kpirules auth login)", origin="token cache",
                    path=str(path), account=info.get("account") or None, cache_path=path,
                    _saved_token=info.get("token"))


def save_token(creds: Any, path: Path | None = None) -> Path:
    """Write user credentials to the cache, readable by the owner only (0600), atomically:
    a crash mid-write must not leave a truncated token file behind."""
    path = path or token_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(creds.to_json())
        os.chmod(tmp, 0o600)  # os.open's mode is subject to umask; make it exact
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def delete_token(path: Path | None = None) -> Path | None:
    """Remove the saved login; the path removed, or None when there was none."""
    path = path or token_path()
    try:
        path.unlink()
    except FileNotFoundError:
        return None
    return path


def client_secrets_path(explicit: str | None = None) -> Path:
    value = explicit or os.environ.get(CLIENT_SECRETS_ENV)
    if not value:
        raise SourceError(
            "no OAuth client secrets file given",
            hint="in Google Cloud console create an OAuth client ID of type \"Desktop app\" "
                 "(APIs & Services > Credentials), download its JSON and pass "
                 f"--client-secrets PATH or set {CLIENT_SECRETS_ENV}",
        )
    path = Path(value).expanduser()
    if not path.is_file():
        raise SourceError(f"OAuth client secrets file {path} does not exist",
                          hint=f"pass --client-secrets PATH or set {CLIENT_SECRETS_ENV}")
    return path


def login(client_secrets: str | None = None, *, open_browser: bool = True, port: int = 0,
          timeout_seconds: int | None = 300) -> Resolved:
    """Run the OAuth installed-app flow (a browser consent screen and a loopback redirect)
    and save the resulting user token to the cache."""
    path = client_secrets_path(client_secrets)
    try:
        from google_auth_oauthlib.flow import InstalledAppFlow
    except ImportError:
        raise SourceError("`kpirules auth login` needs google-auth-oauthlib",
                          hint="pip install 'kpirules[oauth]'") from None
    try:
        flow = InstalledAppFlow.from_client_secrets_file(str(path), scopes=list(SCOPES))
    except (ValueError, KeyError, OSError) as exc:
        raise SourceError(f"{path} is not an OAuth client secrets file ({type(exc).__name__})",
                          hint="download the JSON of an OAuth client ID of type "
                               "\"Desktop app\"") from None
    try:
        with _quiet_oauthlib():
            creds = flow.run_local_server(
                host="localhost", port=port, open_browser=open_browser,
                timeout_seconds=timeout_seconds,
                authorization_prompt_message="Open this URL in a browser to let kpirules use "
                                             "your Google Sheets:\n{url}",
                success_message="kpirules is logged in. You can close this window.",
            )
    except Exception as exc:  # noqa: BLE001 - oauthlib raises many kinds; say which, no secrets
        raise SourceError(f"the login did not complete ({type(exc).__name__}: {redact(str(exc))})",
                          hint="run `kpirules auth login` again") from None
    saved = save_token(creds)
    return Resolved(creds, kind="OAuth user login (kpirules auth login)", origin="token cache",
                    path=str(saved), cache_path=saved, _saved_token=creds.token)


class _quiet_oauthlib:
    """requests-oauthlib logs the token request's headers (HTTP Basic: the client secret)
    and the token response (access and refresh tokens) at DEBUG. Keep those loggers at
    INFO or above while the flow runs, whatever logging the user turned on."""

    NAMES = ("requests_oauthlib", "oauthlib")

    def __enter__(self) -> None:
        self._levels = {}
        for name in self.NAMES:
            logger = logging.getLogger(name)
            self._levels[name] = logger.level
            if logger.getEffectiveLevel() < logging.INFO:
                logger.setLevel(logging.INFO)

    def __exit__(self, *exc: Any) -> None:
        for name, level in self._levels.items():
            logging.getLogger(name).setLevel(level)


# --- keeping secrets out of output ------------------------------------------------------

_SECRET_PATTERNS = [
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.S),
    re.compile(r"\bya29\.[0-9A-Za-z_\-.]+"),  # Google access tokens
    re.compile(r"\b1//[0-9A-Za-z_\-]{20,}"),  # Google refresh tokens
    re.compile(r"(?i)(bearer\s+)[0-9A-Za-z_\-.~+/=]{8,}"),
    re.compile(r"(?i)(\"?(?:access_token|refresh_token|client_secret|private_key|id_token|assertion)"
               r"\"?\s*[:=]\s*\"?)[^\"&\s,}]+"),
]


def _secrets_of(creds: Any) -> list[str]:
    found = []
    for attr in ("token", "refresh_token", "client_secret", "_refresh_token", "_client_secret"):
        try:
            value = getattr(creds, attr, None)
        except Exception:  # noqa: BLE001
            value = None
        if isinstance(value, str) and len(value) >= 8:
            found.append(value)
    return found


def redact(text: str, secrets: list[str] | tuple[str, ...] = ()) -> str:
    """``text`` with known secret values and anything shaped like a key or token replaced."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + "[redacted]", text)
    return text
