"""The trial report built in the background for the web app: the same builder and renderer as
``cordtrial report`` (cordtrial.report), over the same analysis tables, restricted to the
user's site for a user bound to one. Jobs and their progress live in the store
(``report_jobs``, operational), so any worker can show them; one report is built at a time
per process (the machine's cores are shared), the others wait their turn.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from cordtrial.store.db import session_scope
from cordtrial.store.models import ReportJob, Site, User
from cordtrial.store.types import utcnow

log = logging.getLogger("cordtrial.web.report_jobs")
_ONE_AT_A_TIME = threading.Semaphore(1)
# A job whose worker has said nothing for this long (e.g. the process was restarted) failed.
STALE = timedelta(minutes=15)
KEEP = 10  # the newest jobs kept per user (older reports are dropped)


def start(url: str, user_id: int) -> int:
    """Queue a report for the user and start building it; returns the job's id. A job of the
    user still queued or running is returned instead of starting another."""
    with session_scope(url) as db:
        running = db.scalar(
            select(ReportJob).where(
                ReportJob.user_id == user_id, ReportJob.state.in_(("queued", "running"))
            )
        )
        if running is not None and not _stale(running):
            return running.id
        now = utcnow()
        job = ReportJob(user_id=user_id, state="queued", steps=[], created_at=now, updated_at=now)
        db.add(job)
        db.flush()
        job_id = job.id
        _prune(db, user_id)
    threading.Thread(target=_run, args=(url, job_id, user_id), daemon=True).start()
    return job_id


def _prune(db: DbSession, user_id: int) -> None:
    old = db.scalars(
        select(ReportJob)
        .where(ReportJob.user_id == user_id)
        .order_by(ReportJob.id.desc())
        .offset(KEEP)
    ).all()
    for job in old:
        db.delete(job)


def _stale(job: ReportJob) -> bool:
    return job.state in ("queued", "running") and utcnow() - job.updated_at > STALE


def _update(url: str, job_id: int, **values) -> None:
    with session_scope(url) as db:
        job = db.get(ReportJob, job_id)
        if job is None:
            return
        step = values.pop("step", None)
        if step is not None:
            job.steps = [*job.steps, step]
        for key, value in values.items():
            setattr(job, key, value)
        job.updated_at = utcnow()


def _run(url: str, job_id: int, user_id: int) -> None:
    from cordtrial.report.builder import build
    from cordtrial.report.render import render_html
    from cordtrial.store.tables import analysis_tables, data_source

    with _ONE_AT_A_TIME:
        try:
            _update(url, job_id, state="running", step="reading the trial's analysis tables")
            with session_scope(url) as db:
                user = db.get(User, user_id)
                site = db.get(Site, user.site_id) if user.site_id else None
                tables = analysis_tables(db, user)
                source = data_source(db, site.code if site else None)  # as `cordtrial report`
            report = build(
                tables, data_source=source, progress=lambda msg: _update(url, job_id, step=msg)
            )
            _update(url, job_id, step="rendering HTML")
            html = render_html(report)
            notes = [f"warning: {w}" for w in report.warnings]
            with session_scope(url) as db:
                job = db.get(ReportJob, job_id)
                if job is not None:
                    job.steps = [*job.steps, *notes, "done"]
                    job.html, job.state, job.updated_at = html, "done", utcnow()
        except Exception as exc:  # the page says the report failed, and why
            log.exception("report job %s failed", job_id)
            _update(url, job_id, state="failed", error=f"{type(exc).__name__}: {exc}"[:2000])


def jobs_of(db: DbSession, user_id: int) -> list[ReportJob]:
    return list(
        db.scalars(
            select(ReportJob).where(ReportJob.user_id == user_id).order_by(ReportJob.id.desc())
        )
    )


def state_of(job: ReportJob) -> str:
    return "failed" if _stale(job) else job.state
