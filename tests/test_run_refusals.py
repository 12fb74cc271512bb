"""Workbooks a run must leave as they are, with exit 3 and nothing sent (real xlsx files,
a real webhook receiver on 127.0.0.1)."""

from __future__ import annotations

import os
import stat

from click.testing import CliRunner
from test_outbox import CLEAN, Endpoint, channel_toml
from test_run_common import AS_OF
from test_run_xlsx import make_workbook

from kpirules.cli.main import cli


def test_a_read_only_workbook_is_not_replaced(tmp_path):
    # The file was replaced through a rename, which needs only the folder's permission:
    # a workbook its owner made read-only was rewritten (and kept its read-only mode).
    book = make_workbook(tmp_path / "kpis.xlsx", rules=CLEAN)
    os.chmod(book, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    before = book.read_bytes()
    endpoint = Endpoint()
    endpoint.status = 200
    config = tmp_path / "kpirules.toml"
    config.write_text(channel_toml("webhook", endpoint.url, None))
    try:
        result = CliRunner().invoke(cli, ["run", str(book), "--as-of", AS_OF.isoformat(), "--config", str(config)])
        assert result.exit_code == 3, result.output
        assert "could not write" in result.output and "the file is read-only" in result.output
        assert "--out COPY.xlsx" in result.output
        assert endpoint.calls == []  # nothing written, so nothing sent
        assert book.read_bytes() == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["kpirules.toml", "kpis.xlsx"]
        copy = tmp_path / "copy.xlsx"
        again = CliRunner().invoke(cli, ["run", str(book), "--as-of", AS_OF.isoformat(), "--config", str(config),
                                         "--out", str(copy)])
        assert again.exit_code == 1, again.output  # the way out the hint names
        assert book.read_bytes() == before
    finally:
        endpoint.close()


def test_a_workbook_reached_by_a_symbolic_link_is_written_through_it(tmp_path):
    # The save replaced the link by a file of its own: the workbook it led to never got the
    # results, a run on the workbook itself raised the same alerts again, and two runs by
    # the two paths took two different locks.
    from test_run_common import by_header, history_keys
    from test_run_xlsx import tab_rows

    from kpirules.writeback.lock import file_lock

    (tmp_path / "shared").mkdir()
    (tmp_path / "job").mkdir()
    real = make_workbook(tmp_path / "shared" / "kpis.xlsx", rules=CLEAN)
    link = tmp_path / "job" / "kpis.xlsx"
    link.symlink_to(real)

    def run(path):
        return CliRunner().invoke(cli, ["run", str(path), "--as-of", AS_OF.isoformat()])

    first = run(link)
    assert first.exit_code == 1 and "alert: by_campaign" in first.output, first.output
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert by_header(tab_rows(real, "Rules"))["by_campaign"]["status"] == "FAIL"
    keys = history_keys(tab_rows(real, "History"))
    again = run(real)
    assert again.exit_code == 1 and "alert:" not in again.output, again.output
    assert history_keys(tab_rows(real, "History")) == keys
    with file_lock(str(real), since="07:00:12"):
        held = run(link)
    assert held.exit_code == 7, held.output
    assert sorted(p.name for p in (tmp_path / "shared").iterdir()) == ["kpis.xlsx"]
