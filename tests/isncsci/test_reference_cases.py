"""The 64 published reference cases (Praxis ISNCSCI test suite) must match on all 25 fields.

The cases file is read from ../shared/isncsci/ when present; it is not part of the repository.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cordtrial.isncsci import RESULT_KEYS, Exam, classify

CASES = Path(__file__).resolve().parents[2].parent / "shared" / "isncsci" / "reference-cases.json"
cases = json.loads(CASES.read_text()) if CASES.is_file() else []

pytestmark = pytest.mark.skipif(not cases, reason=f"reference cases not found at {CASES}")


@pytest.mark.parametrize("case", cases, ids=[str(c["id"]) for c in cases])
def test_reference_case(case: dict) -> None:
    result = classify(Exam.from_rhi(case)).to_rhi()
    expected = case["totals"]
    assert set(expected) == set(RESULT_KEYS)
    diff = {k: (result[k], v) for k, v in expected.items() if result[k] != v}
    assert not diff, f"case {case['id']}: field: (ours, expected) {diff}"
