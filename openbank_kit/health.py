"""`/healthz` (the process is alive) and `/readyz` (its database answers and is migrated) on every process."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from openbank_kit.db import DatabaseUnavailable
from openbank_kit.migrations import is_at_head

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(request: Request) -> dict:
    return {"Status": "UP", "Service": request.app.state.service}


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    db = request.app.state.db
    try:
        db.check_reachable()
        migrated = is_at_head(db, request.app.state.migrations_dir)
    except DatabaseUnavailable as exc:
        return JSONResponse({"Status": "DOWN", "Service": request.app.state.service, "Reason": str(exc)}, 503)
    if not migrated:
        reason = "database schema is not at the newest migration"
        return JSONResponse({"Status": "DOWN", "Service": request.app.state.service, "Reason": reason}, 503)
    return JSONResponse({"Status": "UP", "Service": request.app.state.service, "Database": db.describe()})
