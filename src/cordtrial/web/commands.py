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
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Worker processes (sessions, lockouts and keys live in the store, so every "
            "worker serves every user); a dead worker is replaced.",
        ),
    ] = 1,
    database_url: Annotated[
        str | None,
        typer.Option(help="Store URL (default: CORDTRIAL_DATABASE_URL or ./cordtrial.sqlite)."),
    ] = None,
    proxy_headers: Annotated[
        bool,
        typer.Option(
            "--proxy-headers",
            help="Behind a reverse proxy: take the client address and scheme from its "
            "X-Forwarded-For/-Proto headers (only from --forwarded-allow-ips).",
        ),
    ] = False,
    forwarded_allow_ips: Annotated[
        str,
        typer.Option(help="Proxy addresses whose X-Forwarded-* headers are trusted (comma list)."),
    ] = "127.0.0.1",
    request_log: Annotated[
        str,
        typer.Option(
            help="Where one JSON line per request goes: a file (appended), - for stderr, or "
            "'off'. No personal data: route templates, status, duration, account id."
        ),
    ] = "-",
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
    import os

    import uvicorn

    from cordtrial.store import db
    from cordtrial.store.config import database_url as resolve_url
    from cordtrial.store.config import redact

    from . import app as web_app

    url = resolve_url(database_url)
    db.upgrade(url)
    notice = _seed_demo(url) if demo else None
    # Browsers keep Secure cookies on http://127.0.0.1 and http://localhost (secure contexts);
    # anywhere else plain HTTP would drop them, so serving there needs TLS in front.
    if not _is_loopback(host) and not insecure_cookies:
        typer.echo(
            "note: session cookies are Secure; serve this host behind HTTPS "
            "(or pass --insecure-cookies for a test network).",
            err=True,
        )
    # Every worker builds its app from these (uvicorn factory mode).
    os.environ["CORDTRIAL_DATABASE_URL"] = url
    os.environ[web_app.ENV_COOKIE_SECURE] = "0" if insecure_cookies else "1"
    os.environ[web_app.ENV_DEMO_NOTICE] = notice or ""
    os.environ[web_app.ENV_REQUEST_LOG] = "" if request_log == "off" else request_log
    typer.echo(
        f"cordtrial web on http://{host}:{port}/  (store: {redact(url)}; "
        f"{workers} worker{'s' if workers > 1 else ''})"
    )
    uvicorn.run(
        "cordtrial.web.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        access_log=False,  # the request log above replaces it (no addresses, no raw paths)
        proxy_headers=proxy_headers,
        forwarded_allow_ips=forwarded_allow_ips,
        timeout_graceful_shutdown=20,
    )


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
