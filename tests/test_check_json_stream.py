"""`kpirules check --format json` in a pipe writes the report one result at a time; the
document is byte for byte the one ``Report.to_json`` describes (spec/cli.md)."""

from __future__ import annotations

import io
import json

from kpirules.cli.check import stream_json
from kpirules.engine import evaluate, prepare


def _report(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("date,channel,visits,signups\n" + "".join(
        f"2026-11-{day:02d},{channel},{100 + day},{'n/a' if day == 3 else day % 7}\n"
        for day in range(1, 26) for channel in ("web", "emaił")), encoding="utf-8")
    rules = tmp_path / "rules.kpi"
    rules.write_text("conversion: signups / visits >= 2% weekly warn at 3%\n"
                     "visits: sum(visits) >= 10 monthly by channel\n"
                     "broken: sum(nope) >= 1 weekly\n"
                     "mail: sum(signups) >= 1 weekly where channel = 'emaił'\n", encoding="utf-8")
    ready = prepare(str(data), rules=str(rules))
    import datetime as dt
    return evaluate(ready.entries, ready.table, dt.date(2026, 11, 26))


def test_the_streamed_document_is_the_report(tmp_path):
    report = _report(tmp_path)
    assert len(report.results) > 2 and report.extents  # segments, and the data's extents
    out = io.StringIO()
    stream_json(report, out)
    expected = json.dumps(report.to_json(), ensure_ascii=False, default=str) + "\n"
    assert out.getvalue() == expected
    assert "emaił" in out.getvalue()  # written as text, not \\u escapes


def test_an_empty_report_streams_too(tmp_path):
    import dataclasses

    report = dataclasses.replace(_report(tmp_path), results=[])
    out = io.StringIO()
    stream_json(report, out)
    assert json.loads(out.getvalue())["results"] == []
