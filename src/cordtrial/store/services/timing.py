"""Event dates: a record says when its event happened, and the rules are checked against that
day. "Today" is the site's own calendar day (its time zone), so a site in Tokyo can record this
morning's draw before midnight UTC."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Injury, Patient, Site, User
from .base import check


def site_zone(site: Site | None) -> ZoneInfo:
    """The site's time zone (UTC for an unknown zone or no site)."""
    try:
        return ZoneInfo(site.time_zone) if site is not None and site.time_zone else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def site_today(site: Site | None) -> date:
    """Today's date where the site is (UTC for an unknown zone or no site)."""
    return datetime.now(site_zone(site)).date()


def local_day(moment: datetime, site: Site | None) -> date:
    """The calendar day at the site of a stored (UTC) moment: an infusion started at 08:00 in
    Tokyo is on that day, though it is the previous day in UTC."""
    return moment.astimezone(site_zone(site)).date()


def injury_date_of(session: Session, patient: Patient) -> date | None:
    return session.scalar(select(Injury.injury_date).where(Injury.patient_id == patient.id))


def check_event_day(
    session: Session,
    user: User,
    patient: Patient,
    field: str,
    on: date,
    *,
    after_injury: bool = True,
    on_study: bool = True,
) -> None:
    """Refuse an event day in the future (at the patient's site), before the injury, or after
    the patient's end of study."""
    site = patient.site or session.get(Site, patient.site_id)
    today = site_today(site)
    check(
        session,
        user,
        isinstance(on, date),
        field,
        on,
        "a date YYYY-MM-DD",
    )
    check(
        session,
        user,
        on <= today,
        field,
        on.isoformat(),
        f"a day that has come: on or before today at site {site.code} ({today.isoformat()})",
    )
    injury = injury_date_of(session, patient) if after_injury else None
    if injury is not None:
        check(
            session,
            user,
            on >= injury,
            field,
            on.isoformat(),
            f"on or after the injury ({injury.isoformat()})",
        )
    if on_study and patient.ended_on is not None:
        check(
            session,
            user,
            on <= patient.ended_on,
            field,
            on.isoformat(),
            f"on or before the end of study of {patient.study_code} "
            f"({patient.ended_on.isoformat()}, {patient.end_reason})",
        )
