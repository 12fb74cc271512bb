"""GA4's BigQuery export as a daily table kpirules can check.

GA4 writes one table per day (``events_YYYYMMDD``; ``events_intraday_YYYYMMDD`` for today)
with one row per event and the event's parameters in an ``event_params`` array. Rules want
one row per day and traffic source. ``daily_view`` is that table, as BigQuery SQL over the
``events_*`` wildcard:

| column | meaning |
|---|---|
| ``date`` | ``event_date`` (the property's reporting time zone), as a DATE |
| ``source``, ``medium``, ``campaign`` | ``traffic_source.*`` (the user's first-touch source: |
| | the export's only source fields that every property has) |
| ``sessions`` | distinct (user_pseudo_id, ga_session_id) pairs |
| ``users`` | distinct ``user_pseudo_id`` |
| ``page_views`` | ``page_view`` events |
| ``key_events`` | events named in ``KEY_EVENTS`` (``purchase``, ``generate_lead``, ``sign_up``) |
| ``purchases`` | ``purchase`` events |
| ``revenue`` | sum of ``ecommerce.purchase_revenue`` |

GA4 keeps changing the last days of its export (late hits, attribution), so a source read
through this view is complete only through as-of minus 4 days unless ``complete_through``
says otherwise (``COMPLETE_LAG_DAYS``).

A user who wants other columns writes a view of their own and points ``--table`` at it.
"""

from __future__ import annotations

KEY_EVENTS = ("purchase", "generate_lead", "sign_up")
COMPLETE_LAG_DAYS = 4
COLUMNS = [("date", "DATE"), ("source", "STRING"), ("medium", "STRING"), ("campaign", "STRING"),
           ("sessions", "INT64"), ("users", "INT64"), ("page_views", "INT64"),
           ("key_events", "INT64"), ("purchases", "INT64"), ("revenue", "FLOAT64")]
PREFIX = "ga4:"


def is_ga4(table: str) -> bool:
    return table.lower().startswith(PREFIX)


def shard_pattern(table: str) -> str:
    """``ga4:events_*`` -> ``events_*`` (the wildcard table GA4's export is read through)."""
    pattern = table[len(PREFIX):] or "events_*"
    return pattern if pattern.endswith("*") else pattern + "*"


def daily_view(project: str, dataset: str, pattern: str = "events_*") -> str:
    """The daily table as a BigQuery SELECT. Identifiers were checked by the caller (letters,
    digits, ``_``, ``-``); nothing from a rule reaches this text."""
    keys = ", ".join(f"'{k}'" for k in KEY_EVENTS)
    return f"""
SELECT
  CAST(CONCAT(SUBSTR(event_date, 1, 4), '-', SUBSTR(event_date, 5, 2), '-', SUBSTR(event_date, 7, 2)) AS DATE) AS date,
  traffic_source.source AS source,
  traffic_source.medium AS medium,
  traffic_source.name AS campaign,
  COUNT(DISTINCT CONCAT(user_pseudo_id, '.', CAST((SELECT ep.value.int_value FROM UNNEST(event_params) AS ep
                                                   WHERE ep.key = 'ga_session_id') AS STRING))) AS sessions,
  COUNT(DISTINCT user_pseudo_id) AS users,
  COUNTIF(event_name = 'page_view') AS page_views,
  COUNTIF(event_name IN ({keys})) AS key_events,
  COUNTIF(event_name = 'purchase') AS purchases,
  SUM(IF(event_name = 'purchase', ecommerce.purchase_revenue, NULL)) AS revenue
FROM `{project}.{dataset}.{pattern}`
WHERE _TABLE_SUFFIX NOT LIKE 'intraday%'
GROUP BY 1, 2, 3, 4
"""
