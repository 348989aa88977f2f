"""What operators need from a running server: health and readiness endpoints, and one JSON
line per request for the logs.

- ``GET /healthz``: the process answers (liveness; for a supervisor or load balancer).
- ``GET /readyz``: the store is reachable and its schema is at the revision this code expects
  (readiness: take the worker out of rotation otherwise, e.g. during an upgrade); 503 when not.
- Request log (logger ``cordtrial.requests``): time (UTC), method, route template (e.g.
  ``/patients/{code}``: never the patient code itself), status, duration in ms, the account's
  numeric id and the worker's process id. No query strings, addresses or bodies: no personal data.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

router = APIRouter(include_in_schema=False)
log = logging.getLogger("cordtrial.requests")


@router.get("/healthz")
def health() -> dict:
    return {"status": "ok", "pid": os.getpid()}


@router.get("/readyz")
async def ready(request: Request) -> JSONResponse:
    status, body = await run_in_threadpool(readiness, request.app.state.database_url)
    return JSONResponse(body, status_code=status)


def readiness(url: str) -> tuple[int, dict]:
    from cordtrial.store import db

    try:
        current = db.current_revision(url)
    except Exception as exc:  # any failure to reach the store means "not ready"
        return 503, {"status": "unavailable", "database": f"unreachable ({type(exc).__name__})"}
    head = db.head_revision()
    if current != head:
        return 503, {
            "status": "unavailable",
            "database": "reachable",
            "schema": f"at {current}, expected {head}: run `cordtrial db upgrade`",
        }
    return 200, {"status": "ready", "database": "reachable", "schema": head}


class RequestLog:
    """ASGI middleware writing one JSON line per HTTP request to ``cordtrial.requests``."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            log.info(_line(scope, status, time.perf_counter() - start))


def _line(scope, status: int, seconds: float) -> str:
    route = scope.get("route")
    principal = scope.get("state", {}).get("principal")
    path = getattr(route, "path", None)
    if path is None:  # no route matched (404) or static files: no identifiers to hide there
        path = "/static/*" if scope.get("path", "").startswith("/static/") else "(unmatched)"
    return json.dumps(
        {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "method": scope.get("method"),
            "route": path,
            "status": status,
            "duration_ms": round(seconds * 1000, 1),
            "user_id": getattr(principal, "id", None),
            "pid": os.getpid(),
        },
        separators=(",", ":"),
    )


def configure_request_log(destination: str | None) -> None:
    """Send request lines to a file (appended), to stderr ("-"), or nowhere (None)."""
    log.handlers.clear()
    log.propagate = False
    if destination is None:
        log.setLevel(logging.WARNING)
        return
    handler = (
        logging.StreamHandler(sys.stderr)
        if destination == "-"
        else logging.FileHandler(destination, encoding="utf-8")
    )
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
