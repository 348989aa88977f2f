"""NT completions for the motor ZPP: one grade per answer the ZPP's rules can tell apart.

``motor_zpp`` unites the motor ZPP over every completion of an exam's plain NT cells. The
completions use one representative grade per distinction the rules make (``ZPP_OPTIONS``);
these tests check that the representatives give exactly what every grade gives.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cordtrial.isncsci import Exam, classify, zpp
from cordtrial.isncsci import ais as ais_module
from cordtrial.isncsci import classification as classification_module
from cordtrial.isncsci import completions as completions_module
from cordtrial.isncsci.batch import classify_table
from cordtrial.isncsci.batch.validate import validate
from cordtrial.isncsci.classification import classify_exams
from cordtrial.isncsci.codes import (
    CELL_ORDER,
    DAP_ROW,
    NO_CODE,
    NO_NON_KEY,
    SIDE_OFFSET,
    VAC_ROW,
)
from cordtrial.isncsci.completeness import S4_5_ROW
from cordtrial.isncsci.completions import (
    CONSIDERED_NORMAL,
    NT_CODES,
    ZPP_OPTIONS,
    _options,
    completion_counts,
)
from cordtrial.isncsci.sides import Exams
from cordtrial.isncsci.strategies import rhi_exams
from cordtrial.isncsci.synthetic import generate_exams

#: Every grade an NT can stand for, on every row.
EVERY_GRADE = _options(
    sensory=(0, 1, 2), sacral=(0, 1, 2), motor=tuple(range(6)), vac=(0, 1), dap=(0, 1)
)

ZPP_KEYS = ("rightMotorZpp", "leftMotorZpp")


def table_of(exams: list[dict]) -> pa.Table:
    columns = list(dict.fromkeys(k for exam in exams for k in exam))
    return pa.table({c: pa.array([e.get(c) for e in exams], pa.string()) for c in columns})


def motor_zpps(
    exams: list[dict], options: np.ndarray | None = None, every_exam: bool = False
) -> dict[str, list]:
    """Both sides' motor ZPP of each exam, completed with ``options`` (None: ZPP_OPTIONS);
    ``every_exam``: enumerate the completions of every exam up to the limit, also where the
    exam's own ZPP already is their union (``zpp.needs_completions``)."""
    with pytest.MonkeyPatch.context() as patch:
        if options is not None:
            full = partial(completions_module.completions, options=options)
            patch.setattr(completions_module, "completions", full)
        if every_exam:
            patch.setattr(zpp, "needs_completions", lambda exams, rows: np.ones(len(rows), bool))
        result = classify_table(table_of(exams)).decoded()
    return {key: result.column(key).to_pylist() for key in ZPP_KEYS}


def test_options_per_row():
    choices = (ZPP_OPTIONS >= 0).sum(axis=1)
    for offset in SIDE_OFFSET.values():
        sacral = [offset + S4_5_ROW, offset + 28 + S4_5_ROW]
        assert all("s4_5" in CELL_ORDER[row] for row in sacral)
        assert list(ZPP_OPTIONS[sacral[0], :3]) == [0, 1, 2]  # any sensation at S4-5 counts
        above = [r for r in range(offset, offset + 56) if r not in sacral]
        assert set(choices[above]) == {2}  # normal or not
        assert list(ZPP_OPTIONS[offset + 56, :4]) == [0, 1, 3, 5]  # > 0, >= 3, = 5
    assert list(ZPP_OPTIONS[VAC_ROW, :1]) == [NO_CODE]  # VAC present gives NA, added as such
    assert list(choices[[VAC_ROW, DAP_ROW]]) == [1, 2]
    assert EVERY_GRADE[SIDE_OFFSET["left"] + 60, 5] == 5


def test_the_enumeration_limit_still_counts_every_grade():
    # Two NT dermatomes above S4-5 and one NT key muscle: 3 * 3 * 6 exams, of which the
    # completions keep 2 * 2 * 4 representatives.
    codes = np.zeros((DAP_ROW + 1, 1), dtype=np.int8)
    codes[[3, 4], 0] = completions_module.NT_CODES[3]
    codes[60, 0] = completions_module.NT_CODES[60]
    assert completion_counts(codes)[0] == 54
    filled, owners = completions_module.completions(Exams(codes, np.full((2, 1), -1, np.int8)))
    assert filled.n == 16 and set(owners) == {0}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(rhi_exams(nt_rate=0.5, nonkey_rate=0.8, flag_rate=0.2), min_size=1, max_size=8))
def test_representatives_give_what_every_grade_gives(exams):
    assert motor_zpps(exams) == motor_zpps(exams, EVERY_GRADE)


@pytest.mark.slow
def test_representatives_on_exams_that_enumerate():
    # Every exam with NT cells and a non-key muscle, some flagged: about 2,000 exams that
    # take the enumeration (at most 64 completions counted with every grade).
    exams = generate_exams(2000, seed=17, nt_rate=1.0, nonkey_rate=1.0, flag_rate=0.3)
    every = motor_zpps(exams, EVERY_GRADE)
    assert motor_zpps(exams) == every
    # The comparison sees the completions: without a normal dermatome grade it differs.
    too_few = _options(sensory=(0, 1), sacral=(0, 1, 2), motor=(0, 1, 3, 5), vac=(1,), dap=(0, 1))
    assert motor_zpps(exams, too_few) != every


# Exams whose grade with VAC absent is certain take their own ZPP, not the completions': the
# same values and stars as enumerating them (`**` exams only where their motor level is certain).
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from([0.05, 0.5]).flatmap(
        lambda flag_rate: st.lists(
            rhi_exams(nt_rate=1.0, nonkey_rate=1.0, flag_rate=flag_rate, anal_nt_rate=0.2),
            min_size=1,
            max_size=12,
        )
    )
)
def test_own_zpp_where_the_grade_is_certain_equals_the_completions(exams):
    assert motor_zpps(exams) == motor_zpps(exams, every_exam=True)


def test_own_zpp_where_the_grade_is_certain_on_exams_that_enumerate():
    # Of 4,000 exams, some 2,200 may take the enumeration, 1,750 of them with a certain grade
    # (checked to fail when the exams with an open grade or a flag take their own ZPP).
    exams = generate_exams(4000, seed=23, nt_rate=1.0, nonkey_rate=1.0, anal_nt_rate=0.2)
    rows = _considered(exams)
    needs = zpp.needs_completions(*rows)
    assert needs.sum() > 100 and (~needs).sum() > 1000  # both ways are taken
    assert motor_zpps(exams) == motor_zpps(exams, every_exam=True)


def test_own_zpp_of_flagged_exams_on_exams_that_enumerate():
    # Every exam flagged, half the sides with a non-key muscle. Those flagged `*` only, with a
    # certain grade, take their own ZPP; so do those with a `**` flag whose motor level is one
    # level on each side with a non-key muscle. Checked to fail when every `**` exam takes
    # its own ZPP (15 values differ, stars on the lowest values, e.g. own NA,S1,S3 where every
    # completion giving S3 stars it: the motor level may be S1 or S3) and when the motor level
    # is read on the other side (2 differ).
    exams = generate_exams(3000, seed=5, nt_rate=1.0, flag_rate=1.0, nonkey_rate=0.5, anal_nt_rate=0.5)  # fmt: skip
    columns, rows = _considered(exams)
    flagged = (columns.codes[:, rows] > NT_CODES[:, None]).any(axis=0)
    considered_normal = (columns.codes[:, rows] >= CONSIDERED_NORMAL[:, None]).any(axis=0)
    own = ~zpp.needs_completions(columns, rows)
    assert (flagged & ~considered_normal & own).sum() > 200
    assert (considered_normal & own).sum() > 300 and (considered_normal & ~own).sum() > 250
    assert motor_zpps(exams) == motor_zpps(exams, every_exam=True)


def _considered(exams: list[dict]) -> tuple[Exams, np.ndarray]:
    """The exams that ``motor_zpp`` may enumerate (a non-key muscle, 2 to 64 completions)."""
    checked = validate(table_of(exams))
    codes, non_key = checked.codes[:, ~checked.bad], checked.non_key[:, ~checked.bad]
    counts = completion_counts(codes)
    recorded = (non_key != NO_NON_KEY).any(axis=0)
    rows = np.flatnonzero(recorded & (counts > 1) & (counts <= zpp.MAX_ZPP_COMPLETIONS))
    columns = Exams(codes, non_key)
    classify_exams(columns)  # the grades the rule consults are known, as in motor_zpp
    return columns, rows


@pytest.mark.parametrize("seed", [3, 4])
def test_columns_appended_to_the_pass_give_what_passes_of_their_own_give(seed):
    # Few NT completions, few exams whose non-key rule asks the grade with VAC NT read as
    # absent, and few flagged exams read literally (the AIS's literal check, the motor ZPP's
    # star) are classified as extra columns of the exams' own pass (``zpp.with_appended``);
    # many in passes of their own: every result is the same.
    exams = generate_exams(400, seed=seed, nt_rate=1.0, nonkey_rate=1.0, flag_rate=0.3, anal_nt_rate=0.2)  # fmt: skip
    appended: list[int] = []
    reclassified: list[int] = []  # exams classified again with VAC absent, in a pass
    passes: list[int] = []  # exams whose C/D count was classified, per pass
    literal: list[int] = []  # exams read literally for the motor ZPP in a pass of their own
    real, without_vac, c_or_d = zpp.with_appended, zpp._without_vac, ais_module.c_or_d
    literal_gives = zpp._literal_gives

    def recording(columns):
        out = real(columns)
        appended.append(out.n - columns.n)
        return out

    def counting(columns, rows):
        reclassified.append(len(rows))
        return without_vac(columns, rows)

    def counting_passes(columns):
        passes.append(columns.n)
        return c_or_d(columns)

    def counting_literal(columns, name, at):
        literal.append(columns.n)
        return literal_gives(columns, name, at)

    def classified(at_most):
        for seen in (appended, reclassified, passes, literal):
            seen.clear()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(zpp, "_appended_at_most", at_most)
            patch.setattr(zpp, "_without_vac", counting)
            patch.setattr(ais_module, "c_or_d", counting_passes)
            patch.setattr(zpp, "_literal_gives", counting_literal)
            patch.setattr(classification_module, "with_appended", recording)
            return classify_table(table_of(exams)).decoded()

    apart = classified(lambda n: -1)
    assert appended == [0] and sum(reclassified) > 5 and len(passes) >= 3
    read_apart = sum(literal)
    together = classified(lambda n: 10**6)
    assert appended[-1] > 500 and not reclassified  # completions and VAC-absent exams, as columns
    assert len(passes) == 1  # the literal exams too: one pass
    # The exams exercise literal reading. Appended, only the NT completions of flagged exams
    # are still read in a sub-pass (every candidate's completions are appended, so they may
    # be more than the completions classified apart); flagged exams alone: the next test.
    assert read_apart > 20 and sum(literal) > 0
    assert together.equals(apart)
    one = [classify(Exam.from_rhi(exam)).to_rhi() for exam in exams[:40]]  # a batch of one each
    assert one == together.slice(0, 40).drop_columns(["id"]).to_pylist()


@pytest.mark.parametrize("seed", [5, 6])
def test_flagged_exams_read_literally_for_the_motor_zpp_as_appended_columns(seed):
    # Flagged exams without NT cells (no completions): appended, none is read literally in a
    # pass of its own, and the results are those of passes of their own.
    exams = generate_exams(300, seed=seed, nt_rate=0.0, flag_rate=0.6, nonkey_rate=0.3, anal_nt_rate=0.0)  # fmt: skip
    read: list[int] = []
    literal_gives = zpp._literal_gives

    def counting(columns, name, at):
        read.append(columns.n)
        return literal_gives(columns, name, at)

    def classified(at_most):
        read.clear()
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(zpp, "_appended_at_most", at_most)
            patch.setattr(zpp, "_literal_gives", counting)
            return classify_table(table_of(exams)).decoded(), sum(read)

    apart, read_apart = classified(lambda n: -1)
    together, read_together = classified(lambda n: 10**6)
    assert read_apart > 10 and read_together == 0
    assert together.equals(apart)
    one = [classify(Exam.from_rhi(exam)).to_rhi() for exam in exams[:60]]
    assert one == together.slice(0, 60).drop_columns(["id"]).to_pylist()
