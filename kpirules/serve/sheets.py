"""``/v1/check`` and ``/v1/run``: a Google Sheet shared with the service's own account,
read (and for ``run`` written) exactly as the CLI does.

The source is always a Google Sheet (the ``gsheets`` connector is forced) and its data the
sheet's own (``kpirules.backends.sheet_data_only``: a ``data`` setting naming a database is
refused): a request can never make the service open a file on its own disk, nor a database.
Settings are the CLI's: each sheet's Settings tab, over a ``kpirules.toml`` in the service's
working directory when there is one (settings for every sheet the service checks, e.g. a
notification channel whose secret is in the service's environment).
"""

from __future__ import annotations

from typing import Any

from kpirules.exitcodes import Exit
from kpirules.serve.guard import SheetGuard
from kpirules.serve.payload import (
    ApiError,
    as_of,
    config_error,
    expect_object,
    source_error,
    text,
    usage,
)

FIELDS = {"spreadsheet", "as_of"}


def spreadsheet_key(body: dict[str, Any]) -> str:
    from kpirules.connectors.gsheets import parse_key

    given = text(body, "spreadsheet", required=True, limit=500)
    key = parse_key(given or "")
    if key is None:
        from kpirules.i18n import _

        raise usage(_("'spreadsheet' is not a Google Sheets URL or key"),
                    hint=_("give https://docs.google.com/spreadsheets/d/KEY/edit or the KEY"))
    return key


def check_sheet(body: Any, *, credentials: str | None = None, settings_file: str | None = None) -> dict[str, Any]:
    """``kpirules check KEY --format json``: the same document, plus ``exit_status``."""
    from kpirules.backends import sheet_data_only
    from kpirules.config import ConfigError
    from kpirules.engine import check
    from kpirules.errors import SourceError

    body = expect_object(body, FIELDS)
    key = spreadsheet_key(body)
    try:
        with sheet_data_only():
            report = check(key, as_of=as_of(body), connector="gsheets", config=settings_file,
                           **_options(credentials))
    except ConfigError as exc:
        raise config_error(exc) from None
    except SourceError as exc:
        raise source_error(exc) from None
    document = report.to_json()
    document["exit_status"] = report.exit_status
    return document


def run_sheet(body: Any, *, guard: SheetGuard, credentials: str | None = None,
              settings_file: str | None = None) -> dict[str, Any]:
    """``kpirules run KEY``: evaluate, write back, keep History and Alerts, notify. A second
    run on the same sheet while one is under way is refused (409, exit status 7)."""
    from kpirules.backends import sheet_data_only
    from kpirules.config import ConfigError
    from kpirules.errors import SourceError
    from kpirules.serve.guard import Locked
    from kpirules.writeback.runner import run

    body = expect_object(body, FIELDS)
    key = spreadsheet_key(body)
    try:
        with guard.hold(key), sheet_data_only():
            outcome = run(key, as_of=as_of(body), connector="gsheets", config=settings_file,
                          **_options(credentials))
    except ConfigError as exc:
        raise config_error(exc) from None
    except SourceError as exc:
        raise source_error(exc) from None
    except Exception as exc:
        # Ours (Locked) or the sheet lease's: anything that means exit status 7.
        if isinstance(exc, Locked) or getattr(exc, "exit_status", None) == int(Exit.LOCKED):
            from kpirules.i18n import _

            raise ApiError(409, "locked", str(exc), exit_status=int(Exit.LOCKED),
                           hint=_("wait for that run to finish; its results are written into the sheet")) from None
        raise
    return run_document(outcome)


def _options(credentials: str | None) -> dict[str, Any]:
    return {"credentials": credentials} if credentials else {}


def run_document(outcome: Any) -> dict[str, Any]:
    """The run as JSON: the results document, what was written and the alerts raised."""
    from kpirules.exitcodes import combine
    from kpirules.writeback.summary import segment_key

    document = outcome.report.to_json()
    codes = [outcome.exit_status] + ([int(Exit.UNDELIVERED)] if outcome.failed_deliveries else [])
    document["exit_status"] = combine(codes)
    document["written"] = outcome.written
    document["rules"] = [{"name": s.entry.name, "status": s.status, "message": s.message}
                         for s in outcome.summaries]
    document["alerts"] = [{"name": a.result.name, "segment": segment_key(a.result.segment) or None,
                           "previous": a.previous, "status": a.status} for a in outcome.alerts]
    document["notifications"] = {"sent": sum(1 for d in outcome.deliveries if d.ok),
                                 "failed": len(outcome.failed_deliveries)}
    return document
