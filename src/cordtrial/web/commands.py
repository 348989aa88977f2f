"""`cordtrial serve`: run the web application (uvicorn) over the store."""

from __future__ import annotations

import ipaddress
from typing import Annotated

import typer

LOOPBACK_NAMES = {"localhost"}


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    demo: Annotated[
        bool, typer.Option("--demo", help="Seed the synthetic demo trial if the database is empty.")
    ] = False,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    database_url: Annotated[
        str | None,
        typer.Option(help="Store URL (default: CORDTRIAL_DATABASE_URL or ./cordtrial.sqlite)."),
    ] = None,
    insecure_cookies: Annotated[
        bool,
        typer.Option(
            "--insecure-cookies",
            help="Send the session cookie over plain HTTP on a non-loopback host (testing only; "
            "put the app behind HTTPS instead).",
        ),
    ] = False,
) -> None:
    """Start the web application (worksheet, cell product chain, timeline, API)."""
    import uvicorn

    from cordtrial.store import db
    from cordtrial.store.config import database_url as resolve_url
    from cordtrial.store.config import redact

    from .app import create_app

    url = resolve_url(database_url)
    db.upgrade(url)
    notice = None
    if demo:
        notice = _seed_demo(url)
    # Browsers keep Secure cookies on http://127.0.0.1 and http://localhost (secure contexts);
    # anywhere else plain HTTP would drop them, so serving there needs TLS in front.
    if not _is_loopback(host) and not insecure_cookies:
        typer.echo(
            "note: session cookies are Secure; serve this host behind HTTPS "
            "(or pass --insecure-cookies for a test network).",
            err=True,
        )
    app = create_app(url, cookie_secure=not insecure_cookies, demo_notice=notice)
    typer.echo(f"cordtrial web on http://{host}:{port}/  (store: {redact(url)})")
    uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=False)


def _seed_demo(url: str) -> str:
    from sqlalchemy import func, select

    from cordtrial.store.db import session_scope
    from cordtrial.store.demo import demo_usernames, seed_demo
    from cordtrial.store.models import Patient

    with session_scope(url) as s:
        if s.scalar(select(func.count()).select_from(Patient)):
            typer.echo("Demo: the store already has patients; nothing seeded, passwords unchanged.")
            return "Synthetic demo data."
        typer.echo("Seeding the synthetic demo trial (about a minute)...")
        passwords = seed_demo(s)
    typer.echo(
        "Demo trial seeded (SYNTHETIC data). One account per role and site; passwords "
        "are shown once:"
    )
    for role, names in demo_usernames().items():
        typer.echo(f"  {role:<16} {', '.join(names):<40} {passwords[role]}")
    return "Synthetic demo trial: every patient and result here is made up."


def register(app: typer.Typer) -> None:
    """Add `serve` to the cordtrial CLI."""
    app.command("serve")(serve)
