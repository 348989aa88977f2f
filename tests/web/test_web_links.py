"""Every link a user is shown leads somewhere, and no form answers hostile input with a server
error: on the seeded demo trial, each role follows every same-site link from the home page and
submits every form it finds."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from conftest import DEMO_PASSWORDS
from crawl import log_in, walk

pytestmark = pytest.mark.slow

ROLES = sorted(DEMO_PASSWORDS)

# What a careless or hostile user types: nothing, far too much, control characters, numbers
# that are not finite, an impossible date, markup.
HOSTILE = ["", "x" * 3000, "bad\x00\x01", "NaN", "1e400", "9999-99-99", "<script>x</script>"]


def _client(url: str):
    from fastapi.testclient import TestClient

    from cordtrial.web.app import create_app

    app = create_app(url, secret_key="test-secret")
    return TestClient(app, base_url="https://testserver", raise_server_exceptions=False)


@pytest.mark.parametrize("role", ROLES)
def test_every_link_shown_to_a_role_opens(demo_store, role):
    """No link leads to a server error, a missing page or a page the role may not open."""
    with _client(demo_store) as c:
        log_in(c, f"sap_{role}", DEMO_PASSWORDS[role])
        seen = walk(c)
    assert seen.pages > 30, f"only {seen.pages} pages reached as {role}"
    assert seen.errors == [], "\n".join(f"{s} {p} (linked from {src})" for s, p, src in seen.errors)


def _private_copy(url: str, target: Path) -> str:
    """A copy of the demo store that a test may change (the SQLite backup API, so that
    nothing still in the write-ahead log is lost), with its audit key."""
    source = url.removeprefix("sqlite:///")
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    Path(f"{target}.audit-key").write_bytes(Path(f"{source}.audit-key").read_bytes())
    return f"sqlite:///{target}"


@pytest.mark.parametrize("role", ROLES)
def test_no_form_answers_hostile_input_with_a_server_error(demo_store, tmp_path, role):
    """Every form the role is offered, submitted with each hostile value in every field (the
    CSRF token kept), is refused or accepted, never a 5xx."""
    url = _private_copy(demo_store, tmp_path / "store.sqlite")
    failures = []
    with _client(url) as c:
        log_in(c, f"sap_{role}", DEMO_PASSWORDS[role])
        seen = walk(c, per_kind=1, limit=400, each_patient=True)
        submitted = [
            f for f in seen.forms.values() if not f.action.startswith(("/login", "/logout"))
        ]
        for form in submitted:
            for value in HOSTILE:
                data = {k: v if k == "csrf_token" else value for k, v in form.fields.items()}
                r = c.post(form.action, data=data, follow_redirects=False)
                if r.status_code >= 500:
                    failures.append(f"{r.status_code} {form.action} with {value[:20]!r}")
    assert len(submitted) >= 5, f"only {len(submitted)} forms found as {role}"
    assert failures == [], "\n".join(failures)
