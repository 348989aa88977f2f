"""End-to-end against the real store: seed the synthetic demo trial into a fresh SQLite file and
run ``cordtrial report`` on it through the main CLI (no --from-dir: the store adapter is used)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner


@pytest.mark.slow
def test_report_on_demo_trial_store(tmp_path: Path) -> None:
    from cordtrial.cli import app

    url = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    runner = CliRunner()
    for args in (["db", "upgrade", "--database-url", url], ["demo-data", "--database-url", url]):
        res = runner.invoke(app, args)
        assert res.exit_code == 0, res.output
    out = tmp_path / "report.html"
    res = runner.invoke(app, ["report", "--database-url", url, "--out", str(out)])
    assert res.exit_code == 0, res.output
    html = out.read_text(encoding="utf-8")
    assert "Data: trial database" in html
    # the audit trail's head is printed and checkpointed: verify --head checks it later
    import re

    head = re.search(r"audit trail head (\d+:[0-9a-f]{64})", html).group(1)
    res = runner.invoke(app, ["audit", "verify", "--head", head, "--database-url", url])
    assert res.exit_code == 0 and "checkpoints match" in res.output, res.output
    assert "SYNTHETIC DATA" in html
    assert "could not be computed" not in html
    assert '<section id="comparator">' in html and "Sensitivity to the reference era" in html
