"""Sites: code, name and time zone, administered by an admin (audited like every change).

A site's code is part of its patients' study codes and of its accounts' scope, so it is fixed
once created; the name and time zone can change. Sites are never deleted. Only an admin
without a site (sponsor level) creates sites; a site's own admin may rename it or set its
time zone.
"""

from __future__ import annotations

import re
from functools import cache
from zoneinfo import available_timezones

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Site, User
from .base import check, deny, require_role
from .fields import check_text

ADMIN = ("admin",)
SITE_CODE = re.compile(r"^[A-Z0-9]{2,16}$")


# Names some systems list beside the IANA zones that are no place's time: "localtime" is
# whatever the server is set to (a site's "today" would move with the server), "Factory" and
# "posixrules" are tzdata internals.
NOT_A_PLACE = frozenset({"localtime", "Factory", "posixrules"})


@cache
def time_zones() -> frozenset[str]:
    """The IANA time zone names this system knows (e.g. Asia/Tokyo, Europe/Berlin, UTC)."""
    return frozenset(available_timezones()) - NOT_A_PLACE


def sites_for(admin: User, session: Session) -> list[Site]:
    require_role(session, admin, ADMIN, "list sites")
    q = select(Site).order_by(Site.code)
    if admin.site_id is not None:
        q = q.where(Site.id == admin.site_id)
    return list(session.scalars(q))


def get_site(admin: User, session: Session, code: str) -> Site:
    require_role(session, admin, ADMIN, "view a site")
    site = session.scalar(select(Site).where(Site.code == code))
    if site is None or (admin.site_id is not None and site.id != admin.site_id):
        deny(session, admin, "not_found", f"no site {code!r} you manage")
    return site


def _validate(session: Session, admin: User, site: Site) -> None:
    check_text(session, admin, "name", site.name, "the site's name")
    check(
        session,
        admin,
        site.time_zone in time_zones(),
        "time_zone",
        site.time_zone,
        "an IANA time zone name, e.g. Asia/Tokyo, Europe/Berlin, America/New_York or UTC",
    )


def create_site(admin: User, session: Session, *, code: str, name: str, time_zone: str) -> Site:
    """A new site. Its time zone is required (no silent UTC): the site's "today" for every
    date check and the times its team enters and reads follow it."""
    require_role(session, admin, ADMIN, "create a site")
    check(
        session,
        admin,
        admin.site_id is None,
        "site",
        code,
        "sites are created by an administrator of every site (yours is bound to one)",
    )
    check(
        session,
        admin,
        isinstance(code, str) and bool(SITE_CODE.match(code)),
        "code",
        code,
        "2-16 capital letters or digits (it starts the site's study codes, e.g. SAP-001)",
    )
    taken = session.scalar(select(Site.id).where(Site.code == code))
    check(session, admin, taken is None, "code", code, "a site code not yet used")
    site = Site(code=code, name=name, time_zone=time_zone, synthetic=False)
    _validate(session, admin, site)
    session.add(site)
    session.flush()
    return site


def update_site(
    admin: User,
    session: Session,
    site: Site,
    *,
    name: str | None = None,
    time_zone: str | None = None,
) -> Site:
    require_role(session, admin, ADMIN, "change a site")
    if admin.site_id is not None and admin.site_id != site.id:
        deny(session, admin, "other_site", f"change a site: {site.code} is another site")
    if name is not None:
        site.name = name
    if time_zone is not None:
        site.time_zone = time_zone
    _validate(session, admin, site)
    session.flush()
    return site
