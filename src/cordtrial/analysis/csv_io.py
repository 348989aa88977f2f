"""Read and write the five analysis tables as CSV files (one per table, named ``<table>.csv``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .tables import _SCHEMA, TABLE_NAMES, AnalysisTables, TableContractError

_BOOL_TEXT = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


def _coerce(table: str, df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    for col, kind in _SCHEMA[table].items():
        if col not in df.columns:
            continue  # validate() reports it with the full column list
        base = kind.rstrip("?")
        s = df[col]
        if base == "datetime":
            try:
                df[col] = pd.to_datetime(s, format="ISO8601")
            except (ValueError, TypeError) as exc:
                raise TableContractError(
                    table, col, f"not an ISO date ({exc})", None, "YYYY-MM-DD"
                ) from exc
        elif base == "bool":

            def conv(v: object, col: str = col) -> bool:
                key = str(v).strip().lower()
                if key not in _BOOL_TEXT:
                    raise TableContractError(table, col, "not a boolean", v, ", ".join(_BOOL_TEXT))
                return _BOOL_TEXT[key]

            df[col] = [conv(v) for v in s]
        elif base == "int":
            num = pd.to_numeric(s, errors="coerce")
            if num.isna().any() or not (num == num.round()).all():
                bad = s[num.isna() | (num != num.round())].iloc[0]
                raise TableContractError(table, col, "not an integer", bad, "integers")
            df[col] = num.astype("int64")
        elif base == "float":
            num = pd.to_numeric(s, errors="coerce")
            bad = s[num.isna() & s.notna()]
            if len(bad):
                raise TableContractError(
                    table, col, "not a number", bad.iloc[0], "numbers or empty"
                )
            df[col] = num.astype("float64")
        elif base == "str":
            df[col] = [None if pd.isna(v) else str(v) for v in s]
    return df


def read_tables_dir(directory: str | Path) -> AnalysisTables:
    """Load ``patients.csv``, ``exams.csv``, ... from a directory and validate them."""
    directory = Path(directory)
    frames = {}
    for name in TABLE_NAMES:
        path = directory / f"{name}.csv"
        if not path.is_file():
            raise FileNotFoundError(f"missing table file {path} (need {', '.join(TABLE_NAMES)})")
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
        frames[name] = _coerce(name, raw)
    return AnalysisTables(**frames).validate()


def write_tables_dir(tables: AnalysisTables, directory: str | Path) -> None:
    """Write the five tables as CSV (ISO dates) so ``read_tables_dir`` round-trips them."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name in TABLE_NAMES:
        df = getattr(tables, name).copy()
        for col in df.columns:
            if pd.api.types.is_datetime64_any_dtype(df[col]):
                df[col] = df[col].dt.strftime("%Y-%m-%d")
        df.to_csv(directory / f"{name}.csv", index=False)
