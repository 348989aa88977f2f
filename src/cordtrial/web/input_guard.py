"""The request guard: size limits and refused characters, before any route runs.

Every request body is capped (413 beyond ``max_body``, counted as it arrives, whatever the
Content-Length says), and the text of JSON bodies, form bodies, query strings and paths is
checked once here by the store's rules (cordtrial.store.text): control characters, unpaired
surrogates and non-finite numbers (NaN, Infinity, 1e400) are answered with 422 naming the field,
so no route, model or database ever sees them. The request models check the same rules again
(schemas.Strict) for callers that bypass HTTP.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse

from cordtrial.store.text import field_name, safe_echo, text_problem, value_problems

MAX_BODY = 1024 * 1024  # 1 MiB: an ISNCSCI exam is about 5 kB; no page uploads files
MAX_ERRORS = 20
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


class _Refused(Exception):
    def __init__(self, status: int, detail: str, errors: list[dict] | None = None):
        self.status, self.detail, self.errors = status, detail, errors or []


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a finite number")


def _strict_float(text: str) -> float:
    return float(text)  # 1e400 -> inf, reported by value_problems


def parse_json(body: bytes):
    """JSON as the API reads it, but refusing NaN/Infinity literals (not JSON at all)."""
    return json.loads(body, parse_constant=_reject_constant, parse_float=_strict_float)


def check_body(content_type: str, body: bytes) -> list[dict]:
    """Field errors ({field, value, allowed}) for refused text or numbers in a body."""
    ctype = content_type.split(";", 1)[0].strip().lower()
    if ctype == "application/json" or ctype.endswith("+json"):
        try:
            data = parse_json(body)
        except ValueError as exc:
            if "finite" in str(exc):
                return [
                    {
                        "field": "body",
                        "value": None,
                        "allowed": f"JSON without NaN or Infinity ({exc})",
                    }
                ]
            return []  # malformed JSON: FastAPI answers it with its own 422
        return [
            {"field": field_name(path), "value": None, "allowed": problem}
            for path, problem in value_problems(data)
        ]
    if ctype == "application/x-www-form-urlencoded":
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return [{"field": "body", "value": None, "allowed": "UTF-8 form data"}]
        pairs = parse_qsl(text, keep_blank_values=True)
        return _pair_errors(pairs)
    return []


def _pair_errors(pairs) -> list[dict]:
    errors = []
    for name, value in pairs:
        for part, what in ((name, "name"), (value, "value")):
            problem = text_problem(part)
            if problem:
                errors.append(
                    {
                        "field": field_name((name,)),
                        "value": safe_echo(value) if what == "value" else None,
                        "allowed": f"{problem} in the {what}; allowed: text without control "
                        "characters",
                    }
                )
                break
    return errors


class InputGuard:
    """ASGI middleware applying the limits above to every HTTP request."""

    def __init__(self, app, max_body: int = MAX_BODY):
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            self._check_target(scope)
            if scope["method"] in UNSAFE:
                body = await self._read_body(scope, receive)
                headers = dict(scope.get("headers") or [])
                ctype = headers.get(b"content-type", b"").decode("latin-1")
                if ctype.lower().startswith("multipart/"):
                    raise _Refused(415, "uploads are not accepted; send a form or JSON")
                errors = check_body(ctype, body)
                if errors:
                    raise _Refused(422, "invalid input", errors)
                receive = _replay(body, receive)
        except _Refused as exc:
            await self._answer(scope, exc, send)
            return
        await self.app(scope, receive, send)

    def _check_target(self, scope) -> None:
        problem = text_problem(scope.get("path", ""))
        if problem:
            raise _Refused(404, f"no such page: the address has a {problem.split(' at ')[0]}")
        query = scope.get("query_string", b"")
        if query:
            try:
                pairs = parse_qsl(query.decode("utf-8"), keep_blank_values=True)
            except UnicodeDecodeError:
                raise _Refused(
                    422,
                    "invalid input",
                    [{"field": "query", "value": None, "allowed": "UTF-8 query parameters"}],
                ) from None
            errors = _pair_errors(pairs)
            if errors:
                raise _Refused(422, "invalid input", errors)

    async def _read_body(self, scope, receive) -> bytes:
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            raise _Refused(413, f"request too large: at most {self.max_body} bytes")
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise _Refused(413, f"request too large: at most {self.max_body} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _answer(self, scope, exc: _Refused, send) -> None:
        errors = exc.errors[:MAX_ERRORS]
        if len(exc.errors) > MAX_ERRORS:
            errors.append(
                {
                    "field": "_form",
                    "value": None,
                    "allowed": f"... and {len(exc.errors) - MAX_ERRORS} more errors",
                }
            )
        request = Request(scope)
        if scope.get("path", "").startswith("/api/") or "app" not in scope:
            body = {"detail": exc.detail}
            if errors:
                body["errors"] = errors
            response = JSONResponse(body, status_code=exc.status)
        else:
            from .render import render_error

            text = exc.detail
            if errors:
                text = "; ".join(f"{e['field']}: {e['allowed']}" for e in errors)
            response = render_error(request, exc.status, text)
        await response(scope, _no_body, send)


async def _no_body():
    return {"type": "http.request", "body": b"", "more_body": False}


def _replay(body: bytes, receive):
    """The body already read, then the client's own messages (a later disconnect)."""
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
