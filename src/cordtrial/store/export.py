"""Export every entity table as CSV or Parquet, one file per table.

De-identified by default: the identity table, the audit trail and the refusal log (which can
hold any value ever entered, names included) are left out; users appear as ``user-<id>`` with
their role and site only; free-text columns that may carry identifying detail are dropped
(the examiner's comments and flag reasons among them).
Password hashes and lockout state are never exported. Every per-patient table gets the patient's
study code and its ``synthetic`` flag, so synthetic rows stay marked wherever they go.
``identified=True`` exports everything but the password fields (for monitors and archives).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from sqlalchemy import JSON, select
from sqlalchemy.orm import Session

from .audit import mask_secrets
from .models import Lot, Patient, secret_columns, trial_tables

FORMATS = ("csv", "parquet")
# Never exported, besides every secret column (models.secret_columns).
NEVER = {"users": {"failed_logins", "locked_until", "totp_last_step"}}
IDENTIFYING_TABLES = {"patient_identities", "audit_trail", "refusals"}
FREE_TEXT = {
    "marrow_harvests": {"complications"},
    "infusions": {"reaction"},
    "assessments": {"assessor_name", "comments", "flag_reasons"},
}


def _frame(session: Session, table) -> pd.DataFrame:
    rows = session.connection().execute(select(table).order_by(*table.primary_key.columns))
    df = pd.DataFrame(rows.mappings().all(), columns=[c.name for c in table.columns])
    for col in table.columns:
        if isinstance(col.type, JSON):
            df[col.name] = [
                json.dumps(v, sort_keys=True) if v is not None else None for v in df[col.name]
            ]
    return df


def export_tables(
    session: Session, out_dir: str | Path, fmt: str = "csv", identified: bool = False
) -> list[Path]:
    """Write one file per table into ``out_dir``; return the paths written."""
    if fmt not in FORMATS:
        raise ValueError(f"format: got {fmt!r}; allowed: {', '.join(FORMATS)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pats = {p.id: (p.study_code, bool(p.synthetic)) for p in session.scalars(select(Patient))}
    lot_patient = dict(session.execute(select(Lot.id, Lot.patient_id)).all())
    written = []
    for table in trial_tables():
        name = table.name
        if not identified and name in IDENTIFYING_TABLES:
            continue
        df = _frame(session, table)
        never = NEVER.get(name, set()) | secret_columns(table)
        df = df.drop(columns=[c for c in never if c in df.columns])
        if name == "audit_trail":
            df["changes"] = [
                mask_secrets(t, c) for t, c in zip(df["table_name"], df["changes"], strict=True)
            ]
        if not identified:
            df = df.drop(columns=[c for c in FREE_TEXT.get(name, ()) if c in df.columns])
            if name == "users":
                df["username"] = [f"user-{i}" for i in df["id"]]
                df["display_name"] = df["username"]
        pid = None
        if "patient_id" in df.columns:
            pid = df["patient_id"]
        elif "lot_id" in df.columns:
            pid = df["lot_id"].map(lot_patient)
        if pid is not None:
            df.insert(1, "study_code", pid.map(lambda i: pats.get(i, (None, None))[0]))
            df.insert(2, "synthetic", pid.map(lambda i: pats.get(i, (None, False))[1]))
        path = out / f"{name}.{fmt}"
        if fmt == "csv":
            df.to_csv(path, index=False)
        else:
            df.to_parquet(path, index=False)
        written.append(path)
    return written
