"""Real exports read as-is (issue 10): one fixture per export format in
tests/fixtures/exports/ (README.md there cites the public description of each layout),
read with no settings (Meta Ads: `date_column`), and the values checked against numbers
computed here by hand from the fixture's rows, not by the reader.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pytest

from kpirules.connectors.csv_file import CsvConnector
from kpirules.errors import SourceError
from kpirules.table import load_table

EXPORTS = Path(__file__).parent / "fixtures" / "exports"
D = dt.date


def read(name: str, **settings):
    from kpirules.config import Settings

    return load_table(CsvConnector(str(EXPORTS / name)).read().data,
                      settings=Settings(**settings) if settings else None)


def daily(table, column: str) -> dict[dt.date, float]:
    """Sum of ``column`` per date, blanks left out (what a `daily` sum rule sees)."""
    frame = table.frame(D(2000, 1, 1), D(2100, 1, 1), metrics=[column])
    assert not frame.bad[column], [p.message for p in frame.bad[column].values()]
    out: dict[dt.date, list[float]] = {}
    for day, value in zip(frame.dates, frame.metrics[column]):
        if value is not None:
            out.setdefault(D.fromordinal(day), []).append(value)
    return {day: math.fsum(values) for day, values in out.items()}


def close(got: dict, expected: dict) -> bool:
    return got.keys() == expected.keys() and all(math.isclose(got[k], expected[k], rel_tol=1e-12) for k in got)


def test_ga4():
    # "#" comment block above the header, YYYYMMDD dates, two channels a day.
    table = read("ga4_traffic_acquisition.csv")
    assert table.date_column == "date"
    assert close(daily(table, "sessions"), {D(2026, 10, 1): 1204 + 512, D(2026, 10, 2): 1187 + 498,
                                            D(2026, 10, 3): 1302, D(2026, 10, 4): 990, D(2026, 10, 5): 1104})
    assert close(daily(table, "total_revenue"), {D(2026, 10, 1): 1520.5, D(2026, 10, 2): 1310.25 + 99.99,
                                                 D(2026, 10, 3): 1802, D(2026, 10, 4): 870.4, D(2026, 10, 5): 1200})
    assert table.warnings == ["read as a GA4 report: 9 title rows left out"]


def test_universal_analytics():
    # Comment block and a blank line above, M/D/YY dates, "1,204", an unlabelled total row
    # (blank date) and a comment line below.
    table = read("universal_analytics_audience.csv")
    assert table.date_column == "day_index"
    users = [1204, 987, 1011, 856, 1390, 1402, 1288]
    assert close(daily(table, "users"), {D(2020, 10, d + 1): u for d, u in enumerate(users)})
    assert sum(users) == 8138  # the total row the export adds, left out
    assert table.warnings == ["read as a Universal Analytics report: 5 title rows and 1 total row left out"]


def test_google_ads():
    # UTF-16 LE with BOM, tab-separated ("CSV for Excel"), 2 title rows, "1,355", "10.98%",
    # "--" and three "Total: ..." rows at the bottom.
    table = read("google_ads_campaigns.csv")
    assert table.date_column == "day"
    assert close(daily(table, "clicks"), {D(2026, 10, 1): 1355 + 402, D(2026, 10, 2): 1298 + 388,
                                          D(2026, 10, 3): 1401, D(2026, 10, 4): 1150})
    assert close(daily(table, "cost"), {D(2026, 10, 1): 609.75 + 450.24, D(2026, 10, 2): 597.08 + 446.20,
                                        D(2026, 10, 3): 616.44, D(2026, 10, 4): 540.50})
    assert close(daily(table, "conversions"), {D(2026, 10, 1): 41 + 9.5, D(2026, 10, 2): 38,
                                               D(2026, 10, 3): 44, D(2026, 10, 4): 35})
    assert close(daily(table, "ctr"), {D(2026, 10, 1): 0.1098 + 0.02, D(2026, 10, 2): 0.1094 + 0.0204,
                                       D(2026, 10, 3): 0.1086, D(2026, 10, 4): 0.1091})
    assert table.warnings == ["read as a Google Ads report: 2 title rows and 3 total rows left out"]


def test_meta_ads_manager_with_its_date_column():
    # "Reporting starts"/"Reporting ends" are two date columns: the one setting it needs.
    with pytest.raises(SourceError) as err:
        read("meta_ads_manager_daily.csv")
    assert "`Reporting starts`, `Reporting ends`" in err.value.message and "date_column" in err.value.hint
    table = read("meta_ads_manager_daily.csv", date_column="Reporting starts")
    assert close(daily(table, "amount_spent_usd"), {D(2026, 10, 1): 123.45 + 201.10,
                                                    D(2026, 10, 2): 118.90 + 199.00, D(2026, 10, 3): 1020.00})
    assert close(daily(table, "results"), {D(2026, 10, 1): 21, D(2026, 10, 2): 11, D(2026, 10, 3): 10})
    assert table.warnings == ["read as a Meta Ads Manager report"]


def test_meta_rows_spanning_a_week_must_be_exported_by_day():
    with pytest.raises(SourceError) as err:
        read("meta_ads_manager_weekly.csv", date_column="Reporting starts")
    assert err.value.message.startswith("'meta_ads_manager_weekly.csv'!A2: the row covers 2026-09-28 to 2026-10-04")
    assert "by day" in err.value.hint


def test_linkedin_campaign_manager():
    # Seven metadata rows ("Report Start:", "10/1/2026, 12:00 AM"...), M/D/YYYY dates that
    # do not say their order themselves (LinkedIn writes month first), UTF-8 with a BOM, and
    # `Campaign Start Date`/`End Date` columns of dates beside the row's own date.
    table = read("linkedin_campaign_performance.csv")
    assert table.date_column == "start_date_in_utc"
    assert close(daily(table, "total_spent"), {D(2026, 10, 1): 123.45, D(2026, 10, 2): 130.10,
                                               D(2026, 10, 3): 99.00, D(2026, 10, 4): 1001.20})
    assert close(daily(table, "impressions"), {D(2026, 10, 1): 4567, D(2026, 10, 2): 4802,
                                               D(2026, 10, 3): 3950, D(2026, 10, 4): 12040})
    assert close(daily(table, "average_ctr"), {D(2026, 10, 1): 0.0195, D(2026, 10, 2): 0.0198,
                                               D(2026, 10, 3): 0.0154, D(2026, 10, 4): 0.0199})
    assert table.warnings == ["read as a LinkedIn Campaign Manager report: 7 title rows left out"]


def test_mailchimp():
    # "Oct 01, 2026 10:00 am" send dates, "2,500", "41.25%".
    table = read("mailchimp_campaigns.csv")
    assert table.date_column == "send_date"
    assert close(daily(table, "unique_opens"), {D(2026, 10, 1): 1023, D(2026, 10, 3): 998, D(2026, 10, 5): 301})
    assert close(daily(table, "total_recipients"), {D(2026, 10, 1): 2500, D(2026, 10, 3): 2510, D(2026, 10, 5): 820})
    assert close(daily(table, "open_rate"), {D(2026, 10, 1): 0.4125, D(2026, 10, 3): 0.40, D(2026, 10, 5): 0.3693})


def test_hubspot():
    # "Create Date" as "2026-10-01 09:15" (beside "Last Activity Date"), one contact per
    # row: count(record_id) per day.
    table = read("hubspot_contacts.csv")
    assert table.date_column == "create_date"
    frame = table.frame(D(2026, 10, 1), D(2026, 10, 31), metrics=["record_id"])
    per_day = {d: frame.dates.count(d.toordinal()) for d in (D(2026, 10, 1), D(2026, 10, 2), D(2026, 10, 3))}
    assert per_day == {D(2026, 10, 1): 2, D(2026, 10, 2): 1, D(2026, 10, 3): 2}
    assert close(daily(table, "number_of_pageviews"), {D(2026, 10, 1): 15, D(2026, 10, 2): 7, D(2026, 10, 3): 25})


def test_shopify():
    table = read("shopify_sales_over_time.csv")
    assert table.date_column == "day"
    assert close(daily(table, "total_sales"), {D(2026, 10, 1): 1767.00, D(2026, 10, 2): 1121.70,
                                               D(2026, 10, 3): 2535.31, D(2026, 10, 4): 0})
    assert close(daily(table, "returns"), {D(2026, 10, 1): 0, D(2026, 10, 2): -40, D(2026, 10, 3): -99.99,
                                           D(2026, 10, 4): 0})


@pytest.mark.parametrize("name", ["polish_excel_utf8.csv", "polish_excel_cp1250_crlf.csv"])
def test_polish_excel(name):
    # Excel in Polish: `;`, D.M.YYYY under "Data", "1 234" with a space or a no-break
    # space, "123,45 zł", "4,54%"; in UTF-8 with a BOM and in Windows-1250 with CRLF.
    table = read(name)
    assert table.date_column == "data"
    assert "wyświetlenia" in table.names() and "kliknięcia" in table.names()
    assert close(daily(table, "wyświetlenia"), {D(2026, 10, 1): 1234 + 987, D(2026, 10, 2): 1502,
                                                D(2026, 10, 3): 12004})
    assert close(daily(table, "koszt"), {D(2026, 10, 1): 123.45 + 80.00, D(2026, 10, 2): 150.10,
                                         D(2026, 10, 3): 1020.99})
    assert close(daily(table, "ctr"), {D(2026, 10, 1): 0.0454 + 0.0405, D(2026, 10, 2): 0.0406, D(2026, 10, 3): 0.0258})
    frame = table.frame(D(2026, 10, 3), D(2026, 10, 3), dims=["kampania"])
    assert frame.dims["kampania"] == ["Żółte buty"]


def test_check_says_once_what_was_left_out(tmp_path):
    from click.testing import CliRunner

    from kpirules.cli.main import cli

    rules = tmp_path / "r.kpi"
    rules.write_text("clicks: clicks >= 1000 daily\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["check", str(EXPORTS / "google_ads_campaigns.csv"), "--rules", str(rules),
                                   "--as-of", "2026-10-05"])
    assert res.exit_code == 0, res.output
    assert res.output.count("read as a Google Ads report: 2 title rows and 3 total rows left out") == 1
