"""Fixtures for every test."""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from cordtrial.store import audit_anchor, db
from cordtrial.store.services.timing import site_today

PG_ENV = "CORDTRIAL_TEST_POSTGRES_URL"
MIDNIGHT_MARGIN_S = 60


@pytest.fixture
def today() -> date:
    """Today in UTC (the trial's calendar, as the server reads it: ``site_today``), read when
    the test starts, for a test that checks a rule at the edge of today ("from today on", "not
    after today").

    A module-level date goes stale: the suite runs for about 20 minutes and may cross
    midnight, after which the server's today is the next day. Within a minute of midnight the
    test first waits for the new day, so the day cannot change while it runs."""
    now = datetime.now(UTC)
    left = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC) - now
    if left.total_seconds() < MIDNIGHT_MARGIN_S:
        time.sleep(left.total_seconds() + 1)
    return site_today(None)


@pytest.fixture(autouse=True)
def _audit_anchor_files(tmp_path_factory):
    """Each test keeps the audit key and checkpoint files of the stores it makes (those not
    beside an SQLite file: PostgreSQL test databases are reused) in a folder of its own. A
    private MonkeyPatch, so a test's own monkeypatch.undo() leaves it in place."""
    patch = pytest.MonkeyPatch()
    patch.setenv(audit_anchor.STATE_DIR_ENV, str(tmp_path_factory.mktemp("state")))
    audit_anchor.forget_keys()
    yield
    audit_anchor.forget_keys()
    patch.undo()


@pytest.fixture(scope="session")
def pg_store_url():
    """A database of its own for this test session (created and dropped here)."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} not set (source .ci/postgres.sh)")
    name = f"cordtrial_store_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.rsplit("/", 1)[0] + "/" + name
    yield url
    db.dispose_engines()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _reset_pg(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """An upgraded, empty store."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    else:
        url = request.getfixturevalue("pg_store_url")
        db.dispose_engines()
        _reset_pg(url)
    db.upgrade(url)
    yield url
    db.dispose_engines()
