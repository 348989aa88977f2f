"""The vectorised batch path against the reference algorithm (npm `isncsci`, black box).

Plain exams are exactly the ones the batch path classifies column-wise; here they are checked
end to end against the published reference algorithm, not only against the single-exam path.
"""

from __future__ import annotations

import pyarrow as pa
import pytest

from cordtrial.isncsci import RESULT_KEYS
from cordtrial.isncsci.batch import classify_table
from cordtrial.isncsci.synthetic import generate_exams

from .oracle import oracle_classify, unavailable_reason

_REASON = unavailable_reason()
pytestmark = [
    pytest.mark.oracle,
    pytest.mark.slow,
    pytest.mark.skipif(_REASON is not None, reason=f"ISNCSCI oracle unavailable: {_REASON}"),
]

PLAIN = {"nt_rate": 0.0, "flag_rate": 0.0, "nonkey_rate": 0.0, "anal_nt_rate": 0.0}


def test_vectorised_results_match_the_reference_on_plain_exams():
    exams = generate_exams(3_000, 4_242, **PLAIN)
    columns = list(dict.fromkeys(k for exam in exams for k in exam))
    table = pa.table({c: pa.array([e.get(c) for e in exams], pa.string()) for c in columns})
    result = classify_table(table)
    assert (result.vectorised, result.failed) == (len(exams), 0)
    ours = {key: result.table.column(key).to_pylist() for key in RESULT_KEYS}
    disagreements = []
    for i, answer in enumerate(oracle_classify(exams)):
        assert "error" not in answer, answer
        for key in RESULT_KEYS:
            if ours[key][i] != answer["totals"][key]:
                disagreements.append((exams[i]["id"], key, ours[key][i], answer["totals"][key]))
    assert disagreements == []
