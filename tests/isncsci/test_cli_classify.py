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
    assert agree >= len(cases) - 2  # the two documented star differences, see docs/isncsci.md


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
    assert "exam 'e1': c5RightMotor: '6' is not allowed; allowed: motor: 0, 1, 2, 3, 4, 5, NT" in proc.stderr
    assert "exam 'e1': c7LeftTouch: '3'" in proc.stderr
    assert "exam #4: s1LeftMotor: None" in proc.stderr
    assert [r.get("id") for r in json.loads(proc.stdout)] == ["e0", "e2", "e4"]


@pytest.mark.parametrize(
    "args",
    [("missing.json",), ("in.txt",), ("bad.json",), ("in.json", "--output-format", "xml")],
)
def test_usage_errors_exit_2_without_traceback(tmp_path: Path, args: tuple[str, ...], monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.txt").write_text("x")
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "in.json").write_text("[]")
    proc = run(*args)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
