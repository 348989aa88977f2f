"""`instruments` CLI commands: list, show, schema, score. Wire with ``register(app)``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from . import INSTRUMENTS, get_instrument
from .definition import Evidence, Instrument, InstrumentValidationError, Verification
from .schema import json_schema
from .versions import CORRECTIONS, DEFINITIONS

_STATUS_STYLE = {
    Verification.VERIFIED: "verified",
    Verification.PARTLY_UNVERIFIED: "[yellow]PARTLY UNVERIFIED[/yellow]",
    Verification.UNVERIFIED: "[red]UNVERIFIED[/red]",
}
_EVIDENCE_STYLE = {
    Evidence.VERIFIED: "verified",
    Evidence.SECONDARY: "[yellow]secondary[/yellow]",
    Evidence.UNVERIFIED: "[red]UNVERIFIED[/red]",
}


def _instrument(name: str) -> Instrument:
    try:
        return get_instrument(name)
    except KeyError as e:
        raise typer.BadParameter(e.args[0], param_hint="NAME") from None


NameArg = Annotated[str, typer.Argument(help=f"Instrument id: {', '.join(INSTRUMENTS)}.")]


def build_app() -> typer.Typer:
    app = typer.Typer(help="Functional outcome instruments: definitions, schemas, scoring.")

    @app.command("list")
    def list_() -> None:
        """List the instruments."""
        table = Table(title="Instruments")
        for col in ("id", "version", "name", "items", "scores", "status"):
            table.add_column(col)
        for inst in INSTRUMENTS.values():
            scores = ", ".join(f"{s.id} {s.minimum}-{s.maximum}" for s in inst.scores) or "-"
            table.add_row(
                inst.id,
                inst.version_tag,
                inst.name,
                str(len(inst.items)),
                scores,
                _STATUS_STYLE[inst.verification],
            )
        Console().print(table)

    @app.command()
    def show(name: NameArg) -> None:
        """Show an instrument's items, allowed values and verification status."""
        inst = _instrument(name)
        console = Console()
        console.print(f"[bold]{inst.name}[/bold] ({inst.id}, definition {inst.version_tag})")
        console.print(inst.description)
        console.print(f"Source: {inst.source}")
        _print_parts(console, inst)
        _print_history(console, inst)
        items = Table(title="Items", show_lines=True)
        for col in ("no.", "id", "label", "allowed values", "status"):
            items.add_column(col)
        for item in inst.items:
            if item.options:
                allowed = "\n".join(
                    o.meaning
                    + ("" if o.verified else " [red](unverified)[/red]")
                    + (
                        ""
                        if o.meaning_from_reference
                        else " [dim](wording not from reference)[/dim]"
                    )
                    for o in item.options
                )
            else:
                allowed = item.allowed_text()
            items.add_row(
                item.number, item.id, item.label, allowed, _STATUS_STYLE[item.verification]
            )
        console.print(items)
        if inst.scores:
            scores = Table(title="Scores")
            for col in ("id", "label", "range", "better"):
                scores.add_column(col)
            for s in inst.scores:
                better = "higher" if s.higher_is_better else "lower"
                scores.add_row(s.id, s.label, f"{s.minimum}-{s.maximum}", better)
            console.print(scores)
        for d in inst.derived_fields:
            flag = "" if d.verified else " [red](unverified)[/red]"
            console.print(f"Derived [bold]{d.id}[/bold]{flag}: {d.description} {d.note}".rstrip())
        for t in inst.change_thresholds:
            console.print(
                f"Change thresholds for {t.score_id}: small >= {t.small}, "
                f"substantial >= {t.substantial} ({t.source})"
            )
            if t.mcid_min is not None:
                console.print(f"  MCID {t.mcid_min}-{t.mcid_max}: {t.mcid_source}")
        for note in inst.notes:
            console.print(f"Note: {note}")

    @app.command()
    def schema(name: NameArg) -> None:
        """Print the instrument's JSON Schema."""
        typer.echo(json.dumps(json_schema(_instrument(name)), indent=2, ensure_ascii=False))

    @app.command()
    def score(
        name: NameArg,
        file: Annotated[Path, typer.Argument(help="JSON file with one record {item_id: value}.")],
        as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    ) -> None:
        """Validate and score a record; exit 1 listing the errors if it is invalid."""
        inst = _instrument(name)
        try:
            record = json.loads(file.read_text(encoding="utf-8"))
        except OSError as e:
            typer.echo(f"cannot read {file}: {e.strerror or e}", err=True)
            raise typer.Exit(1) from None
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            typer.echo(f"{file} is not valid JSON: {e}", err=True)
            raise typer.Exit(1) from None
        try:
            result = inst.score(record)
        except InstrumentValidationError as e:
            typer.echo(str(e), err=True)
            raise typer.Exit(1) from None
        if as_json:
            typer.echo(json.dumps(result.to_dict(), indent=2))
            return
        console = Console()
        table = Table(title=f"{inst.short_name} score")
        table.add_column("score")
        table.add_column("value")
        if inst.total_definition is not None:
            table.add_row("total", _fmt(result.total))
        for key, value in result.scores.items():
            table.add_row(key, _fmt(value))
        for key, value in result.derived.items():
            table.add_row(key, _fmt(value))
        console.print(table)
        if result.missing_items:
            console.print("Missing items: " + ", ".join(result.missing_items))

    return app


def _print_parts(console: Console, inst: Instrument) -> None:
    parts = Table(title="Sources and verification, per part", show_lines=True)
    for col in ("part", "state", "source", "note"):
        parts.add_column(col)
    for part in inst.parts:
        parts.add_row(part.name, _EVIDENCE_STYLE[part.evidence], part.source, part.note)
    console.print(parts)


def _print_history(console: Console, inst: Instrument) -> None:
    older = [t for t, d in DEFINITIONS.items() if d.id == inst.id and d is not inst]
    if not older:
        return
    console.print(
        f"Earlier definitions: {', '.join(older)} (records keep the version they "
        "were entered under)"
    )
    for c in CORRECTIONS:
        if c.instrument == inst.id:
            console.print(
                f"Correction {c.id} ({', '.join(c.affected_versions)} -> {c.fixed_in}): {c.summary}"
            )


def _fmt(value: object) -> str:
    return "missing" if value is None else str(value)


def register(app: typer.Typer) -> None:
    """Add the ``instruments`` command group to a Typer app."""
    app.add_typer(build_app(), name="instruments")
