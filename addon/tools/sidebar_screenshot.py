"""Render the add-on's sidebar in headless Chromium, with the results of the example
workbook, into docs/img/sidebar.png (the README and docs/serve.md show it).

    python addon/tools/sidebar_screenshot.py [--chromium PATH] [--out docs/img/sidebar.png] [--lang pl]

The page is Sidebar.html exactly as Code.gs serves it (the file, then a script calling
render() with /v1/evaluate's sidebar lines), so the picture is what a user sees in Sheets,
at Sheets' sidebar width of 300 pixels.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def sidebar_page(answer: dict, lang: str = "en") -> str:
    """Sidebar.html plus the render call, as Code.gs's sidebarHtml_ builds it: the results,
    and the texts and date in ``lang`` from the add-on's own table (Messages.gs, run in the
    page for its sidebarData_ part)."""
    data = json.dumps({"rules": answer["rules"], "as_of": answer["as_of"]}).replace("<", "\\u003c")
    messages = (ROOT / "addon" / "Messages.gs").read_text(encoding="utf-8")
    speak = (f"var DATA = {data}; DATA.text = sidebarText_({json.dumps(lang)}); "
             f"DATA.as_of_text = DATA.as_of && dateText_(DATA.as_of, {json.dumps(lang)});")
    return ((ROOT / "addon" / "Sidebar.html").read_text(encoding="utf-8") +
            f"<script>{messages}</script><script>{speak} render(DATA);</script>")


def example_answer(as_of: str = "2026-11-26", lang: str = "en") -> dict:
    from kpirules.connectors.xlsx_file import XlsxConnector
    from kpirules.serve.tabs import evaluate_tabs

    wb = XlsxConnector(str(ROOT / "examples" / "marketing.xlsx")).read()

    def values(raw):
        def cell(c):
            if isinstance(c, dt.date):  # as Code.gs sends a date (the reader gives date or datetime)
                return (c.date() if isinstance(c, dt.datetime) else c).isoformat()
            return "" if c is None else c
        return [[cell(c) for c in raw.headers]] + [[cell(c) for c in row] for row in raw.rows]

    locale = {"pl": "pl_PL"}.get(lang)  # the results in the sheet's language, as the service answers
    return evaluate_tabs({"rules": values(wb.rules), "data": values(wb.data), "as_of": as_of, "locale": locale})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chromium", default=shutil.which("chromium") or shutil.which("chromium-browser"))
    parser.add_argument("--out", default=str(ROOT / "docs" / "img" / "sidebar.png"))
    parser.add_argument("--height", type=int, default=1100)
    parser.add_argument("--lang", choices=["en", "pl"], default="en")
    args = parser.parse_args()
    if not args.chromium:
        print("error: no chromium found (apt-get install chromium)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "sidebar.html"
        page.write_text(sidebar_page(example_answer(lang=args.lang), args.lang), encoding="utf-8")
        subprocess.run([args.chromium, "--headless", "--no-sandbox", "--disable-gpu",
                        "--disable-background-networking", "--no-first-run", f"--user-data-dir={tmp}/profile",
                        "--hide-scrollbars", f"--window-size=300,{args.height}", f"--screenshot={args.out}",
                        page.as_uri()], check=True, capture_output=True, timeout=120)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
