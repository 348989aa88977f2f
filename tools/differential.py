"""Exploratory differential run: cordtrial's ISNCSCI engine against the reference oracle.

Generates N clinically shaped exams (cordtrial.isncsci.synthetic), classifies each with
cordtrial and with the npm `isncsci` package (black box, tools/oracle/classify.mjs), and writes
every disagreeing exam to a JSON Lines file. With --shrink, one exam per kind of disagreement
(the set of fields that differ) is simplified cell by cell while it still disagrees.

    .venv/bin/python tools/differential.py --n 20000 --seed 7 --nt-rate 0.5 --shrink 10

Needs Node.js and `npm ci --prefix tools/oracle`. Exit status 1 when anything disagrees.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # for tests.isncsci.oracle

from tests.isncsci.oracle import (  # noqa: E402
    Disagreement,
    compare,
    documented_deviation,
    engine_classify,
    oracle_classify,
    shrink,
    unavailable_reason,
)

from cordtrial.isncsci.synthetic import iter_exams  # noqa: E402


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not allowed; expected a number in [0, 1]")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not allowed; expected an integer >= 1")
    return value


def kind_of_field(field: str) -> str:
    """A result field without its side: rightSensoryZpp -> sensoryZpp."""
    for side in ("right", "left"):
        if field.startswith(side):
            rest = field[len(side) :]
            return rest[0].lower() + rest[1:]
    return field


def kind_of(d: Disagreement) -> tuple[str, str]:
    """Group disagreements: the field without its side, and whether only `*` marks differ."""

    def unstarred(text: str) -> set[str]:
        return {v.rstrip("*") for v in text.split(",")}

    return kind_of_field(d.field), "stars only" if unstarred(d.ours) == unstarred(
        d.oracle
    ) else "values"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=_positive, default=5000, help="number of exams (5000)")
    parser.add_argument("--seed", type=int, default=0, help="generator seed (0)")
    parser.add_argument("--nt-rate", type=_rate, default=0.15, help="share of exams with NT")
    parser.add_argument("--flag-rate", type=_rate, default=0.10, help="share with * / ** flags")
    parser.add_argument("--nonkey-rate", type=_rate, default=0.15, help="per-side non-key muscle")
    parser.add_argument(
        "--out", type=Path, default=Path("disagreements.jsonl"), help="JSON Lines output"
    )
    parser.add_argument(
        "--shrink", type=int, default=0, metavar="K", help="shrink one exam of up to K kinds"
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="drop the documented deviations (docs/isncsci-differential.md, section 1a), as the "
        "differential test does",
    )
    parser.add_argument("--chunk", type=_positive, default=1000, help="exams per oracle call")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(stderr=True)
    reason = unavailable_reason()
    if reason is not None:
        console.print(f"[red]oracle unavailable:[/] {reason}")
        return 2

    exams = iter_exams(
        args.n,
        args.seed,
        nt_rate=args.nt_rate,
        flag_rate=args.flag_rate,
        nonkey_rate=args.nonkey_rate,
    )
    kinds: dict[tuple[str, ...], list[dict]] = defaultdict(list)
    disagreeing = 0
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with args.out.open("w", encoding="utf-8") as out, Progress(*columns, console=console) as bar:
        task = bar.add_task("classifying", total=args.n)
        done = False
        while not done:
            chunk = []
            for exam in exams:
                chunk.append(exam)
                if len(chunk) == args.chunk:
                    break
            done = len(chunk) < args.chunk
            answers = oracle_classify(chunk) if chunk else []
            for exam, answer in zip(chunk, answers, strict=True):
                diff = compare(exam["id"], engine_classify(exam), answer)
                if args.explain:
                    diff = [d for d in diff if not documented_deviation(exam, d)]
                if diff:
                    disagreeing += 1
                    record = {
                        "id": exam["id"],
                        "fields": {d.field: {"ours": d.ours, "oracle": d.oracle} for d in diff},
                        "exam": exam,
                    }
                    for d in diff:
                        kinds[kind_of(d)].append(record)
                    out.write(json.dumps(record) + "\n")
                bar.advance(task)

    table = Table(title=f"{disagreeing} of {args.n} exams disagree (seed {args.seed})")
    table.add_column("field (either side): kind")
    table.add_column("exams", justify="right")
    table.add_column("first exam")
    table.add_column("ours -> oracle")
    for kind, records in sorted(kinds.items(), key=lambda kv: -len(kv[1])):
        first = records[0]
        values = "; ".join(f"{f}: {v['ours']} -> {v['oracle']}" for f, v in first["fields"].items())
        table.add_row(": ".join(kind), str(len(records)), str(first["id"]), values)
    console.print(table)

    if args.shrink and kinds:
        shrunk_path = args.out.with_suffix(".shrunk.jsonl")
        with shrunk_path.open("w", encoding="utf-8") as out:
            for kind, records in list(kinds.items())[: args.shrink]:
                console.print(f"shrinking {records[0]['id']} ({': '.join(kind)}) ...")
                small = shrink(
                    records[0]["exam"],
                    lambda diff, kind=kind: any(kind_of(d) == kind for d in diff),
                )
                diff = compare(small.get("id"), engine_classify(small), oracle_classify([small])[0])
                unusual = {k: v for k, v in small.items() if v not in ("2", "5", "Yes")}
                out.write(
                    json.dumps(
                        {
                            "id": records[0]["id"],
                            "kind": list(kind),
                            "fields": {d.field: {"ours": d.ours, "oracle": d.oracle} for d in diff},
                            "non_normal_cells": unusual,
                            "exam": small,
                        }
                    )
                    + "\n"
                )
        console.print(f"shrunk exams: {shrunk_path}")
    console.print(f"disagreements: {args.out}")
    return 1 if disagreeing else 0


if __name__ == "__main__":
    sys.exit(main())
