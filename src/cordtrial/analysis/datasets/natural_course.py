"""One synthetic patient's course WITHOUT treatment: the single natural-history model behind the
example trial (``make_example``) and the store's demo trial (``cordtrial.store.demo``).

Pure (no I/O): a seeded generator in, a ``Course`` out; ``Course.exam`` draws one exam's scores.
The model, each part with its source (natural-history.md):

- AIS grade by one year: the default reference rates (van Middendorp 2009; >= 2 grades from B:
  Marino 2011), on a conversion day drawn from ``natural_history.recovery_fraction`` (the timing
  the comparator assumes).
- Indoor walking by one year: drawn from the van Middendorp 2011 rule applied to the first exam's
  L3/S1 items (the rule the walking section checks); a walker always ends motor incomplete. The
  walking day is drawn like a conversion day.
- Motor levels gained by one year: 0/1/2 with 30/40/30 % (Steeves 2011: >= 1 level in up to 70 %,
  >= 2 in 30 %, cervical sensorimotor complete), each level on a day drawn like a conversion.
- UEMS, LEMS, light touch, pin prick: the EMSCI mean curve of the score, population and baseline
  grade (``emsci_means.csv``), with each patient's own level, size and speed of recovery and exam
  noise (twice as large in the first week: spinal shock). LEMS of a motor-complete tetraplegic
  patient stays 0 until conversion to C/D and then jumps (sized so that the mean at one year is
  EMSCI's); light touch and pin prick gain a few points of sacral sparing when AIS A converts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from cordtrial.analysis import natural_history as nh
from cordtrial.analysis import walking
from cordtrial.analysis.tables import AIS_GRADES

CERVICAL = ("C3", "C4", "C5", "C6", "C7")
CERVICAL_AND_BELOW = CERVICAL + ("C8", "T1", "T2")
THORACIC = ("T4", "T6", "T8", "T10")
THORACIC_AND_BELOW = THORACIC + ("T11", "T12", "L1")
ONE_YEAR = 364
NEVER = 10_000  # the day of an event that does not happen within the model's horizon
# Motor levels gained by one year: 0, 1, 2 (Steeves 2011 via natural-history.md s.3: >= 1 level
# in up to 70 %, >= 2 in 30 %). Used for every grade: no other source in the references.
LEVEL_GAIN_P = (0.30, 0.40, 0.30)
# Grades gained before a patient can walk: a walker is motor incomplete (C or better) at one year.
STEPS_TO_WALK = {"A": 2, "B": 1, "C": 0, "D": 0}


@dataclass(frozen=True)
class Knobs:
    """What the synthetic natural history looks like (defaults: the shipped example)."""

    mix: tuple[str, ...] = ("A",) * 6 + ("B",) * 2 + ("C",) * 5
    paraplegia_share: float = 0.0  # the model study enrolled cervical injuries only
    speed_sd: float = 0.3  # log-normal SD of each patient's recovery time scale
    gain_sd: float = 0.35  # log-normal SD of each patient's size of recovery
    level_sd_share: float = 0.5  # patient level offset, as a share of the EMSCI week-2 SD
    exam_noise: dict[str, float] = field(
        default_factory=lambda: {"uems": 1.5, "lems": 1.5, "lt_total": 4.0, "pp_total": 4.0}
    )
    early_noise_factor: float = 2.0  # exams in the first 7 days (spinal shock)
    # Points added to a score on every exam after the infusion (a planted effect; none by default).
    effect: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ExamState:
    """What one exam on ``day`` shows: grade, the four scores (rounded), motor level, walking."""

    day: int
    grade: str
    scores: dict[str, float]
    motor_level: str
    walks: bool


@dataclass(frozen=True)
class Course:
    """One patient's natural course, drawn once by ``draw_course``."""

    ais0: str
    tetraplegia: bool
    age: int
    first_day: int
    knobs: Knobs
    speed: float
    level: dict[str, float]  # patient's offset from the EMSCI mean, per score
    gain: dict[str, float]  # patient's size of recovery relative to the EMSCI mean, per score
    first_items: dict[str, float]  # L3/S1 'motor' and light 'touch' at the first exam
    p_walk: float  # van Middendorp 2011 at the first exam
    walker: bool
    final: str  # grade at one year
    conversion_day: int
    motor_incomplete_day: int
    walk_day: int
    lems_1y: float  # LEMS at one year after a motor-complete patient converts
    level_days: tuple[int, ...]
    nli: str
    sacral: float  # sensory points of sacral sparing when AIS A converts

    @property
    def motor_complete(self) -> bool:
        """Tetraplegic and motor complete at baseline: LEMS 0 until conversion to C/D."""
        return self.tetraplegia and self.ais0 in ("A", "B")

    def grade_on(self, day: float) -> str:
        return self.final if day >= self.conversion_day else self.ais0

    def motor_level_on(self, day: float) -> str:
        levels = CERVICAL_AND_BELOW if self.tetraplegia else THORACIC_AND_BELOW
        moved = sum(1 for ld in self.level_days if ld <= day)
        return levels[levels.index(self.nli) + moved]

    def walks_on(self, day: float) -> bool:
        return day >= self.walk_day

    def mean_score(self, score: str, day: float) -> float:
        """The score on ``day`` without exam noise or planted effect (not rounded)."""
        if score == "uems" and not self.tetraplegia:
            return nh.CURVE_SCORES["uems"]  # arms unaffected in paraplegia (EMSCI: 50 throughout)
        if score == "lems" and self.motor_complete:
            if day < self.motor_incomplete_day:
                return 0.0  # motor complete below a cervical level
            mi = self.motor_incomplete_day
            h = np.log(day / mi) / max(np.log(ONE_YEAR / mi), 1e-9)
            v = self.lems_1y * (0.4 + 0.6 * float(np.clip(h, 0, 1)))
        else:
            v = _curve_value(score, self.ais0, self.tetraplegia, day, self)
        if score in ("lt_total", "pp_total") and self.ais0 == "A" and self.grade_on(day) != "A":
            v += self.sacral  # sacral sensory sparing appears when AIS A converts
        return v

    def exam(self, rng: np.random.Generator, day: int, post: bool = False) -> ExamState:
        """One exam on ``day`` (days since injury): the course plus exam noise (and the planted
        effect of ``Knobs.effect`` when ``post``, i.e. after the infusion)."""
        early = self.knobs.early_noise_factor if day < 7 else 1.0
        scores = {}
        for score, hi in nh.CURVE_SCORES.items():
            v = self.mean_score(score, day)
            fixed = (score == "uems" and not self.tetraplegia) or (
                score == "lems" and self.motor_complete and day < self.motor_incomplete_day
            )
            if fixed:
                scores[score] = float(v)
                continue
            effect = self.knobs.effect.get(score, 0.0) if post else 0.0
            v += rng.normal(0, self.knobs.exam_noise[score] * early) + effect
            scores[score] = float(np.clip(round(v), 0, hi))
        return ExamState(
            day, self.grade_on(day), scores, self.motor_level_on(day), self.walks_on(day)
        )


def draw_course(
    rng: np.random.Generator,
    ais0: str,
    *,
    tetraplegia: bool,
    age: int,
    first_day: int,
    knobs: Knobs | None = None,
    nli_choices: tuple[str, ...] | None = None,
) -> Course:
    """Draw one patient's course from baseline grade ``ais0`` at the first exam (``first_day``
    after injury). ``nli_choices``: the levels to draw the injury level from (default C3-C7 for
    tetraplegia, T4-T10 for paraplegia)."""
    knobs = knobs or Knobs()
    speed = float(np.exp(rng.normal(0, knobs.speed_sd)))
    level, gain = {}, {}
    pop = nh.population_of(tetraplegia)
    for score in nh.CURVE_SCORES:
        sd2 = np.nan_to_num(nh.stage_sd(score, pop, ais0, 2))
        level[score] = float(rng.normal(0, knobs.level_sd_share * sd2))
        g = knobs.gain_sd
        gain[score] = float(np.exp(rng.normal(-g * g / 2, g)))
    shape = _Shape(speed, level, gain)

    # First exam, walking by one year (van Middendorp 2011 at the first exam), one-year grade.
    motor_complete = tetraplegia and ais0 in ("A", "B")
    lems_first = (
        0.0 if motor_complete else _curve_value("lems", ais0, tetraplegia, first_day, shape)
    )
    first = _first_exam_items(rng, ais0, max(0.0, lems_first))
    p_walk = walk_probability(age, first)
    walker = bool(rng.random() < p_walk)
    probs = _steps_probabilities(ais0, tetraplegia)
    need = STEPS_TO_WALK[ais0]
    steps = _one_year_steps(rng, probs, need, p_walk, walker)
    final = AIS_GRADES[AIS_GRADES.index(ais0) + steps]
    conv_day = _event_day(rng, ais0, first_day) if steps else NEVER
    if not motor_complete:
        mi_day = 0
    else:
        mi_day = conv_day if final in ("C", "D", "E") else NEVER
    walk_day = _event_day(rng, ais0, max(first_day, mi_day)) if walker else NEVER
    # LEMS after a motor-complete patient converts: a jump to 40 % of the one-year value, then a
    # rise in log time; the size makes the one-year mean EMSCI's (mean / P(motor incomplete)).
    lems_1y = 0.0
    if motor_complete:
        p_mi = float(probs[need:].sum()) if need else 1.0
        target = nh.expected_score("lems", ais0, tetraplegia, ONE_YEAR) / max(p_mi, 1e-6)
        lems_1y = min(50.0, target * gain["lems"])
        if walker:
            lems_1y = max(lems_1y, 30.0)
    levels = int(rng.choice(3, p=LEVEL_GAIN_P))
    level_days = tuple(sorted(_event_day(rng, ais0, first_day) for _ in range(levels)))
    nli_choices = nli_choices or (CERVICAL if tetraplegia else THORACIC)
    nli = str(rng.choice(nli_choices))
    sacral = float(rng.integers(1, 5))
    return Course(
        ais0=ais0,
        tetraplegia=tetraplegia,
        age=age,
        first_day=first_day,
        knobs=knobs,
        speed=speed,
        level=level,
        gain=gain,
        first_items=first,
        p_walk=p_walk,
        walker=walker,
        final=final,
        conversion_day=conv_day,
        motor_incomplete_day=mi_day,
        walk_day=walk_day,
        lems_1y=lems_1y,
        level_days=level_days,
        nli=nli,
        sacral=sacral,
    )


def side_items(grade: str, lems: float, first: dict[str, float] | None) -> dict[str, float]:
    """L3 and S1 key muscles and light touch per side: the first exam's (``first``, which the
    walking rules read) or, later, consistent with the grade and LEMS."""
    lm = float(np.clip(round(lems / 10), 0, 5)) if first is None else first["motor"]
    if first is not None:
        touch = first["touch"]
    else:
        touch = 0.0 if grade == "A" else (1.0 if grade == "B" else (2.0 if lems > 10 else 1.0))
    return {
        "l3_motor_right": lm,
        "l3_motor_left": max(0.0, lm - 1),
        "s1_motor_right": max(0.0, lm - 1),
        "s1_motor_left": max(0.0, lm - 1),
        "l3_touch_right": touch,
        "l3_touch_left": max(0.0, touch - 1),
        "s1_touch_right": touch,
        "s1_touch_left": max(0.0, touch - 1),
    }


def walk_probability(age: int, items: dict[str, float]) -> float:
    """van Middendorp 2011 on the better side of ``side_items(.., first=items)``."""
    rule = walking.rules()["van_middendorp_2011"]
    m, t = items["motor"], items["touch"]
    s1m = max(0.0, m - 1)  # S1 motor as side_items sets it; touch is the same on L3 and S1
    return rule.probability(rule.score(age, m, s1m, t, t))


def scim_mobility_indoors(lems: float, walks: bool) -> int:
    """SCIM III item 12 (0-8): >= 4 (walking) exactly when the patient walks indoors; higher with
    stronger legs. A crude synthetic link for a plausible demo, not a validated model."""
    return int(np.clip(round(4 + lems / 12), 4, 8)) if walks else int(min(3, lems // 10))


def wisci_levels(lems: float, walks: bool) -> tuple[int, int]:
    """WISCI II (maximum, self-selected): 0 when not walking, else rising with LEMS (synthetic)."""
    top = int(np.clip(round(6 + lems / 4), 6, 20)) if walks else 0
    return top, max(0, top - 2)


@dataclass(frozen=True)
class _Shape:
    """The parts of a course that ``_curve_value`` reads (while the course is being drawn)."""

    speed: float
    level: dict[str, float]
    gain: dict[str, float]


@lru_cache(maxsize=8)
def _fraction_grid(ais: str) -> tuple[np.ndarray, np.ndarray]:
    """Days 14..364 and the share of the one-year change reached (inverse-CDF sampling)."""
    days = np.arange(14, ONE_YEAR + 1)
    return days, np.array([nh.recovery_fraction(float(d), ais, 14.0) for d in days])


def _event_day(rng: np.random.Generator, ais: str, after: int) -> int:
    """A day in (after, 364] for an event that accrues like the recovery fraction (the timing
    the comparator assumes), drawn conditionally on not having happened by ``after``."""
    days, frac = _fraction_grid(ais)
    f0 = float(np.interp(after, days, frac))
    u = f0 + rng.random() * (1.0 - f0)
    return max(after + 1, int(days[min(np.searchsorted(frac, u), len(days) - 1)]))


@lru_cache(maxsize=16)
def _steps_probabilities(grade: str, tetraplegia: bool) -> np.ndarray:
    """P(0, 1, 2 grades gained by one year) from the default reference (never past E)."""
    ref = nh.DEFAULT_REFERENCE.get(f"{grade}:paraplegia" if not tetraplegia else grade)
    ref = ref or nh.DEFAULT_REFERENCE[grade]
    r1 = nh.reference_rate(ref, "ge1_grade").rate
    # >= 2 grades: the reference's own figure; B from Marino 2011 (B -> D 37 %) as vM 2009 has
    # none; thoracic A keeps van Middendorp's share of two-grade conversions (11.8 of 26.1).
    if grade == "B":
        r2 = nh.reference_rate("marino2011_B", "ge2_grades").rate
    elif grade == "A" and ref != nh.DEFAULT_REFERENCE["A"]:
        a = nh.DEFAULT_REFERENCE["A"]
        r2 = r1 * nh.reference_rate(a, "ge2_grades").rate / nh.reference_rate(a).rate
    else:
        try:
            r2 = nh.reference_rate(ref, "ge2_grades").rate
        except KeyError:
            r2 = 0.0
    top = len(AIS_GRADES) - 1 - AIS_GRADES.index(grade)
    r2 = min(r2, r1) if top >= 2 else 0.0
    return np.array([1 - r1, r1 - r2, r2])


def _one_year_steps(
    rng: np.random.Generator, probs: np.ndarray, need: int, p_walk: float, walker: bool
) -> int:
    """Grades gained by one year with marginal ``probs``, given walking status: a walker gains at
    least ``need``; non-walkers take the rest of that mass, so the marginal is ``probs`` whenever
    P(walk) <= P(>= need grades) (else walking wins and conversion is a little more common)."""
    at_least = np.arange(3) >= need
    if walker:
        w = np.where(at_least, probs, 0.0)
    else:
        share = np.where(at_least, probs / max(float(probs[at_least].sum()), 1e-12), 0.0)
        w = np.clip(probs - p_walk * share, 0.0, None)
    return int(rng.choice(3, p=w / w.sum()))


def _curve_value(score: str, ais: str, tetra: bool, day: float, shape: _Shape | Course) -> float:
    """Patient's natural course of a score: EMSCI mean of the grade at a stretched time, with
    the patient's level and size of recovery."""
    e14 = nh.expected_score(score, ais, tetra, 14.0)
    e = nh.expected_score(score, ais, tetra, day * shape.speed)
    return e14 + shape.level[score] + shape.gain[score] * (e - e14)


def _first_exam_items(rng: np.random.Generator, grade: str, lems: float) -> dict[str, float]:
    """L3/S1 key muscles and light touch (better side) consistent with the grade and LEMS."""
    if grade in ("A", "B"):
        motor = 0.0
        touch = 0.0 if grade == "A" else float(rng.choice([0, 1], p=[0.3, 0.7]))
    else:
        motor = float(np.clip(round(lems / 10 + rng.normal(0, 0.7)), 0, 5))
        touch = float(rng.choice([1, 2], p=[0.6, 0.4]) if lems > 5 else 1)
    return {"motor": motor, "touch": touch}
