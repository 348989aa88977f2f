"""Single-exam ISNCSCI engine speed: ``classify(exam).to_rhi()`` on exams that are not plain.

Not plain: an NT cell, a ``*``/``**`` flag, VAC/DAP NT or a recorded non-key muscle; those are
the exams the batch path sends through the single-exam engine (docs/performance.md). Exams are
generated with ``cordtrial.isncsci.synthetic`` and parsed before timing; the figure is the
median of ``--runs`` timed passes, in exams per second on one core.

    python benchmarks/bench_single.py --runs 5
"""

from __future__ import annotations

import argparse
import statistics
import time

from cordtrial.isncsci import Exam, classify
from cordtrial.isncsci.synthetic import generate_exams

#: name -> (generator settings, exams generated); only the exams that are not plain are timed.
PROFILES = {
    "registry-like": ({"nt_rate": 0.01, "flag_rate": 0.002, "nonkey_rate": 0.002}, 40_000),
    "default-mix": ({}, 3_000),
}


def not_plain(exam: Exam) -> bool:
    if "NT" in (exam.vac, exam.dap):
        return True
    for side in (exam.right, exam.left):
        if side.lowest_non_key_muscle is not None:
            return True
        for cell in (*side.light_touch, *side.pin_prick, *side.motor):
            if cell.grade is None or cell.flag:
                return True
    return False


def exams_for(profile: str, seed: int) -> list[Exam]:
    settings, n = PROFILES[profile]
    exams = (Exam.from_rhi(row) for row in generate_exams(n, seed, **settings))
    return [exam for exam in exams if not_plain(exam)]


def rate(exams: list[Exam], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        for exam in exams:
            classify(exam).to_rhi()
        times.append(time.perf_counter() - start)
    return len(exams) / statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--profile", nargs="+", choices=list(PROFILES), default=list(PROFILES))
    args = parser.parse_args()
    for profile in args.profile:
        exams = exams_for(profile, args.seed)
        print(
            f"{profile:<14} {len(exams):>6} not-plain exams  {rate(exams, args.runs):>9,.0f} exams/s"
        )


if __name__ == "__main__":
    main()
