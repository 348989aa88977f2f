"""Schema-driven fuzzing of the JSON API (schemathesis over the app's own OpenAPI document):
whatever the generated request, the server must never answer with a 5xx.

Driven through Hypothesis directly (one test per operation) rather than schemathesis's pytest
plugin, which does not load under the pytest version in use.
"""

from __future__ import annotations

import base64

import pytest
import schemathesis
from conftest import PASSWORD, USERNAME, copy_store
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from cordtrial.web.app import create_app

pytestmark = pytest.mark.slow


def _basic(role: str) -> dict[str, str]:
    raw = f"{USERNAME[role]}:{PASSWORD[role]}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def _operation_labels() -> list[str]:
    spec_app = create_app("sqlite:///:memory:")
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", spec_app)
    return [op.ok().label for op in schema.get_all_operations()]


OPERATIONS = _operation_labels()


@pytest.fixture(scope="module")
def api_schema(template_db, tmp_path_factory):
    path, _ = template_db
    copy = tmp_path_factory.mktemp("fuzz") / "store.sqlite"
    copy_store(path, copy)
    app = create_app(f"sqlite:///{copy}", secret_key="fuzz")
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    return {op.ok().label: op.ok() for op in schema.get_all_operations()}


@pytest.mark.parametrize("role", ["investigator", "monitor", None])
@pytest.mark.parametrize("label", OPERATIONS)
def test_no_server_error(api_schema, label, role):
    operation = api_schema[label]
    headers = _basic(role) if role else {}

    @given(case=operation.as_strategy())
    @settings(
        max_examples=25 if role == "investigator" else 8,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def run(case):
        case.call_and_validate(headers=headers, checks=[not_a_server_error])

    run()
