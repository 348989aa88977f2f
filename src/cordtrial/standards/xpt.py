"""SAS transport (XPT) files through pyreadstat: version 5 for SDTM (names <= 8, labels <= 40),
version 8 for the statistical export (longer names and labels)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .datasetjson import cell
from .tables import Dataset


def frame(ds: Dataset) -> pd.DataFrame:
    """The dataset as a frame: numbers as float64 (SAS has one numeric type), text as str."""
    data = {}
    for var in ds.variables:
        values = [cell(var, r.get(var.name)) for r in ds.rows]
        if var.numeric:
            data[var.name] = pd.Series(
                [float("nan") if v is None else float(v) for v in values], dtype="float64"
            )
        else:
            data[var.name] = pd.Series(values, dtype="object")
    return pd.DataFrame(data, columns=[v.name for v in ds.variables])


def write_xpt(ds: Dataset, out: Path, version: int = 5) -> Path:
    import pyreadstat

    path = out / f"{ds.name.lower()}.xpt"
    pyreadstat.write_xport(
        frame(ds),
        str(path),
        file_label=ds.label,
        column_labels={v.name: v.label for v in ds.variables},
        table_name=ds.name,
        file_format_version=version,
    )
    return path
