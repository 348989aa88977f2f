"""Routers per area; `register_routers` mounts them all."""

from __future__ import annotations

from fastapi import FastAPI


def register_routers(app: FastAPI) -> None:
    from . import (
        account,
        admin,
        adverse_events,
        api,
        apidocs,
        audit,
        auth,
        casebook,
        casebook_api,
        dashboard,
        data_management,
        definition_review,
        exports,
        infusions,
        isncsci,
        lots,
        patients,
    )

    app.include_router(auth.router)
    app.include_router(account.router)
    app.include_router(admin.router)
    app.include_router(dashboard.router)
    app.include_router(isncsci.pages)
    app.include_router(patients.router)
    app.include_router(lots.router)
    app.include_router(infusions.router)
    app.include_router(adverse_events.router)
    app.include_router(audit.router)
    app.include_router(exports.router)
    app.include_router(definition_review.router)
    app.include_router(casebook.router)
    app.include_router(data_management.router)
    app.include_router(apidocs.router)
    app.include_router(isncsci.api)
    app.include_router(api.router)
    app.include_router(casebook_api.router)
    app.include_router(auth.api)
    app.include_router(account.api)
    app.include_router(admin.api)
