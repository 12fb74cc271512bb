"""Regenerate the bundled examples: ``python examples/generate.py [--out DIR]``.

Writes ``marketing.xlsx`` (Data + Rules tabs), ``marketing.csv`` (the Data tab alone),
``marketing.kpi`` (the Rules tab as a rules file) and ``polish.xlsx`` (a small workbook
with Polish headers). The data is simulated, seeded and written byte-for-byte the same
on every run, so ``tests/test_examples.py`` can check the committed files never drift
from this script.

The story the data tells, as of 2026-11-26: social posts collect ever more likes and
reach while the outcomes that pay the bills lag. On 2026-11-16 the ``search_generic``
landing page got a new signup form most visitors can't submit (its conversion had been
sliding for three weeks before), so signups, orders and revenue drop week on week while a
viral post sends likes up by about 70%. Rules about likes would say all is well; rules about
conversions don't. The numbers each rule gives are in examples/README.md.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import random
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.writer.excel import ExcelWriter

HERE = Path(__file__).resolve().parent
SEED = 2026
START, END = date(2025, 6, 1), date(2026, 11, 25)  # the README runs as of 2026-11-26
# Fixed document times: openpyxl would stamp "now" into docProps/core.xml.
DOC_TIME = datetime(2026, 11, 26, 8, 0, 0)
ZIP_TIME = (2026, 11, 26, 8, 0, 0)
BLACK_FRIDAYS = (date(2025, 11, 28), date(2026, 11, 27))
BROKEN_FORM = date(2026, 11, 16)  # search_generic's new landing page goes live
SLIDE_START = date(2026, 10, 26)  # ...after three weeks of slowly worsening conversion

HEADERS = ["Date", "Channel", "Campaign", "Visits", "Signups", "Leads", "Orders", "Revenue",
           "Spend", "New customers", "Impressions", "Clicks", "Emails sent", "Email clicks",
           "Likes", "Reach"]
MONEY = {"Revenue", "Spend"}


@dataclass(frozen=True)
class Campaign:
    channel: str
    name: str
    volume: float  # daily impressions (paid) or emails sent (email) at the start
    ctr: float  # clicks per impression, or email clicks per email sent
    cpc: float  # spend per click, or per email sent
    signup: float  # signups per visit
    lead: float  # leads per visit
    order: float  # orders per signup
    aov: float  # average order value
    likes: float = 0.0  # likes per impression (social only)
    reach: float = 0.0  # unique people reached per impression (social only)
    growth: float = 0.22  # volume growth over the whole range


CAMPAIGNS = [
    Campaign("search", "search_brand", 15000, 0.075, 0.42, 0.056, 0.022, 0.36, 142),
    Campaign("search", "search_generic", 70000, 0.032, 0.60, 0.036, 0.017, 0.31, 132),
    Campaign("social", "social_prospect", 95000, 0.019, 0.28, 0.0065, 0.018, 0.22, 108,
             likes=0.045, reach=0.62, growth=0.55),
    Campaign("social", "social_retarget", 30000, 0.0172, 0.36, 0.012, 0.020, 0.27, 116,
             likes=0.025, reach=0.45, growth=0.45),
    Campaign("email", "email_newsletter", 9500, 0.036, 0.0016, 0.055, 0.110, 0.30, 112),
    Campaign("email", "email_promo", 6000, 0.046, 0.0016, 0.060, 0.095, 0.38, 98),
    Campaign("display", "display_remarketing", 240000, 0.0024, 0.40, 0.034, 0.050, 0.33, 122),
    Campaign("display", "display_prospecting", 320000, 0.0016, 0.30, 0.026, 0.040, 0.26, 110),
]

WEEKDAY = (1.04, 1.08, 1.06, 1.03, 0.94, 0.70, 0.76)  # Monday..Sunday: weekend dips
BF_TRAFFIC = {-4: 1.08, -3: 1.12, -2: 1.18, -1: 1.28, 0: 1.95, 1: 1.6, 2: 1.5, 3: 1.75, 4: 1.2}
DAYS = (END - START).days


def _traffic(day: date, camp: Campaign) -> float:
    """Expected volume multiplier: trend, a year cycle peaking before Christmas, weekdays,
    the Black Friday week and a holiday lull."""
    t = (day - START).days / DAYS
    season = 1 + 0.07 * math.cos(2 * math.pi * ((day - date(day.year, 12, 10)).days) / 365.25)
    mult = (1 + camp.growth * t) * season * WEEKDAY[day.weekday()]
    for bf in BLACK_FRIDAYS:
        mult *= BF_TRAFFIC.get((day - bf).days, 1.0)
    if (day.month, day.day) in {(12, 24), (12, 25), (12, 26), (12, 31), (1, 1)}:
        mult *= 0.6
    if camp.name == "email_promo":
        # Promo mails go out in a Thursday burst; the other days send only reminders.
        mult *= 1.8 if day.weekday() == 3 else 0.85
    return mult


def _conversion(day: date, camp: Campaign) -> float:
    """Multiplier on signups per visit: buyers convert better around Black Friday; the
    search_generic landing page slides from late October and breaks on 2026-11-16."""
    mult = 1.0
    for bf in BLACK_FRIDAYS:
        mult *= 1 + 0.4 * (BF_TRAFFIC.get((day - bf).days, 1.0) - 1)
    if camp.name == "search_generic" and day >= SLIDE_START:
        if day >= BROKEN_FORM:
            mult *= 0.3
        else:
            mult *= 1 - 0.12 * (day - SLIDE_START).days / (BROKEN_FORM - SLIDE_START).days
    return mult


def _count(rng: random.Random, mu: float) -> int:
    """A Poisson count without numpy: exact (Knuth) for small means, where a normal
    approximation would give too many zero days; the normal one above that."""
    if mu < 30:
        limit, k, p = math.exp(-mu), 0, rng.random()
        while p > limit:
            k += 1
            p *= rng.random()
        return k
    return max(0, round(mu + rng.gauss(0, 1) * math.sqrt(mu)))


def data_rows(rng: random.Random) -> list[list]:
    """One row per day and campaign, in the order a team's export would list them."""
    rows = []
    for offset in range(DAYS + 1):
        day = START + timedelta(days=offset)
        for camp in CAMPAIGNS:
            rows.append(_row(rng, day, camp))
    _blank_cells(rows)
    return rows


def _row(rng: random.Random, day: date, camp: Campaign) -> list:
    noise = math.exp(rng.gauss(0, 0.06))  # a campaign's day is never quite average
    volume = camp.volume * _traffic(day, camp) * noise
    if camp.channel == "email":
        sent = round(volume)
        email_clicks = _count(rng, sent * camp.ctr * math.exp(rng.gauss(0, 0.08)))
        impressions = clicks = 0
        visits = _count(rng, email_clicks * 0.9)
        spend = sent * camp.cpc
    else:
        sent = email_clicks = 0
        impressions = round(volume)
        clicks = _count(rng, impressions * camp.ctr * math.exp(rng.gauss(0, 0.05)))
        visits = _count(rng, clicks * 0.9)
        spend = clicks * camp.cpc * math.exp(rng.gauss(0, 0.04))
    conv = _conversion(day, camp)
    signups = _count(rng, visits * camp.signup * conv)
    leads = _count(rng, visits * camp.lead * (0.6 + 0.4 * conv))
    orders = _count(rng, signups * camp.order)
    new_customers = min(orders, _count(rng, orders * 0.39))
    revenue = sum(camp.aov * math.exp(rng.gauss(0, 0.25)) for _ in range(orders))
    likes = reach = 0
    if camp.channel == "social":
        # Engagement is what the social team is paid on: it grows faster than anything,
        # and a post went viral in the week of 2026-11-16.
        viral = 1.7 if BROKEN_FORM <= day < BROKEN_FORM + timedelta(days=7) else 1.0
        t = (day - START).days / DAYS
        likes = _count(rng, impressions * camp.likes * (1 + 0.8 * t) * viral)
        reach = round(impressions * camp.reach * math.exp(rng.gauss(0, 0.03)))
    return [day, camp.channel, camp.name, visits, signups, leads, orders, round(revenue, 2),
            round(spend, 2), new_customers, impressions, clicks, sent, email_clicks, likes, reach]


def _blank_cells(rows: list[list]) -> None:
    """A few cells a real export leaves empty (missing, not zero): the CRM sync failed one
    March morning, and the social API returned no reach for two days in November."""
    blanks = {
        (date(2026, 3, 9), "search_brand"): "New customers",
        (date(2026, 3, 9), "search_generic"): "New customers",
        (date(2026, 3, 9), "email_newsletter"): "New customers",
        (date(2026, 11, 18), "social_prospect"): "Reach",
        (date(2026, 11, 18), "social_retarget"): "Reach",
        (date(2026, 11, 19), "social_prospect"): "Reach",
    }
    for row in rows:
        header = blanks.get((row[0], row[2]))
        if header:
            row[HEADERS.index(header)] = None


# Name, rule, owner, description, enabled; a string alone starts a group (.kpi comment).
RULES: list = [
    "Funnel: are visitors turning into customers?",
    ("visit_to_signup", "signups / visits >= 2% weekly warn at 2.5%", "Growth",
     "Of everyone who visited last week, how many signed up. Below 2.5% something in the "
     "funnel deserves a look; below 2% it is broken.", True),
    ("signup_rate_by_channel", "signups / visits >= 1.8% over last 28 days by channel",
     "Growth", "Each channel must bring visitors who sign up, not just traffic. Four weeks "
     "smooth out the noise of small channels.", True),
    ("signup_to_order", "orders / signups between 20% and 45% weekly", "Sales",
     "Share of signups that buy. Too low: the offer or checkout has a problem. Too high: "
     "signups are probably not being tracked.", True),
    ("orders_trend", "change(orders) >= -10% weekly", "Sales",
     "Orders must not fall more than 10% week on week: the earliest sign that something "
     "broke.", True),
    "Money: what does growth cost, and does it pay?",
    ("cost_per_new_customer", "spend / new_customers <= 120 monthly warn at 100", "Finance",
     "What one new paying customer cost us last month, across all channels. Above 100 we "
     "review bids; above 120 we lose money on the first order.", True),
    ("return_on_ad_spend", "(revenue - spend) / spend >= 150% monthly", "Finance",
     "Every dollar we spend must come back as at least $2.50 of revenue.", True),
    ("monthly_revenue", "revenue >= 250k monthly", "Finance",
     "The revenue target agreed with the board.", True),
    ("daily_budget_guard", "max(spend) <= 2500 daily", "Performance",
     "No single campaign spent more than $2,500 yesterday: catches a runaway bid before "
     "the month's budget is gone.", True),
    ("paid_spend_cap", 'spend <= 30k weekly where channel in ("search", "social", "display")',
     "Performance", "The weekly cap on paid media agreed in the media plan.", True),
    "Channels: quality, not applause",
    ("social_ctr", 'clicks / impressions >= 1.5% weekly by campaign where channel = "social"',
     "Social", "People who see our ads should click. A low click rate means the creative "
     "entertains without selling.", True),
    ("email_click_to_lead", 'leads / email_clicks >= 8% weekly where channel = "email"',
     "CRM", "Subscribers who click an email should become leads; if not, the landing page "
     "or the offer misses.", True),
    ("leads_by_channel", "leads >= 300 weekly by channel", "Growth",
     "Every channel must keep bringing sales at least 300 leads a week.", True),
    ("likes_without_sales", "change(revenue) >= 0 or change(likes) <= 0 weekly", "Growth",
     "Likes up while revenue falls: the applause is not paying the bills. Fails only when "
     "both happen in the same week.", True),
    "Against the usual, on pace, enough to judge",
    ("revenue_vs_last_year", "change(revenue) >= 0 monthly vs last year", "Finance",
     "Last month's revenue must beat the same month a year ago: compares like with like, "
     "seasons and Black Friday included.", True),
    ("conversion_vs_usual",
     "delta(signups / visits) >= -0.3pp weekly vs average of last 4 by campaign", "Growth",
     "No campaign's conversion may fall more than 0.3 points below its own average of the "
     "four weeks before: catches a broken landing page in the week it breaks.", True),
    ("revenue_pace", "pace(revenue) >= 300k month to date", "Finance",
     "Are we on track for 300k this month? Revenue so far, projected to the month's end.",
     True),
    ("email_signup_rate",
     'signups / visits >= 5% weekly by campaign where channel = "email" with at least 2500 '
     'visits', "CRM", "Email visitors sign up readily; below 2,500 visits a week a campaign's "
     "rate is too noisy to judge, so it says so instead of passing or failing.", True),
    ("social_signups_for_sure",
     'signups / visits >= 1.2% weekly by campaign where channel = "social" with 95% confidence',
     "Social", "Social visitors must sign up at 1.2% or more, judged only when the data are "
     "sure of it at 95%: a rate near the target from a few thousand visits is inconclusive.",
     True),
    ("likes_target", "likes >= 50k weekly", "Social",
     "The old vanity target, kept for reference: it passes every week, even the week "
     "orders dropped. Likes never paid an invoice, so it is switched off.", False),
]


def _style_header(ws, widths: dict[str, float]) -> None:
    fill = PatternFill("solid", fgColor="DDEBF7")
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = fill
    for letter, width in widths.items():
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"


def _new_workbook() -> Workbook:
    wb = Workbook()
    wb.properties.creator = "kpirules examples/generate.py"
    wb.properties.created = wb.properties.modified = DOC_TIME
    return wb


def _data_sheet(ws, headers: list[str], rows: list[list], formats: dict[int, str]) -> None:
    ws.append(headers)
    for row in rows:
        ws.append(row)
    for col, fmt in formats.items():
        for (cell,) in ws.iter_rows(min_row=2, min_col=col + 1, max_col=col + 1):
            cell.number_format = fmt
    ws.auto_filter.ref = ws.dimensions


def marketing_workbook(rows: list[list]) -> Workbook:
    wb = _new_workbook()
    ws = wb.active
    ws.title = "Data"
    formats = {0: "yyyy-mm-dd"}
    for i, h in enumerate(HEADERS[3:], start=3):
        formats[i] = '"$"#,##0.00' if h in MONEY else "#,##0"
    _data_sheet(ws, HEADERS, rows, formats)
    widths = {"A": 12, "B": 10, "C": 21}
    widths.update({chr(ord("A") + i): 13 for i in range(3, len(HEADERS))})
    _style_header(ws, widths)

    rules = wb.create_sheet("Rules")
    rules.append(["Name", "Rule", "Owner", "Description", "Enabled"])
    for item in RULES:
        if not isinstance(item, str):
            rules.append(list(item))
    _style_header(rules, {"A": 24, "B": 62, "C": 13, "D": 80, "E": 10})
    for (cell,) in rules.iter_rows(min_row=2, min_col=4, max_col=4):
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    return wb


def kpi_text() -> str:
    """The Rules tab as a ``.kpi`` file; a switched-off rule stays visible as a comment."""
    lines = ["# kpirules example: the rules of examples/marketing.xlsx (Rules tab).",
             "# Generated by examples/generate.py; try:",
             "#   kpirules check examples/marketing.csv --rules examples/marketing.kpi"
             " --as-of 2026-11-26"]
    for item in RULES:
        if isinstance(item, str):
            lines += ["", f"# {item}"]
            continue
        name, rule, _owner, _desc, enabled = item
        lines.append(f"{name}: {rule}" if enabled else f"# (switched off) {name}: {rule}")
    return "\n".join(lines) + "\n"


def csv_text(rows: list[list]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADERS)
    for row in rows:
        cells = [row[0].isoformat()]
        for header, value in zip(HEADERS[1:], row[1:]):
            if value is None:
                cells.append("")
            elif header in MONEY:
                cells.append(f"{value:.2f}")
            else:
                cells.append(value)
        writer.writerow(cells)
    return out.getvalue()


# --- the Polish example: a small newsletter shop, headers as a Polish team writes them ---
PL_HEADERS = ["Data", "Kanał", "Wyświetlenia", "Kliknięcia", "Zapisy (newsletter)",
              "Wysłane e-maile", "Przychód (zł)", "Koszt (zł)"]
PL_START = date(2026, 8, 1)
PL_RULES = [
    ("Konwersja zapisów", "zapisy_newsletter / kliknięcia >= 5% weekly", "Marta",
     "Ile osób, które kliknęły, zapisało się na newsletter. Poniżej 5% formularz nie działa "
     "albo oferta nie przekonuje."),
    ("CTR reklam", 'kliknięcia / wyświetlenia >= 1% weekly by kanał where kanał != "newsletter"',
     "Tomek", "Reklamy mają być klikane, nie tylko oglądane."),
    ("Klikalność maili", 'kliknięcia / wysłane_e_maile >= 2% weekly where kanał = "newsletter"',
     "Marta", "Czy subskrybenci w ogóle czytają nasze maile."),
    ("Koszt zapisu", "koszt_zł / zapisy_newsletter <= 12 monthly warn at 10", "Ania",
     "Ile płacimy za jednego nowego subskrybenta. Powyżej 12 zł kampania się nie zwraca."),
    ("Przychód miesięczny", "przychód_zł >= 120k monthly", "Ania",
     "Cel przychodu ustalony na ten rok."),
    ("Spadek przychodu", "change(przychód_zł) >= -15% weekly", "Ania",
     "Przychód nie może spaść o więcej niż 15% tydzień do tygodnia."),
]
# channel: (impressions or e-mails a day, clicks per impression or per e-mail, signups per
# click, cost per impression or per e-mail, revenue per click)
PL_CHANNELS = {
    "facebook": (42000, 0.012, 0.052, 0.0090, 2.1),
    "google": (16000, 0.031, 0.078, 0.0300, 4.6),
    "newsletter": (7000, 0.028, 0.060, 0.0009, 6.3),
}


def polish_rows(rng: random.Random) -> list[list]:
    rows = []
    for offset in range((END - PL_START).days + 1):
        day = PL_START + timedelta(days=offset)
        for channel, (volume, ctr, signup, cost, value) in PL_CHANNELS.items():
            n = round(volume * WEEKDAY[day.weekday()] * math.exp(rng.gauss(0, 0.08)))
            clicks = _count(rng, n * ctr)
            sent, shown = (n, 0) if channel == "newsletter" else (0, n)
            rows.append([day, channel, shown, clicks, _count(rng, clicks * signup), sent,
                         round(clicks * value * math.exp(rng.gauss(0, 0.15)), 2),
                         round(n * cost, 2)])
    return rows


def polish_workbook(rows: list[list]) -> Workbook:
    wb = _new_workbook()
    ws = wb.active
    ws.title = "Data"
    formats = {0: "dd.mm.yyyy", 2: "#,##0", 3: "#,##0", 4: "#,##0", 5: "#,##0",
               6: '#,##0.00 "zł"', 7: '#,##0.00 "zł"'}
    _data_sheet(ws, PL_HEADERS, rows, formats)
    _style_header(ws, {"A": 12, "B": 12, "C": 14, "D": 12, "E": 20, "F": 16, "G": 15, "H": 13})
    rules = wb.create_sheet("Rules")
    rules.append(["Name", "Rule", "Właściciel", "Opis"])
    for rule in PL_RULES:
        rules.append(list(rule))
    _style_header(rules, {"A": 22, "B": 70, "C": 12, "D": 70})
    # The date column is headed `Data`, not `date`: docs/configuration.md's Settings tab
    # is how a sheet owner says so without renaming the team's column.
    settings = wb.create_sheet("Settings")
    settings.append(["Key", "Value", "Uwagi"])
    settings.append(["date_column", "Data", "Kolumna z datą nazywa się u nas „Data”."])
    _style_header(settings, {"A": 16, "B": 12, "C": 50})
    return wb


def workbook_bytes(wb: Workbook) -> bytes:
    """Save without openpyxl's `save_workbook`, which stamps the current time into the
    document properties, then re-zip with fixed entry times (zipfile stamps "now" too)."""
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).save()
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def generate(out_dir: Path = HERE) -> list[Path]:
    """Write the four example files into ``out_dir`` and return their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(SEED)
    rows = data_rows(rng)
    pl_rows = polish_rows(rng)
    outputs = {
        "marketing.xlsx": workbook_bytes(marketing_workbook(rows)),
        "marketing.csv": csv_text(rows).encode("utf-8"),
        "marketing.kpi": kpi_text().encode("utf-8"),
        "polish.xlsx": workbook_bytes(polish_workbook(pl_rows)),
    }
    paths = []
    for name, content in outputs.items():
        path = out_dir / name
        path.write_bytes(content)
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="folder to write into")
    args = parser.parse_args(argv)
    for path in generate(args.out):
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
