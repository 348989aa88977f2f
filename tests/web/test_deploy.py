"""`cordtrial serve` as deployed (issue 15): several worker processes over one store, on SQLite
and PostgreSQL, real HTTP on loopback. A login is valid on every worker and after a restart;
health and readiness answer; request logs carry no personal data; killing a worker or the whole
server with SIGKILL in the middle of writes loses no acknowledged write and leaves nothing
half-written."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
from conftest import _free_port

from cordtrial.store import audit, db

pytestmark = pytest.mark.slow
ADMIN, PASSWORD = "alice", "violet tram ledger 42"
INVESTIGATOR, INV_PASSWORD = "ivan", "copper lantern meadow 7"
CLI = [sys.executable, "-m", "cordtrial"]


def _cli(*args: str, stdin: str | None = None, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, *args], input=stdin, capture_output=True, text=True, timeout=180, env=env
    )


class Server:
    """`cordtrial serve` in its own process group, killable as a whole."""

    def __init__(self, url: str, tmp: Path, workers: int):
        self.url, self.tmp, self.workers = url, tmp, workers
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tmp / f"requests-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Server:
        args = [*CLI, "serve", "--port", str(self.port), "--workers", str(self.workers)]
        args += ["--database-url", self.url, "--request-log", str(self.log)]
        self.proc = subprocess.Popen(
            args,
            stdout=subprocess.DEVNULL,
            stderr=open(self.tmp / "server.err", "ab"),  # noqa: SIM115 - lives with the process
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        raise RuntimeError((self.tmp / "server.err").read_text()[-2000:])

    def kill(self) -> None:
        """SIGKILL to the supervisor and every worker: a power cut, as the server sees it."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def worker_pids(self, at_least: int, tries: int = 200) -> set[int]:
        pids: set[int] = set()
        for _ in range(tries):  # a new connection each time, so the kernel spreads them
            with httpx.Client(limits=httpx.Limits(max_keepalive_connections=0)) as c:
                pids.add(c.get(f"{self.base}/healthz").json()["pid"])
            if len(pids) >= at_least:
                break
        return pids


@pytest.fixture
def site_store(db_url, tmp_path):
    """A store set up as a real site would: the first admin from the CLI, then a site, an
    investigator and a patient through the API."""
    env = {**os.environ}
    done = _cli(
        "users", "create-admin", ADMIN, "--database-url", db_url, stdin=PASSWORD + "\n", env=env
    )
    assert done.returncode == 0, done.stderr
    _seed_site(db_url)
    return db_url


def _seed_site(url: str) -> None:
    from datetime import date, timedelta

    from cordtrial.store.models import Site, User
    from cordtrial.store.services import patients, users

    with db.session_scope(url) as s:
        admin = s.query(User).filter_by(username=ADMIN).one()
        site = Site(code="SAP", name="Sapporo (synthetic)", synthetic=True)
        s.add(site)
        s.flush()
        inv = users.create_user(
            admin,
            s,
            username=INVESTIGATOR,
            display_name="Ivan Vest",
            role="investigator",
            site=site,
            password=INV_PASSWORD,
        )
        p = patients.register(
            inv,
            s,
            site=site,
            study_code="SAP-001",
            sex="F",
            age_at_injury=40,
            identity={"full_name": "Synthetic Person"},
            synthetic=True,
        )
        patients.record_injury(
            inv,
            s,
            p,
            injury_date=date.today() - timedelta(days=20),
            mechanism="fall",
            non_penetrating=True,
            level="C5",
        )
    db.dispose_engines()


def _session(base: str) -> tuple[httpx.Client, str]:
    """Log in through the API; a client carrying the session cookie (marked Secure, which
    browsers send to http://127.0.0.1 but httpx does not, hence set by hand)."""
    with httpx.Client(base_url=base, timeout=30) as login:
        r = login.post("/api/v1/session", json={"username": INVESTIGATOR, "password": INV_PASSWORD})
        assert r.status_code == 200, r.text
        cookies = dict(login.cookies)
    return httpx.Client(base_url=base, timeout=30, cookies=cookies), r.json()["csrf_token"]


def test_login_valid_on_every_worker_and_after_a_restart(site_store, tmp_path):
    server = Server(site_store, tmp_path, workers=2).start()
    try:
        assert len(server.worker_pids(2)) == 2  # two processes serve
        client, csrf = _session(server.base)
        cookie = dict(client.cookies)
        for _ in range(20):  # new connections: spread over both workers
            with httpx.Client(
                base_url=server.base,
                cookies=cookie,
                limits=httpx.Limits(max_keepalive_connections=0),
            ) as c:
                assert c.get("/api/v1/me").json()["username"] == INVESTIGATOR
        server.stop()
        server.start()  # a restart (deploy): the session lives in the store
        with httpx.Client(base_url=server.base, cookies=cookie) as c:
            assert c.get("/api/v1/me").status_code == 200
            assert c.delete("/api/v1/session", headers={"X-CSRF-Token": csrf}).status_code == 204
        with httpx.Client(base_url=server.base, cookies=cookie) as c:  # logged out everywhere
            assert c.get("/api/v1/me").status_code == 401
        client.close()
    finally:
        server.stop()


def test_health_readiness_and_request_log(site_store, tmp_path):
    server = Server(site_store, tmp_path, workers=1).start()
    try:
        assert httpx.get(f"{server.base}/healthz").json()["status"] == "ok"
        ready = httpx.get(f"{server.base}/readyz").json()
        assert ready == {"status": "ready", "database": "reachable", "schema": db.head_revision()}
        client, _ = _session(server.base)
        assert client.get("/api/v1/patients/SAP-001").status_code == 200
        client.close()
    finally:
        server.stop()
    lines = [json.loads(line) for line in server.log.read_text().splitlines()]
    patient = next(line for line in lines if line["route"] == "/api/v1/patients/{code}")
    assert patient["status"] == 200 and patient["user_id"] and patient["duration_ms"] >= 0
    assert set(patient) == {"time", "method", "route", "status", "duration_ms", "user_id", "pid"}
    assert "SAP-001" not in server.log.read_text()  # route templates, never the identifiers


def test_readiness_reports_a_schema_behind_the_code(tmp_path):
    from cordtrial.web.operations import readiness

    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    db.upgrade(url, "0001")
    status, body = readiness(url)
    assert status == 503 and "cordtrial db upgrade" in body["schema"]
    assert readiness("postgresql+psycopg://nobody:x@127.0.0.1:1/none")[0] == 503


def _writer(base: str, acked: list, stop: threading.Event, errors: list) -> None:
    """Posts adverse events, each with a unique term and Idempotency-Key; retries a write whose
    answer was lost with the same key until it is acknowledged (as a careful client does)."""
    client: httpx.Client | None = None
    while not stop.is_set():
        key = uuid.uuid4().hex
        body = {
            "term": f"load-{key}",
            "grade": 1,
            "serious": False,
            "onset_date": time.strftime("%Y-%m-%d"),
        }
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if client is None:
                    client, csrf = _session(base)
                r = client.post(
                    "/api/v1/patients/SAP-001/adverse-events",
                    json=body,
                    headers={"Idempotency-Key": key, "X-CSRF-Token": csrf},
                )
            except (httpx.TransportError, AssertionError):
                client = None  # the server went away: log in again once it is back
                time.sleep(0.3)
                continue
            if r.status_code == 201:
                acked.append(body["term"])
                break
            if r.status_code == 409:  # the first try committed meanwhile: retry for its answer
                continue
            errors.append((r.status_code, r.text[:200]))
            break


def test_sigkill_loses_no_acknowledged_write(site_store, tmp_path):
    server = Server(site_store, tmp_path, workers=2).start()
    acked: list[str] = []
    errors: list = []
    stop = threading.Event()
    threads = [
        threading.Thread(target=_writer, args=(server.base, acked, stop, errors)) for _ in range(4)
    ]
    try:
        for t in threads:
            t.start()
        time.sleep(4)
        worker = next(iter(server.worker_pids(1)))
        os.kill(worker, signal.SIGKILL)  # one worker dies; the supervisor replaces it
        time.sleep(4)
        before_crash = len(acked)
        server.kill()  # then the whole server, mid-write
        time.sleep(1)
        server.start()
        time.sleep(4)
        stop.set()
        for t in threads:
            t.join(timeout=180)
    finally:
        stop.set()
        server.stop()
    assert not errors, errors[:5]
    assert before_crash > 10 and len(acked) > before_crash
    db.dispose_engines()
    from sqlalchemy import select

    from cordtrial.store.models import AdverseEvent

    with db.session_scope(site_store) as s:
        stored = list(s.scalars(select(AdverseEvent.term)))
        assert all(stored.count(term) == 1 for term in acked)  # each exactly once
        assert len(stored) == len(set(stored))  # and no write twice, acknowledged or not
        report = audit.verify(s)  # nothing half-written: every row is in the trail, and back
        assert report.ok, report.problems
    if site_store.startswith("sqlite"):
        from sqlalchemy import create_engine, text

        engine = create_engine(site_store)
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        engine.dispose()
