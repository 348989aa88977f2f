"""The dashboard: the caller's patients grouped by stage."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from cordtrial.store.services import patients as patient_service

from ..accounts import acting_user
from ..deps import current_principal, unit_of_work
from ..principal import Principal
from ..queries import STAGES, stages_of
from ..render import render

router = APIRouter(include_in_schema=False)


def patient_rows(request: Request, who: Principal) -> list[dict]:
    with unit_of_work(request) as db:
        user = acting_user(db, who)
        patients = patient_service.list_for(user, db)
        stages = stages_of(db, patients)
        rows = []
        for p in patients:
            rows.append(
                {
                    "study_code": p.study_code,
                    "site": p.site.code,
                    "stage": stages[p.id],
                    "status": p.status,
                    "injury_date": p.injury.injury_date if p.injury else None,
                    "level": p.injury.level if p.injury else None,
                    "synthetic": p.synthetic,
                }
            )
    return rows


@router.get("/")
def dashboard(request: Request, who: Annotated[Principal, Depends(current_principal)]):
    rows = patient_rows(request, who)
    by_stage = {code: [r for r in rows if r["stage"] == code] for code, _ in STAGES}
    return render(request, "dashboard.html", stages=STAGES, by_stage=by_stage, total=len(rows))
