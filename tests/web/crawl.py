"""Walking the app as a user does, for the link and form tests: log in, follow same-site links
(GET only, a few pages per kind of URL), collect the forms each page offers."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

from conftest import csrf_of

# Not followed: leaving the session, files served as they are, the API's own documentation.
SKIP = ("/logout", "/static/", "/api/v1/docs", "/api/v1/redoc", "/openapi.json")


def log_in(client, username: str, password: str) -> None:
    page = client.get("/login")
    data = {"username": username, "password": password, "csrf_token": csrf_of(page.text)}
    r = client.post("/login", data={**data, "next": "/"}, follow_redirects=False)
    assert r.status_code == 303, r.text


def kind(path: str, *, patients: bool = True) -> str:
    """A URL with its numbers (and, with ``patients``, study codes) generalised
    (``/patients/CODE/lots/N?q``)."""
    parts = urlsplit(path)
    shape = re.sub(r"/\d+(?=/|$)", "/N", parts.path)
    if patients:
        shape = re.sub(r"/patients/[^/]+", "/patients/CODE", shape)
    keys = sorted(q.split("=")[0] for q in parts.query.split("&") if q)
    return f"{shape}?{'&'.join(keys)}"


def links(html: str) -> list[str]:
    out = []
    for href in re.findall(r'href="([^"#]*)', html):
        href = href.replace("&amp;", "&")
        if href.startswith("/") and not href.startswith("//"):
            out.append(href)
    return out


@dataclass
class Form:
    action: str
    fields: dict[str, str] = field(default_factory=dict)


class _FormParser(HTMLParser):
    def __init__(self, page: str) -> None:
        super().__init__()
        self.page, self.forms, self._open = page, [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "get").lower() == "post":
            self._open = Form(a.get("action") or self.page)
            self.forms.append(self._open)
        elif self._open is not None and tag in ("input", "select", "textarea") and a.get("name"):
            if a.get("type") not in ("submit", "button"):
                self._open.fields[a["name"]] = a.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._open = None


def forms(html: str, page: str) -> list[Form]:
    parser = _FormParser(page)
    parser.feed(html)
    return parser.forms


@dataclass
class Walk:
    pages: int = 0
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (status, path, linked from)
    forms: dict[tuple[str, tuple[str, ...]], Form] = field(default_factory=dict)  # one per kind


def walk(client, *, per_kind: int = 2, limit: int = 600, each_patient: bool = False) -> Walk:
    """Follow every same-site link from the home page, ``per_kind`` pages per kind of URL
    (``each_patient``: per kind and patient, to reach patients at every stage of the trial)."""
    queue, source, fetched, out = ["/"], {"/": "(home)"}, Counter(), Walk()
    while queue and out.pages < limit:
        path = queue.pop(0)
        shape = kind(path, patients=not each_patient)
        if fetched[shape] >= per_kind:
            continue
        fetched[shape] += 1
        out.pages += 1
        r = client.get(path, follow_redirects=True)
        if r.status_code >= 400:
            out.errors.append((r.status_code, path, source[path]))
            continue
        if "text/html" not in r.headers.get("content-type", ""):
            continue
        for form in forms(r.text, path):
            out.forms.setdefault((kind(form.action), tuple(sorted(form.fields))), form)
        for link in links(r.text):
            if link not in source and not link.startswith(SKIP):
                source[link] = path
                queue.append(link)
    return out
