"""The demo trial's records from a natural course: ISNCSCI worksheets and functional instruments.

Pure (no database). ``worksheet`` writes an exam in RHI naming that the ISNCSCI engine classifies
to the intended grade, neurological level and motor level, with totals at the intended UEMS,
LEMS, light touch and pin prick wherever the 2019 definitions allow them together (else the
nearest they allow), and with the first exam's L3/S1 items exactly as the walking rule was given
them. The instruments follow the same course: SCIM III item 12 >= 4 exactly when the patient
walks indoors, WISCI II 0 when not walking (``analysis.datasets.natural_course``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cordtrial.analysis.datasets.natural_course import (
    CERVICAL_AND_BELOW,
    Course,
    ExamState,
    scim_mobility_indoors,
    wisci_levels,
)

KEY_MUSCLES = ("c5", "c6", "c7", "c8", "t1", "l2", "l3", "l4", "l5", "s1")
DERMATOMES = (
    "c2", "c3", "c4", "c5", "c6", "c7", "c8",
    "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9", "t10", "t11", "t12",
    "l1", "l2", "l3", "l4", "l5", "s1", "s2", "s3", "s4_5",
)  # fmt: skip
SIDES = ("Right", "Left")
# Neurological levels the demo's worksheets use: levels with a key muscle, so the motor level is
# pinned by a muscle grade (C3/C4 motor levels follow sensation instead).
DEMO_LEVELS = ("C5", "C6", "C7")
T1 = KEY_MUSCLES.index("t1")


@dataclass(frozen=True)
class ExamTarget:
    """What one worksheet should classify to."""

    nli: str  # c5, c6 or c7: neurological and sensory level
    motor_level: str  # c5..t1, at or below the NLI (moved up if the UEMS cannot carry it)
    grade: str  # A-D
    uems: float
    lems: float
    lt_total: float
    pp_total: float
    items: dict[str, float] | None = None  # fixed L3/S1 motor and touch (natural_course.side_items)


def demo_nli(course: Course) -> str:
    """The course's level (C5-C7), moved up until the expected scores at the first exam can carry
    it: each arm needs 5 points per key muscle above the level and 3 at it, each side and
    modality 2 points per dermatome from C2 to the level."""
    mean = {s: course.mean_score(s, course.first_day) for s in ("uems", "lt_total", "pp_total")}
    k = KEY_MUSCLES.index(course.nli.lower())
    while k > 0 and (
        2 * (5 * k + 3) > mean["uems"]
        or 4 * (DERMATOMES.index(KEY_MUSCLES[k]) + 1) > min(mean["lt_total"], mean["pp_total"])
    ):
        k -= 1
    return KEY_MUSCLES[k]


def exam_target(
    course: Course, nli: str, state: ExamState, items: dict[str, float] | None
) -> ExamTarget:
    """The worksheet target for ``state``: the course's motor levels gained, counted from the
    demo's level, stay within the arms (T1 at most)."""
    moved = CERVICAL_AND_BELOW.index(state.motor_level) - CERVICAL_AND_BELOW.index(course.nli)
    ml = KEY_MUSCLES[min(T1, KEY_MUSCLES.index(nli) + max(0, moved))]
    s = state.scores
    return ExamTarget(
        nli, ml, state.grade, s["uems"], s["lems"], s["lt_total"], s["pp_total"], items
    )


def worksheet(t: ExamTarget) -> dict[str, str]:
    """The exam in RHI naming (ISNCSCI 2019 definitions; motor incomplete by voluntary anal
    contraction in C and D, sensory incomplete by deep anal pressure in B-D, nothing sacral in A)."""
    rhi: dict[str, str] = {}
    for side, values in _motor(t).items():
        rhi |= {f"{m}{side}Motor": str(v) for m, v in zip(KEY_MUSCLES, values, strict=True)}
    for kind, total in (("Touch", t.lt_total), ("Prick", t.pp_total)):
        for side, values in _sensory(t, kind, total).items():
            rhi |= {f"{d}{side}{kind}": str(v) for d, v in zip(DERMATOMES, values, strict=True)}
    rhi["analContraction"] = "Yes" if t.grade in ("C", "D") else "No"
    rhi["analSensation"] = "No" if t.grade == "A" else "Yes"
    return rhi


def _split(total: float) -> dict[str, int]:
    total = max(0, round(total))
    return {"Right": math.ceil(total / 2), "Left": total // 2}


def _fixed_lower(t: ExamTarget, side: str) -> dict[int, int]:
    if not t.items:
        return {}
    return {
        KEY_MUSCLES.index(seg): int(t.items[f"{seg}_motor_{side.lower()}"]) for seg in ("l3", "s1")
    }


def _motor(t: ExamTarget) -> dict[str, list[int]]:
    """Key muscles per side: 5 above the motor level, 3-4 at it (which pins it), then the rest
    of each limb's points spread rostral first. A and B: nothing more than three levels below the
    motor level. C: fewer than half the key muscles below the NLI at grade >= 3; D: at least
    half ("strong" muscles are given to the limbs with the most points to place)."""
    k_nli = KEY_MUSCLES.index(t.nli)
    complete = t.grade in ("A", "B")
    uems, lems = _split(t.uems), _split(t.lems)
    ml = {side: _motor_level(t, uems[side], k_nli) for side in SIDES}
    fixed = {side: _fixed_lower(t, side) for side in SIDES}
    below = 2 * (len(KEY_MUSCLES) - 1 - k_nli)

    def fixed_strong() -> int:
        n = 0
        for side in SIDES:
            n += (T1 - k_nli) if ml[side] is None else (ml[side] - k_nli)
            n += sum(v >= 3 for v in fixed[side].values())
        return n

    # AIS C: pull the motor level up while the muscles it fixes are half of those below the NLI.
    while t.grade == "C" and fixed_strong() >= below / 2:
        side = max(SIDES, key=lambda s: T1 if ml[s] is None else ml[s])
        if (T1 if ml[side] is None else ml[side]) <= k_nli:
            break
        ml[side] = (T1 if ml[side] is None else ml[side]) - 1

    values: dict[str, list[int]] = {}
    slots: dict[tuple[str, str], list[int]] = {}
    points: dict[tuple[str, str], int] = {}
    for side in SIDES:
        v = [0] * len(KEY_MUSCLES)
        m = ml[side]
        if m is None:  # every arm muscle normal: the motor level is T1
            v[: T1 + 1] = [5] * (T1 + 1)
            upper_slots, upper_points = [], 0
        else:
            v[:m] = [5] * m
            v[m] = 4 if uems[side] >= 5 * m + 4 else 3
            upper_slots = list(range(m + 1, T1 + 1))
            if complete:
                upper_slots = upper_slots[:3]
            upper_points = max(0, uems[side] - 5 * m - v[m])
        for i, x in fixed[side].items():
            v[i] = x
        lower_slots = [] if complete else [i for i in range(T1 + 1, 10) if i not in fixed[side]]
        values[side] = v
        slots[(side, "upper")], points[(side, "upper")] = upper_slots, upper_points
        slots[(side, "lower")] = lower_slots
        points[(side, "lower")] = max(0, lems[side] - sum(fixed[side].values()))

    tokens = _strong_tokens(t.grade, slots, points, below, fixed_strong())
    weak_top = 2 if t.grade == "C" else 5
    for g, idx in slots.items():
        _fill(values[g[0]], idx, tokens[g], points[g], weak_top)
    return values


def _motor_level(t: ExamTarget, u: int, k_nli: int) -> int | None:
    """Index of the side's motor level (None: all arm muscles 5, i.e. T1 with a normal T1)."""
    if u >= 25:
        return None
    m = min(KEY_MUSCLES.index(t.motor_level), (u - 3) // 5)
    return max(m, k_nli)


def _strong_tokens(grade, slots, points, below: int, fixed: int) -> dict:
    """How many muscles of each limb get grade >= 3 at least (C: at most; D: enough for half)."""
    tokens = dict.fromkeys(slots, 0)
    most = below // 2 - 1 - fixed if grade == "C" else 0  # others: no cap on strong muscles
    least = max(0, math.ceil(below / 2) - fixed) if grade == "D" else 0

    def room(g):
        return tokens[g] < len(slots[g])

    def capacity(g):
        return 5 * tokens[g] + 2 * (len(slots[g]) - tokens[g])

    for _ in range(least):  # D: at least half strong, where the points are
        open_ = [g for g in slots if room(g)]
        if not open_:
            break
        tokens[max(open_, key=lambda g: points[g] - 3 * tokens[g])] += 1
    while sum(tokens.values()) < max(most, least):  # then where points do not fit otherwise
        short = [g for g in slots if room(g) and points[g] > capacity(g)]
        if not short:
            break
        tokens[max(short, key=lambda g: points[g] - capacity(g))] += 1
    return tokens


def _fill(values: list[int], idx: list[int], strong: int, points: int, weak_top: int) -> None:
    """Strong muscles (the rostral ``strong`` of ``idx``) start at 3; the points left go to them
    up to 5, then to the others up to ``weak_top`` (2 in AIS C), rostral first."""
    rem = points - 3 * strong
    for n, i in enumerate(idx):
        values[i] = 3 if n < strong else 0
    for n, i in enumerate(idx):
        top = 5 if n < strong else weak_top
        add = max(0, min(top - values[i], rem))
        values[i] += add
        rem -= add


def _sensory(t: ExamTarget, kind: str, total: float) -> dict[str, list[int]]:
    """One modality per side: normal down to the NLI, impaired just below it (which keeps the
    sensory level there), then points spread caudally as 1s, then upgraded to 2s, rostral first.
    S4-5: nothing in A; light touch at least 1 in B-D (sacral sparing)."""
    d = DERMATOMES.index(t.nli)
    sacral = len(DERMATOMES) - 1
    out = {side: [2] * (d + 1) + [0] * (len(DERMATOMES) - d - 1) for side in SIDES}
    cap = {i: 2 for i in range(d + 1, len(DERMATOMES))} | {d + 1: 1}
    if t.grade == "A":
        cap[sacral] = 0
    free = {side: dict(cap) for side in SIDES}
    if kind == "Touch" and t.grade != "A":
        for side in SIDES:
            out[side][sacral] = 1
    if kind == "Touch" and t.items:
        for side in SIDES:
            for seg in ("l3", "s1"):
                i = DERMATOMES.index(seg)
                out[side][i] = int(t.items[f"{seg}_touch_{side.lower()}"])
                free[side].pop(i)
    rem = round(total) - sum(sum(v) for v in out.values())
    for level in (1, 2):
        for i in range(d + 1, len(DERMATOMES)):
            for side in SIDES:
                if rem > 0 and i in free[side] and out[side][i] < min(level, free[side][i]):
                    rem -= min(level, free[side][i]) - out[side][i]
                    out[side][i] = min(level, free[side][i])
    return out


# -- instruments ---------------------------------------------------------------------------------


def _option(values: tuple, frac: float) -> int | str:
    frac = min(1.0, max(0.0, frac))
    return values[round(frac * (len(values) - 1))]


def scim_record(rng: np.random.Generator, state: ExamState) -> dict:
    """SCIM III items loosely tied to arm and leg strength (synthetic, not a validated model);
    the mobility items follow walking: item 12 from ``natural_course.scim_mobility_indoors``,
    longer distances and stairs no better than indoors, none of them walking when item 12 is
    not."""
    from cordtrial.instruments import INSTRUMENTS

    uems, lems, grade = state.scores["uems"], state.scores["lems"], state.grade
    arm, leg = uems / 50, lems / 50
    sphincter = {"A": 0.1, "B": 0.2, "C": 0.45, "D": 0.75, "E": 1.0}[grade]
    frac = {
        "feeding": arm,
        "bathing_upper": arm * 0.9,
        "bathing_lower": arm * 0.6,
        "dressing_upper": arm * 0.9,
        "dressing_lower": arm * 0.5,
        "grooming": arm,
        "respiration": 0.6 + 0.4 * arm,
        "bladder": sphincter,
        "bowel": sphincter,
        "toilet": (arm + leg) / 2,
        "bed_mobility": arm * 0.8,
        "transfer_bed_wheelchair": arm * 0.8,
        "transfer_wheelchair_toilet": arm * 0.7,
        "transfer_wheelchair_car": arm * 0.6,
        "transfer_ground_wheelchair": leg * 0.7,
    }
    items = INSTRUMENTS["scim3"].items
    out = {
        i.id: _option(i.allowed_values, frac[i.id] + rng.normal(0, 0.08))
        for i in items
        if i.id in frac
    }
    indoors = scim_mobility_indoors(lems, state.walks)
    moderate = min(indoors, max(0, indoors - int(rng.integers(0, 2))))
    if state.walks:
        moderate = max(4, moderate)
    out["mobility_indoors"] = indoors
    out["mobility_moderate"] = moderate
    out["mobility_outdoors"] = max(0, moderate - int(rng.integers(0, 2)))
    out["stairs"] = int(np.clip(round((lems - 20) / 10), 0, 3)) if state.walks else 0
    return {i.id: out[i.id] for i in items}


def wisci_record(state: ExamState) -> dict:
    top, chosen = wisci_levels(state.scores["lems"], state.walks)
    return {"self_selected": chosen, "maximum": top}


def nbd_record(rng: np.random.Generator, grade: str) -> dict:
    from cordtrial.instruments import INSTRUMENTS

    severity = {"A": 0.8, "B": 0.7, "C": 0.45, "D": 0.25, "E": 0.1}[grade]
    out = {}
    for item in INSTRUMENTS["nbd"].items:
        values = item.allowed_values
        if item.id == "faecal_incontinence_frequency":  # listed from most to least frequent
            values = tuple(reversed(values))
        out[item.id] = _option(values, severity + rng.normal(0, 0.2))
    return out


def lutf_record(grade: str) -> dict:
    complete = grade in ("A", "B")
    method = {
        "A": "intermittent_self_catheterisation",
        "B": "intermittent_self_catheterisation",
        "C": "reflex_triggering",
    }.get(grade, "normal_voiding")
    return {
        "awareness_of_need_to_empty": "no" if complete else "yes",
        "main_emptying_method": method,
        "supplementary_emptying_methods": ["none"],
        # voluntary emptyings: none when catheterising, a few when reflex or normal voiding
        "voluntary_emptyings_per_day": {"A": 0, "B": 0, "C": 3}.get(grade, 6),
        "involuntary_leakage_last_3_months": "weekly" if complete else "monthly",
        "collecting_appliances": "no",
        "urinary_tract_drugs": "yes" if complete else "no",
        "urinary_tract_surgery": "no",
        "change_in_symptoms": "no",
    }
