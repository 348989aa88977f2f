"""Development run: how often the report finds an effect in the store's demo trial, which has
none (its courses follow the same no-effect natural history as the example data).

Each seed seeds the demo trial into a fresh temporary SQLite store (`seed_demo(seed=N)`), reads
the analysis tables back from the store and records, per effect the report states, whether it
would be shown (`analysis.calibration.trial_findings`); the summary is the "store demo" column
of docs/analysis.md ("Calibration", robustness table).

    .venv/bin/python tools/demo_calibration.py --seeds 2021-2120 --out /tmp/demo-calibration.csv

About 6 s per seed on one core.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from cordtrial.analysis.calibration import effects, summarise, trial_findings
from cordtrial.store import db
from cordtrial.store.demo import seed_demo
from cordtrial.store.models import ROLES
from cordtrial.store.tables import analysis_tables


def seeds(text: str) -> range:
    first, _, last = text.partition("-")
    return range(int(first), int(last or first) + 1)


def demo_findings(seed: int) -> dict[str, bool | None]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'demo.sqlite'}"
        db.upgrade(url)
        with db.session_scope(url) as session:
            seed_demo(session, seed=seed, passwords={role: "dev-only-password" for role in ROLES})
        with db.session_scope(url) as session:
            return trial_findings(analysis_tables(session))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=seeds, default=seeds("2021-2120"), help="FIRST-LAST")
    ap.add_argument("--out", type=Path, help="write the per-effect summary as CSV")
    args = ap.parse_args()
    console = Console(stderr=True)
    rows = []
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("demo trials", total=len(args.seeds))
        for seed in args.seeds:
            rows.append(demo_findings(seed))
            bar.advance(task)
    findings = pd.DataFrame(rows).reindex(columns=[e.key for e in effects()])
    table = summarise(findings)
    console.print(table[["label", "trials", "found", "rate"]].to_string(index=False))
    if args.out:
        table.to_csv(args.out, index=False, float_format="%.4f")


if __name__ == "__main__":
    main()
