"""The reader of raw tables: what every connector's cells go through (issue 10).

- ``text``: bytes -> rows (a CSV file's encoding and delimiter, the limits on a cell);
- ``recipe``: a table's read recipe, decided from its head and tail: header row below any
  preamble, total rows, the date column and how its dates are written, the evidence for
  its numbers; executed by ``kpirules.table`` (Python) and by the DuckDB backend alike;
- ``dates`` and ``numbers``: cells as exports write them, per column;
- ``exports``: the exports recognised by their headers (GA4, Google Ads, Meta, ...).

Nothing here imports more than the standard library at start-up: charset-normalizer only
for a file that is not UTF-8.
"""
