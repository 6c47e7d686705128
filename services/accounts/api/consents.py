"""`/account-access-consents`: created, read and deleted by the client with its client-credentials token."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from services.accounts import consent_events, consent_service
from services.accounts.api.deps import AISP_PREFIX, CallerDep, PageDep
from services.accounts.schemas import AccountAccessConsentRequest

router = APIRouter(prefix=f"{AISP_PREFIX}/account-access-consents", tags=["AISP: consents"])


@router.post("", status_code=201)
def create_consent(body: AccountAccessConsentRequest, caller: CallerDep, page: PageDep, request: Request):
    created = consent_service.create_consent(request.app.state.db, caller, body, page.url())
    return JSONResponse(created, status_code=201)


@router.get("/{ConsentId}")
def get_consent(ConsentId: str, caller: CallerDep, page: PageDep, request: Request) -> dict:  # noqa: N803
    return consent_service.get_consent(request.app.state.db, caller, ConsentId, page.url())


@router.delete("/{ConsentId}", status_code=204)
def delete_consent(ConsentId: str, caller: CallerDep, request: Request) -> Response:  # noqa: N803
    consent_service.delete_consent(request.app.state.db, caller, ConsentId)
    consent_events.after_revocation(
        request, caller.tenant_id, ConsentId
    )  # best effort, never fails the DELETE
    return Response(status_code=204)
