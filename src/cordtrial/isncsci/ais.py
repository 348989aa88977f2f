"""ASIA Impairment Scale (AIS) grade.

ISNCSCI 2019:
- A: complete (no sacral sparing).
- B: sensory incomplete, motor complete: no VAC and no motor function more than three levels
  below the motor level on either side (key or non-key muscles, 2019 rule).
- C: motor incomplete and fewer than half of the key muscles below the single neurological level
  of injury (NLI) graded >= 3.
- D: motor incomplete and at least half of those key muscles graded >= 3.
- E: sensation and motor function normal in all segments (NLI intact).
Motor incomplete: VAC, or sacral sensory sparing with motor function more than three levels
below the motor level on that side. Star placement follows the reference; each rule below
names the probe exams it was inferred from (docs/isncsci-differential.md, sections 2 and 3b).
"""

from __future__ import annotations

import numpy as np

from .answers import (
    FALSE,
    NO,
    TRUE,
    Answers,
    Const,
    any_rows,
    columns_of,
    first_rows,
    groups_any,
    is_false,
    materialise,
    stack,
)
from .codes import BINARY_NT, KEY_LEVELS, MOTOR_NT, SENSORY_NT
from .completeness import injury_complete, sacral_sensory_sparing
from .levels import INT
from .motor_level import motor_level
from .nli import neurological_level
from .rule import Rule
from .sides import Exams, Possible, Result, Side
from .values import (
    BINARY,
    CONSIDER_NORMAL,
    MOTOR_CELLS,
    MOTOR_VALUES,
    NOT_NORMAL,
    SENSORY_VALUES,
    Answer,
    answer_table,
    motor_present,
)

GRADES = "ABCDE"
A, B, C, D, E = range(5)

#: This step's rule, as the explanation cites it.
RULE = Rule(
    "AIS grade",
    "A complete; B sensory incomplete and motor complete (no voluntary anal contraction, no motor function more than three levels below the motor level on either side, key or non-key muscles); C motor incomplete with fewer than half, D with at least half of the key muscles below the NLI graded at least 3; E normal.",
    "cordtrial.isncsci.ais",
)


def _function_for_grade(cell) -> tuple[Answer, ...]:
    """Motor function present, as the AIS uses it: a recorded 0* counts as no function only
    by assumption (the star goes with "none")."""
    if cell.flag == NOT_NORMAL and cell.grade == 0:
        return (Answer(True), Answer(False, True))
    return motor_present(cell)


_FUNCTION = answer_table(_function_for_grade, MOTOR_CELLS)
_N_KEY = len(KEY_LEVELS)
_KEY_LEVELS_COLUMN = np.asarray(KEY_LEVELS, dtype=np.int8)[:, None]
#: Per motor level (C1..INT): the first key muscle more than three levels below it (its index
#: in KEY_LEVELS; ``_N_KEY`` when none, as for INT).
_FAR_FROM = np.asarray([next((j for j, k in enumerate(KEY_LEVELS) if k > ml + 3), _N_KEY)
                        for ml in range(INT)] + [_N_KEY])  # fmt: skip
#: Per NLI (C1..S4-5): the first key muscle below it.
_BELOW_FROM = np.asarray([next((j for j, k in enumerate(KEY_LEVELS) if k > nli), _N_KEY)
                          for nli in range(INT)])  # fmt: skip


def _bounds(groups: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of equal values of a non-decreasing array."""
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]]).tolist()
    return list(zip(starts, [*starts[1:], len(groups)], strict=True))


_FAR_GROUPS = _bounds(_FAR_FROM)
_BELOW_GROUPS = _bounds(_BELOW_FROM)


def function_far_below(side: Side) -> Answers:
    """Answers to "is there motor function more than three levels below the motor level?" for
    a motor level whose first key muscle that far below is muscle j (row j; row 10: none).

    The 2019 rule counts non-key muscle function too; like the reference, only a non-key muscle
    named at a key-muscle level is compared. Levels are taken rostral to caudal and the first
    with function decides, the key muscle before a non-key muscle at the same level: so a
    flagged ``0**`` key muscle far below stars the answer unless plain function (key or
    non-key) lies above it (reference: key L4 ``0**`` with non-key L2 -> C, with non-key L4
    or L5 -> C*). A "none" resting on a ``0*`` key muscle becomes function with its star at
    a non-key muscle at the same level (right S1 ``0*`` with non-key S1: B*,D with L3 NT).

    Computed from the most caudal muscle up: ``plain``/``starred`` are the answers of the rest
    of the scan given no function so far, without / with a star carried.
    """
    function = side.answers(_FUNCTION, "motor")
    non_key = side.exams.pack(side.non_key == _KEY_LEVELS_COLUMN)  # per muscle: named there
    plain = NO  # past the last muscle: no function
    starred = Answers(FALSE, FALSE, FALSE, TRUE)
    # A star is carried into ``plain`` only by a "no" resting on a flag (``a.ns``): without
    # one in the block, ``starred`` never reaches the answer and is not computed. (Operands
    # that are often the constant FALSE come first: the rest of a term then folds unread.)
    carried = not is_false(function.ns)
    rows = [plain]
    for j in range(_N_KEY - 1, -1, -1):
        a = function[j]
        nk = non_key[j]
        not_nk = ~nk
        plain = Answers(
            a.y | (a.n & (nk | plain.y)) | (a.ns & not_nk & starred.y),
            a.ys | (plain.ys & a.n & not_nk) | (a.ns & (nk | starred.ys)),
            not_nk & ((a.n & plain.n) | (a.ns & starred.n)),
            not_nk & ((plain.ns & a.n) | (a.ns & starred.ns)),
        )
        if carried:  # from the chain so far alone (the new ``plain`` above does not enter it)
            no_any = a.no
            starred = Answers(
                a.y | (starred.y & no_any & not_nk),
                a.ys | (no_any & (nk | starred.ys)),
                starred.n & not_nk & no_any,
                starred.ns & not_nk & no_any,
            )
        rows.append(plain)
    rows.reverse()
    return stack(rows, (side.exams.width,))


def motor_incomplete(
    exams: Exams, motor_levels: dict[str, Possible], without_vac: np.ndarray
) -> tuple[Answers, np.ndarray]:
    """Answers to "is the injury motor incomplete?" given an incomplete injury, and whether a
    muscle considered normal gives function far below some motor level candidate.

    As in the reference, function far below (and so its star) is taken at the most rostral
    motor level candidate (right C6 ``2*``, T1 ``0**``: motor level C5,C6*, AIS D*; right C5
    NT, C6 0, T1 ``0**``: C4,C5, D), "none" at any candidate (it gives B).
    ``without_vac`` false: the injury can be incomplete only through VAC (no S4-5 sensation or
    DAP possible), so the branches where VAC is absent are impossible and not followed.
    """
    sides, assumed = [], FALSE
    for side in exams.sides:
        far = side.memo("far below", lambda side=side: function_far_below(side))
        present = materialise(motor_levels[side.name].present, (INT + 1, exams.width))
        in_group = groups_any(present, _FAR_GROUPS)
        first = first_rows(in_group)  # the group of the most rostral candidate
        sides.append(
            Answers(
                any_rows(first & far.y),
                any_rows(first & far.ys),
                any_rows(in_group & far.n),
                any_rows(in_group & far.ns),
            )
        )
        assumed = assumed | any_rows(in_group & far.ys)
    r, lt = sides
    # Function far below on either side: starred when a side's function rests on a flag, even
    # with plain function on the other side (the reference does so, symmetrically).
    r_any, l_any = r.yes | r.no, lt.yes | lt.no
    either = Answers(
        (r.y & (lt.y | lt.no)) | (lt.y & r.no),
        (r.ys & l_any) | (lt.ys & r_any),
        r.n & lt.n,
        (r.ns & lt.no) | (r.n & lt.ns),
    )
    vac = exams.binary(BINARY, exams.vac)
    without = vac.n & without_vac  # VAC decides without a star
    return (
        Answers(
            vac.y | (without & either.y),
            without & either.ys,
            without & either.n,
            without & either.ns,
        ),  # fmt: skip
        assumed,
    )


def _strength_kinds() -> dict[str, np.ndarray]:
    """How a key muscle below the NLI counts towards "graded >= 3" for C versus D, per code.

    ``yes``/``no``: fixed; ``open``: not testable, either way without a star (``NT*`` too: a
    non-SCI condition says nothing about the grade); ``assumed``: a recorded grade below 3
    considered normal (``**``), counted as >= 3; ``flagged``: a recorded grade below 3 from a
    non-SCI condition (``*``), which may be either.
    """

    def kind(cell) -> str:
        if cell.grade is not None and cell.grade >= 3:
            return "yes"
        if cell.flag == CONSIDER_NORMAL:
            return "yes" if cell.grade is None else "assumed"
        if cell.grade is None:
            return "open"
        return "flagged" if cell.flag == NOT_NORMAL else "no"

    kinds = [kind(c) for c in MOTOR_CELLS]
    return {k: np.asarray([x == k for x in kinds]) for k in ("yes", "open", "assumed", "flagged")}


_KINDS = _strength_kinds()


def c_or_d(exams: Exams) -> dict[str, np.ndarray]:
    """Per number of key muscles below the NLI (row j: those from ``KEY_LEVELS[j]`` down):
    whether C and D are possible and starred. D when at least half of the key muscles below
    the NLI (both sides) are graded >= 3 (ISNCSCI 2019).

    A grade is starred when it rests on a flagged grade: when, whatever the not-testable
    muscles are taken to be, the flagged ones (``*`` and ``**`` below 3) could change it. This
    matches the reference: ``0**`` with three 5s and six 0s is ``C`` (four or three of ten, C
    either way); five ``2**`` is ``D*``; ``2*`` with four 5s is ``C*,D*``; ``NT*`` is plain NT.
    """
    counts = {name: _count_below(exams, fact) for name, fact in _KINDS.items()}
    reached: dict[tuple[str, ...], np.ndarray] = {}

    def half_reached(*kinds: str) -> np.ndarray:
        """Do the muscles of ``kinds`` make at least half of those below (per row)? Kinds no
        exam has count nothing; plain exams compare one count for all four flags."""
        counted = tuple(k for k in kinds if counts[k] is not None)
        if counted not in reached:
            total = sum((counts[k] for k in counted[1:]), counts[counted[0]]) if counted else 0
            reached[counted] = np.broadcast_to(total >= _HALF_BELOW, (_N_KEY + 1, exams.n))
        return reached[counted]

    flags = {
        "D": half_reached("yes", "assumed", "open", "flagged"),
        "D*": ~half_reached("yes", "open"),
        "C": ~half_reached("yes", "assumed"),
        "C*": half_reached("yes", "assumed", "flagged"),
    }
    return {k: exams.pack(v) for k, v in flags.items()}


#: Row j: half the key muscles below an NLI whose first muscle below is j (both sides: 2 x
#: (10 - j) muscles), as int8 like the counts (a wider type would widen every comparison).
_HALF_BELOW = (_N_KEY - np.arange(_N_KEY + 1, dtype=np.int8))[:, None]


def _count_below(exams: Exams, fact: np.ndarray) -> np.ndarray | None:
    """Row j: how many key muscles from ``KEY_LEVELS[j]`` down (both sides) have ``fact``
    (int8: at most 20); None where no exam has one."""
    per_side = [side.bits(fact, "motor", packed=False) for side in exams.sides]
    if all(is_false(b) for b in per_side):
        return None
    right, left = (
        (np.full((_N_KEY, exams.n), b.value) if isinstance(b, Const) else b).view(np.int8)
        for b in per_side
    )
    below = right + left
    suffix = np.zeros((_N_KEY + 1, exams.n), dtype=np.int8)
    for j in range(_N_KEY - 1, -1, -1):
        np.add(suffix[j + 1], below[j], out=suffix[j])
    return suffix


def asia_impairment_scale(exams: Exams, literal_check: bool = True) -> Result:
    """Rows A..E. ``literal_check=False`` skips ``_star_where_literal_differs`` (callers that
    need only the grades, not their stars)."""
    if not literal_check and ("ais", True) in exams._memo:
        return exams._memo[("ais", True)]  # the same grades (the check only adds stars)
    return exams.memo(("ais", literal_check), lambda: _ais(exams, literal_check))


def _ais(exams: Exams, literal_check: bool) -> Result:
    shape = (exams.width,)
    complete = injury_complete(exams)
    incomplete = complete.present[1]
    motor_levels = {side.name: motor_level(side, exams.vac) for side in exams.sides}
    nli = neurological_level(exams)
    sparing = sacral_sensory_sparing(exams)
    motor, assumed = motor_incomplete(exams, motor_levels, sparing.yes)
    present = np.zeros((5, exams.width), dtype=np.uint8)
    starred = np.zeros((5, exams.width), dtype=np.uint8)
    present[A], starred[A] = complete.present[0], complete.starred[0]
    # B: not motor incomplete, with sacral sensory sparing. It rests on a flag when the sparing
    # does, or when "no function far below" does along any motor level candidate (a ``0*``
    # muscle taken as without function: right L3 NT and S1 ``0*`` give B*,D), or when a muscle
    # considered normal (``0**``) gives function far below some candidate: it moves the motor
    # level past itself and so decides B against C (right T1 NT and L2 ``0**``: motor level
    # C8,T1,S3*, AIS B*,D*). With VAC not testable motor completeness is open anyway; the
    # reference then stars B only for flagged sacral sparing (S4-5 ``0*``: A,B*,C).
    present[B] = materialise(incomplete & motor.no & sparing.yes, shape)
    vac_tested = exams.pack(exams.vac != BINARY_NT)
    starred[B] = materialise(present[B] & (~sparing.y | ((motor.ns | assumed) & vac_tested)), shape)
    # E: normal everywhere, which needs both motor levels intact too (they require VAC).
    nli_present, nli_starred = nli.present, nli.starred
    intact = motor_levels["right"].present[INT] & motor_levels["left"].present[INT]
    present[E] = materialise(incomplete & nli_present[INT] & intact, shape)
    starred[E] = materialise(present[E] & nli_starred[INT], shape)
    # C/D at each possible NLI below INT, with motor incompleteness. Motor incomplete implies
    # incomplete: a star on "incomplete" alone does not carry to C/D (reference: S4-5 ``0*``
    # with function far below gives A*,C). At one NLI a grade reached with and without a flag
    # does not rest on it; across NLIs C is starred if starred at any of them, other grades
    # only if starred at all (reference case 130: ``B*,C*,D``).
    graded = incomplete & motor.yes
    all_starred = ~motor.y
    at = groups_any(materialise(nli_present, (INT + 1, exams.width)), _BELOW_GROUPS)
    cd = c_or_d(exams)
    for grade, row in (("C", C), ("D", D)):
        possible = at & cd[grade]
        present[row] = materialise(graded & any_rows(possible), shape)
        star = all_starred | cd[grade + "*"]
        if grade == "C":
            starred[row] = materialise(present[row] & any_rows(possible & star), shape)
        else:
            starred[row] = materialise(present[row] & ~any_rows(possible & ~star), shape)
    if literal_check:
        _star_where_literal_differs(exams, present, starred, at, cd)
    return Result(present, starred)


def _star_where_literal_differs(
    exams: Exams,
    present: np.ndarray,
    starred: np.ndarray,
    at: np.ndarray,
    cd: dict[str, np.ndarray],
) -> None:
    """Star C or D when the exam read literally (flags dropped) cannot give it at its NLI.

    A flag can move the NLI and so the key muscles counted: ``0**`` at C4 taken as normal gives
    NLI T12* and C where the literal NLI C3 gives D, so C rests on the flag; the reference marks
    it ``C*``. A flag that moves the NLI without changing the grade leaves it unstarred
    (reference case 108). Only the C/D count is checked so: a flag that moves a motor level
    and so decides B against C leaves B unstarred in the reference (case 117).

    ``at`` and ``cd`` are this pass's NLI groups and C/D answers (``_ais``): where the literal
    exams were appended to the pass (``zpp.with_appended``) they are read from their columns,
    else the literal exams are classified here. Columns appended for the motor ZPP are not
    checked: only their grades are read.
    """
    flagged = has_flags(exams)
    if is_false(flagged):
        return
    unstarred = any_rows(present[C:E] & ~starred[C:E])
    rows = np.flatnonzero(exams.unpack(flagged & unstarred))
    appended = exams.appended
    if appended is not None:
        rows = rows[rows < appended.own]
    if not len(rows):
        return
    extra = np.zeros((2, exams.n), dtype=bool)
    if appended is not None and appended.literal is not None:
        columns = appended.literal_start + np.searchsorted(appended.literal, rows)
        for i, grade in enumerate("CD"):
            extra[i, rows] = ~columns_of(any_rows(at & cd[grade]), columns)
    else:
        literal = Exams(strip_flags(exams.codes[:, rows]), exams.non_key[:, rows])
        nli = materialise(neurological_level(literal).present, (INT + 1, literal.width))
        at = groups_any(nli, _BELOW_GROUPS)
        cd = c_or_d(literal)
        for i, grade in enumerate("CD"):
            extra[i, rows] = literal.unpack(~any_rows(at & cd[grade]))
    starred[C:E] |= present[C:E] & exams.pack(extra)


_SENSORY_FLAGGED = np.asarray([v.endswith("*") for v in SENSORY_VALUES])
_MOTOR_FLAGGED = np.asarray([v.endswith("*") for v in MOTOR_VALUES])


def has_flags(exams: Exams):
    """Per exam: does any cell carry a ``*``/``**`` flag?"""
    out = FALSE
    for side in exams.sides:
        for block, fact in (("touch", _SENSORY_FLAGGED), ("prick", _SENSORY_FLAGGED),
                            ("motor", _MOTOR_FLAGGED)):  # fmt: skip
            out = out | any_rows(side.bits(fact, block))
    return out


def strip_flags(codes: np.ndarray, untested_not_normal: bool = False) -> np.ndarray:
    """The code matrix with every ``*``/``**`` flag dropped (the recorded grades as they are).

    ``untested_not_normal``: read ``NT**`` as ``NT*`` instead (not testable, so read literally
    nothing says it is normal); the motor ZPP's literal reading does so (see zpp.motor_zpp).
    """
    from .codes import SIDE_OFFSET

    sensory, motor = _LITERAL[untested_not_normal]
    out = codes.copy()
    for offset in SIDE_OFFSET.values():
        for rows, literal, last in ((slice(offset, offset + 56), sensory, SENSORY_NT),
                                    (slice(offset + 56, offset + 66), motor, MOTOR_NT)):  # fmt: skip
            # Only flagged codes change (plain grades and NT read as themselves); they are few.
            block = out[rows]
            flagged = block > last
            block[flagged] = literal[block[flagged]]
    return out


def _literal_codes(values: tuple[str, ...], untested_not_normal: bool) -> np.ndarray:
    def literal(value: str) -> str:
        base = value.rstrip("*")
        if untested_not_normal and value == "NT**":
            return "NT*"
        return base

    return np.asarray([values.index(literal(v)) for v in values], dtype=np.int8)


_LITERAL = {
    flag: (_literal_codes(SENSORY_VALUES, flag), _literal_codes(MOTOR_VALUES, flag))
    for flag in (False, True)
}
# NT and the codes before it (plain grades) read as themselves (``strip_flags``).
assert all(
    (t[: n + 1] == np.arange(n + 1)).all()
    for tables in _LITERAL.values()
    for t, n in zip(tables, (SENSORY_NT, MOTOR_NT), strict=True)
)
