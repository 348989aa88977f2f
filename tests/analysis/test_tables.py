from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from cordtrial.analysis.csv_io import read_tables_dir, write_tables_dir
from cordtrial.analysis.datasets import load_example
from cordtrial.analysis.tables import (
    REQUIRED_COLUMNS,
    AnalysisTables,
    TableContractError,
    ais_grades,
)


@pytest.fixture(scope="module")
def example() -> AnalysisTables:
    return load_example()


def test_example_is_valid_and_synthetic(example: AnalysisTables) -> None:
    example.validate()
    assert len(example.patients) == 13
    assert example.patients["synthetic"].all()
    assert set(example.exams["visit"]) >= {"pre_infusion", "day1", "week1", "month3", "month6"}
    assert example.infusions["days_since_injury"].between(40, 55).all()
    for name, cols in REQUIRED_COLUMNS.items():
        assert set(cols) <= set(getattr(example, name).columns)


def test_empty_tables_validate() -> None:
    AnalysisTables.empty().validate()


@pytest.mark.parametrize(
    ("table", "column", "value", "message"),
    [
        ("patients", "sex", "X", "patients.sex: value not allowed"),
        ("patients", "age", 130, "patients.age: out of range"),
        ("exams", "visit", "week2", "exams.visit: value not allowed"),
        ("exams", "ais", "F", "exams.ais: unknown AIS grade"),
        ("exams", "uems", 51.0, "exams.uems: out of range"),
        ("exams", "patient", "NOPE", "exams.patient: unknown patient"),
        ("adverse_events", "grade", 6, "adverse_events.grade: out of range"),
        ("adverse_events", "related_product", "maybe", "related_product: value not allowed"),
        ("exams", "days_since_injury", -3, "exams.days_since_injury: negative"),
    ],
)
def test_bad_value_is_named(example, table, column, value, message) -> None:
    df = getattr(example, table).copy()
    df[column] = df[column].astype(object)
    df.loc[df.index[0], column] = value
    bad = replace(example, **{table: df})
    with pytest.raises(TableContractError, match=message) as info:
        bad.validate()
    assert info.value.value == value
    assert info.value.table == table and info.value.column == column


def test_missing_column_lists_contract(example) -> None:
    bad = replace(example, exams=example.exams.drop(columns=["lems"]))
    with pytest.raises(TableContractError, match="exams.lems: required column missing"):
        bad.validate()


def test_wrong_dtype(example) -> None:
    df = example.exams.copy()
    df["exam_date"] = df["exam_date"].dt.strftime("%Y-%m-%d")
    with pytest.raises(TableContractError, match="must be datetime64"):
        replace(example, exams=df).validate()


def test_indeterminate_and_starred_grades_accepted(example) -> None:
    df = example.exams.copy()
    df.loc[df.index[0], "ais"] = "A,B"
    df.loc[df.index[1], "ais"] = "C*"
    df.loc[df.index[2], "ais"] = None
    replace(example, exams=df).validate()
    assert ais_grades("A,B") == ("A", "B")
    assert ais_grades("C*") == ("C",)
    assert ais_grades(np.nan) == ()


def test_csv_round_trip(example, tmp_path) -> None:
    write_tables_dir(example, tmp_path)
    back = read_tables_dir(tmp_path)
    for name in REQUIRED_COLUMNS:
        a, b = getattr(example, name), getattr(back, name)
        pd.testing.assert_frame_equal(
            a.reset_index(drop=True), b.reset_index(drop=True), check_dtype=False
        )


def test_csv_errors(example, tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="patients.csv"):
        read_tables_dir(tmp_path)
    write_tables_dir(example, tmp_path)
    ex = pd.read_csv(tmp_path / "exams.csv", dtype=str)
    ex.loc[0, "blinded"] = "sometimes"
    ex.to_csv(tmp_path / "exams.csv", index=False)
    with pytest.raises(TableContractError, match="exams.blinded: not a boolean"):
        read_tables_dir(tmp_path)


def test_subset(example) -> None:
    sub = example.subset(["SYN-01", "SYN-02"]).validate()
    assert set(sub.exams["patient"]) == {"SYN-01", "SYN-02"}
