"""Routers per area; `register_routers` mounts them all."""

from __future__ import annotations

from fastapi import FastAPI


def register_routers(app: FastAPI) -> None:
    from .. import operations
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
        corrections,
        dashboard,
        data_management,
        definition_review,
        exports,
        infusions,
        isncsci,
        lots,
        patients,
        protocol,
        reports,
        sites,
        trial,
        trial_api,
    )

    app.include_router(operations.router)
    app.include_router(auth.router)
    app.include_router(account.router)
    app.include_router(admin.router)
    app.include_router(dashboard.router)
    app.include_router(isncsci.pages)
    app.include_router(trial.router)  # before patients: /patients/new is not a study code
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
    app.include_router(sites.router)
    app.include_router(sites.api)
    app.include_router(protocol.router)
    app.include_router(protocol.api)
    app.include_router(corrections.router)
    app.include_router(corrections.api)
    app.include_router(reports.router)
    app.include_router(reports.api)
    app.include_router(trial_api.router)
