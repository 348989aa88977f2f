"""Zones of partial preservation (ZPP), per side.

ISNCSCI 2019: the sensory ZPP of a side is recorded when that side has no sensation at S4-5 and
deep anal pressure is absent; the motor ZPP when voluntary anal contraction is absent (it may be
recorded in incomplete injuries too). It is the most caudal segment with any preserved function
on that side. The motor ZPP counts key muscles with motor function below the motor level (with
none, it is the motor level itself), and the lowest non-key muscle with motor function where
the reference does (see ``_non_key``). Where the ZPP does not apply: ``NA``. Star placement
follows the reference; docs/isncsci-differential.md lists each rule with its probe exams.

A ZPP result has one row per value: row 0 ``NA``, row ``level + 1`` a level (``ZPP_NAMES``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from .answers import (
    FALSE,
    Answers,
    all_of,
    any_of,
    any_rows,
    columns_of,
    first_rows,
    groups_any,
    is_false,
    materialise,
    prefix_or,
    row_words,
    with_columns,
    word_rows,
)
from .codes import BINARY_NT, KEY_LEVELS, NO_CODE, NO_NON_KEY, VAC_ROW, at_key_level
from .completeness import S4_5_ROW
from .levels import INDEX, INT, LEVELS, SIDES
from .motor_level import motor_level
from .rule import Rule
from .sensory_level import S4_5, dermatome_normal
from .sides import Exams, Possible, Result, Side
from .values import (
    BINARY,
    CONSIDER_NORMAL,
    MOTOR_PRESENT,
    SENSATION_PRESENT,
    SENSORY_CELLS,
    YES,
    answer_table,
    sensation_present,
)
from .walk import scan

NA = -1  # sorts before every level, as the reference lists it first
ZPP_NAMES: tuple[str, ...] = ("NA", *LEVELS, "INT")
S3 = INDEX["S3"]
_N_KEY = len(KEY_LEVELS)
_KEY_LEVELS = np.asarray(KEY_LEVELS)


#: The two ZPP rules, as the explanation cites them.
SENSORY_RULE = Rule(
    "sensory ZPP",
    "Recorded where a side has no S4-5 sensation and deep anal pressure is absent: the most caudal dermatome with any sensation on that side; otherwise NA.",
    "cordtrial.isncsci.zpp",
)
MOTOR_RULE = Rule(
    "motor ZPP",
    "Recorded where voluntary anal contraction is absent: the most caudal key muscle with motor function below the motor level (else the motor level), or the lowest non-key muscle with function more than three levels below it where the grade may be C; otherwise NA.",
    "cordtrial.isncsci.zpp",
)


def zpp_name(value: object) -> str:
    from .levels import level_name

    return "NA" if value == NA else level_name(value)  # type: ignore[arg-type]


def _zpp_sensation(cell):
    """Sensation present, for the ZPP scan: a cell considered normal (``**``) is present
    without a star, as in the reference (T12 pin prick ``0**`` below T11 gives ZPP T12)."""
    return YES if cell.flag == CONSIDER_NORMAL else sensation_present(cell)


_ZPP_SENSATION = answer_table(_zpp_sensation, SENSORY_CELLS)


def dermatome_present(side: Side) -> Answers:
    """Sensation (either modality) present in each dermatome, for the sensory ZPP scan. A
    not-testable modality leaves the dermatome open without a star, whatever a flag on the
    other says (reference: T12 light touch ``0*`` and pin prick NT below T11 give ZPP T11,T12,
    not T11*,T12)."""
    a, b = side.answers(_ZPP_SENSATION, "touch"), side.answers(_ZPP_SENSATION, "prick")
    either = any_of(a, b)
    if not either.starred:
        return either
    open_ = (a.y & a.n) | (b.y & b.n)
    return Answers(
        either.y | (open_ & either.ys),
        either.ys & ~open_,
        either.n | (open_ & either.ns),
        either.ns & ~open_,
    )


def sensory_zpp(exams: Exams, side: Side) -> Result:
    """NA where S4-5 sensation or DAP may be present on this side; else the dermatomes a scan
    up from S3 may stop at (sensation present), C1 when it may find none."""
    sacral = [side.answers(SENSATION_PRESENT, block)[S4_5_ROW] for block in ("touch", "prick")]
    dap = exams.binary(BINARY, exams.dap)
    applies = all_of(all_of(sacral[0].negated(), sacral[1].negated()), dap.negated())
    stops, past = scan(dermatome_present(side)[S3 - 1 :: -1], (S3, exams.width))  # S3 up to C2
    shape = (len(ZPP_NAMES), exams.width)
    levels = np.arange(S3, 0, -1) + 1  # rows of the scan's levels in the result
    # C1 is presumed intact, so a scan that finds nothing below ends there; as in the
    # reference, without a star even past a dermatome that may lack sensation only by
    # assumption (T4 pin prick ``0*`` in an otherwise absent side: C1,T4*).
    c1 = past[-1:]
    return Possible.rows(
        shape,
        (0, Possible(applies.no, FALSE)),
        (levels, Possible(stops.plain & applies.yes, stops.star & applies.yes)),
        (slice(1, 2), Possible(c1.present & applies.yes, FALSE)),
    ).result(shape)


def _assumed_normal_at(side: Side):
    """Per level (rows C1..INT): does a motor level there rest on its own dermatome, a recorded
    grade considered normal (``0**``, ``1**``; not ``NT**``: T2 NT and T3 ``NT**`` below T1 give
    ZPP T1,T3)? Only at a level without a key muscle, where the motor level follows sensation:
    there the reference stars the ZPP at any motor level candidate (T5 NT and T6 ``0**`` below
    T5: ZPP T4,T6*), even where the motor level itself is unstarred (S2 light touch ``1**``
    and pin prick NT: motor level S1,S2, ZPP S1,S2*), where a star from a flag further up stays
    only on the most rostral candidate (T5 ``0**`` and T8 NT below T9: T7*,T9)."""
    recorded = side.bits(_RECORDED_NORMAL, "touch") | side.bits(_RECORDED_NORMAL, "prick")
    own = recorded & dermatome_normal(side).ys
    if is_false(own):
        return FALSE
    out = np.zeros((INT + 1, side.exams.width), dtype=np.uint8)
    out[1 : S3 + 1] = materialise(own, (S4_5, side.exams.width))[:S3]
    out[_KEY_LEVELS] = 0
    return out


_RECORDED_NORMAL = np.asarray(
    [c.grade is not None and c.flag == CONSIDER_NORMAL for c in SENSORY_CELLS]
)
#: Per motor level (C1..INT): index of the first key muscle below it (``_N_KEY``: none), and
#: the levels grouped by it.
_BELOW_FROM = np.asarray(
    [next((j for j, k in enumerate(KEY_LEVELS) if k > ml), _N_KEY) for ml in range(INT + 1)]
)
_BELOW_GROUPS = [(int(np.flatnonzero(_BELOW_FROM == j)[0]), int(np.flatnonzero(_BELOW_FROM == j)[-1]) + 1)
                 for j in range(_N_KEY + 1)]  # fmt: skip


def key_muscle_zpp(
    exams: Exams,
    side: Side,
    levels: Possible,
    plain: Callable[[np.ndarray], np.ndarray | None] | None,
) -> tuple[np.ndarray, np.ndarray]:
    """The motor ZPP before the non-key rule: (present, starred) per ZPP row, a value starred
    when any way to it is (``_motor_zpp``'s merge).

    For each motor level candidate below INT (VAC possibly absent): the key muscles below it
    that a scan up from S1 may stop at (function present), the candidate itself where it may
    find none. Stars follow the reference: a star from the scan (a ``0*`` muscle that may have
    function) stays; a ZPP that ends at a starred motor level is starred only for the most
    rostral motor level candidate and only when the exam read literally (flags dropped) cannot
    give it (``3**`` at L3 considered normal gives motor level S1* but ZPP S1, the most caudal
    muscle with function either way; ``2**`` at T1 gives T12*, reference case 117); and where
    the candidate rests on its own dermatome (``_assumed_normal_at``). A value reached both
    with and without a star keeps it (reference case 107: ``L4,L5*``).

    ``plain`` tells what the literal exam gives: called with this result's ``present``, it
    returns per ZPP row (packed) whether the exam read literally gives that value, read only
    where asked (None when no exam asks); ``plain`` None: nothing is ever asked.
    """
    width = exams.width
    shape = (INT + 1, width)
    vac = exams.binary(BINARY, exams.vac)
    present = np.zeros((len(ZPP_NAMES), width), dtype=np.uint8)
    starred = np.zeros_like(present)
    present[0] = materialise(vac.yes, (width,))
    level_present = materialise(levels.present, shape)
    candidates = level_present & materialise(vac.no, (width,))
    candidates[INT] = 0
    stops, past = scan(side.answers(MOTOR_PRESENT, "motor")[::-1], (_N_KEY, width))  # S1 up
    rank0 = first_rows(level_present)  # the most rostral candidate
    # Muscles scanned for some candidate: those below the most rostral one (row r: muscle
    # S1 - r); below level L are the muscles from _BELOW_FROM[L] down.
    reach = groups_any(rank0, _BELOW_GROUPS)  # (muscles + 1, n): first muscle below rank 0
    scanned = prefix_or(reach[:_N_KEY])[::-1] & any_rows(candidates)
    rows = _KEY_LEVELS[::-1] + 1
    present[rows] |= materialise(stops.present, (_N_KEY, width)) & scanned
    starred[rows] |= materialise(stops.star, (_N_KEY, width)) & scanned
    # Floors: per candidate, the paths still going past its first muscle below.
    past_plain = materialise(past.plain, (_N_KEY, width))[::-1]  # by muscle
    floor_plain = np.concatenate([past_plain, np.full((1, width), 255, np.uint8)])[_BELOW_FROM]
    if is_false(past.star):
        floor_star = FALSE
    else:
        past_star = materialise(past.star, (_N_KEY, width))[::-1]
        floor_star = np.concatenate([past_star, np.zeros((1, width), np.uint8)])[_BELOW_FROM]
    present[1:] |= candidates & (floor_plain | floor_star)
    literal = None if plain is None else plain(present)  # may read exams appended as literal
    literal_gives = FALSE if literal is None else literal[1:]
    own_star = (levels.starred & rank0 & ~literal_gives) | _assumed_normal_at(side)
    starred[1:] |= materialise(candidates & ((floor_plain & own_star) | floor_star), shape)
    return present, starred


def _non_key(exams: Exams, rows: np.ndarray):
    """Whether the lowest non-key muscle with function (named at a key-muscle level) may extend
    the motor ZPP of exams ``rows``, and whether the key-muscle ZPP stays beside it.

    ISNCSCI 2019 uses non-key muscle function to tell AIS B from C; the reference extends the
    motor ZPP with it only when the grade may be C (not in A, B or D only) and the muscle is
    named at a key-muscle level (C5-T1, L2-S1), and then lists the non-key ZPP alone, also
    where flags leave the grade open (S4-5 ``0*``: A*,C, ZPP the non-key muscle). The motor ZPP
    applies only without VAC, so the grade consulted is the one with VAC absent. Where plain
    not-testable cells leave the grade open between C and another grade, the key-muscle ZPP
    is possible too and listed beside it (the reference lists only the non-key one; see
    docs/isncsci-differential.md, 1a): ``motor_zpp`` unites the completions of the NT cells, so
    this happens only beyond ``MAX_ZPP_COMPLETIONS`` of them.
    """
    from .ais import C

    grades = _grades_without_vac(exams, rows)
    uses = grades[C]
    # Read only where the muscle may move the ZPP and the grade is open.
    open_grade = uses & (grades.sum(axis=0) > 1)
    asked = rows[open_grade]
    open_grade[open_grade] = has_plain_nt(exams, vac=False, columns=asked)
    return uses, open_grade


def _grades_without_vac(exams: Exams, rows: np.ndarray) -> np.ndarray:
    """The AIS grades (5, len(rows) booleans) of exams ``rows`` with an untested VAC taken as
    absent, as far as the non-key rule tells them apart (the exams' own grades where already
    known, else classified for these rows).

    With VAC absent the grades are among the exam's own (which follow VAC either way) and
    there is at least one: where C is not among the own grades, or is the only one, the rule
    gets the same answers from them (it reads "may be C", and "open" only where C may be).
    Only the exams with C and another grade are classified again."""
    from .ais import C

    known = exams._memo.get(("ais", True)) or exams._memo.get(("ais", False))
    if known is None:
        return _without_vac(exams, rows)
    grades = columns_of(known.present, rows)
    untested = (exams.vac[rows] == BINARY_NT) & grades[C] & (grades.sum(axis=0) > 1)
    appended = exams.appended
    if appended is not None and appended.vac_absent is not None:
        # Classified in this pass, as columns of their own (``with_appended``); appended
        # columns keep their own grades (their motor ZPP is not read).
        untested &= rows < appended.own
        at = appended.vac_start + np.searchsorted(appended.vac_absent, rows[untested])
        grades[:, untested] = columns_of(known.present, at)
    elif untested.any():
        # Classified once for every exam that may ask, whichever side asks first: both sides
        # ask, and each pass has a fixed cost.
        asking = exams.memo("VAC NT, C open, a non-key muscle", lambda: _asking(exams, known))
        absent = exams.memo("grades without VAC", lambda: _without_vac(exams, asking))
        grades[:, untested] = absent[:, np.searchsorted(asking, rows[untested])]
    return grades


def _asking(exams: Exams, grades: Result) -> np.ndarray:
    """The exams with VAC NT, a non-key muscle named at a key-muscle level, and grades
    (``grades``: their own) that include C and another grade."""
    from .ais import C

    rows = _vac_candidates(exams)
    own = columns_of(grades.present, rows)
    return rows[own[C] & (own.sum(axis=0) > 1)]


def _without_vac(exams: Exams, rows: np.ndarray) -> np.ndarray:
    """The AIS grades (5, len(rows)) of exams ``rows`` classified with VAC NT read as absent."""
    from .ais import asia_impairment_scale

    codes = exams.codes[:, rows]
    codes[VAC_ROW] = np.where(codes[VAC_ROW] == BINARY_NT, NO_CODE, codes[VAC_ROW])
    absent = Exams(codes, exams.non_key[:, rows])
    return absent.unpack(asia_impairment_scale(absent, literal_check=False).present)


def has_plain_nt(exams: Exams, vac: bool = True, columns: np.ndarray | None = None) -> np.ndarray:
    """Per exam (of ``columns``; None: all): is any cell, DAP or (``vac``) VAC a plain ``NT``
    (one that NT completions fill in)?"""
    from .completions import NT_CODES

    codes = exams.codes if columns is None else exams.codes[:, columns]
    untested = codes == NT_CODES[:, None]
    if not vac:
        untested[VAC_ROW] = False
    return untested.any(axis=0)


def _with_non_key(
    exams: Exams, side: Side, present: np.ndarray, starred: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The lowest non-key muscle with function extends the motor ZPP only when it lies more
    than three levels below the segment the key muscles give (matches the reference: motor
    level C4 with C6 = 1 and non-key C8 -> C6; non-key T1 -> C6; S1 -> S1), and only where the
    grade allows (``_non_key``); it is never starred. Only the exams with a non-key muscle
    named at a key-muscle level are read and changed."""
    recorded = np.flatnonzero(side.non_key != NO_NON_KEY)  # few: looked up alone
    named = recorded[at_key_level(side.non_key[recorded])]
    if not len(named):
        return present, starred
    level = side.non_key[named]
    values = np.arange(len(ZPP_NAMES) - 1)[:, None]  # ZPP row - 1 = level
    zpp = columns_of(present[1:], named)
    far = zpp & (level > values + 3)
    hit = far.any(axis=0)
    if not hit.any():
        return present, starred  # no ZPP value the non-key muscle lies far enough below
    rows, level, zpp, far = named[hit], level[hit], zpp[:, hit], far[:, hit]
    uses, keep = _non_key(exams, rows)
    moved = far & uses
    zpp &= ~(moved & ~keep)
    zpp |= (values == level) & moved.any(axis=0)
    present = with_columns(present, rows, np.concatenate([columns_of(present[:1], rows), zpp]))
    starred = starred.copy()
    starred[1:] &= present[1:]
    return present, starred


def _motor_zpp(exams: Exams, side: Side):
    """One side's motor ZPP without NT completions: (present, starred) per ZPP row."""
    # The ZPP's motor level leaves unstarred a stop on an NT* dermatome (motor_level).
    levels = motor_level(side, exams.vac, flagged_stops=False)
    literal = partial(_literal, exams, side, levels)
    present, starred = key_muscle_zpp(exams, side, levels, literal)
    return _with_non_key(exams, side, present, starred)


def _literal(exams: Exams, side: Side, levels: Possible, present: np.ndarray) -> np.ndarray | None:
    """Per ZPP row (packed): does the exam read literally give that value, read where
    ``key_muscle_zpp`` asks (at a starred most rostral motor level; None: nowhere).

    Exams appended to the pass read literally (``Appended.zpp_literal``) are read from the
    pass's key-muscle ZPP ``present``; others are classified here. Of the other appended
    columns only the NT completions ask: the VAC-absent columns' grades and the literal
    columns' own values are read, never their stars."""
    starred = levels.starred
    if is_false(starred):
        return None
    first = first_rows(materialise(levels.present, (INT + 1, exams.width)))[:INT]
    rows = np.flatnonzero(exams.unpack(any_rows(first & starred[:INT])))
    appended = exams.appended
    if appended is not None:
        rows = rows[rows < appended.vac_start]  # the exams and their NT completions
    if not len(rows):
        return None
    at = np.argmax(columns_of(first, rows), axis=0)  # their most rostral level
    gives = np.zeros((len(ZPP_NAMES), exams.n), dtype=bool)
    read = np.zeros(len(rows), dtype=bool)  # read from appended columns
    if appended is not None and appended.zpp_literal is not None:
        where = np.minimum(
            np.searchsorted(appended.zpp_literal, rows), len(appended.zpp_literal) - 1
        )
        read = appended.zpp_literal[where] == rows
        columns = appended.zpp_literal_start + where[read]
        gives[at[read] + 1, rows[read]] = columns_of(present, columns)[
            at[read] + 1, np.arange(len(columns))
        ]
    if not read.all():
        left = ~read
        gives[at[left] + 1, rows[left]] = _literal_gives(
            exams.take(rows[left]), side.name, at[left]
        )
    return exams.pack(gives)


def _literal_gives(exams: Exams, name: str, at: np.ndarray) -> np.ndarray:
    """Per exam: is level ``at`` among the key-muscle ZPP values of the exam read literally
    (flags dropped, and a cell not testable but considered normal, ``NT**``, read as not
    normal, ``NT*``: T5 and T6 ``NT**`` below T4 give motor level T6* and ZPP T6*, as ``0**``
    does, where an ``NT`` would allow T6 literally)? A non-key muscle is not read, whatever
    the literal grade (matches the reference: left C8 ``1**`` with a non-key L4 gives D* and
    ZPP T1, literally C, and T1 is unstarred; right C5-C8 ``0**`` below C4 with a non-key C8
    gives motor level C8* and ZPP C8*, though literally the grade is C and the non-key muscle,
    four levels below C4, would be the ZPP C8)."""
    literal = exams.with_codes(_zpp_literal_codes(exams.codes))
    side = literal.side(name)
    levels = motor_level(side, literal.vac, flagged_stops=False)
    present, _ = key_muscle_zpp(literal, side, levels, None)
    return literal.unpack(present)[at + 1, np.arange(literal.n)]


def _zpp_literal_codes(codes: np.ndarray) -> np.ndarray:
    """Codes read literally for the motor ZPP's star (``_literal_gives``)."""
    from .ais import strip_flags

    return strip_flags(codes, untested_not_normal=True)


#: Most NT completions enumerated for an open motor ZPP with a non-key muscle (see below).
MAX_ZPP_COMPLETIONS = 64


def needs_completions(exams: Exams, rows: np.ndarray) -> np.ndarray:
    """Per exam of ``rows`` (each with plain NT cells and a non-key muscle): does the union
    over its NT completions differ from the exam's own motor ZPP (``_motor_zpp``)?

    Without flags, the exam's own key-muscle ZPP is the union of its completions' (the rules
    track every path through the NT cells; ``tests/isncsci/test_completions.py`` compares
    them), so only the grade can tell the completions apart: whether the non-key muscle moves
    the ZPP follows the grade with VAC absent. Where that grade is certain (C in every
    completion with VAC absent, or C in none; with VAC present the ZPP is NA in both), the
    exam's own ZPP already is the union; where it may be C or another grade, the completions
    are needed. The exam's own grades are read for it (known already): with VAC NT they also
    hold the grades with VAC present, so an open grade enumerates a few exams more, never
    fewer. A non-key muscle at a level without a key muscle never moves the ZPP. The same
    holds for exams flagged ``*`` only (observed on 36,000 generated exams of three mixes before
    relying on it), and for exams with a ``**`` flag (considered normal) whose motor level is
    one level on each side with a non-key muscle (``_open_motor_level``; observed on 1,440,000
    generated exams). Where that level may be more than one, the completions are used: their
    stars follow "starred in every completion that gives the value", and each completion has
    its own most rostral level (``key_muscle_zpp``), which the exam's own result does not track
    (own ``NA,S1,S3`` where every completion giving S3, the motor level there, stars it)."""
    from .ais import C, asia_impairment_scale
    from .completions import CONSIDERED_NORMAL

    codes = exams.codes[:, rows]
    considered_normal = (codes >= CONSIDERED_NORMAL[:, None]).any(axis=0)
    if considered_normal.any():
        considered_normal &= _open_motor_level(exams, rows)
    named = at_key_level(exams.non_key[:, rows]).any(axis=0)
    needs = considered_normal.copy()
    asked = np.flatnonzero(~considered_normal & named)
    if len(asked):
        grades = columns_of(asia_impairment_scale(exams, literal_check=False).present, rows[asked])
        needs[asked] = grades[C] & (grades.sum(axis=0) > 1)
    return needs


def _open_motor_level(exams: Exams, rows: np.ndarray) -> np.ndarray:
    """Per exam of ``rows``: may the motor level that the ZPP ends at (``_motor_zpp``) be more
    than one level on a side with a non-key muscle? With one level, every completion ends there
    too, so a value's star is the same in each (``key_muscle_zpp``: the most rostral candidate
    is the same one)."""
    out = np.zeros(len(rows), dtype=bool)
    for i, side in enumerate(exams.sides):
        levels = motor_level(side, exams.vac, flagged_stops=False).present
        levels = materialise(levels, (INT + 1, exams.width))
        more = any_rows(levels & ~first_rows(levels))  # a second candidate
        out |= columns_of(more, rows) & (exams.non_key[i, rows] != NO_NON_KEY)
    return out


def motor_zpp(exams: Exams) -> dict[str, Result]:
    """Both sides' motor ZPP.

    With a lowest non-key muscle and not-testable cells, whether the non-key muscle extends the
    ZPP depends on the grade, which the NT cells leave open; the ZPP is then exactly the union of
    the ZPPs of the exams the NT cells could stand for (the standard's meaning of an open
    result), enumerated when there are at most ``MAX_ZPP_COMPLETIONS`` of them and they can
    differ from the exam's own ZPP (``needs_completions``): a value is starred only if starred
    in every completion that gives it.
    """
    out = {}
    for side in exams.sides:
        present, starred = _motor_zpp(exams, side)
        out[side.name] = Result(present, starred)
    completed = _completed_zpp(exams, out)
    if completed is None:
        return out
    rows, owners, zpp = completed
    starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])  # per exam of rows
    recorded = exams.non_key != NO_NON_KEY
    for i, name in enumerate(SIDES):
        keep = recorded[i, rows]  # exams with a non-key muscle on this side
        if not keep.any():
            continue
        present, starred = zpp[name]
        # Per exam: any completion gives the value, any gives it unstarred (one reduction).
        reached = _any_between(np.vstack([present, present & ~starred]), starts)[:, keep]
        any_present, any_plain = reached[: len(present)], reached[len(present) :]
        # VAC NT is completed as absent only; present, it gives NA (unstarred) alone.
        vac_untested = exams.vac[rows[keep]] == BINARY_NT
        any_present[0] |= vac_untested
        any_plain[0] |= vac_untested
        result = out[name]
        merged = [exams.unpack(result.present), exams.unpack(result.starred)]
        merged[0][:, rows[keep]] = any_present
        merged[1][:, rows[keep]] = any_present & ~any_plain
        out[name] = Result(exams.pack(merged[0]), exams.pack(merged[1]))
    return out


def _any_between(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per range of columns from ``starts[i]`` to the next start (the last to the end), per row
    of ``values`` (booleans, at most 64 rows): is any of its values set? Reduced as one word per
    column (numpy's ``reduceat`` along the last axis of a 2-D array costs several times more)."""
    return word_rows(np.bitwise_or.reduceat(row_words(values), starts), len(values))


def _completion_candidates(exams: Exams, own: int) -> tuple[np.ndarray, np.ndarray]:
    """(exams, their completion counts) among the first ``own`` whose motor ZPP may be a union
    over NT completions: a non-key muscle recorded, and 2 to ``MAX_ZPP_COMPLETIONS``
    completions. Found once per pass (``with_appended`` asks first)."""
    return exams.memo(("completion candidates", own), lambda: _find_candidates(exams, own))


def _find_candidates(exams: Exams, own: int) -> tuple[np.ndarray, np.ndarray]:
    from .completions import completion_counts

    none = np.zeros(0, dtype=np.int64)
    if not exams.may_be_untested:
        return none, none
    candidates = np.flatnonzero((exams.non_key[:, :own] != NO_NON_KEY).any(axis=0))
    if not len(candidates):
        return none, none
    codes = exams.codes[:, :own] if len(candidates) == own else exams.codes[:, candidates]
    counts = completion_counts(codes)
    enumerated = (counts > 1) & (counts <= MAX_ZPP_COMPLETIONS)
    return candidates[enumerated], counts[enumerated]


@dataclass(frozen=True)
class Appended:
    """Columns appended to exams (``with_appended``), in this order after the ``own`` exams:
    the NT completions of the exams ``completed`` (None: not appended), each completion with
    the position in ``completed`` of the exam it completes (``owners``); then one column per
    exam of ``vac_absent`` (None: not appended), that exam with its VAC NT read as absent;
    then one per exam of ``literal`` (None: not appended), that exam read literally (flags
    dropped, ``ais.strip_flags``) for the AIS's literal check; then one per exam of
    ``zpp_literal`` (None: not appended), that exam read literally for the motor ZPP's star
    (``_literal_gives``: ``NT**`` read as ``NT*``)."""

    own: int
    completed: np.ndarray | None
    owners: np.ndarray
    vac_absent: np.ndarray | None
    literal: np.ndarray | None
    zpp_literal: np.ndarray | None = None

    @property
    def vac_start(self) -> int:
        """The column of the first exam read with VAC absent."""
        return self.own + len(self.owners)

    @property
    def literal_start(self) -> int:
        """The column of the first exam read literally."""
        return self.vac_start + (0 if self.vac_absent is None else len(self.vac_absent))

    @property
    def zpp_literal_start(self) -> int:
        """The column of the first exam read literally for the motor ZPP."""
        return self.literal_start + (0 if self.literal is None else len(self.literal))


def with_appended(exams: Exams) -> Exams:
    """``exams`` followed by the exams that the motor ZPP would otherwise classify in passes
    of their own, as columns of the same matrix, where they are few (``_appended_at_most``):
    the NT completions whose ZPP ``motor_zpp`` may unite, the exams whose non-key rule
    asks for the grade with VAC NT read as absent (``_grades_without_vac``), and the flagged
    exams read literally, twice (``ais._star_where_literal_differs``, and the motor ZPP's
    ``_literal``, which reads ``NT**`` otherwise). They are then
    classified in the exams' own pass (each pass has a fixed cost; every column is classified
    on its own, so the exams' results are the same); callers drop them (``Appended.own``).
    Every candidate is appended, also those that the pass then finds need nothing (which
    needs the grades the pass computes)."""
    from .ais import strip_flags
    from .completions import completions

    extra_codes, extra_non_key = [], []
    rows, counts = _completion_candidates(exams, exams.n)
    completed, owners = None, np.zeros(0, dtype=np.int64)
    if len(rows) and counts.sum() <= _appended_at_most(exams.n):
        filled, owners = completions(exams.take(rows))
        completed = rows
        extra_codes.append(filled.codes)
        extra_non_key.append(filled.non_key)
    absent = _vac_candidates(exams)
    if len(absent) and len(absent) <= _appended_at_most(exams.n):
        codes = exams.codes[:, absent]
        codes[VAC_ROW] = NO_CODE  # every one of them has VAC NT
        extra_codes.append(codes)
        extra_non_key.append(exams.non_key[:, absent])
    else:
        absent = None
    flagged = _flagged(exams)
    if len(flagged) and len(flagged) <= _appended_at_most(exams.n):
        codes = exams.codes[:, flagged]
        extra_codes += [strip_flags(codes), _zpp_literal_codes(codes)]
        extra_non_key += [exams.non_key[:, flagged]] * 2
    else:
        flagged = None
    if not extra_codes:
        return exams
    out = Exams(
        np.concatenate([exams.codes, *extra_codes], axis=1),
        np.concatenate([exams.non_key, *extra_non_key], axis=1),
    )
    out.appended = Appended(exams.n, completed, owners, absent, flagged, flagged)
    out.memo(("completion candidates", exams.n), lambda: (rows, counts))  # the same exams
    return out


def _flagged(exams: Exams) -> np.ndarray:
    """The exams with a ``*``/``**`` flag (the AIS may check them read literally)."""
    from .ais import has_flags

    flagged = has_flags(exams)
    if is_false(flagged):
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero(exams.unpack(flagged))


def _vac_candidates(exams: Exams) -> np.ndarray:
    """The exams whose non-key rule may ask for the grade with VAC absent: VAC NT and a
    non-key muscle named at a key-muscle level (``_asking`` adds: grades C and another)."""
    if exams.limits["binary"] <= BINARY_NT:
        return np.zeros(0, dtype=np.int64)  # no VAC or DAP NT
    rows = np.flatnonzero(exams.vac == BINARY_NT)
    return rows[at_key_level(exams.non_key[:, rows]).any(axis=0)]


def _appended_at_most(n: int) -> int:
    """Most columns of one kind appended to ``n`` exams (``with_appended``): beyond it,
    classifying the candidates that turn out to need nothing costs more than a pass."""
    return max(MAX_ZPP_COMPLETIONS, n // 8)


def _completed_zpp(exams: Exams, own: dict[str, Result]):
    """(exams, owners, motor ZPP per side) of the NT completions of the exams whose motor ZPP
    is the union of their completions' (``needs_completions``): the exams' positions, for each
    completion the position in those of the exam it completes, and per side (present, starred)
    per ZPP row and completion, unpacked; None where no exam needs them. Completions appended
    to the exams (``with_appended``) are read from the exams' own results ``own``; others
    are classified here."""
    from .ais import asia_impairment_scale
    from .completions import completions

    appended: Appended | None = exams.appended
    if appended is not None and appended.completed is not None:
        rows = appended.completed
    else:
        rows = _completion_candidates(exams, exams.n if appended is None else appended.own)[0]
    if not len(rows):
        return None
    needed = needs_completions(exams, rows)
    if not needed.any():
        return None
    if appended is not None and appended.completed is not None:
        columns = needed[appended.owners]
        owners = (np.cumsum(needed) - 1)[appended.owners[columns]]
        at = appended.own + np.flatnonzero(columns)
        zpp = {
            name: (columns_of(r.present, at), columns_of(r.starred, at)) for name, r in own.items()
        }
        return rows[needed], owners, zpp
    rows = rows[needed]
    filled, owners = completions(exams.take(rows))
    # Both sides' non-key rule reads the completions' grades: classified once for both.
    asia_impairment_scale(filled, literal_check=False)
    recorded = exams.non_key[:, rows] != NO_NON_KEY
    zpp = {
        name: tuple(filled.unpack(b) for b in _motor_zpp(filled, filled.side(name)))
        for i, name in enumerate(SIDES)
        if recorded[i].any()
    }
    return rows, owners, zpp
