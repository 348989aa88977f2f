"""SAS, SPSS and Stata files read back: Stata and SAS XPT by pandas' own readers (independent of
pyreadstat, which writes them), SPSS by ReadStat's reader (pandas reads .sav through it too)."""

from __future__ import annotations

import math

import pandas as pd
import pyreadstat
import pytest

from cordtrial.standards import stats

IBM_ZERO = 1e-70  # pandas-dev/pandas#50670: some IBM zeros read as 5.397605e-79


@pytest.fixture(scope="module")
def tables(demo_trial):
    return {t.name: t for t in stats.stats_tables(demo_trial)}


def _expected(var, value):
    if value is None:
        return None
    return float(value) if var.numeric else value


def test_tables_cover_the_trial(tables, demo_trial):
    assert {
        "patients",
        "isncsci",
        "scim3",
        "wisci2",
        "nbd",
        "lutf",
        "infusions",
        "adverse_events",
        "culture_passages",
        "release_tests",
    } == set(tables)
    assert len(tables["patients"].rows) == len(demo_trial.patients)
    for t in tables.values():
        assert all(len(v.name) <= stats.MAX_NAME for v in t.variables), t.name
        assert len({v.name for v in t.variables}) == len(t.variables), t.name


def test_stata_read_by_pandas_with_labels(tables, tmp_path):
    for t in tables.values():
        path = stats.write_stata(t, tmp_path)
        with pd.io.stata.StataReader(path) as reader:
            df = reader.read(convert_categoricals=False)
            labels = reader.variable_labels()
            value_labels = reader.value_labels()
        assert list(df.columns) == [v.name for v in t.variables]
        assert labels == {v.name: v.label[:80] for v in t.variables}
        for var in t.variables:
            if var.codelist is not None:
                assert any(
                    set(vl.values()) == {d for _, d in var.codelist.items}
                    for vl in value_labels.values()
                ), (t.name, var.name)
            for got, row in zip(df[var.name].tolist(), t.rows, strict=True):
                want = _expected(var, row.get(var.name))
                if var.numeric:
                    assert (want is None and math.isnan(got)) or got == pytest.approx(want), (
                        t.name,
                        var.name,
                    )
                elif var.type == "date":
                    assert (want is None and pd.isna(got)) or pd.Timestamp(got).date() == want, (
                        t.name,
                        var.name,
                    )
                else:
                    assert got == ("" if want is None else str(want)), (t.name, var.name)


def test_spss_read_back_with_value_labels(tables, tmp_path):
    t = tables["isncsci"]
    path = stats.write_spss(t, tmp_path)
    df, meta = pyreadstat.read_sav(str(path))
    assert meta.column_names_to_labels["c5_right_motor"] == "Key Muscle Motor Grade, C5, right"
    assert meta.variable_value_labels["asia_impairment_scale"] == {
        1.0: "A",
        2.0: "B",
        3.0: "C",
        4.0: "D",
        5.0: "E",
    }
    ais = [r["asia_impairment_scale"] for r in t.rows]
    assert df["asia_impairment_scale"].tolist() == [float(a) for a in ais]
    dates = [r["assessed_on"] for r in t.rows]
    assert [d for d in df["assessed_on"]] == dates


def test_sas_xpt_v5_read_by_pandas_and_program(tables, tmp_path):
    for t in tables.values():
        xpt, program = stats.write_sas(t, tmp_path)
        names = stats.sas_names(t)
        df = pd.read_sas(xpt, format="xport", encoding="utf-8")
        assert list(df.columns) == [names[v.name] for v in t.variables]
        for var in t.variables:
            if var.numeric:
                got = [0.0 if abs(x) < IBM_ZERO else x for x in df[names[var.name]].tolist()]
                want = [_expected(var, r.get(var.name)) for r in t.rows]
                assert all(
                    (w is None and math.isnan(g)) or g == pytest.approx(w)
                    for g, w in zip(got, want, strict=True)
                ), (t.name, var.name)
        text = program.read_text()
        assert f'libname xptin xport "{t.name}.xpt";' in text
        for var in t.variables:
            assert names[var.name] in text
            if names[var.name].lower() != var.name.lower():
                assert f"{names[var.name]}={var.name}" in text
