"""`cordtrial classify`: formats, bad exams, exit codes (run as a real subprocess)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from cordtrial.isncsci import RESULT_KEYS
from cordtrial.isncsci.synthetic import exam_at

CASES = Path(__file__).resolve().parents[2].parent / "shared" / "isncsci" / "reference-cases.json"


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cordtrial", "classify", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def exams(tmp_path: Path) -> list[dict]:
    return [{**exam_at(11, i), "id": f"e{i}"} for i in range(5)]


def test_rhi_output_has_exactly_the_25_fields_and_id(tmp_path: Path, exams: list[dict]) -> None:
    src = tmp_path / "in.json"
    src.write_text(json.dumps(exams))
    out = tmp_path / "out.json"
    proc = run(str(src), "-o", str(out), "--output-format", "rhi")
    assert proc.returncode == 0, proc.stderr
    results = json.loads(out.read_text())
    assert [r["id"] for r in results] == [e["id"] for e in exams]
    assert all(set(r) == {"id", *RESULT_KEYS} for r in results)


@pytest.mark.skipif(not CASES.is_file(), reason="reference cases not present")
def test_reference_cases_through_the_cli(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    proc = run(str(CASES), "-o", str(out), "--output-format", "rhi")
    assert proc.returncode == 0, proc.stderr
    results = {r["id"]: r for r in json.loads(out.read_text())}
    cases = json.loads(CASES.read_text())
    agree = sum(all(results[c["id"]][k] == v for k, v in c["totals"].items()) for c in cases)
    assert agree == len(cases)


def test_single_object_from_stdin_native_with_explanation(exams: list[dict]) -> None:
    proc = run("-", "--explain", stdin=json.dumps(exams[0]))
    assert proc.returncode == 0, proc.stderr
    [result] = json.loads(proc.stdout)
    assert result["id"] == "e0" and result["ais"] and result["explanation"]


def test_csv_in_csv_out(tmp_path: Path, exams: list[dict]) -> None:
    src = tmp_path / "in.csv"
    with src.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=sorted({k for e in exams for k in e}))
        writer.writeheader()
        writer.writerows(exams)
    out = tmp_path / "out.csv"
    proc = run(str(src), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 5 and set(rows[0]) == {"id", *RESULT_KEYS}


def test_bad_exam_is_reported_and_the_others_written(tmp_path: Path, exams: list[dict]) -> None:
    exams[1] = {**exams[1], "c5RightMotor": "6", "c7LeftTouch": "3"}
    exams[3] = {k: v for k, v in exams[3].items() if k not in ("id", "s1LeftMotor")}
    src = tmp_path / "in.json"
    src.write_text(json.dumps(exams))
    proc = run(str(src), "--output-format", "rhi")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert (
        "exam 'e1': c5RightMotor: '6' is not allowed; allowed: motor: 0, 1, 2, 3, 4, 5, NT"
        in proc.stderr
    )
    assert "exam 'e1': c7LeftTouch: '3'" in proc.stderr
    assert "exam #4: s1LeftMotor: None" in proc.stderr
    assert [r.get("id") for r in json.loads(proc.stdout)] == ["e0", "e2", "e4"]


@pytest.mark.parametrize(
    "args",
    [("missing.json",), ("in.txt",), ("bad.json",), ("in.json", "--output-format", "xml")],
)
def test_usage_errors_exit_2_without_traceback(
    tmp_path: Path, args: tuple[str, ...], monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.txt").write_text("x")
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "in.json").write_text("[]")
    proc = run(*args)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


def test_streaming_jsonl_to_parquet_with_jobs_matches_the_single_path(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from cordtrial.isncsci import Exam, classify

    exams = [{**exam_at(12, i), "id": f"s{i}"} for i in range(300)]
    exams[7] = {**exams[7], "l3LeftMotor": "9"}
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(e) + "\n" for e in exams))
    out = tmp_path / "out.parquet"
    proc = run(str(src), "-o", str(out), "--jobs", "2", "--chunk-size", "64", "--no-progress")
    assert proc.returncode == 1  # one bad row, reported and skipped
    assert "l3LeftMotor" in proc.stderr and "Traceback" not in proc.stderr
    rows = pq.read_table(out).to_pylist()
    assert len(rows) == 299
    by_id = {r["id"]: r for r in rows}
    for exam in exams[:20]:
        if exam["id"] == "s7":
            assert "s7" not in by_id
            continue
        expected = classify(Exam.from_rhi(exam)).to_rhi()
        assert {k: by_id[exam["id"]][k] for k in RESULT_KEYS} == expected


def test_streaming_refuses_native_or_explain(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps(exam_at(1, 0)) + "\n")
    proc = run(str(src), "--explain")
    assert proc.returncode == 2 and "RHI" in proc.stderr
