"""natural-history.md section 6, reproduced exactly at its shown precision (E to 1 decimal, P to
4 significant figures), from the shipped scenario table and the Poisson-binomial."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cordtrial.analysis import comparator
from cordtrial.analysis import natural_history as nh
from cordtrial.analysis import poisson_binomial as pb

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "natural-history.md"

# The table as printed in section 6 (facts; kept here so the test runs without ../shared too).
EXPECTED = {
    "6/2/5": ["E 6.3, P 0.0001832", "E 7.2, P 0.002002", "E 8.7, P 0.03334"],
    "4/4/5": ["E 7.2, P 0.001493", "E 8.0, P 0.008474", "E 9.2, P 0.06331"],
    "3/3/7": ["E 7.8, P 0.005182", "E 8.6, P 0.02143", "E 9.7, P 0.1054"],
    "0/0/13": ["E 9.8, P 0.1267", "E 10.4, P 0.2336", "E 11.0, P 0.3983"],
}


def _cell(mix: str, rates: dict[str, float]) -> str:
    a, b, c = (int(x) for x in mix.split("/"))
    p = pb.case_mix_probabilities({"A": a, "B": b, "C": c}, rates)
    return f"E {pb.mean(p):.1f}, P {pb.sf(12, p):.4g}"


def _scenario_rates() -> list[dict[str, float]]:
    sc = nh.rate_scenarios()
    sc = sc[sc["in_reference_table"]]  # the others extend the sensitivity (issue 14)
    return [{"A": r.rate_A, "B": r.rate_B, "C": r.rate_C} for r in sc.itertuples()]


@pytest.mark.parametrize("mix", list(EXPECTED))
def test_section6_row_reproduced(mix: str) -> None:
    assert [_cell(mix, r) for r in _scenario_rates()] == EXPECTED[mix]


def test_section6_matches_reference_file() -> None:
    if not REFERENCE.exists():
        pytest.skip(f"{REFERENCE} not present (shared reference data is read, never committed)")
    text = REFERENCE.read_text(encoding="utf-8").split("## 6.", 1)[1]
    header = next(line for line in text.splitlines() if line.startswith("| baseline mix"))
    published = [
        {g: float(v) for g, v in re.findall(r"([ABC]) (\.\d+)", col)}
        for col in header.split("|")[2:-1]
    ]
    assert published == _scenario_rates()  # shipped scenarios = the reference's columns
    rows = [line for line in text.splitlines() if re.match(r"\| \d+/\d+/\d+ \|", line)]
    assert len(rows) == 4
    for line in rows:
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert [_cell(cells[0], r) for r in published] == cells[1:]


def test_case_mix_table_api_matches() -> None:
    mixes = [{"A": 6, "B": 2, "C": 5}, {"A": 0, "B": 0, "C": 13}]
    t = comparator.case_mix_table(mixes, 12)
    got = [f"E {e:.1f}, P {p:.4g}" for e, p in zip(t["expected"], t["p_at_least"], strict=True)]
    assert got == EXPECTED["6/2/5"] + EXPECTED["0/0/13"]
