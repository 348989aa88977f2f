"""CDISC Dataset-JSON 1.1 files, written with odmlib's Dataset-JSON model.

Column itemOIDs are the Define-XML ItemDef OIDs (``IT.<dataset>.<variable>``), so a reader
finds each column's metadata in define.xml. Character data keep '' for missing values, as in
the XPT files; numbers are null when missing.
"""

from __future__ import annotations

from pathlib import Path

from cordtrial import __version__

from .tables import Dataset, Variable, text
from .trial import Trial

VERSION = "1.1.0"
_TYPES = {
    "text": "string",
    "integer": "integer",
    "float": "double",
    "date": "date",
    "datetime": "datetime",
}


def item_oid(ds: Dataset, var: Variable) -> str:
    return f"IT.{ds.name}.{var.name}"


def cell(var: Variable, value):
    if var.numeric:
        if value is None or value == "":
            return None
        return int(value) if var.type == "integer" else float(value)
    return text(value)


def dataset_json(ds: Dataset, trial: Trial) -> dict:
    from odmlib.dataset_json_1_1.model import Column, DatasetJSON, SourceSystem

    doc = DatasetJSON(
        datasetJSONCreationDateTime=trial.exported_at.strftime("%Y-%m-%dT%H:%M:%S"),
        datasetJSONVersion=VERSION,
        fileOID=f"cordtrial.{trial.study_id}.{ds.name}",
        originator="cordtrial",
        sourceSystem=SourceSystem(name="cordtrial", version=__version__),
        studyOID=trial.study_id,
        metaDataVersionOID="MDV.SDTM",
        metaDataRef="define.xml",
        itemGroupOID=f"IG.{ds.name}",
        records=0,
        name=ds.name,
        label=ds.label,
    )
    for var in ds.variables:
        col = {
            "itemOID": item_oid(ds, var),
            "name": var.name,
            "label": var.label,
            "dataType": _TYPES[var.type],
        }
        if not var.numeric:
            col["length"] = ds.length(var)
        if var.name in ds.keys:
            col["keySequence"] = ds.keys.index(var.name) + 1
        doc.add_column(Column(**col))
    for row in ds.rows:
        doc.add_row([cell(v, row.get(v.name)) for v in ds.variables])
    doc.records = len(ds.rows)
    return doc.to_dict()


def write_dataset_json(ds: Dataset, trial: Trial, out: Path) -> Path:
    import json

    path = out / f"{ds.name.lower()}.json"
    path.write_text(json.dumps(dataset_json(ds, trial), ensure_ascii=False), encoding="utf-8")
    return path
