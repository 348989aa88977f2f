"""`cordtrial export --format ...` and `cordtrial import odm|redcap` end to end through Typer."""

from __future__ import annotations

from typer.testing import CliRunner

from cordtrial.cli import app
from cordtrial.standards.trial import load_trial
from cordtrial.store import db

from .roundtrip import clinical_differences

runner = CliRunner()


def run(*args, code=0):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == code, result.output
    return result


def test_every_format_exports(demo_url, tmp_path):
    expect = {
        "csv": "patients.csv", "parquet": "patients.parquet", "sdtm": "define.xml", "odm": "odm.xml",
        "redcap": "records.csv", "sas": "isncsci.xpt", "spss": "isncsci.sav", "stata": "isncsci.dta",
    }  # fmt: skip
    for fmt, member in expect.items():
        out = tmp_path / fmt
        result = run("export", "--format", fmt, "--out", out, "--database-url", demo_url)
        assert "de-identified" in result.output
        assert (out / member).exists(), fmt
    assert (tmp_path / "sdtm" / "json" / "dm.json").exists()
    bad = run("export", "--format", "xlsx", "--database-url", demo_url, code=1)
    assert "allowed: csv, parquet, sdtm, odm, redcap, sas, spss, stata" in bad.output


def test_import_odm_and_redcap_into_empty_stores(demo_url, demo_trial, tmp_path, empty_store):
    run("export", "--format", "odm", "--out", tmp_path / "odm", "--database-url", demo_url)
    result = run(
        "import",
        "odm",
        tmp_path / "odm" / "odm.xml",
        "--user",
        "importer",
        "--database-url",
        empty_store,
    )
    infused = sum(1 for p in demo_trial.patients if demo_trial.rows("infusions", p))
    assert f"imported {len(demo_trial.patients)} subject(s)" in result.output
    assert f"{infused} infusion form(s)" in result.output
    with db.session_scope(empty_store) as s:
        assert clinical_differences(demo_trial, load_trial(s)) == []
    again = run(
        "import",
        "odm",
        tmp_path / "odm" / "odm.xml",
        "--user",
        "importer",
        "--database-url",
        empty_store,
        code=2,
    )
    assert "REJECTED, nothing imported" in again.output
    run("export", "--format", "redcap", "--out", tmp_path / "rc", "--database-url", demo_url)
    nobody = run(
        "import",
        "redcap",
        tmp_path / "rc" / "records.csv",
        "--user",
        "nobody",
        "--database-url",
        empty_store,
        code=1,
    )
    assert "no user 'nobody'" in nobody.output
    junk = tmp_path / "junk.xml"
    junk.write_text("<ODM/>")
    assert (
        "not valid ODM 1.3.2"
        in run(
            "import", "odm", junk, "--user", "importer", "--database-url", empty_store, code=2
        ).output
    )


def test_a_store_without_patients_exports_valid_empty_files(empty_store, tmp_path):
    from cordtrial.standards.odm_read import validate_odm

    for fmt in ("sdtm", "odm", "redcap", "sas", "spss", "stata"):
        run("export", "--format", fmt, "--out", tmp_path / fmt, "--database-url", empty_store)
    assert validate_odm(tmp_path / "odm" / "odm.xml") == []
    assert "HasNoData" in (tmp_path / "sdtm" / "define.xml").read_text()
