"""Seeded generator of clinically shaped ISNCSCI exams in the flat RHI naming.

The exams are synthetic test data, not patients: they feed the differential test against the
reference algorithm, property tests and benchmarks. Each exam models one spinal cord lesion:
segments above a per-side level are normal, segments below are impaired according to an
AIS-like pattern (complete, sensory incomplete, motor incomplete weak or strong, near normal,
all normal), with a zone of partial preservation below complete lesions, sacral sparing for
incomplete ones, and optional not-testable cells, `*`/`**` flags and a lowest non-key muscle.

The shape of the data (which patterns, which levels, how weights fall off below the lesion) is
a test-design choice so that every branch of the ISNCSCI rules is exercised; it is not an
epidemiological model. Levels are weighted towards the cervical cord because cordtrial's model
study enrols cervical injuries (../shared/reference/study.md) and because the upper-limb key
muscles make the cervical rules the richest.

The value vocabulary follows ../shared/isncsci/README.md: sensory 0/1/2/NT, flagged only as
0*, 1*, NT*, 0**, 1**, NT** (a normal 2 cannot be flagged); motor 0..5/NT, flagged only as
0*..4*, NT*, 0**..4**, NT** (a normal 5 cannot be flagged); VAC/DAP Yes/No/NT.

Everything here is pure. Randomness comes from a `_Source`; `generate_exams` uses
`random.Random` seeded per exam from (seed, index), so exam *i* of a seed is the same whatever
*n* is, and `strategies.py` drives the same builder from Hypothesis so failures shrink.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

T = TypeVar("T")

# Dermatomes C2..S4-5 in RHI spelling (lower case, S4-5 as s4_5), rostral to caudal.
DERMATOMES: tuple[str, ...] = (
    "c2", "c3", "c4", "c5", "c6", "c7", "c8",
    "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9", "t10", "t11", "t12",
    "l1", "l2", "l3", "l4", "l5", "s1", "s2", "s3", "s4_5",
)  # fmt: skip
# Key muscle segments (ISNCSCI: C5-T1 and L2-S1).
KEY_MUSCLES: tuple[str, ...] = ("c5", "c6", "c7", "c8", "t1", "l2", "l3", "l4", "l5", "s1")
# Levels a lesion can sit at, as a segment index: C1 (nothing below C1 normal) = 0, C2 = 1, ...,
# S3 = 27, S4-5 = 28 (everything normal).
SEGMENTS: tuple[str, ...] = ("c1",) + DERMATOMES
SIDES: tuple[str, ...] = ("Right", "Left")
NON_KEY_LEVELS: tuple[str, ...] = tuple(m.upper() for m in KEY_MUSCLES)

PATTERNS: tuple[str, ...] = (
    "normal",  # first = simplest, so Hypothesis shrinks towards it
    "near_normal",
    "complete",
    "sensory_incomplete",
    "motor_incomplete_weak",
    "motor_incomplete_strong",
)
# Default mix: enough of every pattern for the differential test to reach each AIS grade often.
DEFAULT_PATTERN_WEIGHTS: dict[str, float] = {
    "normal": 0.05,
    "near_normal": 0.10,
    "complete": 0.25,
    "sensory_incomplete": 0.15,
    "motor_incomplete_weak": 0.20,
    "motor_incomplete_strong": 0.25,
}

_SEG = {name: i for i, name in enumerate(SEGMENTS)}
_KEY_INDEX = {m: _SEG[m] for m in KEY_MUSCLES}

# Relative weight of each lesion segment C1..S3 (index 0..27). Cervical ~60 %, thoracic ~25 %,
# lumbar ~10 %, sacral ~5 %; mid-cervical levels favoured within the cervical cord.
_CERVICAL = {"c1": 0.3, "c2": 0.5, "c3": 1.0, "c4": 2.0, "c5": 2.5, "c6": 2.0, "c7": 1.2,
             "c8": 0.8, "t1": 0.7}  # fmt: skip


def _level_weight(segment: str) -> float:
    if segment in _CERVICAL:
        return 60.0 * _CERVICAL[segment] / sum(_CERVICAL.values())
    region_share = {"t": (25.0, 11), "l": (10.0, 5), "s": (5.0, 3)}  # T2-T12, L1-L5, S1-S3
    share, count = region_share[segment[0]]
    return share / count


_LEVEL_WEIGHTS: tuple[float, ...] = tuple(_level_weight(s) for s in SEGMENTS[:28])
# Mild lesions are mostly low (lumbosacral), sometimes a high level with a light deficit below.
_NEAR_NORMAL_LEVEL_WEIGHTS: tuple[float, ...] = tuple(
    w if i >= _SEG["l1"] else w / 4 for i, w in enumerate(_LEVEL_WEIGHTS)
)


class _Source(Protocol):
    """Where the generator's choices come from (a seeded PRNG or Hypothesis)."""

    def chance(self, p: float) -> bool: ...

    def integer(self, lo: int, hi: int) -> int: ...

    def pick(self, options: Sequence[T], weights: Sequence[float] | None = None) -> T: ...


class RandomSource:
    """`_Source` backed by `random.Random`; implemented on `random()` only so it is stable."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def chance(self, p: float) -> bool:
        return self._rng.random() < p

    def integer(self, lo: int, hi: int) -> int:
        return lo + int(self._rng.random() * (hi - lo + 1))

    def pick(self, options: Sequence[T], weights: Sequence[float] | None = None) -> T:
        if weights is None:
            return options[int(self._rng.random() * len(options))]
        target = self._rng.random() * sum(weights)
        for option, weight in zip(options, weights, strict=True):
            if target < weight:
                return option
            target -= weight
        return options[-1]


@dataclass(frozen=True)
class GeneratorSettings:
    """Knobs of the generator (see `generate_exams` for their meaning)."""

    nt_rate: float = 0.15
    flag_rate: float = 0.10
    nonkey_rate: float = 0.15
    anal_nt_rate: float = 0.03
    pattern_weights: tuple[tuple[str, float], ...] = tuple(DEFAULT_PATTERN_WEIGHTS.items())

    def __post_init__(self) -> None:
        for name in ("nt_rate", "flag_rate", "nonkey_rate", "anal_nt_rate"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                raise ValueError(f"{name}: {value!r} is not allowed; expected a number in [0, 1]")
        weights = dict(self.pattern_weights)
        unknown = sorted(set(weights) - set(PATTERNS))
        if unknown:
            raise ValueError(
                f"pattern_weights: unknown pattern(s) {unknown}; allowed: {', '.join(PATTERNS)}"
            )
        if any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
            raise ValueError(
                f"pattern_weights: {weights!r} is not allowed; weights must be >= 0, "
                "with at least one > 0"
            )


# --- one side of the lesion ---------------------------------------------------------------


def _clamp(i: int, lo: int, hi: int) -> int:
    return max(lo, min(hi, i))


def _sensory_side(src: _Source, pattern: str, level: int) -> tuple[list[int], list[int]]:
    """Touch and prick grades (0..2) for the 28 dermatomes of one side.

    `level` is the segment index of the sensory level: dermatome j (C2 = 0) is normal when
    j < level; dermatome `level` is the first impaired one.
    """
    touch = [2] * len(DERMATOMES)
    prick = [2] * len(DERMATOMES)
    if pattern == "normal" or level >= len(DERMATOMES):
        return touch, prick
    if pattern in ("complete", "sensory_incomplete"):
        # Zone of partial preservation: a few partially innervated dermatomes, then nothing.
        zone = src.pick((0, 1, 2, 3, 5), (3, 4, 3, 2, 1))
        for j in range(level, len(DERMATOMES)):
            inside = j - level < zone
            touch[j] = src.pick((0, 1, 2), (1, 4, 1)) if inside else 0
            prick[j] = src.pick((0, 1), (2, 3)) if inside else 0
        if pattern == "sensory_incomplete" and src.chance(0.3):
            # Patchy sacral sensation without continuity with the lesion.
            for j in range(len(DERMATOMES) - 3, len(DERMATOMES) - 1):
                touch[j] = src.pick((0, 1), (1, 1))
                prick[j] = src.pick((0, 1), (3, 1))
    else:
        # Incomplete lesions: mixed sensation below the level, prick usually worse than touch.
        if pattern == "motor_incomplete_weak":
            weights_t, weights_p = (3, 5, 2), (5, 4, 1)
        elif pattern == "motor_incomplete_strong":
            weights_t, weights_p = (1, 4, 5), (2, 5, 3)
        else:  # near_normal
            weights_t, weights_p = (0.2, 2, 8), (0.5, 3, 7)
        for j in range(level, len(DERMATOMES)):
            touch[j] = src.pick((0, 1, 2), weights_t)
            prick[j] = src.pick((0, 1, 2), weights_p)
    # The first dermatome below the level is impaired in at least one modality.
    if touch[level] == 2 and prick[level] == 2:
        if src.chance(0.5):
            touch[level] = 1
        else:
            prick[level] = src.pick((0, 1))
    return touch, prick


def _motor_side(src: _Source, pattern: str, level: int) -> list[int]:
    """Grades (0..5) for the 10 key muscles of one side; `level` is the motor segment index."""
    grades: list[int] = []
    below = 0  # key muscles met so far below the level, for the fall-off
    previous = 5
    for muscle in KEY_MUSCLES:
        seg = _KEY_INDEX[muscle]
        if pattern == "normal" or seg < level:
            grade = 5
        elif seg == level:
            grade = src.pick((3, 4, 5), (3, 3, 1))  # the motor level's own muscle is >= 3
        else:
            below += 1
            distance = seg - level
            if pattern in ("complete", "sensory_incomplete"):
                # Motor ZPP: some activity within three segments, rarely a flicker further down
                # (which, with sacral sparing, makes a motor incomplete C rather than B).
                if distance <= 3 and src.chance(0.5):
                    grade = src.pick((1, 2, 3), (4, 3, 1))
                elif src.chance(0.04):
                    grade = src.pick((1, 2))
                else:
                    grade = 0
            elif pattern == "motor_incomplete_weak":
                grade = src.pick((0, 1, 2, 3, 4), (3, 2.5, 2.5, 1.2, 0.8))
            elif pattern == "motor_incomplete_strong":
                grade = src.pick((0, 1, 2, 3, 4, 5), (0.5, 0.5, 1, 3, 3.5, 1.5))
            else:  # near_normal
                grade = src.pick((3, 4, 5), (1, 4, 5))
            # Plausible gradient: not much stronger than the muscle above it.
            if pattern != "near_normal" and below > 1:
                grade = min(grade, previous + 1)
        grades.append(grade)
        previous = grade
    return grades


def _anal(
    src: _Source, pattern: str, touch_s45: list[int], prick_s45: list[int]
) -> tuple[str, str]:
    """VAC and DAP for a pattern, consistent with the S4-5 sensation drawn (mostly)."""
    if src.chance(0.05):  # occasionally anything, to reach unusual combinations
        return src.pick(("Yes", "No")), src.pick(("Yes", "No"))
    sacral = any(v > 0 for v in touch_s45 + prick_s45)
    if pattern == "normal":
        return "Yes", "Yes"
    if pattern == "complete":
        return "No", "No"
    if pattern == "sensory_incomplete":
        return "No", ("Yes" if (not sacral or src.chance(0.6)) else "No")
    if pattern == "near_normal":
        return ("Yes" if src.chance(0.9) else "No"), ("Yes" if src.chance(0.95) else "No")
    vac = "Yes" if src.chance(0.6 if pattern == "motor_incomplete_weak" else 0.8) else "No"
    dap = "Yes" if (src.chance(0.8) or not sacral and vac == "No") else "No"
    return vac, dap


# --- the exam -----------------------------------------------------------------------------


def build_exam(src: _Source, settings: GeneratorSettings) -> dict[str, str]:
    """One clinically shaped exam in RHI naming (no `id`), drawing every choice from `src`."""
    names, weights = zip(*settings.pattern_weights, strict=True)
    pattern = src.pick(names, weights)

    level_weights = _NEAR_NORMAL_LEVEL_WEIGHTS if pattern == "near_normal" else _LEVEL_WEIGHTS
    base = src.pick(range(len(SEGMENTS) - 1), level_weights)

    sides: dict[str, dict[str, list[int]]] = {}
    motor_levels: dict[str, int] = {}
    for side in SIDES:
        # Sides and modalities need not agree: asymmetric lesions and motor/sensory mismatch.
        sensory_level = _clamp(base + src.pick((0, 1, -1, 2), (6, 2, 1, 1)), 0, len(SEGMENTS) - 2)
        motor_level = _clamp(sensory_level + src.pick((0, 1, -1, 2), (6, 2, 1, 1)), 0, 27)
        touch, prick = _sensory_side(src, pattern, sensory_level)
        sides[side] = {
            "touch": touch,
            "prick": prick,
            "motor": _motor_side(src, pattern, motor_level),
        }
        motor_levels[side] = motor_level

    # Sensory incomplete requires sacral sparing somewhere; make sure there is some.
    if pattern == "sensory_incomplete" and src.chance(0.7):
        side = src.pick(SIDES)
        if src.chance(0.5):
            sides[side]["touch"][-1] = src.pick((1, 2), (3, 1))
        else:
            sides[side]["prick"][-1] = 1
    if pattern in ("motor_incomplete_weak", "motor_incomplete_strong") and src.chance(0.3):
        for side in SIDES:  # sacral sparing is usual in motor incomplete lesions
            sides[side]["touch"][-1] = max(sides[side]["touch"][-1], 1)

    s45 = [sides[s]["touch"][-1] for s in SIDES], [sides[s]["prick"][-1] for s in SIDES]
    vac, dap = _anal(src, pattern, *s45)

    cells: dict[str, str] = {"analContraction": vac, "analSensation": dap}
    for j, derm in enumerate(DERMATOMES):
        for side in SIDES:
            cells[f"{derm}{side}Touch"] = str(sides[side]["touch"][j])
        for side in SIDES:
            cells[f"{derm}{side}Prick"] = str(sides[side]["prick"][j])
        if derm in KEY_MUSCLES:
            k = KEY_MUSCLES.index(derm)
            for side in SIDES:
                cells[f"{derm}{side}Motor"] = str(sides[side]["motor"][k])

    if src.chance(settings.nt_rate):
        _add_not_testable(src, cells)
    for key in ("analContraction", "analSensation"):
        if src.chance(settings.anal_nt_rate):
            cells[key] = "NT"
    if src.chance(settings.flag_rate):
        _add_flags(src, cells)
    nonkey_p = min(1.0, settings.nonkey_rate * (3 if pattern == "sensory_incomplete" else 1))
    for side in SIDES:
        if src.chance(nonkey_p):
            cells[f"{side.lower()}LowestNonKeyMuscleWithMotorFunction"] = _non_key_level(
                src, motor_levels[side]
            )
    return cells


def _non_key_level(src: _Source, motor_level: int) -> str:
    """A lowest non-key muscle level, usually below the motor level (where it matters)."""
    below = [m.upper() for m in KEY_MUSCLES if _KEY_INDEX[m] > motor_level]
    if below and src.chance(0.85):
        return src.pick(below)
    return src.pick(NON_KEY_LEVELS)


def _cell_names(side: str, kind: str) -> list[str]:
    if kind == "Motor":
        return [f"{m}{side}Motor" for m in KEY_MUSCLES]
    return [f"{d}{side}{kind}" for d in DERMATOMES]


def _add_not_testable(src: _Source, cells: dict[str, str]) -> None:
    """1-3 plausible reasons for not testing: a cell, a run of dermatomes, a limb, sacral exam."""
    for _ in range(src.pick((1, 2, 3), (6, 3, 1))):
        side = src.pick(SIDES)
        kind = src.pick(("cell", "run", "limb", "sacral"), (5, 2, 1.5, 1.5))
        if kind == "cell":
            modality = src.pick(("Touch", "Prick", "Motor"))
            cells[src.pick(_cell_names(side, modality))] = "NT"
        elif kind == "run":
            modalities = src.pick((("Touch",), ("Prick",), ("Touch", "Prick")))
            start = src.integer(0, len(DERMATOMES) - 2)
            length = src.integer(2, 5)
            for modality in modalities:
                for name in _cell_names(side, modality)[start : start + length]:
                    cells[name] = "NT"
        elif kind == "limb":  # e.g. a cast or a splint: a limb's key muscles
            muscles = _cell_names(side, "Motor")
            first, last = src.pick(((0, 5), (5, 10)))
            for name in muscles[first:last]:
                if src.chance(0.7):
                    cells[name] = "NT"
        else:  # sacral exam not done
            for name in (f"s4_5{side}Touch", f"s4_5{side}Prick"):
                cells[name] = "NT"
            if src.chance(0.5):
                cells[src.pick(("analContraction", "analSensation"))] = "NT"


def _add_flags(src: _Source, cells: dict[str, str]) -> None:
    """1-2 cells impaired by something other than the spinal cord injury, marked * or **.

    `**` (consider normal) typically marks a low value above the lesion, e.g. a peripheral
    nerve injury; `*` (consider not normal) a value the examiner does not trust as normal.
    Normal grades (sensory 2, motor 5) cannot carry a flag, so a flagged normal cell is first
    lowered, as the other condition would have done.
    """
    for _ in range(src.pick((1, 2), (3, 1))):
        side = src.pick(SIDES)
        modality = src.pick(("Touch", "Prick", "Motor"), (1, 1, 2))
        name = src.pick(_cell_names(side, modality))
        value = cells[name]
        star = src.pick(("**", "*"), (3, 2))
        if value == "NT":
            cells[name] = "NT" + star
            continue
        if value.endswith("*"):
            continue  # already flagged
        grade = int(value)
        top = 5 if modality == "Motor" else 2
        if grade == top:
            grade = src.integer(0, top - 1)
        cells[name] = f"{grade}{star}"


def exam_at(seed: int, index: int, settings: GeneratorSettings | None = None) -> dict[str, str]:
    """Exam number `index` of `seed`, without its `id` (same as in `generate_exams`)."""
    rng = random.Random(f"cordtrial-synthetic:{seed}:{index}")
    return build_exam(RandomSource(rng), settings or GeneratorSettings())


def iter_exams(
    n: int,
    seed: int,
    *,
    nt_rate: float = 0.15,
    flag_rate: float = 0.10,
    nonkey_rate: float = 0.15,
    anal_nt_rate: float = 0.03,
    pattern_weights: dict[str, float] | None = None,
    id_prefix: str | None = "syn",
) -> Iterator[dict[str, str]]:
    """Lazily yield `n` exams; see `generate_exams`."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n: {n!r} is not allowed; expected an integer >= 0")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed: {seed!r} is not allowed; expected an integer")
    settings = GeneratorSettings(
        nt_rate=nt_rate,
        flag_rate=flag_rate,
        nonkey_rate=nonkey_rate,
        anal_nt_rate=anal_nt_rate,
        pattern_weights=tuple((pattern_weights or DEFAULT_PATTERN_WEIGHTS).items()),
    )
    for i in range(n):
        exam = exam_at(seed, i, settings)
        if id_prefix is not None:
            exam = {"id": f"{id_prefix}-{seed}-{i}", **exam}
        yield exam


def generate_exams(
    n: int,
    seed: int,
    *,
    nt_rate: float = 0.15,
    flag_rate: float = 0.10,
    nonkey_rate: float = 0.15,
    anal_nt_rate: float = 0.03,
    pattern_weights: dict[str, float] | None = None,
    id_prefix: str | None = "syn",
) -> list[dict[str, str]]:
    """`n` clinically shaped synthetic exams in RHI naming, reproducible from `seed`.

    - `nt_rate`: fraction of exams with not-testable cells (1-3 events: a cell, a run of
      dermatomes, a limb's key muscles, or the sacral exam).
    - `flag_rate`: fraction of exams with 1-2 cells flagged `*` or `**`.
    - `nonkey_rate`: per-side chance of a lowest non-key muscle with motor function (tripled
      for sensory incomplete lesions, where it can decide B against C).
    - `anal_nt_rate`: per-item chance that VAC or DAP is not testable.
    - `pattern_weights`: relative weights of `PATTERNS` (default `DEFAULT_PATTERN_WEIGHTS`).
    - `id_prefix`: each exam gets `id` = "<prefix>-<seed>-<index>"; None for no `id`.

    Exam *i* depends only on (seed, i, settings), so a smaller `n` gives a prefix.
    """
    return list(
        iter_exams(
            n,
            seed,
            nt_rate=nt_rate,
            flag_rate=flag_rate,
            nonkey_rate=nonkey_rate,
            anal_nt_rate=anal_nt_rate,
            pattern_weights=pattern_weights,
            id_prefix=id_prefix,
        )
    )
