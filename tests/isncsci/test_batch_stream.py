"""Streaming classification of files (`run_stream`): CSV, JSON Lines and Parquet in and out."""

from __future__ import annotations

import io
import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from rich.console import Console

from cordtrial.isncsci import RESULT_KEYS, Exam, classify
from cordtrial.isncsci.batch import UnknownColumnsError
from cordtrial.isncsci.batch.stream import read_chunks
from cordtrial.isncsci.batch_cli import run_stream
from cordtrial.isncsci.synthetic import generate_exams

EXAMS = generate_exams(16, 77) + generate_exams(16, 78, nt_rate=0, flag_rate=0, nonkey_rate=0,
                                                anal_nt_rate=0, id_prefix="plain")  # fmt: skip
EXPECTED = {e["id"]: classify(Exam.from_rhi(e)).to_rhi() for e in EXAMS}


def frame(exams: list[dict]) -> pd.DataFrame:
    columns = list(dict.fromkeys(k for e in exams for k in e))
    return pd.DataFrame({c: pd.Series([e.get(c) for e in exams], dtype=object) for c in columns})


def write_csv(path, exams):
    frame(exams).to_csv(path, index=False)


def write_jsonl(path, exams):
    path.write_text("".join(json.dumps(e) + "\n" for e in exams), encoding="utf-8")


def write_parquet(path, exams, row_group_size=16):
    table = pa.table({c: pa.array(frame(exams)[c].tolist(), pa.string()) for c in frame(exams)})
    pq.write_table(table, path, row_group_size=row_group_size)


def read_output(path) -> pd.DataFrame:
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    if path.suffix == ".jsonl":
        return pd.read_json(path, lines=True, dtype=False)
    return pq.read_table(path).to_pandas()


def quiet() -> tuple[Console, io.StringIO]:
    sink = io.StringIO()
    return Console(file=sink, force_terminal=False, width=200), sink


def check_results(out: pd.DataFrame, exams: list[dict]) -> None:
    assert list(out.columns) == ["row", "id", *RESULT_KEYS]
    assert out["id"].tolist() == [e["id"] for e in exams]
    for _, row in out.iterrows():
        assert {k: str(row[k]) for k in RESULT_KEYS} == EXPECTED[row["id"]]


@pytest.mark.parametrize("source", ["csv", "jsonl", "parquet"])
@pytest.mark.parametrize("target", ["csv", "jsonl", "parquet"])
def test_round_trips_in_every_format_match_the_single_path(tmp_path, source, target):
    src, dst = tmp_path / f"in.{source}", tmp_path / f"out.{target}"
    {"csv": write_csv, "jsonl": write_jsonl, "parquet": write_parquet}[source](src, EXAMS)
    console, said = quiet()
    errors = io.StringIO()
    counts = run_stream(
        str(src), str(dst), jobs=1, chunk_size=7, progress=False, console=console, errors=errors
    )
    assert counts == (len(EXAMS), 0)
    out = read_output(dst)
    check_results(out, EXAMS)
    assert out["row"].astype(int).tolist() == list(range(1, len(EXAMS) + 1))
    assert errors.getvalue() == ""
    assert f"classified {len(EXAMS)} exam(s), failed 0" in said.getvalue()


def test_bad_rows_are_reported_skipped_and_counted(tmp_path):
    exams = [dict(e) for e in EXAMS[:10]]
    exams[2]["c5RightTouch"] = "7"
    exams[6]["analSensation"] = ""
    exams[6]["s1LeftMotor"] = "6"
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    write_csv(src, exams)
    console, said = quiet()
    errors = io.StringIO()
    counts = run_stream(
        str(src), str(dst), jobs=1, chunk_size=4, progress=False, console=console, errors=errors
    )
    assert counts == (8, 2)
    assert errors.getvalue().splitlines() == [
        "row 3: c5RightTouch: '7' not allowed; allowed: sensory: "
        "0, 1, 2, NT, 0*, 1*, NT*, 0**, 1**, NT**",
        "row 7: s1LeftMotor: '6' not allowed; allowed: motor: "
        "0, 1, 2, 3, 4, 5, NT, 0*, 1*, 2*, 3*, 4*, NT*, 0**, 1**, 2**, 3**, 4**, NT**",
        "row 7: analSensation: '' not allowed; allowed: deep anal pressure: Yes, No, NT",
    ]
    out = read_output(dst)
    assert out["row"].astype(int).tolist() == [1, 2, 4, 5, 6, 8, 9, 10]
    check_results(out, [e for i, e in enumerate(exams) if i not in (2, 6)])
    assert "classified 8 exam(s), failed 2" in said.getvalue()


def test_unreadable_records_are_reported_with_their_number(tmp_path):
    src = tmp_path / "in.jsonl"
    lines = [json.dumps(e) for e in EXAMS[:3]]
    src.write_text(lines[0] + "\n\n[1, 2]\n" + lines[1] + "\n{not json\n" + lines[2] + "\n")
    errors = io.StringIO()
    console, _ = quiet()
    dst = tmp_path / "out.jsonl"
    assert run_stream(
        str(src), str(dst), chunk_size=2, progress=False, console=console, errors=errors
    ) == (3, 2)
    reported = errors.getvalue().splitlines()
    assert [line.split(":")[0] for line in reported] == ["row 2", "row 4"]
    assert "allowed: a JSON object of RHI fields on one line" in reported[0]
    assert read_output(dst)["row"].tolist() == [1, 3, 5]

    csv = tmp_path / "in.csv"
    write_csv(csv, EXAMS[:3])
    text = csv.read_text().splitlines()
    csv.write_text("\n".join([text[0], text[1], "1,2,3", text[2], text[3]]) + "\n")
    errors = io.StringIO()
    assert run_stream(
        str(csv), str(tmp_path / "o.csv"), chunk_size=2, progress=False, console=console,
        errors=errors,
    ) == (3, 1)  # fmt: skip
    assert errors.getvalue().startswith("row 2: row: '1,2,3' not allowed; allowed: ")
    assert read_output(tmp_path / "o.csv")["row"].astype(int).tolist() == [1, 3, 4]


def test_json_numbers_read_like_their_text(tmp_path):
    exam = {k: int(v) if v.isdigit() else v for k, v in EXAMS[20].items()}
    src = tmp_path / "in.jsonl"
    write_jsonl(src, [exam])
    console, _ = quiet()
    dst = tmp_path / "out.jsonl"
    assert run_stream(str(src), str(dst), progress=False, console=console) == (1, 0)
    check_results(read_output(dst), [EXAMS[20]])


def test_several_jobs_give_the_same_output(tmp_path):
    src = tmp_path / "in.parquet"
    write_parquet(src, EXAMS)
    console, said = quiet()
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    run_stream(str(src), str(one), jobs=1, chunk_size=9, progress=False, console=console)
    assert run_stream(
        str(src), str(two), jobs=2, chunk_size=9, progress=False, console=console
    ) == (len(EXAMS), 0)
    assert one.read_text() == two.read_text()


def test_stdout_output_and_progress_bar(tmp_path, capsys):
    src = tmp_path / "in.parquet"
    write_parquet(src, EXAMS[:5])
    sink = io.StringIO()
    console = Console(file=sink, force_terminal=True, width=120)
    assert run_stream(str(src), None, progress=True, console=console) == (5, 0)
    printed = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["id"] for line in printed] == [e["id"] for e in EXAMS[:5]]
    assert "classified 5 exam(s), failed 0" in sink.getvalue()


def test_unknown_columns_stop_the_run_unless_ignored(tmp_path):
    src = tmp_path / "in.csv"
    write_csv(src, [dict(e, site="Sapporo") for e in EXAMS[:3]])
    console, _ = quiet()
    with pytest.raises(UnknownColumnsError, match="site"):
        run_stream(str(src), str(tmp_path / "o.csv"), progress=False, console=console)
    assert run_stream(
        str(src), str(tmp_path / "o.csv"), progress=False, console=console,
        ignore_unknown_columns=True,
    ) == (3, 0)  # fmt: skip


def test_empty_input_writes_a_header(tmp_path):
    src = tmp_path / "in.csv"
    write_csv(src, EXAMS[:1])
    src.write_text(src.read_text().splitlines()[0] + "\n")
    console, _ = quiet()
    dst = tmp_path / "out.csv"
    assert run_stream(str(src), str(dst), progress=False, console=console) == (0, 0)
    assert dst.read_text().splitlines()[0].startswith('"row"')


def test_bad_arguments_are_named(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("x")
    console, _ = quiet()
    with pytest.raises(ValueError, match="suffix '.txt' is not allowed; allowed: .csv"):
        run_stream(str(src), None, progress=False, console=console)
    good = tmp_path / "in.csv"
    write_csv(good, EXAMS[:1])
    with pytest.raises(ValueError, match="chunk_size"):
        list(read_chunks(good, 0))
    with pytest.raises(ValueError, match="jobs"):
        run_stream(str(good), str(tmp_path / "o.csv"), jobs=0, progress=False, console=console)


def test_module_entry_point_exit_status(tmp_path, capsys):
    from cordtrial.isncsci.batch_cli import main

    src, dst = tmp_path / "in.csv", tmp_path / "out.jsonl"
    exams = [dict(e) for e in EXAMS[:4]]
    write_csv(src, exams)
    assert main([str(src), "-o", str(dst), "--no-progress"]) == 0
    exams[1]["l3RightMotor"] = "NT***"
    write_csv(src, exams)
    assert main([str(src), "-o", str(dst), "--no-progress", "--chunk-size", "2"]) == 1
    err = capsys.readouterr().err
    assert "row 2: l3RightMotor: 'NT***' not allowed" in err
    assert "classified 3 exam(s), failed 1" in err
    assert main([str(src), "-o", str(tmp_path / "out.xlsx")]) == 2
    assert "suffix '.xlsx' is not allowed" in capsys.readouterr().err


def test_wants_stream_for_large_formats_and_options():
    from cordtrial.isncsci.batch_cli import wants_stream

    assert not wants_stream("exams.csv", None, None, None)
    assert not wants_stream("exams.json", "out.csv", None, None)
    assert wants_stream("exams.parquet", None, None, None)
    assert wants_stream("exams.csv", "out.JSONL", None, None)
    assert wants_stream("exams.csv", None, 2, None)
    assert wants_stream("exams.csv", None, None, 1000)


def test_a_refused_input_creates_no_output(tmp_path):
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    write_csv(src, [dict(e, site="Sapporo") for e in EXAMS[:2]])
    console, _ = quiet()
    with pytest.raises(UnknownColumnsError):
        run_stream(str(src), str(dst), progress=False, console=console)
    assert not dst.exists()
