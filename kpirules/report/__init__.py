"""``kpirules report``: one self-contained HTML file with a scorecard, a trend chart per
rule (small multiples for segments) and the alerts timeline.

    html = build("examples/marketing.xlsx", as_of=date(2026, 11, 26))

``model`` gathers what to show (one read of the source), ``chart`` draws SVG with our own
small writer (``svg``), ``page`` lays the HTML out.
"""

from __future__ import annotations

from typing import Any


def build(source: str, **options: Any) -> str:
    """The report's HTML for ``source`` (options as ``model.gather`` takes them)."""
    from kpirules.report.model import gather
    from kpirules.report.page import render

    return render(gather(source, **options))
