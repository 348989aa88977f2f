"""The synthetic exam generator and the Hypothesis strategies produce valid, varied exams."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from hypothesis import given, settings

from cordtrial.isncsci.strategies import arbitrary_rhi_exams, rhi_exams
from cordtrial.isncsci.synthetic import (
    DERMATOMES,
    KEY_MUSCLES,
    SIDES,
    exam_at,
    generate_exams,
    iter_exams,
)

# Vocabulary of ../shared/isncsci/README.md, written out independently of the generator.
SENSORY_OK = re.compile(r"^(?:[012]|NT|[01]\*{1,2}|NT\*{1,2})$")
MOTOR_OK = re.compile(r"^(?:[0-5]|NT|[0-4]\*{1,2}|NT\*{1,2})$")
ANAL_OK = {"Yes", "No", "NT"}
NON_KEY_OK = {"C5", "C6", "C7", "C8", "T1", "L2", "L3", "L4", "L5", "S1"}

CELL_KEYS = (
    {f"{d}{s}{k}" for d in DERMATOMES for s in SIDES for k in ("Touch", "Prick")}
    | {f"{m}{s}Motor" for m in KEY_MUSCLES for s in SIDES}
    | {"analContraction", "analSensation"}
)
OPTIONAL_KEYS = {"id", "rightLowestNonKeyMuscleWithMotorFunction",
                 "leftLowestNonKeyMuscleWithMotorFunction"}  # fmt: skip


def problems(exam: dict[str, str]) -> list[str]:
    """Every way `exam` breaks the RHI vocabulary (empty when valid)."""
    found = [f"missing {k}" for k in sorted(CELL_KEYS - exam.keys())]
    found += [f"unexpected {k}" for k in sorted(exam.keys() - CELL_KEYS - OPTIONAL_KEYS)]
    for key, value in exam.items():
        if not isinstance(value, str):
            found.append(f"{key}={value!r} is not a string")
        elif key.endswith(("Touch", "Prick")) and not SENSORY_OK.match(value):
            found.append(f"{key}={value!r}")
        elif key.endswith("Motor") and not MOTOR_OK.match(value):
            found.append(f"{key}={value!r}")
        elif key.startswith("anal") and value not in ANAL_OK:
            found.append(f"{key}={value!r}")
        elif key.endswith("WithMotorFunction") and value not in NON_KEY_OK:
            found.append(f"{key}={value!r}")
    return found


def test_the_vocabulary_check_rejects_flagged_normal_grades() -> None:
    exam = exam_at(0, 0)
    assert problems(exam) == []
    broken = {**exam, "c5RightMotor": "5*", "c2LeftTouch": "2**", "analSensation": "yes"}
    assert sorted(problems(broken)) == [
        "analSensation='yes'",
        "c2LeftTouch='2**'",
        "c5RightMotor='5*'",
    ]


@pytest.mark.parametrize(
    ("seed", "nt_rate", "flag_rate"), [(1, 0.15, 0.10), (2, 1.0, 1.0), (3, 0.0, 0.0)]
)
def test_every_generated_exam_is_valid(seed: int, nt_rate: float, flag_rate: float) -> None:
    exams = generate_exams(1500, seed, nt_rate=nt_rate, flag_rate=flag_rate)
    bad = {e["id"]: problems(e) for e in exams if problems(e)}
    assert bad == {}


def test_generation_is_reproducible_and_prefix_stable() -> None:
    assert generate_exams(50, 7) == generate_exams(50, 7)
    assert generate_exams(20, 7) == generate_exams(50, 7)[:20]
    assert generate_exams(20, 7) != generate_exams(20, 8)
    assert list(iter_exams(5, 7)) == generate_exams(5, 7)
    assert {k: v for k, v in generate_exams(4, 7)[3].items() if k != "id"} == exam_at(7, 3)


def test_ids_are_unique_and_optional() -> None:
    exams = generate_exams(200, 3)
    assert len({e["id"] for e in exams}) == 200
    assert exams[5]["id"] == "syn-3-5"
    assert all("id" not in e for e in generate_exams(10, 3, id_prefix=None))


def test_rates_control_nt_and_flags() -> None:
    def share(exams: list[dict[str, str]], pattern: str) -> float:
        return sum(any(re.search(pattern, v) for v in e.values()) for e in exams) / len(exams)

    none = generate_exams(400, 5, nt_rate=0.0, flag_rate=0.0, anal_nt_rate=0.0)
    assert share(none, r"^NT") == 0 and share(none, r"\*") == 0
    every = generate_exams(400, 5, nt_rate=1.0, flag_rate=1.0)
    assert share(every, r"^NT") == 1 and share(every, r"\*") == 1
    default = generate_exams(2000, 5)
    assert 0.08 < share(default, r"^NT") < 0.35
    assert 0.05 < share(default, r"\*") < 0.2


def test_exams_are_clinically_shaped() -> None:
    exams = generate_exams(2000, 11, nt_rate=0.0, flag_rate=0.0, anal_nt_rate=0.0)

    def first_impaired(exam: dict[str, str]) -> int:
        for j, d in enumerate(DERMATOMES):
            if any(exam[f"{d}{s}{k}"] != "2" for s in SIDES for k in ("Touch", "Prick")):
                return j
        return len(DERMATOMES)

    levels = Counter(first_impaired(e) for e in exams)
    cervical = sum(n for j, n in levels.items() if j <= DERMATOMES.index("t1"))
    assert cervical / len(exams) > 0.45  # weighted towards the cervical cord
    assert 0 < levels[len(DERMATOMES)] < len(exams) * 0.2  # a few entirely normal exams
    # Above the first impaired dermatome everything is normal (no flags in this run).
    for e in exams:
        j = first_impaired(e)
        assert all(e[f"{d}{s}Touch"] == "2" for d in DERMATOMES[:j] for s in SIDES)
    # Complete-looking (no sacral sparing, no VAC/DAP) and sacral-sparing exams both occur.
    sacral = Counter(
        any(e[f"s4_5{s}{k}"] != "0" for s in SIDES for k in ("Touch", "Prick"))
        or "Yes" in (e["analContraction"], e["analSensation"])
        for e in exams
    )
    assert sacral[True] > 400 and sacral[False] > 300
    assert sum("rightLowestNonKeyMuscleWithMotorFunction" in e for e in exams) > 100


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": -1}, "n: -1"),
        ({"n": 2.5}, "n: 2.5"),
        ({"seed": "x"}, "seed: 'x'"),
        ({"nt_rate": 1.5}, "nt_rate: 1.5"),
        ({"flag_rate": -0.1}, "flag_rate: -0.1"),
        ({"pattern_weights": {"bogus": 1.0}}, "unknown pattern"),
        ({"pattern_weights": {"complete": 0.0}}, "at least one > 0"),
    ],
)
def test_bad_parameters_are_named(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        generate_exams(**({"n": 1, "seed": 0} | kwargs))


def test_pattern_weights_select_patterns() -> None:
    normal = generate_exams(20, 1, pattern_weights={"normal": 1.0}, nt_rate=0, flag_rate=0,
                            nonkey_rate=0)  # fmt: skip
    for e in normal:
        assert all(v in ("2", "5") for k, v in e.items() if k.endswith(("Touch", "Prick", "Motor")))


@settings(max_examples=150, deadline=None)
@given(rhi_exams(nt_rate=0.5, flag_rate=0.5))
def test_strategy_exams_are_valid(exam: dict[str, str]) -> None:
    assert problems(exam) == []


@settings(max_examples=150, deadline=None)
@given(arbitrary_rhi_exams())
def test_arbitrary_strategy_exams_are_valid(exam: dict[str, str]) -> None:
    assert problems(exam) == []
