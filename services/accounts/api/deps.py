"""Annotated dependencies of the AISP routes: the verified caller and where this request's links point."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from openbank_kit.caller import CallerDep
from services.accounts.aisp_service import Page

AISP_PREFIX = "/open-banking/v4.0/aisp"


async def this_page(request: Request) -> Page:
    # The gateway forwards the public path unchanged, so issuer + path is the URL the partner called.
    return Page(origin=request.app.state.settings.issuer, path=request.url.path)


PageDep = Annotated[Page, Depends(this_page)]
__all__ = ["AISP_PREFIX", "CallerDep", "PageDep"]
