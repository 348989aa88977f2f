"""The `instruments` CLI commands, registered on a local Typer app."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from cordtrial.instruments import SCIM3
from cordtrial.instruments.commands import register


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()

    @app.command()
    def version() -> None:  # a second command so "instruments" stays a sub-group
        typer.echo("test")

    register(app)
    return app


runner = CliRunner()
WIDE = {"COLUMNS": "200"}  # Rich reads the width from COLUMNS


def test_list(app):
    result = runner.invoke(app, ["instruments", "list"], env=WIDE)
    assert result.exit_code == 0, result.output
    for name in ("scim3", "wisci2", "nbd", "lutf"):
        assert name in result.output
    assert "UNVERIFIED" in result.output


def test_show_marks_unverified(app):
    result = runner.invoke(app, ["instruments", "show", "wisci2"], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "two crutches, no braces, no assistance (unverified)" in result.output
    assert "PARTLY UNVERIFIED" in result.output
    assert "definition wisci2@2" in result.output
    assert "levels 16-20: order and wording" in result.output
    assert "Earlier definitions: wisci2@1" in result.output
    assert "18: no devices, braces, no assistance (unverified)" in result.output
    scim = runner.invoke(app, ["instruments", "show", "scim3"], env=WIDE)
    assert "walks with one cane" in scim.output
    assert "wording not from reference" in scim.output
    assert "small >= 4, substantial >= 10" in scim.output


def test_show_unknown_instrument(app):
    result = runner.invoke(app, ["instruments", "show", "fim"])
    assert result.exit_code == 2
    assert "unknown instrument 'fim'" in result.output


def test_schema_prints_json(app):
    result = runner.invoke(app, ["instruments", "schema", "nbd"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["x-instrument"] == "nbd"


def test_score_valid_record(app, tmp_path):
    path = tmp_path / "scim.json"
    path.write_text(json.dumps({i.id: max(i.allowed_values) for i in SCIM3.items}))
    result = runner.invoke(app, ["instruments", "score", "scim3", str(path), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["total"] == 100 and out["derived"]["walks_indoors"] is True
    table = runner.invoke(app, ["instruments", "score", "scim3", str(path)], env=WIDE)
    assert table.exit_code == 0 and "100" in table.output


def test_score_partial_record_lists_missing(app, tmp_path):
    path = tmp_path / "nbd.json"
    path.write_text(json.dumps({"flatus_incontinence": "yes"}))
    result = runner.invoke(app, ["instruments", "score", "nbd", str(path)], env=WIDE)
    assert result.exit_code == 0
    assert "Missing items:" in result.output and "defecation_frequency" in result.output


def test_score_invalid_record_exits_1_with_errors(app, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"feeding": 7, "stairs": "up"}))
    result = runner.invoke(app, ["instruments", "score", "scim3", str(path)])
    assert result.exit_code == 1
    assert "feeding: not an allowed value: got 7; allowed: 0, 1, 2, 3" in result.stderr
    assert "stairs" in result.stderr


@pytest.mark.parametrize(
    "content, message", [("{not json", "not valid JSON"), (None, "cannot read")]
)
def test_score_unreadable_file_exits_1(app, tmp_path, content, message):
    path = tmp_path / "r.json"
    if content is not None:
        path.write_text(content)
    result = runner.invoke(app, ["instruments", "score", "scim3", str(path)])
    assert result.exit_code == 1
    assert message in result.stderr


@pytest.mark.parametrize("name", ["scim3", "wisci2", "nbd", "lutf"])
def test_show_lists_every_part_with_its_state(app, name):
    from cordtrial.instruments import INSTRUMENTS

    result = runner.invoke(app, ["instruments", "show", name], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    assert "Sources and verification, per part" in result.output
    lines = result.output.splitlines()
    for part in INSTRUMENTS[name].parts:
        # The part's row carries its state (Rich may wrap the name; its start is on the row).
        row = next(line for line in lines if part.name[:40] in line)
        assert part.evidence.value.upper() in row.upper(), (part.name, row)


def test_list_shows_definition_versions(app):
    result = runner.invoke(app, ["instruments", "list"], env=WIDE)
    assert "wisci2@2" in result.output and "scim3@1" in result.output
