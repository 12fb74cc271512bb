"""``kpirules serve``: the engine as an HTTP service, for the Google Sheets add-on."""

from __future__ import annotations

import sys

import click

from kpirules.cli.output import echo

from kpirules.cli.common import config_option, verbosity_options
from kpirules.cli.main import EXIT_ERROR


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, envvar="KPIRULES_SERVE_HOST",
              help="Address to listen on (0.0.0.0 in a container).")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True, envvar="PORT",
              help="Port to listen on; $PORT when set (Cloud Run sets it); 0 picks a free one.")
@click.option("--audience", multiple=True, envvar="KPIRULES_SERVE_AUDIENCE", metavar="CLIENT_ID",
              help="Accept Google ID tokens issued for this audience (the add-on's OAuth client ID). "
                   "Repeatable.")
@click.option("--allow", multiple=True, envvar="KPIRULES_SERVE_ALLOW", metavar="DOMAIN|E-MAIL",
              help="Who may call with an ID token: a Google Workspace domain or an e-mail. Repeatable, "
                   "or comma-separated.")
@click.option("--certs-url", default=None, envvar="KPIRULES_SERVE_CERTS_URL", metavar="URL",
              help="Where the ID tokens' signing certificates are [default: Google's].")
@click.option("--max-body", type=click.IntRange(1024), default=None, metavar="BYTES",
              help="Largest request body accepted [default: 10 MiB].")
@click.option("--timeout", type=click.FloatRange(1), default=None, metavar="SECONDS",
              help="Answer 504 when a request takes longer [default: 120].")
@click.option("--credentials", type=click.Path(dir_okay=False), metavar="FILE", envvar="KPIRULES_CREDENTIALS",
              help="Service-account key for /v1/check and /v1/run [default: the environment's, e.g. "
                   "Cloud Run's own account].")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info",
              show_default=True)
@config_option
@verbosity_options
def command(host, port, audience, allow, certs_url, max_body, timeout, credentials, log_level, config, quiet,
            verbose):
    """Serve the rules engine over HTTP for the Google Sheets add-on.

    \b
    POST /v1/evaluate  tab values in, results and the cells to write out (no Google access)
    POST /v1/validate  rules in, every problem with its column out
    POST /v1/check     {"spreadsheet": KEY}: like `kpirules check KEY --format json`
    POST /v1/run       {"spreadsheet": KEY}: like `kpirules run KEY` (one run per sheet)
    GET  /healthz

    Every /v1 call needs `Authorization: Bearer TOKEN`: a Google ID token for one of the
    --audience values from an --allow'ed account, or the token in KPIRULES_SERVE_TOKEN.
    See docs/serve.md for Cloud Run and the add-on.

    \b
    Examples:
      KPIRULES_SERVE_TOKEN=secret kpirules serve --port 8080
      kpirules serve --host 0.0.0.0 --audience 1234.apps.googleusercontent.com --allow example.com
    """
    import logging
    import os
    import socket

    from kpirules.serve.app import ServeConfig, create_app
    from kpirules.serve.auth import GOOGLE_CERTS_URL, AuthConfig, listed

    auth = AuthConfig.from_allow(list(allow), static_token=os.environ.get("KPIRULES_SERVE_TOKEN") or None,
                                 audiences=tuple(listed(audience)),
                                 certs_url=certs_url or GOOGLE_CERTS_URL)
    problems = auth.problems()
    if problems:
        for problem in problems:
            echo(f"error: {problem}", err=True)
        sys.exit(EXIT_ERROR)
    if quiet:
        log_level = "warning"
    elif verbose:
        log_level = "debug" if verbose > 1 else "info"
    serve_config = ServeConfig(auth=auth, credentials=credentials, settings_file=config)
    if max_body:
        serve_config.max_body = max_body
    if timeout:
        serve_config.timeout = timeout
    try:
        import uvicorn
    except ImportError:
        echo("error: kpirules serve needs its extra: pip install 'kpirules[serve]'", err=True)
        sys.exit(EXIT_ERROR)
    logging.basicConfig(level=log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Even at --log-level debug: their lines carry spreadsheet URLs and token requests.
    for noisy in ("urllib3", "google"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        # Listening before saying so: a caller that connects on reading the line below is
        # queued until uvicorn accepts, not refused.
        sock.listen(2048)
    except OSError as exc:
        echo(f"error: cannot listen on {host}:{port}: {exc.strerror}", err=True)
        sys.exit(EXIT_ERROR)
    bound = sock.getsockname()[1]
    ways = (["static token"] if auth.static_token else []) + (["Google ID tokens"] if auth.id_tokens else [])
    echo(f"kpirules serve listening on http://{host}:{bound} ({' and '.join(ways)})", err=True)
    server = uvicorn.Server(uvicorn.Config(create_app(serve_config), log_config=None, access_log=False,
                                           server_header=False, log_level=log_level,
                                           timeout_graceful_shutdown=30))
    server.run(sockets=[sock])
