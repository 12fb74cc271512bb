"""Known exports, recognised by their header row (normalised names, ``kpirules.names``).

A recognised export is evidence for the reader: its numbers and dates follow the layout its
publisher documents (English headers: ``1,234.56``; LinkedIn's dates month first), and its
name goes into the warning that says what was left out ("read as a Google Ads report: 2
title rows and 3 total rows left out"). The layouts, and where each is described, are in
tests/fixtures/exports/README.md.
"""

from __future__ import annotations

from kpirules.read.dates import MONTH_FIRST
from kpirules.read.numbers import DOT


class Export:
    __slots__ = ("name", "signatures", "decimal", "date_order", "span", "date_columns")

    def __init__(self, name: str, signatures: tuple[frozenset[str], ...], *, decimal: str | None = DOT,
                 date_order: str | None = None, span: tuple[str, str] | None = None,
                 date_columns: tuple[str, ...] = ()):
        self.name = name
        self.signatures = signatures  # any one of these header sets, all present
        # the column holding each row's date, where the export has other date columns too
        # (LinkedIn's `Campaign Start Date`, HubSpot's `Last Activity Date`)
        self.date_columns = date_columns
        self.decimal = decimal
        self.date_order = date_order
        # (start, end) columns of rows that may span several days: one day per row is required
        self.span = span


def _sig(*names: str) -> frozenset[str]:
    return frozenset(names)


KNOWN = (
    Export("GA4", (_sig("date", "active_users"), _sig("date", "engaged_sessions"),
                   _sig("date", "event_count"), _sig("date", "total_users"))),
    Export("Universal Analytics", (_sig("day_index", "users"), _sig("day_index", "sessions"),
                                   _sig("day_index", "pageviews")), date_order=MONTH_FIRST,
           date_columns=("day_index",)),
    Export("Google Ads", (_sig("impr", "clicks", "cost"), _sig("impr", "clicks", "campaign"),
                          _sig("impressions", "clicks", "cost", "campaign_type")), date_columns=("day", "date")),
    # Its day is `Day` with the daily breakdown; otherwise `Reporting starts` and `Reporting
    # ends` are two date columns and `date_column` says which (rows must be one day each).
    Export("Meta Ads Manager", (_sig("reporting_starts", "reporting_ends"),),
           span=("reporting_starts", "reporting_ends"), date_columns=("day",)),
    Export("LinkedIn Campaign Manager", (_sig("start_date_in_utc", "campaign_name"),
                                         _sig("start_date_in_utc", "total_spent")),
           date_order=MONTH_FIRST, span=("start_date_in_utc", "end_date_in_utc"),
           date_columns=("start_date_in_utc",)),
    Export("Mailchimp", (_sig("send_date", "total_recipients"), _sig("send_date", "unique_opens")),
           date_columns=("send_date",)),
    Export("HubSpot", (_sig("record_id", "create_date"),), date_columns=("create_date",)),
    Export("Shopify", (_sig("gross_sales", "net_sales"), _sig("orders", "net_sales", "total_sales")),
           date_columns=("day", "date")),
)


def recognise(names: set[str]) -> Export | None:
    """The export whose header signature ``names`` (normalised headers) holds."""
    for export in KNOWN:
        if any(sig <= names for sig in export.signatures):
            return export
    return None
