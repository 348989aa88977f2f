"""Write one standards export into a folder, or as a zip: the entry point of the CLI and web."""

from __future__ import annotations

import io
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from .trial import Trial, load_trial


@dataclass(frozen=True)
class Format:
    name: str
    title: str
    what: str
    write: Callable[[Trial, Path], list[Path]]


def _sdtm(trial: Trial, out: Path) -> list[Path]:
    from .datasetjson import write_dataset_json
    from .define import write_define
    from .sdtm import sdtm_datasets
    from .xpt import write_xpt

    datasets = sdtm_datasets(trial)
    (out / "json").mkdir(exist_ok=True)
    paths = [write_define(datasets, trial, out)]
    for ds in datasets:
        paths += [write_xpt(ds, out), write_dataset_json(ds, trial, out / "json")]
    return paths


def _odm(trial: Trial, out: Path) -> list[Path]:
    from .odm import write_odm

    return [write_odm(trial, out)]


def _redcap(trial: Trial, out: Path) -> list[Path]:
    from .redcap import write_redcap

    return write_redcap(trial, out)


def _stats(kind: str) -> Callable[[Trial, Path], list[Path]]:
    def write(trial: Trial, out: Path) -> list[Path]:
        from . import stats

        writer = {"sas": stats.write_sas, "spss": stats.write_spss, "stata": stats.write_stata}[
            kind
        ]
        paths: list[Path] = []
        for ds in stats.stats_tables(trial):
            written = writer(ds, out)
            paths += written if isinstance(written, list) else [written]
        return paths

    return write


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format(
            "sdtm",
            "CDISC SDTM",
            "SDTM datasets as SAS XPT v5 and Dataset-JSON 1.1, with define.xml (Define-XML 2.1)",
            _sdtm,
        ),
        Format(
            "odm",
            "CDISC ODM 1.3.2",
            "clinical data and their metadata in one XML file; importable into an empty store",
            _odm,
        ),
        Format(
            "redcap",
            "REDCap",
            "data dictionary, events, instrument-event mapping and records (longitudinal, events = visits)",
            _redcap,
        ),
        Format(
            "sas",
            "SAS",
            "SAS transport (XPT v5) per table and a program that restores long names, labels and formats",
            _stats("sas"),
        ),
        Format("spss", "SPSS", "one .sav per table with variable and value labels", _stats("spss")),
        Format(
            "stata", "Stata", "one .dta per table with variable and value labels", _stats("stata")
        ),
    )
}


def _readme(fmt: Format, trial: Trial) -> str:
    synthetic = any(p["synthetic"] for p in trial.patients)
    lines = [
        f"cordtrial export: {fmt.title} ({fmt.what})",
        f"study {trial.study_id}, {len(trial.patients)} patient(s), exported {trial.exported_at:%Y-%m-%d %H:%M} UTC",
        "identified (free-text columns included)"
        if trial.identified
        else "de-identified: no names, no identity data, no free text that may identify",
        "Mappings, codelists and what is not mapped: docs/exports.md in the cordtrial repository.",
    ]
    if synthetic:
        lines.append(
            "CONTAINS SYNTHETIC (DEMO) DATA: records are flagged synthetic (SDTM: SUPPDM.SYNTHFL)."
        )
    return "\n".join(lines) + "\n"


def write_export(
    fmt: str,
    session: Session,
    out: str | Path,
    site_id: int | None = None,
    identified: bool = False,
) -> list[Path]:
    """Write the trial (one site's patients if ``site_id``) in ``fmt`` into folder ``out``."""
    if fmt not in FORMATS:
        raise ValueError(f"format: got {fmt!r}; allowed: {', '.join(FORMATS)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    trial = load_trial(session, site_id=site_id, identified=identified)
    paths = FORMATS[fmt].write(trial, out)
    readme = out / "README.txt"
    readme.write_text(_readme(FORMATS[fmt], trial), encoding="utf-8")
    return [readme, *paths]


def export_zip(
    fmt: str, session: Session, site_id: int | None = None, identified: bool = False
) -> bytes:
    """The export as a zip archive (files under a folder named after the format)."""
    with tempfile.TemporaryDirectory(prefix="cordtrial-export-") as tmp:
        root = Path(tmp)
        paths = write_export(fmt, session, root, site_id=site_id, identified=identified)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in paths:
                zf.write(path, f"cordtrial-{fmt}/{path.relative_to(root).as_posix()}")
        return buf.getvalue()
