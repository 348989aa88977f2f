"""The batch path (`classify_batch`) gives, row by row, what the single-exam path gives.

Both run the same rules (a single exam is a batch of one); these tests check what only the
batch does: validation from Arrow columns, grouping rows by kind (plain, NT, flags), rendering
results column-wise and merging the groups back in input order."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cordtrial.isncsci import RESULT_KEYS, Exam, ExamValidationError, classify
from cordtrial.isncsci.batch import (
    BatchValidationError,
    UnknownColumnsError,
    classify_batch,
    classify_table,
)
from cordtrial.isncsci.batch.columns import CELL_ORDER, NON_KEY_COLUMNS
from cordtrial.isncsci.batch.frame import STATS_KEY, to_arrow
from cordtrial.isncsci.batch.validate import INVALID, encode
from cordtrial.isncsci.strategies import arbitrary_rhi_exams, rhi_exams
from cordtrial.isncsci.synthetic import generate_exams
from cordtrial.isncsci.values import BINARY_VALUES, MOTOR_VALUES, SENSORY_VALUES

PLAIN = {"nt_rate": 0.0, "flag_rate": 0.0, "nonkey_rate": 0.0, "anal_nt_rate": 0.0}


def table_of(exams: list[dict]) -> pa.Table:
    """Exams as a table with a column for every key of any exam (pa.Table.from_pylist would
    take the columns of the first exam only), null where an exam lacks the key."""
    columns = list(dict.fromkeys(k for exam in exams for k in exam))
    return pa.table({c: pa.array([e.get(c) for e in exams], pa.string()) for c in columns})


def single(exam: dict) -> dict[str, str]:
    return classify(Exam.from_rhi(exam)).to_rhi()


def assert_same_as_single(exams: list[dict], frame: pd.DataFrame) -> None:
    assert list(frame.columns[-len(RESULT_KEYS) :]) == list(RESULT_KEYS)
    assert len(frame) == len(exams)
    for i, exam in enumerate(exams):
        got = {key: frame[key].iloc[i] for key in RESULT_KEYS}
        assert got == single(exam), f"row {i}: {exam}"


# --- equality with the single-exam path -----------------------------------------------------

exam_lists = st.lists(
    st.one_of(
        rhi_exams(),  # NT, flags, non-key muscles
        rhi_exams(nt_rate=0, flag_rate=0, nonkey_rate=0, anal_nt_rate=0),  # plain
        arbitrary_rhi_exams(nt=False, flags=False),  # plain but of any shape
        arbitrary_rhi_exams(),  # anything valid
    ),
    min_size=1,
    max_size=6,
)


def kinds(stats) -> int:
    return stats["plain"] + stats["not_testable"] + stats["flagged"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(exam_lists)
def test_batch_equals_single_path_for_generated_exams(exams):
    out = classify_batch(pd.DataFrame(exams))
    assert_same_as_single(exams, out)
    stats = out.attrs[STATS_KEY]
    assert kinds(stats) == stats["classified"] == len(exams)
    assert stats["failed"] == 0


def _without_non_key(exam: dict) -> dict:
    return {k: v for k, v in exam.items() if "NonKey" not in k}


def assert_same(exams: list[dict], plain: bool = False) -> None:
    result = classify_table(table_of(exams))
    assert result.classified == len(exams)
    if plain:
        assert result.plain == len(exams)
    for i, exam in enumerate(exams):
        assert {k: result.table.column(k)[i].as_py() for k in RESULT_KEYS} == single(exam), exam


@settings(max_examples=30, deadline=None)
@given(st.lists(arbitrary_rhi_exams(nt=False, flags=False), max_size=6))
def test_plain_exams_are_one_group(exams):
    # Non-key muscles included: without NT cells they decide B/C and the motor ZPP directly.
    assert_same(exams, plain=True)


unflagged_exams = st.one_of(
    arbitrary_rhi_exams(flags=False).map(_without_non_key),  # NT anywhere, often everywhere
    arbitrary_rhi_exams(flags=False),  # with non-key muscles: many NT, no completions
    rhi_exams(flag_rate=0, nonkey_rate=0.3, nt_rate=0.3, anal_nt_rate=0.1),
)


@st.composite
def few_nt_with_non_key(draw) -> dict:
    """A clinically shaped exam with one to three NT cells and a non-key muscle: the motor ZPP
    is then the union over the exams the NT cells could stand for."""
    exam = draw(rhi_exams(flag_rate=0, nonkey_rate=0, nt_rate=0, anal_nt_rate=0))
    cells = [c for c in CELL_ORDER if "Motor" in c or c.startswith("s4_5") or "anal" in c]
    for key in draw(st.lists(st.sampled_from(cells), min_size=1, max_size=3, unique=True)):
        exam[key] = draw(st.sampled_from(["NT", "NT", "0*", "1**"])) if "anal" not in key else "NT"
    for column in draw(st.lists(st.sampled_from(NON_KEY_COLUMNS), min_size=1, unique=True)):
        exam[column] = draw(st.sampled_from(["C6", "C8", "T1", "T6", "L2", "L3", "L5", "S1"]))
    return exam


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(unflagged_exams, few_nt_with_non_key()), min_size=1, max_size=6))
def test_exams_with_not_testable_cells_and_flags_equal_the_single_path(exams):
    assert_same(exams)


def test_rows_are_grouped_by_kind():
    exam = generate_exams(1, 3, pattern_weights={"normal": 1.0}, **PLAIN)[0]
    nt = dict(exam, id="nt", c6LeftTouch="NT")
    with_non_key = dict(nt, id="nk", rightLowestNonKeyMuscleWithMotorFunction="L3")
    flagged = dict(exam, id="flag", c6LeftTouch="1*")
    exams = [exam, nt, with_non_key, flagged]
    result = classify_table(table_of(exams))
    assert (result.plain, result.not_testable, result.flagged) == (1, 2, 1)
    for i, e in enumerate(exams):
        assert {k: result.table.column(k)[i].as_py() for k in RESULT_KEYS} == single(e)


@pytest.mark.slow
def test_batch_equals_single_path_on_20000_seeded_exams():
    # Half plain, half the default test mix (NT, flags, non-key muscles), interleaved by the
    # groups; every cell NT with a rate per exam from rare to most in a further 4,000.
    exams = generate_exams(8_000, 20_260, **PLAIN) + generate_exams(8_000, 20_261)
    rng = np.random.default_rng(77)
    extra = generate_exams(4_000, 77, **PLAIN)
    for exam, rate in zip(extra, rng.choice([0.01, 0.05, 0.2, 0.6], size=4_000), strict=True):
        for key in CELL_ORDER:
            if rng.random() < rate:
                exam[key] = "NT"
    exams += extra
    order = rng.permutation(len(exams))
    exams = [exams[i] for i in order]
    result = classify_table(table_of(exams))
    assert result.failed == 0 and result.classified == len(exams)
    columns = {key: result.table.column(key).to_pylist() for key in RESULT_KEYS}
    ids = result.table.column("id").to_pylist()
    for i, exam in enumerate(exams):
        assert ids[i] == exam["id"]
        assert {key: columns[key][i] for key in RESULT_KEYS} == single(exam), exam["id"]


def test_every_ais_grade_is_rendered_for_plain_exams():
    exams = generate_exams(400, 11, **PLAIN)
    result = classify_table(table_of(exams))
    assert {"A", "B", "C", "D", "E"} <= set(result.table.column("asiaImpairmentScale").to_pylist())
    assert result.plain == 400


def test_normal_exam_without_vac_equals_the_single_path():
    # Intact NLI, motor levels S3 (VAC absent): the plain corner the AIS rules reach via B.
    normal = generate_exams(1, 1, pattern_weights={"normal": 1.0}, **PLAIN)[0]
    exams = [dict(normal, id=f"n{i}", analContraction="No", analSensation=dap)
             for i, dap in enumerate(("Yes", "No"))]  # fmt: skip
    exams.append(dict(normal, id="vac", analContraction="Yes"))
    assert_same(exams, plain=True)


# --- table shapes and types -----------------------------------------------------------------


def test_arrow_in_arrow_out_keeps_id_and_order():
    exams = generate_exams(30, 5)
    out = classify_batch(table_of(exams))
    assert isinstance(out, pa.Table)
    assert out.column_names == ["id", *RESULT_KEYS]
    assert out.column("id").to_pylist() == [e["id"] for e in exams]
    assert STATS_KEY.encode() in out.schema.metadata
    for i, exam in enumerate(exams):
        assert out.slice(i, 1).to_pylist()[0] | {"id": None} == {"id": None, **single(exam)}


def test_integer_columns_read_like_their_text():
    exams = generate_exams(20, 9, **PLAIN)
    frame = pd.DataFrame(exams)
    numeric = frame.apply(lambda c: pd.to_numeric(c) if c.str.isdigit().all() else c)
    assert any(pd.api.types.is_integer_dtype(t) for t in numeric.dtypes)
    out = classify_batch(numeric)
    assert_same_as_single(exams, out)


def test_dictionary_and_padded_text_columns():
    exams = generate_exams(20, 13)
    table = table_of([{k: f" {v} " if k != "id" else v for k, v in e.items()} for e in exams])
    table = pa.table({name: table.column(name).dictionary_encode() for name in table.column_names})
    out = classify_batch(table)
    for i, exam in enumerate(exams):
        assert {k: out.column(k)[i].as_py() for k in RESULT_KEYS} == single(exam)


def test_empty_table():
    exams = generate_exams(1, 1)
    out = classify_batch(table_of(exams).slice(0, 0))
    assert out.num_rows == 0


def test_unknown_columns_are_refused_or_ignored():
    frame = pd.DataFrame(generate_exams(3, 2)).assign(site="Sapporo")
    with pytest.raises(UnknownColumnsError) as info:
        classify_batch(frame)
    assert info.value.columns == ["site"]
    assert "site" in str(info.value)
    out = classify_batch(frame, unknown_columns="ignore", keep=("id",))
    assert len(out) == 3


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="errors"):
        classify_batch(pd.DataFrame(generate_exams(1, 1)), errors="ignore")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="list"):
        classify_batch(generate_exams(1, 1))  # type: ignore[arg-type]


# --- bad rows -------------------------------------------------------------------------------

BAD_VALUES = st.sampled_from(["7", "", " ", "x", "2.5", "N T", "5*", "2*", "yes", "C9", None,
                              3.0, True, -1, 12, "c5", "S4-5", "t3",
                              # near the packed vocabulary (batch/validate.py): too long,
                              # padded (allowed once stripped), other case, non-ASCII, NUL
                              "NT***", "1***", " NT", "NT ", "2 ", "nt", "ÑT", "0\x00", "12345",
                              "Yes*", " No"])  # fmt: skip


@st.composite
def corrupted_exams(draw):
    exam = dict(draw(arbitrary_rhi_exams()))
    fields = [k for k in exam if k != "id"] + [
        "rightLowestNonKeyMuscleWithMotorFunction",
        "leftLowestNonKeyMuscleWithMotorFunction",
    ]
    for field in draw(st.lists(st.sampled_from(fields), min_size=1, max_size=4, unique=True)):
        if draw(st.booleans()) and field in exam:
            del exam[field]
        else:
            exam[field] = draw(BAD_VALUES)
    return exam


@settings(max_examples=40, deadline=None)
@given(corrupted_exams(), arbitrary_rhi_exams())
def test_bad_rows_get_the_single_path_errors_and_good_rows_still_classify(bad, good):
    rows = [good, bad, good]
    columns = sorted({k for row in rows for k in row})
    # One object column per field, None where a row lacks it (as in a table).
    frame = pd.DataFrame({c: pd.Series([r.get(c) for r in rows], dtype=object) for c in columns})
    try:
        Exam.from_rhi({k: v for k, v in bad.items() if v is not None})
        expected = None
    except ExamValidationError as exc:
        expected = exc.errors
    out = classify_batch(frame, errors="skip")
    stats = out.attrs[STATS_KEY]
    if expected is None:  # the corruption happened to be allowed (e.g. a valid level)
        assert stats["failed"] == 0
        return
    assert list(out.index) == [0, 2]
    assert_same_as_single([good, good], out)
    result = classify_table(to_arrow(frame))
    (error,) = result.errors
    assert error.row == 2
    assert [(e.field, e.allowed) for e in error.errors] == [(e.field, e.allowed) for e in expected]
    assert [_same_value(e.value) for e in error.errors] == [_same_value(e.value) for e in expected]
    with pytest.raises(BatchValidationError, match="row 2"):
        classify_batch(frame)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            arbitrary_rhi_exams(nt=False, flags=False),  # plain
            arbitrary_rhi_exams(),  # often NT cells or flags
            corrupted_exams(),  # often rejected
        ),
        min_size=1,
        max_size=8,
    ),
    st.sampled_from([0, 80]),
)
def test_plain_special_and_bad_rows_in_any_share(exams, padding):
    # Nearly all plain tables (80 plain rows added) classify their plain rows in place (the
    # other rows filled with a plain exam whose results are replaced or dropped); the others
    # in two groups.
    exams = exams + generate_exams(padding, 5, **PLAIN)
    columns = sorted({k for row in exams for k in row})
    table = pa.table(
        {c: pa.array([None if r.get(c) is None else str(r[c]) for r in exams]) for c in columns}
    )
    assert_rows_like_the_single_path(table)


def _same_value(value):
    # A table cell holds None where a mapping lacks the key; both mean "missing".
    return None if value is None else str(value)


def test_error_report_lines_name_row_field_value_and_allowed():
    exams = generate_exams(3, 4, **PLAIN)
    exams[1]["c5RightTouch"] = "7"
    exams[2]["analContraction"] = "maybe"
    result = classify_table(table_of(exams), first_row=101)
    assert result.classified == 1 and result.failed == 2
    lines = [line for e in result.errors for line in e.lines()]
    assert lines[0].startswith("row 102: c5RightTouch: '7' not allowed; allowed: sensory: 0, 1, 2")
    assert lines[1].startswith("row 103: analContraction: 'maybe' not allowed; allowed: ")
    assert result.errors[0].id == exams[1]["id"]


def test_a_missing_column_fails_every_row_with_that_field():
    exams = generate_exams(2, 4, **PLAIN)
    for exam in exams:
        del exam["s1LeftMotor"]
    result = classify_table(table_of(exams))
    assert result.classified == 0
    assert [[e.field for e in r.errors] for r in result.errors] == [["s1LeftMotor"]] * 2


def test_error_column_mode_keeps_every_row_with_its_id():
    exams = generate_exams(4, 8, **PLAIN)
    exams[2]["t5LeftTouch"] = "22"
    for table in (table_of(exams), pd.DataFrame(exams)):
        out = classify_batch(table, errors="column")
        if isinstance(out, pd.DataFrame):
            out = pa.Table.from_pandas(out, preserve_index=False)
        assert out.column("id").to_pylist() == [e["id"] for e in exams]
        messages = out.column("errors").to_pylist()
        assert messages[2] == (
            "t5LeftTouch: '22' not allowed; allowed: sensory: "
            "0, 1, 2, NT, 0*, 1*, NT*, 0**, 1**, NT**"
        )
        assert messages[:2] + messages[3:] == [None] * 3
        assert out.column("asiaImpairmentScale")[2].as_py() is None
        assert (
            out.column("asiaImpairmentScale")[3].as_py() == single(exams[3])["asiaImpairmentScale"]
        )
    skipped = classify_batch(table_of(exams), errors="skip")
    assert skipped.column("id").to_pylist() == [exams[i]["id"] for i in (0, 1, 3)]


@pytest.mark.parametrize("vocabulary", [SENSORY_VALUES, MOTOR_VALUES, BINARY_VALUES])
def test_text_columns_encode_like_the_vocabulary_lookup(vocabulary):
    # One column mixing one-byte values, longer vocabulary values, padding and rejected text,
    # sliced so that the Arrow offsets do not start at zero.
    odd = ["", " ", "NT***", " NT", "2 ", "nt", "ÑT", "0\x00", "12345", "Yes*", None]
    values = ["x", *vocabulary, *odd, *reversed(vocabulary)]
    expected = [
        INVALID if v is None else {t: i for i, t in enumerate(vocabulary)}.get(v.strip(), INVALID)
        for v in values[1:]
    ]
    for kind in (pa.string(), pa.large_string()):
        column = pa.array(values, kind).slice(1)
        assert encode(column, vocabulary).tolist() == expected
        many = pa.array(values[1:] * 300, kind)  # past the one-by-one lookup
        assert encode(many, vocabulary).tolist() == expected * 300


# One-byte values in blocks of them: digits just past a vocabulary's ("3" sensory, "6" motor,
# "0" VAC/DAP) and bytes beside the digits ("/", ":") are rejected.
_ODD_TEXT = ["", " ", "NT***", " NT", "2 ", "nt", "ÑT", "0\x00", "12345", "Yes*", "No ", "Yes"]
_ODD_TEXT += ["0", "3", "6", "9", "/", ":", "\x00", "10", "55", "1 "]


@st.composite
def _text_columns(draw):
    """A text column shaped like the ones ``encode`` reads from their buffers: mostly one kind
    of value (one-byte grades, or the words of VAC/DAP), a few or many others (vocabulary
    values of several bytes, padded, rejected, empty, null), sliced or not."""
    vocabulary = draw(st.sampled_from([SENSORY_VALUES, MOTOR_VALUES, BINARY_VALUES]))
    short = [v for v in vocabulary if len(v) == 1] or list(vocabulary)
    n = draw(st.integers(1, 600))
    common = draw(st.sampled_from([short, list(vocabulary)]))
    values: list[str | None] = [draw(st.sampled_from(common)) for _ in range(n)]
    others = st.one_of(st.sampled_from(vocabulary), st.sampled_from(_ODD_TEXT), st.none())
    for _ in range(draw(st.sampled_from([0, 1, 3, 40, 70, 300]))):
        values[draw(st.integers(0, n - 1))] = draw(others)
    kind = draw(st.sampled_from([pa.string(), pa.large_string()]))
    start = draw(st.integers(0, 2))
    column = pa.array(["5", "NT"][:start] + values, kind).slice(start)
    return vocabulary, values, column


@pytest.mark.parametrize("vocabulary", [SENSORY_VALUES, MOTOR_VALUES])
@pytest.mark.parametrize("short", ["", None])
@pytest.mark.parametrize("at", [0, 5])
def test_a_block_of_eight_bytes_is_read_as_grades_only_when_each_value_is_one_byte(
    vocabulary, short, at
):
    # An empty value (or a null) beside a two-digit one: eight values over eight bytes, yet
    # not eight grades ("10" is no grade, an empty value is missing).
    values = ["1"] * 16
    values[at], values[at + 1] = short, "10"
    codes = {t: i for i, t in enumerate(vocabulary)}
    expected = [INVALID if v is None else codes.get(v.strip(), INVALID) for v in values]
    for kind in (pa.string(), pa.large_string()):
        assert encode(pa.array(values, kind), vocabulary).tolist() == expected


@settings(max_examples=150, deadline=None)
@given(_text_columns())
def test_any_text_column_encodes_like_the_vocabulary_lookup(case):
    vocabulary, values, column = case
    codes = {t: i for i, t in enumerate(vocabulary)}
    expected = [INVALID if v is None else codes.get(v.strip(), INVALID) for v in values]
    assert encode(column, vocabulary).tolist() == expected


def _typed_columns():
    words = ["5"] + [f"junk{i}" for i in range(127)]  # 128 entries: int8 indices are full
    yield "all null", pa.array([None] * 6, pa.string())
    yield "all empty", pa.array([""] * 6, pa.large_string())
    yield "empty and null", pa.array(["", None] * 3, pa.string())
    yield "uint8", pa.array([5, 3, 5, 4, 5, 0], pa.uint8())
    yield "uint64", pa.array([5, 3, 2**64 - 1, 4, 5, 0], pa.uint64())
    yield "decimal", pa.array([Decimal("5"), Decimal("3"), Decimal("5.0")] * 2, pa.decimal128(3, 1))
    yield "decimal scale 0", pa.array([Decimal(v) for v in "535405"], pa.decimal128(3, 0))
    yield "string view", pa.array(["5", "3", "NT", " 4", "5*", None], pa.string_view())
    yield (
        "dictionary int8",
        pa.DictionaryArray.from_arrays(
            pa.array([0, 0, None, 127, 0, 0], pa.int8()), pa.array(words)
        ),
    )


@pytest.mark.parametrize(
    "column", [pytest.param(column, id=label) for label, column in _typed_columns()]
)
def test_unusual_column_types_are_read_like_the_single_path(column):
    exams = generate_exams(6, 21, **PLAIN)
    table = table_of(exams).set_column(
        list(table_of(exams).column_names).index("s1LeftMotor"), "s1LeftMotor", column
    )
    assert_rows_like_the_single_path(table)


def assert_rows_like_the_single_path(table: pa.Table) -> None:
    """Every row of ``table`` classified as the single path classifies it, or rejected with
    the same field errors."""
    result = classify_table(table)
    errors = {e.row - 1: [(f.field, f.value) for f in e.errors] for e in result.errors}
    done = iter(range(result.classified))
    for i, record in enumerate(table.to_pylist()):
        try:
            expected = single(record)
        except ExamValidationError as exc:
            assert errors.pop(i) == [(f.field, f.value) for f in exc.errors]
            continue
        row = next(done)
        assert {k: result.table.column(k)[row].as_py() for k in RESULT_KEYS} == expected
    assert errors == {}


def test_non_key_columns_read_like_the_single_path():
    # Exact level names in both cases and the empty words are looked up from the column's
    # buffers; any other spelling (padded, hyphenated, rejected) takes the general path. Nulls,
    # a sliced column (offsets not starting at zero) and both string widths.
    values = ["x", None, "", "C5", "c6", "T1", "t12", "L2", "S1", "s1", "None", "null", " C7",
              "C7 ", "s4-5", "S4_5", "C4", "T2", "Q1", "", None, "NONE", "c5*", "L5", "l4"]  # fmt: skip
    exams = generate_exams(40 * len(values), 31, **PLAIN)
    for kind in (pa.string(), pa.large_string()):
        for repeat in (1, 40):  # few values and many
            column = pa.array(values * repeat, kind).slice(1)
            records = exams[: len(column)]
            name = "rightLowestNonKeyMuscleWithMotorFunction"
            table = table_of(records)
            if name in table.column_names:
                table = table.drop_columns([name])
            assert_rows_like_the_single_path(table.append_column(name, column))


def test_a_null_is_invalid_whatever_its_slot_holds():
    # Arrow lets a null's slot hold bytes ("5" here): the buffers are read directly, so the
    # validity bitmap must still win.
    values = pa.array(["5", "5", "NT"], pa.string())
    _, offsets, data = values.buffers()
    validity = pa.py_buffer(bytes([0b101]))  # the second value null
    column = pa.Array.from_buffers(pa.string(), 3, [validity, offsets, data], null_count=1)
    assert column.to_pylist() == ["5", None, "NT"]
    assert encode(column, MOTOR_VALUES).tolist() == [5, INVALID, MOTOR_VALUES.index("NT")]
