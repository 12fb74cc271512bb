"""``kpirules auth login|logout|status``: the OAuth user login and which credentials apply.

A login is for people running kpirules on their own machine against sheets they can open
themselves; scheduled jobs should use a service account or workload identity instead
(``kpirules.gauth`` has the order in which credentials are looked for). Nothing here ever
prints a token, a refresh token, a client secret or a private key.
"""

from __future__ import annotations

import click

from kpirules.cli.output import echo

from kpirules.cli.common import source_errors, verbosity_options


@click.group("auth")
def command() -> None:
    """Log in to Google for Sheets access, and see which credentials kpirules uses.

    \b
    Credentials are looked for in this order:
      1. KPIRULES_SHEETS_EMULATOR_HOST (the Sheets emulator: none needed)
      2. --credentials FILE, then KPIRULES_CREDENTIALS (service account key)
      3. GOOGLE_APPLICATION_CREDENTIALS
      4. the login saved by `kpirules auth login`
      5. gcloud's application default login, then the metadata server (Cloud Run)
    """


@command.command("login")
@click.option("--client-secrets", type=click.Path(dir_okay=False), metavar="FILE",
              envvar="KPIRULES_OAUTH_CLIENT_SECRETS", show_envvar=True,
              help="The JSON of an OAuth client ID of type \"Desktop app\".")
@click.option("--no-browser", is_flag=True,
              help="Do not open a browser; print the URL to open (on this machine).")
@click.option("--port", type=int, default=0, show_default=True,
              help="Port of the local redirect server (0: any free port).")
@verbosity_options
@source_errors
def login(client_secrets: str | None, no_browser: bool, port: int, quiet: bool, verbose: int) -> None:
    """Log in as yourself (OAuth) and save the token for later runs.

    Asks for access to Google Sheets only (no Drive). The token is saved, readable by you
    alone, in ~/.config/kpirules/token.json (or $KPIRULES_CONFIG_DIR).
    """
    from kpirules import gauth

    resolved = gauth.login(client_secrets, open_browser=not no_browser, port=port)
    echo(f"Logged in. Token saved to {resolved.path}")
    if not quiet:
        echo("kpirules uses it when no service account key is given; `kpirules auth status` "
                   "shows which credentials apply.")


@command.command("logout")
@verbosity_options
@source_errors
def logout(quiet: bool, verbose: int) -> None:
    """Delete the saved login token."""
    from kpirules import gauth

    removed = gauth.delete_token()
    if removed is None:
        if not quiet:
            echo(f"Not logged in (no token at {gauth.token_path()}).")
    else:
        echo(f"Logged out: deleted {removed}")


@command.command("status")
@click.option("--credentials", type=click.Path(dir_okay=False), metavar="FILE",
              help="Show what this key file would give instead (as check/run --credentials).")
@click.option("--check", "try_token", is_flag=True,
              help="Also fetch an access token, to prove the credentials work (never shown).")
@verbosity_options
@source_errors
def status(credentials: str | None, try_token: bool, quiet: bool, verbose: int) -> None:
    """Show which credentials kpirules would use, without showing any secret."""
    from kpirules import gauth

    resolved = gauth.find_credentials(credentials)
    echo(f"credentials: {resolved.describe()}")
    if quiet:  # the one line; --check still proves them
        if try_token and not resolved.emulator:
            _try_token(resolved)
        return
    if resolved.emulator:
        echo(f"sheets api:  http://{resolved.emulator} (emulator; no token is fetched)")
        return
    echo(f"account:     {resolved.account or resolved.who()}")
    echo(f"scope:       {', '.join(gauth.SCOPES)}")
    echo(f"share sheets with {resolved.who()} (Editor for `run`, Viewer for `check`)")
    cache = gauth.token_path()
    if resolved.cache_path is None and cache.is_file():
        echo(f"note: a saved login exists ({cache}) but the credentials above take precedence")
    if try_token:
        _try_token(resolved)


def _try_token(resolved) -> None:
    import google.auth.exceptions
    from google.auth.transport.requests import Request

    from kpirules import gauth
    from kpirules.errors import SourceError

    import functools

    try:
        # google-auth's default timeout is 120 s; a status check should not hang that long.
        resolved.credentials.refresh(functools.partial(Request(), timeout=(10, 30)))
    except google.auth.exceptions.GoogleAuthError as exc:
        message = exc.args[0] if exc.args else type(exc).__name__
        text = gauth.redact(str(message), resolved.secrets())
        raise SourceError(f"the credentials do not work: {text}",
                          hint="run `kpirules auth login` again" if resolved.cache_path else
                          "check the key file, or create a new key for the service account") from None
    resolved.persist()
    expiry = getattr(resolved.credentials, "expiry", None)
    until = f" (valid until {expiry:%Y-%m-%d %H:%M} UTC)" if expiry else ""
    echo(f"token:       ok{until}")
