"""The batch function on Dask DataFrame partitions, on a local Dask cluster."""

from __future__ import annotations

import dask.dataframe as dd
import pandas as pd
import pytest
from distributed import Client, LocalCluster

from cordtrial.isncsci import RESULT_KEYS, Exam, classify
from cordtrial.isncsci.batch import BatchValidationError
from cordtrial.isncsci.batch.dask import classify_dask
from cordtrial.isncsci.synthetic import generate_exams

PLAIN = {"nt_rate": 0.0, "flag_rate": 0.0, "nonkey_rate": 0.0, "anal_nt_rate": 0.0}


@pytest.fixture(scope="module")
def client():
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        Client(cluster) as c,
    ):
        yield c


def exams_frame() -> tuple[list[dict], pd.DataFrame]:
    exams = generate_exams(30, 3) + generate_exams(30, 4, **PLAIN, id_prefix="plain")
    columns = list(dict.fromkeys(k for e in exams for k in e))
    return exams, pd.DataFrame({c: [e.get(c) for e in exams] for c in columns})


def test_partitions_on_a_local_cluster_match_the_single_path(client):
    exams, frame = exams_frame()
    frame.loc[7, "c6LeftPrick"] = "3"
    lazy = classify_dask(dd.from_pandas(frame, npartitions=4))
    out = client.compute(lazy).result()
    assert list(out.columns) == ["id", *RESULT_KEYS, "errors"]
    assert out["id"].tolist() == [e["id"] for e in exams]
    for i, exam in enumerate(exams):
        row = out.iloc[i]
        if i == 7:
            assert row["errors"].startswith("c6LeftPrick: '3' not allowed; allowed: sensory: ")
            assert pd.isna(row["asiaImpairmentScale"])
            continue
        assert pd.isna(row["errors"])
        assert {k: row[k] for k in RESULT_KEYS} == classify(Exam.from_rhi(exam)).to_rhi()


def test_raise_mode_fails_the_computation(client):
    _, frame = exams_frame()
    frame.loc[3, "analContraction"] = "perhaps"
    lazy = classify_dask(dd.from_pandas(frame, npartitions=2), errors="raise")
    with pytest.raises(BatchValidationError, match="analContraction"):
        client.compute(lazy).result()


def test_errors_option_is_checked():
    _, frame = exams_frame()
    with pytest.raises(ValueError, match="allowed: raise, column"):
        classify_dask(dd.from_pandas(frame, npartitions=2), errors="skip")  # type: ignore[arg-type]
