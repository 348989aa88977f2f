"""The tidy-table contract between the trial store and the analysis.

The store (``cordtrial.store.tables.analysis_tables``) and the CSV loaders produce an
:class:`AnalysisTables`; every analysis function takes one. ``validate()`` checks the column
contract (names, dtypes, allowed values) and raises :class:`TableContractError` naming the table,
the column, the offending value and what is allowed. Extra columns are allowed and ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from cordtrial.visits import VISITS  # part of the contract, re-exported

RELATEDNESS: tuple[str, ...] = ("not related", "unlikely", "possible", "probable", "definite")
AIS_GRADES: tuple[str, ...] = ("A", "B", "C", "D", "E")
SEXES: tuple[str | None, ...] = ("F", "M", None)


class TableContractError(ValueError):
    """A table does not meet the analysis contract."""

    def __init__(self, table: str, column: str, problem: str, value: object, allowed: str):
        self.table, self.column, self.value, self.allowed = table, column, value, allowed
        super().__init__(f"{table}.{column}: {problem} (got {value!r}; allowed: {allowed})")


# kind: "str", "bool", "int", "float", "datetime"
_SCHEMA: dict[str, dict[str, str]] = {
    "patients": {
        "patient": "str",
        "site": "str",
        "sex": "str?",
        "age": "int",
        "injury_date": "datetime",
        "tetraplegia": "bool",
        "synthetic": "bool",
    },
    "exams": {
        "patient": "str",
        "visit": "str",
        "exam_date": "datetime",
        "days_since_injury": "int",
        "ais": "str?",
        "nli": "str?",
        "right_motor_level": "str?",
        "left_motor_level": "str?",
        "uems": "float",
        "lems": "float",
        "lt_total": "float",
        "pp_total": "float",
        "l3_motor_right": "float",
        "l3_motor_left": "float",
        "s1_motor_right": "float",
        "s1_motor_left": "float",
        "l3_touch_right": "float",
        "l3_touch_left": "float",
        "s1_touch_right": "float",
        "s1_touch_left": "float",
        "blinded": "bool",
    },
    "instruments": {
        "patient": "str",
        "visit": "str",
        "assessment_date": "datetime",
        "days_since_injury": "int",
        "instrument": "str",
        "measure": "str",
        "value": "float",
    },
    "infusions": {
        "patient": "str",
        "infusion_date": "datetime",
        "days_since_injury": "int",
        "lot": "str?",
        "cells_total": "float",
        "cells_per_kg": "float",
    },
    "adverse_events": {
        "patient": "str",
        "term": "str",
        "grade": "int",
        "serious": "bool",
        "related_product": "str",
        "expected": "bool",
        "onset_date": "datetime",
        "days_since_injury": "int",
        "outcome": "str?",
    },
}

# Score ranges per ISNCSCI (motor 0-5 per key muscle, sensory 0-2 per dermatome).
_RANGES: dict[str, tuple[float, float]] = {
    "uems": (0, 50),
    "lems": (0, 50),
    "lt_total": (0, 112),
    "pp_total": (0, 112),
    **{f"{seg}_motor_{side}": (0, 5) for seg in ("l3", "s1") for side in ("right", "left")},
    **{f"{seg}_touch_{side}": (0, 2) for seg in ("l3", "s1") for side in ("right", "left")},
}


def _first_bad(series: pd.Series, ok: Callable[[object], bool]) -> object | None:
    for v in series:
        if not ok(v):
            return v
    return _SENTINEL


_SENTINEL = object()


def _is_missing(v: object) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT


def _check_kind(table: str, col: str, s: pd.Series, kind: str) -> None:
    nullable = kind.endswith("?")
    base = kind.rstrip("?")
    if base == "datetime":
        if not pd.api.types.is_datetime64_any_dtype(s):
            raise TableContractError(table, col, "must be datetime64", str(s.dtype), "datetime64")
        if s.isna().any():
            raise TableContractError(table, col, "missing date", "NaT", "a date")
        return
    if base == "bool":
        bad = _first_bad(s, lambda v: isinstance(v, bool | np.bool_))
        if bad is not _SENTINEL:
            raise TableContractError(table, col, "must be boolean", bad, "True/False")
        return
    if base == "int":
        # Accept integer dtypes, and object/float columns whose every value is a whole number
        # (database drivers and CSV readers produce both).
        if not pd.api.types.is_integer_dtype(s):
            bad = _first_bad(
                s,
                lambda v: (
                    not _is_missing(v)
                    and not isinstance(v, bool | np.bool_)
                    and isinstance(v, int | float | np.integer | np.floating)
                    and float(v).is_integer()
                ),
            )
            if bad is not _SENTINEL:
                raise TableContractError(table, col, "must be a whole number", bad, "integers")
        return
    if base == "float":
        if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            bad = _first_bad(
                s,
                lambda v: (
                    (isinstance(v, int | float | np.number) and not isinstance(v, bool | np.bool_))
                    or _is_missing(v)
                ),
            )
            if bad is not _SENTINEL:
                raise TableContractError(
                    table, col, "must be numeric (NaN if missing)", bad, "numbers or NaN"
                )
        return
    if base == "str":
        bad = _first_bad(s, lambda v: isinstance(v, str) or (nullable and _is_missing(v)))
        if bad is not _SENTINEL:
            allowed = "text or missing" if nullable else "non-empty text"
            raise TableContractError(table, col, "must be text", bad, allowed)
        if not nullable:
            bad = _first_bad(s, lambda v: v.strip() != "")
            if bad is not _SENTINEL:
                raise TableContractError(table, col, "must not be empty", bad, "non-empty text")
        return
    raise AssertionError(kind)  # pragma: no cover - schema typo


def _check_allowed(table: str, col: str, s: pd.Series, allowed: Iterable[object]) -> None:
    allowed = tuple(allowed)
    bad = _first_bad(s, lambda v: v in allowed or (None in allowed and _is_missing(v)))
    if bad is not _SENTINEL:
        raise TableContractError(
            table,
            col,
            "value not allowed",
            bad,
            ", ".join("missing" if a is None else str(a) for a in allowed),
        )


def ais_grades(value: object) -> tuple[str, ...]:
    """Parse an AIS cell ("B", "A,B", "C*") into its candidate grades; () when missing.

    The ISNCSCI engine gives a comma list when the grade is indeterminate and a "*" when a
    non-SCI impairment affected the exam (ISNCSCI 2019 worksheet convention).
    """
    if _is_missing(value):
        return ()
    parts = [p.strip().rstrip("*").strip() for p in str(value).split(",")]
    return tuple(p for p in parts if p)


@dataclass(frozen=True)
class AnalysisTables:
    """Five tidy tables: patients, exams, instruments, infusions, adverse_events."""

    patients: pd.DataFrame
    exams: pd.DataFrame
    instruments: pd.DataFrame
    infusions: pd.DataFrame
    adverse_events: pd.DataFrame

    def validate(self) -> AnalysisTables:
        """Check the column contract; return self so calls chain. Raises TableContractError."""
        for f in fields(self):
            df = getattr(self, f.name)
            if not isinstance(df, pd.DataFrame):
                raise TableContractError(
                    f.name, "*", "must be a pandas DataFrame", type(df).__name__, "DataFrame"
                )
            for col, kind in _SCHEMA[f.name].items():
                if col not in df.columns:
                    raise TableContractError(
                        f.name,
                        col,
                        "required column missing",
                        sorted(map(str, df.columns)),
                        ", ".join(_SCHEMA[f.name]),
                    )
                if len(df):
                    _check_kind(f.name, col, df[col], kind)
        p, e, i = self.patients, self.exams, self.instruments
        if p["patient"].duplicated().any():
            dup = p.loc[p["patient"].duplicated(), "patient"].iloc[0]
            raise TableContractError(
                "patients", "patient", "duplicate patient code", dup, "unique codes"
            )
        _check_allowed("patients", "sex", p["sex"], SEXES)
        bad = _first_bad(p["age"], lambda v: 0 <= v <= 120)
        if bad is not _SENTINEL:
            raise TableContractError("patients", "age", "out of range", bad, "0-120")
        known = set(p["patient"])
        for name in ("exams", "instruments", "infusions", "adverse_events"):
            df = getattr(self, name)
            bad = _first_bad(df["patient"], lambda v: v in known)
            if bad is not _SENTINEL:
                raise TableContractError(
                    name, "patient", "unknown patient", bad, "codes in patients.patient"
                )
            bad = _first_bad(df["days_since_injury"], lambda v: v >= 0)
            if bad is not _SENTINEL:
                raise TableContractError(name, "days_since_injury", "negative", bad, ">= 0")
        _check_allowed("exams", "visit", e["visit"], VISITS)
        _check_allowed("instruments", "visit", i["visit"], VISITS)
        bad = _first_bad(e["ais"], lambda v: all(g in AIS_GRADES for g in ais_grades(v)))
        if bad is not _SENTINEL:
            raise TableContractError(
                "exams",
                "ais",
                "unknown AIS grade",
                bad,
                "A-E, a comma list of them, optional '*', or missing",
            )
        for col, (lo, hi) in _RANGES.items():
            bad = _first_bad(e[col], lambda v, lo=lo, hi=hi: _is_missing(v) or lo <= v <= hi)
            if bad is not _SENTINEL:
                raise TableContractError("exams", col, "out of range", bad, f"{lo}-{hi} or NaN")
        ae = self.adverse_events
        bad = _first_bad(ae["grade"], lambda v: 1 <= v <= 5)
        if bad is not _SENTINEL:
            raise TableContractError(
                "adverse_events", "grade", "out of range", bad, "1-5 (CTCAE v5.0)"
            )
        _check_allowed("adverse_events", "related_product", ae["related_product"], RELATEDNESS)
        return self

    def subset(self, patients: Iterable[str]) -> AnalysisTables:
        """The same tables restricted to some patient codes (e.g. one site)."""
        keep = set(patients)
        return AnalysisTables(
            **{
                f.name: getattr(self, f.name)[
                    getattr(self, f.name)["patient"].isin(keep)
                ].reset_index(drop=True)
                for f in fields(self)
            }
        )

    @classmethod
    def empty(cls) -> AnalysisTables:
        """Five empty tables with the contract's columns (a fresh store)."""
        return cls(**{name: pd.DataFrame({c: [] for c in cols}) for name, cols in _SCHEMA.items()})


TABLE_NAMES: tuple[str, ...] = tuple(_SCHEMA)
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _SCHEMA.items()}
