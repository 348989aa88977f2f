"""The trial report in the web app: started from a page (or the API), built in the background
with its progress shown, then opened or downloaded: the same content as ``cordtrial report``
(web/report_jobs.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel

from cordtrial.store.models import ReportJob

from .. import report_jobs
from ..deps import Idempotent, current_principal, require, unit_of_work
from ..errors import Conflict, NotFound
from ..idempotency import respond
from ..principal import Principal
from ..render import render

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1/reports", tags=["Report"])
Who = Annotated[Principal, Depends(current_principal)]
JobId = Annotated[int, Path(ge=1, le=2**31 - 1)]
# The report is one self-contained file (inline CSS and SVG, no script): it may style itself,
# nothing else.
REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'"
)


class JobOut(BaseModel):
    id: int
    state: str  # queued | running | done | failed
    steps: list[str]
    error: str | None
    created_at: datetime
    updated_at: datetime
    report_url: str | None


def _out(job: ReportJob) -> dict:
    state = report_jobs.state_of(job)
    return {
        "id": job.id,
        "state": state,
        "steps": list(job.steps),
        "error": job.error if state != "failed" or job.error else "the worker stopped",
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "report_url": f"/reports/{job.id}/report.html" if state == "done" else None,
    }


def _job(db, who: Principal, job_id: int) -> ReportJob:
    job = db.get(ReportJob, job_id)
    if job is None or job.user_id != who.id:
        raise NotFound(f"no report {job_id} of yours")
    return job


@router.get("/reports")
def reports_page(request: Request, who: Who):
    require(who, "view_report")
    with unit_of_work(request) as db:
        jobs = [_out(j) for j in report_jobs.jobs_of(db, who.id)]
    return render(request, "reports.html", jobs=jobs)


@router.post("/reports")
def start_page(request: Request, who: Who):
    require(who, "view_report")
    job_id = report_jobs.start(request.app.state.database_url, who.id)
    return RedirectResponse(f"/reports/{job_id}", status_code=303)


@router.get("/reports/{job_id}")
def job_page(job_id: int, request: Request, who: Who):
    require(who, "view_report")
    with unit_of_work(request) as db:
        job = _out(_job(db, who, job_id))
    return render(request, "report_job.html", job=job)


@router.get("/reports/{job_id}/report.html")
def report_file(job_id: int, request: Request, who: Who):
    require(who, "view_report")
    return _html(request, who, job_id, download="download" in request.query_params)


def _html(request: Request, who: Principal, job_id: int, download: bool) -> HTMLResponse:
    with unit_of_work(request) as db:
        job = _job(db, who, job_id)
        if report_jobs.state_of(job) != "done":
            raise Conflict(f"report {job_id} is {report_jobs.state_of(job)}, not ready")
        html = job.html
        stamp = job.created_at.strftime("%Y%m%d-%H%M")
    headers = {"Content-Security-Policy": REPORT_CSP}
    if download:
        headers["Content-Disposition"] = f'attachment; filename="cordtrial-report-{stamp}.html"'
    return HTMLResponse(html, headers=headers)


# -- API -------------------------------------------------------------------------------------------


@api.post(
    "",
    response_model=JobOut,
    status_code=202,
    summary="Start building the trial report (as `cordtrial report`); poll its state",
)
def api_start(request: Request, who: Who, _: Idempotent) -> dict:
    require(who, "view_report")
    job_id = report_jobs.start(request.app.state.database_url, who.id)
    with unit_of_work(request) as db:
        return respond(request, db, _out(_job(db, who, job_id)), 202)


@api.get("", response_model=list[JobOut], summary="Your recent reports")
def api_jobs(request: Request, who: Who) -> list[dict]:
    require(who, "view_report")
    with unit_of_work(request) as db:
        return [_out(j) for j in report_jobs.jobs_of(db, who.id)]


@api.get(
    "/{job_id}",
    response_model=JobOut,
    summary="A report's state and progress",
    responses={404: {"description": "No such report of yours"}},
)
def api_job(job_id: JobId, request: Request, who: Who) -> dict:
    require(who, "view_report")
    with unit_of_work(request) as db:
        return _out(_job(db, who, job_id))


@api.get(
    "/{job_id}/html",
    summary="The finished report (one self-contained HTML file)",
    response_class=HTMLResponse,
    responses={409: {"description": "Not finished yet"}, 404: {"description": "No such report"}},
)
def api_html(job_id: JobId, request: Request, who: Who) -> HTMLResponse:
    require(who, "view_report")
    return _html(request, who, job_id, download=False)
