"""Fixtures for every test."""

from __future__ import annotations

import pytest

from cordtrial.store import audit_anchor


@pytest.fixture(autouse=True)
def _audit_anchor_files(tmp_path_factory, monkeypatch):
    """Each test keeps the audit key and checkpoint files of the stores it makes (those not
    beside an SQLite file: PostgreSQL test databases are reused) in a folder of its own."""
    monkeypatch.setenv(audit_anchor.STATE_DIR_ENV, str(tmp_path_factory.mktemp("state")))
    audit_anchor.forget_keys()
    yield
    audit_anchor.forget_keys()
