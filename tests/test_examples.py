"""The bundled examples (examples/): they must never drift from examples/generate.py, and
their shape must stay what the README and the engine's example tests rely on.

Whether the engine evaluates them to the statuses examples/README.md promises is tested
with the engine; here only the files themselves are checked.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import random
import re
import sys
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest

from kpirules.names import normalise

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
FILES = ("marketing.xlsx", "marketing.csv", "marketing.kpi", "polish.xlsx")
COLUMNS = ["date", "channel", "campaign", "visits", "signups", "leads", "orders", "revenue",
           "spend", "new_customers", "impressions", "clicks", "emails_sent", "email_clicks",
           "likes", "reach"]
FIRST, LAST = date(2025, 6, 1), date(2026, 11, 25)
# Words of a rule that are not column names (spec/semantics.md).
RESERVED = {"daily", "weekly", "monthly", "quarterly", "yearly", "over", "last", "days", "weeks",
            "months", "by", "where", "warn", "at", "between", "and", "or", "not", "in",
            "sum", "avg", "min", "max", "count", "first", "change", "delta", "pace", "vs",
            "previous", "year", "average", "of", "to", "date", "month", "week", "with", "least",
            "confidence", "pp"}


def _load_generator():
    spec = importlib.util.spec_from_file_location("kpirules_examples_generate",
                                                  EXAMPLES / "generate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # @dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generator():
    return _load_generator()


@pytest.fixture(scope="module")
def regenerated(generator, tmp_path_factory):
    out = tmp_path_factory.mktemp("examples")
    generator.generate(out)
    return out


def committed(name: str) -> bytes:
    """The example as committed. The README's main command (`kpirules run
    examples/marketing.xlsx`) writes into the workbook, as it should, so in a git checkout
    the committed version is compared, not the working copy a user may have run."""
    import subprocess

    try:
        out = subprocess.run(["git", "show", f"HEAD:examples/{name}"], cwd=EXAMPLES,
                             capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        out = None
    if out is not None and out.returncode == 0 and out.stdout:
        return out.stdout
    return (EXAMPLES / name).read_bytes()


@pytest.fixture(scope="module")
def marketing():
    return openpyxl.load_workbook(io.BytesIO(committed("marketing.xlsx")))


@pytest.fixture(scope="module")
def polish():
    return openpyxl.load_workbook(io.BytesIO(committed("polish.xlsx")))


def _zip_parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


# --- no drift --------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["marketing.csv", "marketing.kpi"])
def test_text_files_match_the_generator_byte_for_byte(regenerated, name):
    assert (regenerated / name).read_bytes() == committed(name), (
        f"examples/{name} differs from what examples/generate.py writes: run "
        "`python examples/generate.py` and commit the result")


@pytest.mark.parametrize("name", ["marketing.xlsx", "polish.xlsx"])
def test_workbooks_match_the_generator_part_for_part(regenerated, name):
    # Compared unzipped: the XML parts are byte-identical, but the deflated bytes depend on
    # the zlib build (zlib-ng and friends compress the same input differently), so a byte
    # comparison of the .xlsx would fail for contributors on another Python build.
    fresh, kept = _zip_parts((regenerated / name).read_bytes()), _zip_parts(committed(name))
    assert list(fresh) == list(kept)
    changed = [part for part in fresh if fresh[part] != kept[part]]
    assert not changed, (f"examples/{name} differs in {changed}: run "
                         "`python examples/generate.py` and commit the result")


def test_workbook_bytes_are_deterministic(generator):
    # Same zlib within one run, so here the whole file must be identical: no timestamps
    # (document properties, zip entry times) may leak in.
    rows = generator.data_rows(random.Random(generator.SEED))
    first = generator.workbook_bytes(generator.marketing_workbook(rows))
    second = generator.workbook_bytes(generator.marketing_workbook(rows))
    assert first == second
    with zipfile.ZipFile(io.BytesIO(committed("marketing.xlsx"))) as archive:
        core = archive.read("docProps/core.xml").decode()
        assert {info.date_time for info in archive.infolist()} == {generator.ZIP_TIME}
    assert "2026-11-26T08:00:00Z" in core


def test_files_stay_small():
    assert len(committed("marketing.xlsx")) < 1_500_000
    assert len(committed("polish.xlsx")) < 200_000


# --- the Data tab ----------------------------------------------------------------------

def _data(wb) -> tuple[list[str], list[tuple]]:
    rows = list(wb["Data"].iter_rows(values_only=True))
    return [normalise(h) for h in rows[0]], rows[1:]


def test_data_tab_columns(marketing):
    headers, _ = _data(marketing)
    assert headers == COLUMNS
    ws = marketing["Data"]
    assert ws.freeze_panes == "A2"
    assert all(cell.font.b for cell in ws[1])


def test_data_tab_covers_every_day_and_campaign_once(marketing):
    _, rows = _data(marketing)
    keys = [(r[0], r[1], r[2]) for r in rows]
    assert len(keys) == len(set(keys)), "a (date, channel, campaign) appears twice"
    days = {r[0].date() for r in rows}
    assert min(days) == FIRST and max(days) == LAST
    assert len(days) == (LAST - FIRST).days + 1
    campaigns = {(r[1], r[2]) for r in rows}
    assert len(rows) == len(days) * len(campaigns)
    assert {c for c, _ in campaigns} == {"search", "social", "email", "display"}
    assert all(name.startswith(channel) for channel, name in campaigns)


def test_data_tab_cells_are_typed_like_a_real_sheet(marketing):
    ws = marketing["Data"]
    second = ws[2]
    assert isinstance(second[0].value, datetime) and second[0].is_date
    assert second[0].number_format == "yyyy-mm-dd"
    revenue, visits = COLUMNS.index("revenue"), COLUMNS.index("visits")
    assert "$" in second[revenue].number_format and "#,##0" in second[visits].number_format
    _, rows = _data(marketing)
    for row in rows:
        assert all(isinstance(v, (int, float)) for v in row[3:] if v is not None)
        assert row[revenue] is None or round(row[revenue], 2) == row[revenue]


def test_blank_cells_are_few_and_only_in_metrics(marketing):
    headers, rows = _data(marketing)
    blanks = [(headers[i], r[0].date()) for r in rows for i, v in enumerate(r) if v is None]
    assert 0 < len(blanks) <= 10
    assert {h for h, _ in blanks} <= {"new_customers", "reach"}
    # Two of them sit in the week the README's weekly rules evaluate (2026-11-16..22).
    assert any(date(2026, 11, 16) <= d <= date(2026, 11, 22) for _, d in blanks)


def test_email_and_social_columns_belong_to_their_channel(marketing):
    headers, rows = _data(marketing)
    col = {h: i for i, h in enumerate(headers)}
    for r in rows:
        if r[col["channel"]] != "email":
            assert r[col["emails_sent"]] == 0 and r[col["email_clicks"]] == 0
        if r[col["channel"]] != "social":
            assert r[col["likes"]] == 0 and r[col["reach"]] in (0, None)


def test_csv_is_the_data_tab(marketing):
    _, rows = _data(marketing)
    with open(EXAMPLES / "marketing.csv", newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        assert [normalise(h) for h in next(reader)] == COLUMNS
        lines = list(reader)
    assert len(lines) == len(rows)
    for line, row in zip(lines, rows):
        assert line[0] == row[0].date().isoformat()
        assert line[1:3] == list(row[1:3])
        for text, value in zip(line[3:], row[3:]):
            assert (text == "") if value is None else float(text) == value


# --- the rules -------------------------------------------------------------------------

def _names_in(rule: str) -> set[str]:
    text = re.sub(r'"[^"]*"', " ", rule)  # quoted dimension values
    text = re.sub(r"\b\d+(\.\d+)?(%|pp|k|M)?", " ", text)  # numbers: 2%, -0.3pp, 250k, 0.25M
    return {w.lower() for w in re.findall(r"[^\W\d]\w*", text)} - RESERVED


def _rules_tab(wb) -> tuple[list[str], list[dict]]:
    rows = list(wb["Rules"].iter_rows(values_only=True))
    return list(rows[0]), [dict(zip(rows[0], r)) for r in rows[1:]]


def test_rules_tab_headers_and_values(marketing):
    headers, rules = _rules_tab(marketing)
    assert headers == ["Name", "Rule", "Owner", "Description", "Enabled"]
    assert 10 <= len(rules) <= 20
    assert all(isinstance(r["Enabled"], bool) for r in rules)
    assert sum(not r["Enabled"] for r in rules) == 1
    assert all(r["Name"] and r["Rule"] and len(r["Description"]) > 20 for r in rules)
    assert len({r["Name"] for r in rules}) == len(rules)


def test_rules_name_only_existing_columns(marketing, polish):
    for wb in (marketing, polish):
        headers, _ = _data(wb)
        for rule in _rules_tab(wb)[1]:
            unknown = _names_in(rule["Rule"]) - set(headers)
            assert not unknown, f"{rule['Name']}: {unknown} is not a column"


def test_kpi_file_holds_the_enabled_rules_in_order(marketing):
    _, rules = _rules_tab(marketing)
    lines = (EXAMPLES / "marketing.kpi").read_text(encoding="utf-8").splitlines()
    kpi = [tuple(part.strip() for part in line.split(":", 1))
           for line in lines if line.strip() and not line.startswith("#")]
    assert kpi == [(r["Name"], r["Rule"]) for r in rules if r["Enabled"]]
    for rule in rules:
        if not rule["Enabled"]:  # still visible to a reader of the .kpi
            assert any(line.startswith("#") and rule["Rule"] in line for line in lines)


def test_polish_workbook(polish):
    headers, rows = _data(polish)
    assert headers[:2] == ["data", "kanał"]
    assert {"wyświetlenia", "kliknięcia", "zapisy_newsletter", "wysłane_e_maile"} <= set(headers)
    keys = [(r[0], r[1]) for r in rows]
    assert len(keys) == len(set(keys))
    assert max(r[0] for r in rows).date() == LAST
    assert polish["Data"]["A2"].number_format == "dd.mm.yyyy"
    rule_headers, rules = _rules_tab(polish)
    assert rule_headers[:2] == ["Name", "Rule"] and len(rules) >= 4
    assert any("ł" in r["Name"] or "ó" in r["Name"] or "ś" in r["Name"] for r in rules)
    # `Data` is not `date`: the workbook's Settings tab names its date column.
    settings = {r[0]: r[1] for r in polish["Settings"].iter_rows(min_row=2, values_only=True)}
    assert normalise(settings["date_column"]) == headers[0]


def test_readme_commands_name_the_committed_files():
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    for name in FILES:
        assert f"examples/{name}" in readme
    assert "--as-of 2026-11-26" in readme
    assert LAST + timedelta(days=1) == date(2026, 11, 26)  # the as-of the story is told at
