"""Request bodies and error answers of the service.

Every error is one JSON shape, whatever went wrong::

    {"error": {"category": "source", "message": "...", "hint": "...", "exit_status": 3}}

``category`` is one of the CLI's (``syntax``, ``unknown-name``, ... ``source``, ``config``)
or one of the service's own (``usage``, ``auth``, ``locked``, ``too-large``, ``timeout``,
``not-found``, ``internal``); ``exit_status`` is what the CLI would have exited with
(kpirules.exitcodes), so a caller handles a refused run (7) the same way in both.

Messages and hints are in the request's language (``kpirules.serve.app.request_language``:
the body's ``locale``, else ``Accept-Language``), set on the worker thread before the body
is read here; categories, field names and JSON keys stay English.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from kpirules.exitcodes import Exit
from kpirules.i18n import _


class ApiError(Exception):
    """An answer other than 200: HTTP status, category, message and what to do."""

    def __init__(self, status: int, category: str, message: str, *, hint: str | None = None,
                 exit_status: int = int(Exit.ERROR)):
        super().__init__(message)
        self.status = status
        self.category = category
        self.message = message
        self.hint = hint
        self.exit_status = exit_status

    def to_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {"category": self.category, "message": self.message,
                                 "exit_status": self.exit_status}
        if self.hint:
            error["hint"] = self.hint
        return {"error": error}


def usage(message: str, hint: str | None = None) -> ApiError:
    return ApiError(400, "usage", message, hint=hint)


def expect_object(body: Any, allowed: set[str]) -> dict[str, Any]:
    """The body as a JSON object with only ``allowed`` keys (a typo is an error, not ignored)."""
    if not isinstance(body, dict):
        raise usage(_("the request body must be a JSON object"))
    unknown = sorted(set(body) - allowed)
    if unknown:
        from kpirules.errors import did_you_mean

        guess = did_you_mean(unknown[0], allowed)
        # The caller's own key, said back only as far as it helps to find the typo.
        shown = unknown[0] if len(unknown[0]) <= 40 else unknown[0][:40] + "…"
        raise usage(_("unknown field {field}").format(field=repr(shown)),
                    hint=_("did you mean {guess}?").format(guess=repr(guess)) if guess else
                    _("fields: {fields}").format(fields=", ".join(sorted(allowed))))
    return body


Scalar = (str, int, float, bool, type(None))


def grid(body: dict[str, Any], field: str, *, required: bool) -> list[list[Any]] | None:
    """A tab's values as the add-on reads them (``Range.getValues()``: rows of cells, dates
    sent as ISO text): a list of rows of strings, numbers, booleans or nulls."""
    value = body.get(field)
    if value is None:
        if required:
            raise usage(_("{field} is required: the {tab} tab's values, row by row (the header row first)").format(
                field=repr(field), tab=field.capitalize()))
        return None
    if not isinstance(value, list) or not all(isinstance(row, list) for row in value):
        raise usage(_("{field} must be a list of rows, each a list of cells").format(field=repr(field)))
    for r, row in enumerate(value):
        for c, cell in enumerate(row):
            if not isinstance(cell, Scalar):
                raise usage(_("{cell} is a {kind}; cells are text, numbers, booleans or null").format(
                    cell=f"{field}[{r}][{c}]", kind=type(cell).__name__),
                    hint=_("send dates as text: 2026-11-26 or 2026-11-26T08:30:00"))
    if required and not value:
        raise usage(_("{field} is empty: it needs at least the header row").format(field=repr(field)))
    return value


def text(body: dict[str, Any], field: str, *, required: bool = False, limit: int = 2000) -> str | None:
    value = body.get(field)
    if value is None or value == "":
        if required:
            raise usage(_("{field} is required").format(field=repr(field)))
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise usage(_("{field} must be text of at most {limit} characters").format(field=repr(field), limit=limit))
    return value


def as_of(body: dict[str, Any]) -> dt.date | None:
    value = text(body, "as_of", limit=10)
    if value is None:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise usage(_("'as_of' is not a date: {value}").format(value=repr(value)),
                    hint=_("write it as YYYY-MM-DD, e.g. 2026-11-26")) from None
    from kpirules.periods import judged, outside_text

    if not judged(day):
        raise usage(f"'as_of': {outside_text(repr(value))}")
    return day


def source_error(exc: Any) -> ApiError:
    """A ``SourceError`` as the CLI reports it: exit status 3, with its hint."""
    return ApiError(422, "source", exc.message, hint=exc.hint, exit_status=int(Exit.SOURCE))


def config_error(exc: Any) -> ApiError:
    """Unusable settings (the Settings tab): exit status 2, every problem in the message."""
    lines = [p.render() for p in getattr(exc, "problems", [])] or [str(exc)]
    return ApiError(422, "config", "; ".join(lines), exit_status=int(Exit.ERROR))
