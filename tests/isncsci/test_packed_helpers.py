"""The packed-bit helpers the rules and the batch renderer share: each fast path gives what the
plain definition gives (unpacking every exam, a lookup table, a sort)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from cordtrial.isncsci import ais, completions, lookup, zpp
from cordtrial.isncsci.answers import (
    Const,
    columns_of,
    pack,
    prefix_and,
    prefix_or,
    row_words,
    unpack,
    with_columns,
    word_rows,
)
from cordtrial.isncsci.batch import render as render_module
from cordtrial.isncsci.batch import table as table_module
from cordtrial.isncsci.batch.coded_sets import coded_sets
from cordtrial.isncsci.batch.gather import put_columns, take_columns
from cordtrial.isncsci.batch.render import render
from cordtrial.isncsci.classification import NAMES
from cordtrial.isncsci.codes import DAP_ROW, SIDE_OFFSET
from cordtrial.isncsci.sides import Result
from cordtrial.isncsci.values import MOTOR_VALUES, SENSORY_VALUES


def _bools(rows: int, columns: int):
    return hnp.arrays(bool, (rows, columns))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 5), st.integers(1, 90), st.data())
def test_columns_of_and_with_columns_equal_unpacking_every_exam(rows, n, data):
    # Both paths are taken: few columns (bytes picked out) and many (every exam unpacked).
    bits = data.draw(_bools(rows, n))
    packed = pack(bits)
    columns = np.asarray(
        sorted(data.draw(st.sets(st.integers(0, n - 1), max_size=n))), dtype=np.int64
    )
    assert (columns_of(packed, columns) == bits[:, columns]).all()
    values = data.draw(_bools(rows, len(columns)))
    expected = bits.copy()
    expected[:, columns] = values
    assert (unpack(with_columns(packed, columns, values), n) == expected).all()


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 64), st.integers(1, 50), st.data())
def test_row_words_keep_every_row(rows, columns, data):
    values = data.draw(_bools(rows, columns))
    words = row_words(values)
    assert words.dtype == np.uint64
    assert (word_rows(words, rows) == values).all()
    expected = [sum(1 << r for r in range(rows) if values[r, c]) for c in range(columns)]
    assert words.tolist() == expected


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.data())
def test_any_between_equals_a_loop_over_the_ranges(columns, data):
    values = data.draw(_bools(62, columns))
    cuts = data.draw(st.sets(st.integers(1, columns - 1))) if columns > 1 else set()
    starts = np.asarray([0, *sorted(cuts)], dtype=np.int64)
    ends = [*starts[1:], columns]
    ranges = zip(starts, ends, strict=True)
    expected = np.stack([values[:, a:b].any(axis=1) for a, b in ranges], axis=1)
    assert (zpp._any_between(values, starts) == expected).all()


def test_strip_flags_drops_every_flag_and_keeps_the_rest():
    rng = np.random.default_rng(7)
    codes = np.zeros((DAP_ROW + 1, 300), dtype=np.int8)
    for offset in SIDE_OFFSET.values():
        codes[offset : offset + 56] = rng.integers(0, len(SENSORY_VALUES), (56, 300))
        codes[offset + 56 : offset + 66] = rng.integers(0, len(MOTOR_VALUES), (10, 300))
    codes[DAP_ROW - 1 :] = rng.integers(0, 3, (2, 300))
    for untested_not_normal in (False, True):
        out = ais.strip_flags(codes, untested_not_normal)
        sensory, motor = ais._LITERAL[untested_not_normal]
        for offset in SIDE_OFFSET.values():
            rows = slice(offset, offset + 56)
            assert (out[rows] == sensory[codes[rows]]).all()
            rows = slice(offset + 56, offset + 66)
            assert (out[rows] == motor[codes[rows]]).all()
        assert (out[DAP_ROW - 1 :] == codes[DAP_ROW - 1 :]).all()
    before = codes.copy()
    ais.strip_flags(codes)
    assert (codes == before).all()  # a copy: the exams' own codes stay


def test_completion_counts_count_each_row_kind():
    nt = completions.NT_CODES
    codes = np.zeros((DAP_ROW + 1, 4), dtype=np.int8)
    codes[[0, 70], 1] = nt[[0, 70]]  # two dermatomes (both sides): 3 * 3
    codes[[56, DAP_ROW], 2] = nt[[56, DAP_ROW]]  # a key muscle and DAP: 6 * 2
    codes[0:20, 3] = nt[0:20]  # 20 dermatomes: capped at 3 ** 7, still above the limit
    assert completions.completion_counts(codes).tolist() == [1, 9, 12, 3**7]


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 40), st.floats(0.0, 0.1))
def test_completion_counts_equal_a_product_over_every_row(seed, n, share):
    """Every row of each kind counts (the blocks cover each kind's rows, no more): plain NT
    cells at random, against the definition row by row."""
    rng = np.random.default_rng(seed)
    nt = completions.NT_CODES
    codes = np.where(rng.random((len(nt), n)) < share, nt[:, None], 0).astype(np.int8)
    untested = codes == nt[:, None]
    expected = np.ones(n, dtype=np.int64)
    for k in (2, 3, 6):
        expected *= k ** np.minimum(untested[completions.CHOICES == k].sum(axis=0), 7)
    assert completions.completion_counts(codes).tolist() == expected.tolist()


def _result(rng, rows: int, n: int, per_exam: int) -> tuple[Result, np.ndarray, np.ndarray]:
    present = np.zeros((rows, n), dtype=bool)
    for column in range(n):
        present[rng.choice(rows, size=rng.integers(0, per_exam + 1), replace=False), column] = 1
    starred = present & (rng.random((rows, n)) < 0.2)
    return Result(pack(present), pack(starred)), present, starred


def _written(names, present, starred, column) -> str:
    """One exam's value set as ``Candidates.render`` writes it."""
    values = np.flatnonzero(present[:, column])
    return ",".join(names[v] + ("*" if starred[v, column] else "") for v in values)


@pytest.mark.parametrize("per_exam", [1, 3])
def test_render_writes_each_set_as_candidates_do_chunk_after_chunk(per_exam, monkeypatch):
    # Sets seen in an earlier chunk are reused, new ones added, and a full cache starts over.
    monkeypatch.setattr(render_module, "_JOINED", {})
    monkeypatch.setattr(render_module, "_MAX_JOINED", 40)
    key = "rightMotorZpp"
    names = NAMES[key]
    rng = np.random.default_rng(per_exam)
    for n in (1, 9, 200, 61):
        result, present, starred = _result(rng, len(names), n, per_exam)
        index, strings = render(key, result, n)
        assert strings[: len(names)] == names
        for column in range(n):
            assert strings[index[column]] == _written(names, present, starred, column)


def test_render_in_several_threads_keeps_each_set_with_its_text(monkeypatch):
    # The dask path renders partitions in threads that share the cache of rendered sets; a
    # small cache makes them replace it often.
    monkeypatch.setattr(render_module, "_JOINED", {})
    monkeypatch.setattr(render_module, "_MAX_JOINED", 50)
    key = "leftMotorZpp"
    names = NAMES[key]

    def work(seed: int) -> int:
        rng = np.random.default_rng(seed)
        wrong = 0
        for _ in range(40):
            result, present, starred = _result(rng, len(names), 64, 3)
            index, strings = render(key, result, 64)
            wrong += sum(
                strings[index[c]] != _written(names, present, starred, c) for c in range(64)
            )
        return wrong

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert sum(pool.map(work, range(8))) == 0


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 32), st.integers(0, 70), st.integers(0, 4), st.integers(0, 2**32 - 1))
def test_coded_sets_index_every_exam_as_the_definition_does(rows, n, per_exam, seed):
    # Any row count a field has (the kernel keys a set by one 64-bit word: 32 rows at most),
    # widths that leave padding bits, exams with no value, one, or several, stars or not.
    rng = np.random.default_rng(seed)
    result, present, starred = _result(rng, rows, n, min(per_exam, rows))
    first = rows + 5
    index = np.full(n, -7, np.int32)
    keys = coded_sets(result.present, result.starred, n, first, index)
    words = [
        sum(1 << i for i in range(rows) if present[i, c])
        | sum(1 << (32 + i) for i in range(rows) if starred[i, c])
        for c in range(n)
    ]
    keyed = sorted({w for c, w in enumerate(words) if not _single(present, starred, c)})
    assert keys.tolist() == keyed
    for c in range(n):
        if _single(present, starred, c):
            assert index[c] == np.flatnonzero(present[:, c])[0]
        else:
            assert index[c] == first + keyed.index(words[c])


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 140), st.integers(0, 90), st.data())
def test_take_and_put_columns_equal_numpy_indexing(rows, n, data):
    codes = data.draw(hnp.arrays(np.int8, (rows, n)))
    columns = np.asarray(
        data.draw(st.lists(st.integers(0, n - 1), max_size=2 * n)) if n else [], np.int64
    )
    taken = take_columns(codes, columns)
    assert taken.dtype == np.int8 and (taken == np.take(codes, columns, axis=1)).all()
    distinct = np.unique(columns)  # as the groups' rows are
    target = np.zeros((rows, n), np.int32)
    expected = target.copy()
    values = data.draw(hnp.arrays(np.int32, (rows, len(distinct))))
    put_columns(target, distinct, values)
    expected[:, distinct] = values
    assert (target == expected).all()


def _single(present: np.ndarray, starred: np.ndarray, column: int) -> bool:
    return present[:, column].sum() == 1 and not starred[:, column].any()


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_reads_with_few_flagged_cells_equal_the_table(data):
    # A table row read from a block of codes: by comparisons for every code, or for the
    # unflagged codes with the few flagged cells looked up apart (lookup._Patched), as the
    # row says, packed or not.
    vocabulary = data.draw(st.sampled_from([SENSORY_VALUES, MOTOR_VALUES]))
    first_flagged = vocabulary.index("NT") + 1
    rows, n = data.draw(st.integers(1, 28)), data.draw(st.integers(1, 300))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    codes = rng.integers(0, first_flagged, (rows, n)).astype(np.int8)
    flagged = rng.random((rows, n)) < data.draw(st.sampled_from([0.0, 0.005, 0.02, 0.2]))
    codes[flagged] = rng.integers(first_flagged, len(vocabulary), flagged.sum())
    limit = int(codes.max()) + 1
    row = np.asarray(data.draw(st.lists(st.booleans(), min_size=len(vocabulary),
                                        max_size=len(vocabulary))))  # fmt: skip
    packed = data.draw(st.booleans())
    got = lookup.read(row, codes, limit, packed, cache={}, flagged_from=first_flagged)
    if isinstance(got, Const):  # the row is the same for every code present
        assert (row[codes] == got.value).all()
    else:
        assert (got == (pack(row[codes]) if packed else row[codes])).all()


def _parts(*parts):
    """``table._Part``s of one field from (indices, names, rows)."""
    return [
        table_module._Part(rows, np.asarray([indices], np.int32), [names])
        for indices, names, rows in parts
    ]


def _merged(key, parts, n, positions=None) -> list:
    return table_module._merge((key,), _parts(*parts), n, positions)[0].to_pylist()


def test_merge_numbers_the_sets_of_every_part_once():
    # Parts: plain rows (the field's names only), then two parts each bringing sets of values.
    key = "asiaImpairmentScale"
    base = NAMES[key]
    parts = [
        ([0, 4], base, np.asarray([0, 3])),
        ([len(base), len(base) + 1, 2], (*base, "A,B", "C*"), np.asarray([1, 4, 5])),
        ([len(base) + 1, len(base)], (*base, "C*", "D,E"), np.asarray([2, 6])),
    ]
    assert _merged(key, parts, 7) == [base[0], "A,B", "D,E", base[4], "C*", base[2], "C*"]
    assert _merged(key, parts[:2], 7, np.asarray([1, 3])) == ["A,B", base[4]]
    # A part of every row, in order, comes first; the others overwrite their rows.
    whole = [([0, 1, 2, 3], base, None), ([len(base)], (*base, "A,B"), np.asarray([2]))]
    assert _merged(key, whole, 4) == [base[0], base[1], "A,B", base[3]]
    # A text listed twice by a part keeps both numbers; a later part's new text gets its own.
    repeated = [
        ([len(base), len(base) + 1], (*base, "X", "X"), np.asarray([0, 1])),
        ([len(base)], (*base, "Y"), np.asarray([2])),
    ]
    assert _merged(key, repeated, 3) == ["X", "X", "Y"]
    # No part (every row bad): empty columns.
    assert _merged(key, [], 2, np.zeros(0, np.int64)) == []


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 12), st.sampled_from([1, 7, 8, 9, 650, 2048, 2049]), st.data())
def test_running_reductions_equal_a_loop_down_the_rows(rows, width, data):
    # Both ways: one call on 64-bit words (padded), and a loop over long rows.
    seed = data.draw(st.integers(0, 2**32 - 1))
    bits = np.random.default_rng(seed).integers(0, 256, (rows, width)).astype(np.uint8)
    for running, op in ((prefix_or, np.bitwise_or), (prefix_and, np.bitwise_and)):
        expected = bits.copy()
        for i in range(1, rows):
            expected[i] = op(expected[i - 1], bits[i])
        assert (running(bits) == expected).all()
