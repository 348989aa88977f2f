"""Benchmark: batch ISNCSCI classification against the single-exam path and the reference.

    python benchmarks/bench_batch.py speed [--n 20000] [--runs 5] [--profile registry ...]
    python benchmarks/bench_batch.py memory [--rows 1000000] [--file /tmp/exams-1m.parquet]

`speed` generates N clinically shaped exams (seeded, `cordtrial.isncsci.synthetic`) per
profile and, in the same run and on the same exams, times

- the batch path (`classify_table` on an Arrow table of text columns; building the table, like
  parsing JSON for the reference, is not timed),
- the single-exam path (`classify(Exam.from_rhi(row)).to_rhi()`, on the first `--single-n`
  exams: it is slow, and a rate needs no more),
- where Node.js and tools/oracle/node_modules are present, the reference algorithm (npm
  `isncsci`, black box) through benchmarks/reference_timing.mjs, which times only its
  classification loop inside node (no process start, file reading or JSON parsing).

Batch and reference runs alternate (node keeps the exams loaded and times one pass whenever
asked; a batch run is as many passes as last about one reference pass), and "vs reference" is
the median of the ratios of neighbouring runs: on a machine whose speed drifts (a shared VM),
runs timed apart can differ by half.

Every timed process is pinned to one CPU core (the batch path also limits Arrow to one thread),
and each figure is the median of `--runs` runs. It prints exams per second and the ratios.

`memory` writes a Parquet file of exams once (not part of the repository), then runs the
streaming classifier (`python -m cordtrial.isncsci.batch_cli`) on it in a subprocess under
`/usr/bin/time -v` and prints the wall time and peak resident memory (max RSS).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from cordtrial.isncsci import Exam, classify
from cordtrial.isncsci.batch import BatchResult, classify_table
from cordtrial.isncsci.synthetic import iter_exams

ROOT = Path(__file__).resolve().parents[1]
NODE_SCRIPT = ROOT / "benchmarks" / "reference_timing.mjs"
ORACLE_PACKAGE = ROOT / "tools" / "oracle" / "node_modules" / "isncsci" / "package.json"

#: Generator settings per profile. The batch classifies every exam column-wise; exams with NT
#: cells and flags cost more (their answers have more cases, and NT beside a recorded non-key
#: muscle unites the motor ZPP over the NT cells' completions). "curated" (about 0.5 % of exams
#: with NT cells, flags, non-key muscles or VAC/DAP NT), "registry" (about 2 %) and "acute" (NT
#: cells in 15 % of exams, as in acute-phase exams with sedated or immobilised patients) are
#: assumptions, not measured archives; "test-mix" is the generator's default mix for
#: differential testing (flags in 10 % of exams, non-key muscles in 15 % per side) and
#: "stress" the mix of issue 17 (flags in 16 %, NT cells in 60 % of exams), both far more
#: special than any archive; "plain" has none. "nt-non-key" (every exam with NT cells and a
#: non-key muscle: the motor ZPP is united over the NT completions) and "everything" (every
#: exam with NT cells, flags and a non-key muscle) are the slowest mixes found for the batch,
#: kept to measure "any mix"; they are not in the default set.
PROFILES: dict[str, dict[str, float]] = {
    "plain": {"nt_rate": 0.0, "flag_rate": 0.0, "nonkey_rate": 0.0, "anal_nt_rate": 0.0},
    "curated": {
        "nt_rate": 0.003,
        "flag_rate": 0.0005,
        "nonkey_rate": 0.0005,
        "anal_nt_rate": 0.0005,
    },
    "registry": {"nt_rate": 0.01, "flag_rate": 0.002, "nonkey_rate": 0.002, "anal_nt_rate": 0.002},
    "acute": {"nt_rate": 0.15, "flag_rate": 0.005, "nonkey_rate": 0.01, "anal_nt_rate": 0.05},
    "test-mix": {},
    "stress": {"nt_rate": 0.6, "flag_rate": 0.16},
    "nt-non-key": {"nt_rate": 1.0, "flag_rate": 0.0, "nonkey_rate": 1.0, "anal_nt_rate": 0.2},
    "everything": {"nt_rate": 1.0, "flag_rate": 1.0, "nonkey_rate": 1.0, "anal_nt_rate": 0.5},
}


#: The CPU the reference's node process is pinned to (set by ``pin_to_one_core``).
REFERENCE_CPU: int | None = None


def pin_to_one_core() -> int:
    """Pin this process to one CPU (children inherit it) and return it. The reference's node
    process gets another CPU where there is one: its passes alternate with the batch's, and
    V8 finishes garbage collection and compilation on helper threads after a pass, which on
    the same CPU would be timed as the batch's."""
    global REFERENCE_CPU
    cpus = sorted(os.sched_getaffinity(0))
    cpu = cpus[0]
    REFERENCE_CPU = cpus[1] if len(cpus) > 1 else cpu
    os.sched_setaffinity(0, {cpu})
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    return cpu


def table_of(exams: list[dict]) -> pa.Table:
    columns = list(dict.fromkeys(k for exam in exams for k in exam))
    return pa.table({c: pa.array([e.get(c) for e in exams], pa.string()) for c in columns})


def time_batch(table: pa.Table) -> tuple[float, BatchResult]:
    start = time.perf_counter()
    result = classify_table(table)
    return time.perf_counter() - start, result


def time_single(exams: list[dict], runs: int) -> float:
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        for exam in exams:
            classify(Exam.from_rhi(exam)).to_rhi()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def reference_unavailable() -> str | None:
    if shutil.which("node") is None:
        return "Node.js not found"
    if not ORACLE_PACKAGE.is_file():
        return "npm isncsci not installed: run `npm ci --prefix tools/oracle`"
    return None


class Reference:
    """The reference algorithm in a node process of its own (pinned like this one), timing one
    pass over the exams whenever asked, so that its passes alternate with the batch's."""

    def __init__(self, exams: list[dict]) -> None:
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as handle:
            for exam in exams:
                handle.write(json.dumps(exam) + "\n")
            self.path = handle.name
        self.n = len(exams)
        self.process = subprocess.Popen(
            ["node", str(NODE_SCRIPT), self.path, "serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        if REFERENCE_CPU is not None:
            os.sched_setaffinity(self.process.pid, {REFERENCE_CPU})

    def time(self) -> float:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("run\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"reference run failed (exit {self.process.wait()})")
        answer = json.loads(line)
        if answer["exams"] != self.n or answer["errors"]:
            raise RuntimeError(f"reference run failed: {answer}")
        return answer["seconds"]

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait()
        os.unlink(self.path)


def time_side_by_side(
    table: pa.Table, exams: list[dict], runs: int, with_reference: bool
) -> tuple[list[float], list[float], BatchResult]:
    """Per run, the batch's seconds a pass and the reference's (when ``with_reference``),
    timed one after the other (one untimed pass of each first: the node JIT and the caches
    warm up). The machine's speed drifts, also within a second; so that a pair sees the same
    machine, the batch's figure of a run is the mean over as many consecutive passes as last
    about as long as one reference pass, and the ratio is taken pair by pair."""
    reference = Reference(exams) if with_reference else None
    try:
        time_batch(table)  # the first call also compiles the numba kernels: not a pass's length
        batch_s, result = time_batch(table)
        repeat = 1
        if reference is not None:
            repeat = max(1, min(50, round(reference.time() / batch_s)))
        batch, ref = [], []
        for _ in range(runs):
            start = time.perf_counter()
            for _ in range(repeat):
                result = classify_table(table)
            batch.append((time.perf_counter() - start) / repeat)
            if reference is not None:
                ref.append(reference.time())
    finally:
        if reference is not None:
            reference.close()
    return batch, ref, result


def speed(args: argparse.Namespace) -> None:
    cpu = pin_to_one_core()
    missing = reference_unavailable()
    print(f"# batch ISNCSCI benchmark: {args.n:,} exams per profile, seed {args.seed}, "
          f"median of {args.runs} runs, pinned to CPU {cpu} (reference: CPU {REFERENCE_CPU})")  # fmt: skip
    print(f"# python {platform.python_version()}, pyarrow {pa.__version__}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    if missing:
        print(f"# reference algorithm not timed: {missing}")
    print("# batch and reference runs alternate, each about as long as one reference pass;")
    print("# 'vs reference' is the median of the neighbouring runs' ratios (range: lowest-highest)")
    print("# flagged: share of exams with a */** flag; test-mix and stress are stress mixes for")
    print("# differential testing, not archives; see docs/performance.md for what each profile")
    print("# assumes")
    header = (f"{'profile':<10} {'flagged':>7} {'path':<10} {'exams/s':>12} {'vs reference':>13}"
              f" {'range':>13}")  # fmt: skip
    print(header)
    print("-" * len(header))
    for name in args.profile:
        exams = list(iter_exams(args.n, args.seed, **PROFILES[name]))
        table = table_of(exams)
        batch, ref, result = time_side_by_side(table, exams, args.runs, not missing)
        single_exams = exams[: args.single_n]
        single_s = time_single(single_exams, max(1, min(args.runs, 3)))
        rates = {"batch": args.n / statistics.median(batch),
                 "single": len(single_exams) / single_s}  # fmt: skip
        ratios = {}
        if ref:
            rates["reference"] = args.n / statistics.median(ref)
            ratios["batch"] = sorted(r / b for b, r in zip(batch, ref, strict=True))
        share = result.flagged / args.n
        for path, rate in rates.items():
            if path in ratios:
                pairs = ratios[path]
                ratio = f"{statistics.median(pairs):.1f}x"
                spread = f"{pairs[0]:.1f}-{pairs[-1]:.1f}x"
            else:
                ratio = f"{rate / rates['reference']:.1f}x" if "reference" in rates else "-"
                spread = ""
            print(f"{name:<10} {share:>7.1%} {path:<10} {rate:>12,.0f} {ratio:>13} {spread:>13}")
        print(f"{'':<10} {'':>7} batch/single: {rates['batch'] / rates['single']:.0f}x; "
              f"plain {result.plain:,}, with NT {result.not_testable:,}, "
              f"with flags {result.flagged:,}")  # fmt: skip


def write_parquet(path: Path, rows: int, seed: int, distinct: int, profile: str) -> None:
    """``rows`` exams: ``distinct`` generated exams repeated with unique ids (generating a
    million exams one by one in Python would take longer than classifying them)."""
    base = list(iter_exams(min(distinct, rows), seed, **PROFILES[profile], id_prefix=None))
    template = table_of(base)
    schema = pa.schema([("id", pa.string()), *template.schema])
    with pq.ParquetWriter(path, schema) as writer:
        written = 0
        while written < rows:
            part = template.slice(0, min(template.num_rows, rows - written))
            ids = pa.array([f"exam-{written + i}" for i in range(part.num_rows)], pa.string())
            writer.write_table(pa.table([ids, *part.columns], schema=schema),
                               row_group_size=50_000)  # fmt: skip
            written += part.num_rows


def memory(args: argparse.Namespace) -> None:
    path = Path(args.file)
    if not path.exists() or pq.ParquetFile(path).metadata.num_rows != args.rows:
        start = time.perf_counter()
        write_parquet(path, args.rows, args.seed, args.distinct, args.profile)
        print(f"# wrote {args.rows:,} exams ({args.profile} profile, {args.distinct:,} distinct) "
              f"to {path} in {time.perf_counter() - start:.0f} s")  # fmt: skip
    output = Path(args.output)
    command = [sys.executable, "-m", "cordtrial.isncsci.batch_cli", str(path), "-o", str(output),
               "--jobs", str(args.jobs), "--chunk-size", str(args.chunk_size)]  # fmt: skip
    print("$ /usr/bin/time -v " + " ".join(command))
    done = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True)
    summary = [line for line in done.stderr.splitlines() if line.startswith("classified")]
    print("\n".join(summary) or done.stderr[-2000:])
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    wall = re.search(r"Elapsed \(wall clock\) time.*: (\S+)", done.stderr)
    if done.returncode != 0 or rss is None:
        raise SystemExit(f"streaming classify failed ({done.returncode}):\n{done.stderr[-3000:]}")
    peak = int(rss.group(1)) * 1024
    print(f"wall time {wall.group(1) if wall else '?'}; peak memory (max RSS of the main "
          f"process) {peak / 2**20:,.0f} MiB; output {output.stat().st_size / 2**20:,.0f} MiB")  # fmt: skip
    if args.jobs > 1:
        print("# note: with --jobs > 1, /usr/bin/time reports the largest single process")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("speed", help="exams per second: batch, single path, reference")
    s.add_argument("--n", type=int, default=20_000)
    s.add_argument("--seed", type=int, default=2026)
    s.add_argument("--runs", type=int, default=5)
    s.add_argument("--single-n", type=int, default=2_000)
    s.add_argument("--profile", nargs="+", choices=sorted(PROFILES),
                   default=["plain", "curated", "registry", "acute", "test-mix", "stress"])  # fmt: skip
    m = sub.add_parser("memory", help="peak memory of streaming a large Parquet file")
    m.add_argument("--rows", type=int, default=1_000_000)
    m.add_argument("--distinct", type=int, default=50_000)
    m.add_argument("--seed", type=int, default=2026)
    m.add_argument("--profile", choices=sorted(PROFILES), default="registry")
    m.add_argument("--file", default="/tmp/cordtrial-exams-1m.parquet")
    m.add_argument("--output", default="/tmp/cordtrial-classified-1m.parquet")
    m.add_argument("--jobs", type=int, default=1)
    m.add_argument("--chunk-size", type=int, default=50_000)
    args = parser.parse_args(argv)
    speed(args) if args.command == "speed" else memory(args)


if __name__ == "__main__":
    main()
