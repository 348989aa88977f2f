"""Load on a deployed server: simulated site teams and monitors over real HTTP.

Starts `cordtrial serve --workers W` (separate processes, loopback) over a fresh store (PostgreSQL
as CI starts it, or SQLite), set up as a site would be: the first administrator from
`cordtrial users create-admin`, then sites, accounts and patients. Then U virtual users work at
once for D seconds:

- site users (4 of 5): log in through the form, open the dashboard and a patient, type an ISNCSCI
  exam (live classification while typing), save it, record a WISCI II and an adverse event;
- monitors (1 of 5): log in, read the audit trail (page and API) and export the adverse events.

Each user waits a random think time between actions (exponential, mean --think seconds). Every
write carries an Idempotency-Key and a unique marker; a write whose answer was lost is retried
with its key. After each run: latency percentiles per operation, throughput, errors by kind,
a count showing every acknowledged write stored exactly once, and `cordtrial audit verify`.

Usage:
  python benchmarks/bench_load.py --db postgres --workers 1 2 4 --users 10 50 200 --duration 60
  python benchmarks/bench_load.py --db sqlite --workers 2 --users 50 --json sqlite.json
PostgreSQL: CORDTRIAL_TEST_POSTGRES_URL (source .ci/postgres.sh); each run uses a new database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import httpx

ADMIN_PASSWORD = "violet tram ledger 42"
USER_PASSWORD = "copper lantern meadow 7"
PATIENTS = 40
SITES = ("SAP", "KUS")
WRITE_OPS = ("save exam", "record instrument", "record adverse event")
CLI = [sys.executable, "-m", "cordtrial"]


# -- the store and the server --------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_store(kind: str, tmp: Path) -> tuple[str, callable]:
    """A new empty store URL and a function that drops it."""
    if kind == "sqlite":
        return f"sqlite:///{tmp / 'load.sqlite'}", lambda: None
    from sqlalchemy import create_engine, text

    base = os.environ.get("CORDTRIAL_TEST_POSTGRES_URL")
    if not base:
        sys.exit("CORDTRIAL_TEST_POSTGRES_URL is not set: source .ci/postgres.sh")
    name = f"cordtrial_load_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        from cordtrial.store import db

        db.dispose_engines()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    return base.rsplit("/", 1)[0] + "/" + name, drop


def set_up_site(url: str, n_users: int) -> dict[str, list[str]]:
    """First admin by the CLI, then sites, accounts and patients: {role: usernames}."""
    done = subprocess.run(
        [*CLI, "users", "create-admin", "admin", "--database-url", url],
        input=ADMIN_PASSWORD + "\n",
        capture_output=True,
        text=True,
    )
    if done.returncode:
        sys.exit(done.stderr)
    from sqlalchemy import select

    from cordtrial.store import db
    from cordtrial.store.models import Site, User
    from cordtrial.store.passwords import hash_password
    from cordtrial.store.services import patients, users

    accounts: dict[str, list[str]] = defaultdict(list)
    pw_hash = hash_password(USER_PASSWORD)  # one hash for every account: seeding stays quick
    today = date.today()
    with db.session_scope(url) as s:
        admin = s.scalar(select(User).where(User.username == "admin"))
        sites = [Site(code=c, name=f"{c} (synthetic)", synthetic=True) for c in SITES]
        s.add_all(sites)
        s.flush()
        for i in range(max(4, n_users)):
            site = sites[i % len(sites)]
            role = "monitor" if i % 5 == 4 else ("investigator" if (i // 2) % 2 else "assessor")
            name = f"{role[:3]}{i:03d}"
            users.create_user(
                admin,
                s,
                username=name,
                display_name=f"Load {role} {i}",
                role=role,
                site=None if role == "monitor" else site,
                password_hash=pw_hash,
            )
            accounts[f"{role}:{site.code}" if role != "monitor" else role].append(name)
        investigators = {
            st.code: s.scalar(
                select(User).where(User.role == "investigator", User.site_id == st.id)
            )
            for st in sites
        }
        for i in range(PATIENTS):
            site = sites[i % len(sites)]
            inv = investigators[site.code]
            p = patients.register(
                inv,
                s,
                site=site,
                study_code=f"{site.code}-{i:03d}",
                sex="F",
                age_at_injury=40,
                identity={"full_name": f"Synthetic {i}"},
                synthetic=True,
            )
            patients.record_injury(
                inv,
                s,
                p,
                injury_date=today - timedelta(days=30),
                mechanism="fall",
                non_penetrating=True,
                level="C5",
            )
    db.dispose_engines()
    return accounts


class Server:
    def __init__(self, url: str, workers: int, tmp: Path):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.err = open(tmp / f"server-{self.port}.err", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                *CLI,
                "serve",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
                "--database-url",
                url,
                "--request-log",
                "off",
                # httpx, unlike browsers, returns no Secure cookie to http://127.0.0.1; the
                # cookie flag does not change the timing
                "--insecure-cookies",
            ],
            stdout=subprocess.DEVNULL,
            stderr=self.err,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        raise RuntimeError("the server did not start")

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=60)
        self.err.close()


# -- the virtual users ---------------------------------------------------------------------------


LOGIN_OPS = ("login form", "log in")


@dataclass
class Results:
    measure_from: float = 0.0  # steady state: operations other than logging in count from here
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter = field(default_factory=Counter)
    acknowledged: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))


class User:
    def __init__(
        self, base: str, username: str, results: Results, think: float, rng: random.Random
    ):
        self.base, self.username, self.results, self.think, self.rng = (
            base,
            username,
            results,
            think,
            rng,
        )
        self.client: httpx.AsyncClient | None = None
        self.csrf = ""

    async def timed(
        self, op: str, method: str, path: str, ok=(200,), **kw
    ) -> httpx.Response | None:
        start = time.perf_counter()
        try:
            r = await self.client.request(method, path, **kw)
        except httpx.TransportError as exc:
            self.results.errors[f"{op}: {type(exc).__name__}"] += 1
            return None
        if op in LOGIN_OPS or start >= self.results.measure_from:
            self.results.latencies[op].append((time.perf_counter() - start) * 1000)
        if r.status_code not in ok:
            self.results.errors[f"{op}: HTTP {r.status_code}"] += 1
            return None
        return r

    async def pause(self) -> None:
        await asyncio.sleep(self.rng.expovariate(1 / self.think) if self.think else 0)

    async def login(self) -> bool:
        self.client = httpx.AsyncClient(base_url=self.base, timeout=60)
        page = await self.timed("login form", "GET", "/login")
        if page is None:
            return False
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        r = await self.timed(
            "log in",
            "POST",
            "/login",
            ok=(303,),
            data={
                "username": self.username,
                "password": USER_PASSWORD,
                "csrf_token": token,
                "next": "/",
            },
        )
        if r is None:
            return False
        home = await self.timed("dashboard", "GET", "/")
        if home is None:
            return False
        self.csrf = re.search(r'name="csrf-token" content="([^"]+)"', home.text).group(1)
        return True

    async def write(self, op: str, path: str, body: dict, marker: str, ok=(201,)) -> None:
        """A write with an Idempotency-Key, retried with the same key if the answer is lost."""
        key = uuid.uuid4().hex
        headers = {"Idempotency-Key": key, "X-CSRF-Token": self.csrf}
        for _ in range(5):
            r = await self.timed(op, "POST", path, ok=(*ok, 409), json=body, headers=headers)
            if r is not None and r.status_code in ok:
                self.results.acknowledged[op].append(marker)
                return
            if r is not None and r.status_code == 409 and "Idempotency" not in r.text:
                self.results.errors[f"{op}: refused ({r.json().get('code')})"] += 1
                return
            await asyncio.sleep(0.2)

    async def close(self) -> None:
        if self.client is not None:
            await self.client.aclose()


class SiteUser(User):
    def __init__(self, *a, site: str, exams, **kw):
        super().__init__(*a, **kw)
        self.site, self.exams = site, exams

    async def step(self) -> None:
        code = f"{self.site}-{self.rng.randrange(PATIENTS // 2) * 2 + (0 if self.site == SITES[0] else 1):03d}"
        await self.timed("dashboard", "GET", "/")
        await self.pause()
        await self.timed("patient page", "GET", f"/patients/{code}")
        await self.pause()
        exam = self.exams[self.rng.randrange(len(self.exams))]
        cells = list(exam)
        for k in (
            len(cells) // 3,
            2 * len(cells) // 3,
            len(cells),
        ):  # live classification while typing
            partial = {c: exam[c] for c in cells[:k]}
            await self.timed(
                "live classification",
                "POST",
                "/api/v1/isncsci/classify?partial=true",
                json=partial,
                headers={"X-CSRF-Token": self.csrf},
            )
            await self.pause()
        marker = f"load-{uuid.uuid4().hex[:12]}"
        today = date.today().isoformat()
        meta = {
            "visit_code": "unscheduled",
            "assessed_on": today,
            "assessor_name": marker,
            "blinded": False,
        }
        await self.write(
            "save exam", f"/api/v1/patients/{code}/isncsci-exams", {**meta, "exam": exam}, marker
        )
        await self.pause()
        marker = f"load-{uuid.uuid4().hex[:12]}"
        level = self.rng.randrange(0, 21)  # a complete WISCI II: self-selected <= maximum
        data = {"maximum": level, "self_selected": self.rng.randrange(0, level + 1)}
        await self.write(
            "record instrument",
            f"/api/v1/patients/{code}/instruments/wisci2",
            {**meta, "assessor_name": marker, "data": data},
            marker,
        )
        await self.pause()
        if self.username.startswith("inv"):
            marker = f"load-{uuid.uuid4().hex[:12]}"
            body = {"term": marker, "grade": 1, "serious": False, "onset_date": today}
            await self.write(
                "record adverse event", f"/api/v1/patients/{code}/adverse-events", body, marker
            )
            await self.pause()


class Monitor(User):
    async def step(self) -> None:
        await self.timed("audit trail (API)", "GET", "/api/v1/audit?limit=50")
        await self.pause()
        await self.timed("audit trail (page)", "GET", "/audit")
        await self.pause()
        await self.timed("export adverse events", "GET", "/exports/adverse_events.csv")
        await self.pause()


async def run_users(
    base: str, accounts, n_users: int, duration: float, think: float, seed: int
) -> tuple[Results, float]:
    from cordtrial.isncsci.synthetic import exam_at

    exams = [{k: v for k, v in exam_at(seed, i).items() if "NonKey" not in k} for i in range(30)]
    results = Results()
    rng = random.Random(seed)
    vus: list[User] = []
    for i in range(n_users):
        if i % 5 == 4:
            name = accounts["monitor"][i % len(accounts["monitor"])]
            vus.append(Monitor(base, name, results, think, random.Random(rng.random())))
        else:
            site = SITES[i % len(SITES)]
            role = "investigator" if (i // len(SITES)) % 2 else "assessor"
            pool = accounts[f"{role}:{site}"]
            vus.append(
                SiteUser(
                    base,
                    pool[i % len(pool)],
                    results,
                    think,
                    random.Random(rng.random()),
                    site=site,
                    exams=exams,
                )
            )
    # Users arrive over a ramp (a login costs a deliberately slow Argon2 check: a whole team
    # logging in within seconds is not a working day); the steady state is measured after it.
    ramp = max(10.0, n_users / 4)
    results.measure_from = time.perf_counter() + ramp
    stop_at = time.monotonic() + ramp + duration

    async def live(vu: User) -> None:
        await asyncio.sleep(vu.rng.uniform(0, ramp))
        if await vu.login():
            while time.monotonic() < stop_at:
                await vu.step()
        await vu.close()

    await asyncio.gather(*(live(vu) for vu in vus))
    return results, duration


# -- after the run -------------------------------------------------------------------------------


def stored_once(url: str, results: Results) -> dict[str, dict[str, int]]:
    """For each kind of write: acknowledged, stored once, missing, stored more than once."""
    from sqlalchemy import select

    from cordtrial.store import db
    from cordtrial.store.models import AdverseEvent, Assessment

    out = {}
    with db.session_scope(url) as s:
        stored = {
            "save exam": Counter(
                s.scalars(
                    select(Assessment.assessor_name).where(
                        Assessment.kind == "isncsci", Assessment.assessor_name.like("load-%")
                    )
                )
            ),
            "record instrument": Counter(
                s.scalars(
                    select(Assessment.assessor_name).where(
                        Assessment.kind == "wisci2", Assessment.assessor_name.like("load-%")
                    )
                )
            ),
            "record adverse event": Counter(
                s.scalars(select(AdverseEvent.term).where(AdverseEvent.term.like("load-%")))
            ),
        }
    db.dispose_engines()
    for op in WRITE_OPS:
        acked = results.acknowledged.get(op, [])
        counts = stored[op]
        out[op] = {
            "acknowledged": len(acked),
            "stored_once": sum(1 for m in acked if counts[m] == 1),
            "missing": sum(1 for m in acked if counts[m] == 0),
            "duplicated": sum(1 for c in counts.values() if c > 1),
            "stored_total": sum(counts.values()),
        }
    return out


def audit_verify(url: str) -> bool:
    done = subprocess.run(
        [*CLI, "audit", "verify", "--database-url", url], capture_output=True, text=True
    )
    return done.returncode == 0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return (
        ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]
        if ordered
        else float("nan")
    )


def summarise(results: Results, seconds: float) -> dict:
    ops = {}
    for op, lat in sorted(results.latencies.items()):  # throughput: steady-state requests
        ops[op] = {
            "n": len(lat),
            "p50_ms": round(pct(lat, 50), 1),
            "p95_ms": round(pct(lat, 95), 1),
            "p99_ms": round(pct(lat, 99), 1),
        }
    writes = [v for op in WRITE_OPS for v in results.latencies.get(op, [])]
    total = sum(len(v) for op, v in results.latencies.items() if op not in LOGIN_OPS)
    return {
        "operations": ops,
        "writes_p95_ms": round(pct(writes, 95), 1) if writes else None,
        "requests": total,
        "throughput_rps": round(total / seconds, 1),
        "errors": dict(results.errors),
    }


def one_run(
    kind: str, workers: int, n_users: int, duration: float, think: float, seed: int
) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        url, drop = fresh_store(kind, Path(tmp))
        os.environ["CORDTRIAL_STATE_DIR"] = tmp  # the audit key of this throw-away store
        try:
            from cordtrial.store import db

            db.upgrade(url)
            accounts = set_up_site(url, max(10, n_users // 2))
            server = Server(url, workers, Path(tmp))
            try:
                results, seconds = asyncio.run(
                    run_users(server.base, accounts, n_users, duration, think, seed)
                )
            finally:
                server.stop()
            summary = summarise(results, seconds)
            summary["writes"] = stored_once(url, results)
            summary["audit_verify"] = audit_verify(url)
        finally:
            drop()
    summary.update(db=kind, workers=workers, users=n_users, duration_s=duration, think_s=think)
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--users", type=int, nargs="+", default=[10, 50, 200])
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of load per run")
    ap.add_argument("--think", type=float, default=2.0, help="mean think time, seconds")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--json", type=Path, help="append each run's figures here (JSON lines)")
    args = ap.parse_args(argv)

    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(
        title=f"Load on `cordtrial serve` ({args.db}; {platform.machine()}, {os.cpu_count()} CPUs)"
    )
    for col in (
        "workers",
        "users",
        "req/s",
        "writes p95",
        "worst p95 (op)",
        "errors",
        "acknowledged / once / lost / dup",
        "audit",
    ):
        table.add_column(col)
    ok = True
    for workers in args.workers:
        for users in args.users:
            with console.status(
                f"{args.db}: {workers} workers, {users} users, {args.duration:g} s"
            ):
                s = one_run(args.db, workers, users, args.duration, args.think, args.seed)
            if args.json:
                with args.json.open("a") as f:
                    f.write(json.dumps(s) + "\n")
            worst = max(s["operations"].items(), key=lambda kv: kv[1]["p95_ms"])
            w = s["writes"]
            acked = sum(v["acknowledged"] for v in w.values())
            once = sum(v["stored_once"] for v in w.values())
            lost = sum(v["missing"] for v in w.values())
            dup = sum(v["duplicated"] for v in w.values())
            errors = sum(s["errors"].values())
            ok &= lost == 0 and dup == 0 and s["audit_verify"]
            table.add_row(
                str(workers),
                str(users),
                f"{s['throughput_rps']:g}",
                f"{s['writes_p95_ms']} ms",
                f"{worst[1]['p95_ms']} ms ({worst[0]})",
                str(errors) + (f" {s['errors']}" if errors else ""),
                f"{acked} / {once} / {lost} / {dup}",
                "OK" if s["audit_verify"] else "FAILED",
            )
            console.print(json.dumps(s["operations"]))
    console.print(table)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
