"""Shared pytest fixtures.

Sheets emulator: ``sheets_emulator`` is a fresh emulator on 127.0.0.1 per test (start-up
is a socket bind and a thread, so per-test servers are cheap and tests cannot leak state
into each other); ``sheet_from_rows`` builds a spreadsheet in it from Python rows;
``gspread_client`` is the real gspread client routed to it.
"""

from __future__ import annotations

from typing import Any, Iterable

import pytest


@pytest.fixture(autouse=True)
def english_after_each_test():
    """The language is per process (kpirules.i18n): a test that speaks Polish through the CLI
    must not leave the next test speaking it."""
    yield
    from kpirules.i18n import set_language

    set_language("en")


# --- Sheets API emulator ------------------------------------------------------------

@pytest.fixture
def sheets_emulator():
    from kpirules_emulator.sheets import SheetsEmulator

    with SheetsEmulator() as emu:
        yield emu


def spreadsheet_from_rows(emulator, data: Iterable[Iterable[Any]], *, key: str = "kpis",
                          tab: str = "Data", **kwargs) -> str:
    """Serve ``data`` (rows of cells) as tab ``tab`` of spreadsheet ``key``; other keyword
    arguments go to ``SheetsEmulator.add_spreadsheet`` (locale, time_zone, rows/cols for
    the grid size, more tabs via ``tabs``)."""
    tabs = {tab: [list(r) for r in data]}
    tabs.update(kwargs.pop("tabs", {}))
    return emulator.add_spreadsheet(key, tabs, **kwargs)


@pytest.fixture
def sheet_from_rows(sheets_emulator):
    """``sheet_from_rows(data, key="kpis", tab="Data", **kwargs) -> key``."""
    def build(data, **kwargs):
        return spreadsheet_from_rows(sheets_emulator, data, **kwargs)
    return build


@pytest.fixture
def gspread_client(sheets_emulator):
    from kpirules_emulator.sheets import gspread_client_for

    return gspread_client_for(sheets_emulator.host)


# --- PostgreSQL ----------------------------------------------------------------------

@pytest.fixture(scope="session")
def postgres_url():
    """A real PostgreSQL server (the pgserver wheel's binaries) on 127.0.0.1, one cluster
    for the whole test run, stopped at the end: ``postgresql://postgres@127.0.0.1:PORT/postgres``.

    pgserver's own start listens on a Unix socket only; the tests want the TCP URL users
    write, so the cluster pgserver initialised is restarted with ``-h 127.0.0.1``."""
    pgserver = pytest.importorskip("pgserver")
    pytest.importorskip("psycopg")
    import shutil
    import socket
    import subprocess
    import tempfile

    from pgserver._commands import pg_ctl

    # Its own folder, not pytest's tmp_path (which another pytest run may rotate away).
    pgdata = tempfile.mkdtemp(prefix="kpirules-pg-")
    server = pgserver.get_server(pgdata, cleanup_mode=None)
    user = server.system_user
    pg_ctl(["-w", "stop"], pgdata=server.pgdata, user=user, timeout=30)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    pg_ctl(["-w", "-o", "-h 127.0.0.1", "-o", f"-p {port}", "-o", f"-k {server.pgdata}",
            "-l", f"{server.pgdata}/tcp.log", "start"], pgdata=server.pgdata, user=user, timeout=60)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        try:
            pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=server.pgdata, user=user, timeout=30)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            pass  # already gone: nothing left to stop
        shutil.rmtree(pgdata, ignore_errors=True)


# --- Snowflake -----------------------------------------------------------------------

@pytest.fixture(scope="session")
def fakesnow_server():
    """fakesnow's local Snowflake server, one for the whole test run: ``fakesnow.server()``
    works once per process (its ``import fakesnow.server`` replaces the package's function
    of that name with the submodule). Yields the connection arguments."""
    fakesnow = pytest.importorskip("fakesnow")
    pytest.importorskip("snowflake.connector")
    with fakesnow.server() as kwargs:
        yield kwargs


# --- Spark ---------------------------------------------------------------------------

@pytest.fixture(scope="session")
def spark():
    """One local Spark session for the whole test run (a JVM start costs seconds)."""
    pytest.importorskip("pyspark")
    from kpirules.connectors.spark import spark_session

    session = spark_session("local[2]")
    # Test tables are tiny: one shuffle partition and no adaptive re-planning (which adds
    # stages per UNION branch) keep a case file's query to seconds.
    session.conf.set("spark.sql.shuffle.partitions", "1")
    session.conf.set("spark.sql.adaptive.enabled", "false")
    yield session
    session.stop()
