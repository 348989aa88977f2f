"""A server-rendered API reference built from the app's own OpenAPI document (no CDN)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from ..deps import current_principal
from ..principal import Principal
from ..render import render

router = APIRouter(include_in_schema=False)


@router.get("/api/v1/docs")
def api_docs(request: Request, principal: Annotated[Principal, Depends(current_principal)]):
    spec = request.app.openapi()
    operations = []
    for path, methods in sorted(spec.get("paths", {}).items()):
        for method, op in methods.items():
            operations.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "tags": op.get("tags", []),
                    "parameters": op.get("parameters", []),
                    "has_body": "requestBody" in op,
                    "responses": sorted(op.get("responses", {})),
                }
            )
    return render(request, "api_docs.html", spec=spec, operations=operations)
